#!/usr/bin/env bash
# ESS per second of the GLMM samplers on the three GLMM examples, 4 chains x (1000 + 1000), their
# reference priors, measured two ways: over the run's wall seconds (the run's last line: reading
# the data to the last file closed, the chains on all cores), and over the whole process's CPU
# seconds (user + system, /usr/bin/time: start-up, reading, sampling, writing and the summary),
# the figure to set beside Stan's one-core seconds (scripts/make_stan_glmm_references.R). The
# chains' Elapsed Time trailers are wall clock per chain, so with more chains than cores they
# count the time a chain waits for a core and are not used.
# Usage: scripts/bench_glmm_samplers.sh [EXTRA mixmc sample FLAGS]   (after `swift build -c release`)
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-22s %8s %10s %12s %10s %14s\n' model wall_s min_ess ess_per_s cpu_s ess_per_cpu_s
for m in cbpp "cbpp --link probit" verbagg "verbagg --link probit" grouseticks; do
  # shellcheck disable=SC2086
  line=$( { /usr/bin/time -f 'cpu %U %S' .build/release/mixmc sample models/$m --seed 1 --quiet --overwrite --output "$out" "$@"; } 2>&1 | grep '^Run time\|^cpu')
  wall=$(echo "$line" | sed -n 's/^Run time \([0-9.]*\) s.*/\1/p')
  ess=$(echo "$line" | sed -n 's/.*sd_: \([0-9]*\) (.*/\1/p')
  cpu=$(echo "$line" | awk '/^cpu/ {print $2 + $3}')
  printf '%-22s %8.3f %10s %12.0f %10.3f %14.0f\n' "$m" "$wall" "$ess" "$(echo "$ess / $wall" | bc -l)" "$cpu" "$(echo "$ess / $cpu" | bc -l)"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
