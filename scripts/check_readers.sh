#!/usr/bin/env bash
# The real readers on real mixmc output: CmdStanPy and ArviZ (scripts/check_readers.py, in a
# virtual environment with pinned versions) and R's posterior (scripts/check_posterior.R).
# Needs python3 with venv, and Rscript with r-cran-posterior (.ci/run installs both).
# Run from the repository root after `swift build`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-readers
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check arviz==0.23.4 cmdstanpy==1.3.0 numpy
fi
"$venv/bin/python" scripts/check_readers.py

chains=$(mktemp -d)
trap 'rm -rf "$chains"' EXIT
.build/debug/mixmc sample models/sleepstudy --chains 2 --warmup 100 --draws 200 --seed 7 --output "$chains" --quiet > /dev/null
Rscript scripts/check_posterior.R "$chains"

# A 4-chain run stopped by Ctrl-C (issue 12): every chain holds the same number of draws, which
# posterior's summary needs.
interrupted=$(mktemp -d)
trap 'rm -rf "$chains" "$interrupted"' EXIT
.build/debug/mixmc sample models/sleepstudy --chains 4 --warmup 100 --draws 100000000 --seed 3 --output "$interrupted" --quiet > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1200); do
    ready=1
    for k in 1 2 3 4; do [ "$(stat -c %s "$interrupted/chain-$k.csv" 2>/dev/null || echo 0)" -gt 60000 ] || ready=0; done
    [ "$ready" = 1 ] && break
    sleep 0.05
done
kill -INT "$pid"
status=0; wait "$pid" || status=$?
[ "$status" = 130 ] || { echo "interrupted run exited with $status, not 130"; exit 1; }
Rscript scripts/check_posterior.R "$interrupted"
