#!/bin/bash
# Issue 14, input: mixmc's read (and design) beside pandas.read_csv on the same file, in one run.
#
#     scripts/bench_csv_input.sh FILE.csv OLD_MIXMC NEW_MIXMC PYTHON [REPEATS]
#
# FILE.csv from scripts/make_large_csv.py; OLD_MIXMC and NEW_MIXMC release builds of mixmc
# (give the same binary twice to skip the comparison); PYTHON one with pandas. Prints the machine's
# load, then for each: `mixmc describe` under /usr/bin/time (wall seconds, peak RSS), the CSVRead
# benchmark (read, then read + design; .build/release/CSVRead of NEW's tree) and pandas.
set -u
file=$1 old=$2 new=$3 python=$4 repeats=${5:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
formula="y ~ x + (1 | g) + (1 | h)"
timed() {
  /usr/bin/time -f "  wall %e s, user %U s, sys %S s, peak RSS %M KB" "$@" 2>&1 >/dev/null | grep -v "^note:"
}
echo "== $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/')"
echo "== file $file: $(stat -c %s "$file") bytes, $(($(wc -l < "$file") - 1)) rows"
if [ "$old" != "$new" ]; then
  echo "-- old mixmc describe"; timed "$old" describe --data "$file" --formula "$formula"
fi
for run in $(seq "$repeats"); do
  echo "-- new mixmc describe (run $run)"; timed "$new" describe --data "$file" --formula "$formula"
done
echo "-- CSVRead, read only"; "$here/.build/release/CSVRead" "$file" --formula "$formula" --repeats "$repeats" --no-design
echo "-- CSVRead, read + design"; "$here/.build/release/CSVRead" "$file" --formula "$formula" --repeats 1
echo "-- pandas.read_csv"; "$python" "$here/scripts/bench_pandas_read.py" "$file" "$repeats"
echo "== $(uptime | sed 's/.*load/load/')"
