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
