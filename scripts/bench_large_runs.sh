#!/bin/bash
# Issue 14, scaling: what a user with a large file waits for, end to end, on one file.
#
#     scripts/bench_large_runs.sh FILE.csv MIXMC PYTHON [OUT_DIR]
#
# FILE.csv from scripts/make_large_csv.py (y, x, g, h); MIXMC a release build; PYTHON one with
# pandas. For `y ~ x + (1 | g) + (1 | h)`: read + design (`mixmc describe`), the REML fit
# (`mixmc fit`) and a 4 x (1000 + 1000) blocked Gibbs run (`mixmc sample --algorithm gibbs`),
# each under /usr/bin/time (wall and CPU seconds, peak RSS), then pandas.read_csv once. The load
# average is printed beside every timing: the machine is shared.
set -u
file=$1 mixmc=$2 python=$3 out=${4:-/tmp/mixmc-large-runs}
here=$(cd "$(dirname "$0")/.." && pwd)
formula="y ~ x + (1 | g) + (1 | h)"
mkdir -p "$out"
bytes=$(stat -c %s "$file")
timed() {
  local label=$1; shift
  local before; before=$(cut -d' ' -f1-3 /proc/loadavg)
  /usr/bin/time -f "%e %U %S %M" -o "$out/time" "$@" > "$out/$label.stdout" 2> "$out/$label.stderr"
  local status=$?
  read -r wall user system rss < "$out/time"
  printf "%-10s wall %7.2f s  CPU %7.2f s  %6.0f MB/s  peak RSS %6.0f MB  exit %d  load %s -> %s\n" "$label" "$wall" \
    "$(echo "$user + $system" | bc)" "$(echo "$bytes / 1000000 / $wall" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$status" \
    "$before" "$(cut -d' ' -f1-3 /proc/loadavg)"
}
echo "== $(date -u +%FT%TZ) $file: $bytes bytes"
timed describe "$mixmc" describe --data "$file" --formula "$formula"
timed fit "$mixmc" fit --data "$file" --formula "$formula"
OPENBLAS_NUM_THREADS=1 timed gibbs "$mixmc" sample --data "$file" --formula "$formula" --algorithm gibbs --chains 4 \
  --warmup 1000 --draws 1000 --seed 1 --quiet --overwrite --output "$out/chains"
echo "-- pandas.read_csv, load $(cut -d' ' -f1-3 /proc/loadavg)"; "$python" "$here/scripts/bench_pandas_read.py" "$file" 1
