#!/usr/bin/env bash
# Seconds per GLMM fit: mixmc (release build) against lme4's glmer on the same machine in the
# same run, on the three GLMM examples. Medians of R repeats (lme4) and M repeats (mixmc).
# Usage: scripts/bench_glmm.sh [R_REPEATS=3] [M_REPEATS=5]   (after `swift build -c release`)
set -euo pipefail
cd "$(dirname "$0")/.."
R_REPEATS=${1:-3}; M_REPEATS=${2:-5}
export OPENBLAS_NUM_THREADS=1
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf '%-12s %10s %14s %12s %14s %9s\n' model lme4_s lme4_deviance mixmc_s mixmc_deviance speedup
for model in cbpp grouseticks verbagg; do
  formula=$(sed -n 's/^formula = "\(.*\)"/\1/p' models/$model/model.toml)
  family=$(sed -n 's/^family = "\(.*\)"/\1/p' models/$model/model.toml)
  lme4=$(Rscript -e "suppressMessages(library(lme4)); d <- read.csv('models/$model/data.csv', stringsAsFactors = TRUE)
    fo <- $formula
    for (b in findbars(fo)) for (v in all.vars(b[[3]])) d[[v]] <- factor(d[[v]])
    t <- replicate($R_REPEATS, system.time(f <<- glmer(fo, d, $family))[['elapsed']])
    cat(median(t), format(-2 * as.numeric(logLik(f)), digits = 12), '\n')")
  lme4_s=$(echo "$lme4" | awk '{print $1}'); lme4_dev=$(echo "$lme4" | awk '{print $2}')
  times=""; dev=""
  for _ in $(seq "$M_REPEATS"); do
    start=$(date +%s.%N); out=$(.build/release/mixmc fit models/$model --json); end=$(date +%s.%N)
    times="$times $(echo "$end - $start" | bc -l)"
    dev=$(echo "$out" | python3 -c 'import json,sys; print("%.6f" % json.load(sys.stdin)["deviance"])')
  done
  mixmc_s=$(echo $times | tr ' ' '\n' | median)
  printf '%-12s %10.3f %14s %12.3f %14s %8.1fx\n' "$model" "$lme4_s" "$lme4_dev" "$mixmc_s" "$dev" "$(echo "$lme4_s / $mixmc_s" | bc -l)"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
