#!/usr/bin/env bash
# ESS per second of the GLMM samplers on the three GLMM examples, 4 chains x (1000 + 1000), their
# reference priors, measured two ways: over the run's wall seconds (the run's last line: reading
# the data to the last file closed, chains on all cores), and as Stan's benchmark figures are
# (scripts/make_stan_glmm_references.R: minimum bulk ESS over the sum of the chains' warmup +
# sampling seconds, each chain's from its file's Elapsed Time trailer).
# Usage: scripts/bench_glmm_samplers.sh [EXTRA mixmc sample FLAGS]   (after `swift build -c release`)
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-22s %8s %10s %12s %14s %16s\n' model wall_s min_ess ess_per_s chain_s_sum ess_per_chain_s
for m in cbpp "cbpp --link probit" verbagg "verbagg --link probit" grouseticks; do
  # shellcheck disable=SC2086
  line=$(.build/release/mixmc sample models/$m --seed 1 --quiet --overwrite --output "$out" "$@" 2>&1 | grep '^Run time')
  wall=$(echo "$line" | sed -n 's/^Run time \([0-9.]*\) s.*/\1/p')
  ess=$(echo "$line" | sed -n 's/.*sd_: \([0-9]*\) (.*/\1/p')
  chains=$(sed -n 's/^#  Elapsed Time: *//; s/^# *\([0-9.]*\) seconds (Total)/\1/p' "$out"/chain-*.csv | awk '{s += $1} END {print s}')
  printf '%-22s %8.3f %10s %12.0f %14.3f %16.0f\n' "$m" "$wall" "$ess" "$(echo "$ess / $wall" | bc -l)" "$chains" "$(echo "$ess / $chains" | bc -l)"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
