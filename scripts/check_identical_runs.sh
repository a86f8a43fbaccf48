#!/bin/bash
# Chains and fits of two mixmc binaries, compared byte for byte (for a change that must not move a
# single draw, such as issue 14's CSV reader). Lines with timings or file paths are left out.
#
#     scripts/check_identical_runs.sh OLD_MIXMC NEW_MIXMC [SCRATCH_DIR]
#
# Run from the repository root. Samples sleepstudy, dyestuff, penicillin, pastes and sim_medium
# with --algorithm gibbs, and dyestuff, penicillin, pastes and sim_crossed with --algorithm
# collapsed-gibbs (seed 7, 200 + 200; named, not the default, so that a binary whose default is
# --algorithm auto is compared like with like), and fits every example model with --json; prints
# one line per file and exits 1 if any differs.
set -u
old=$1 new=$2 out=${3:-/tmp/mixmc-identical}
rm -rf "$out"; mkdir -p "$out"
filter() { grep -v "Elapsed\|seconds\|file = " "$1"; }
status=0
for run in sleepstudy:gibbs dyestuff:gibbs penicillin:gibbs pastes:gibbs sim_medium:gibbs \
           dyestuff:collapsed-gibbs penicillin:collapsed-gibbs pastes:collapsed-gibbs sim_crossed:collapsed-gibbs; do
  m=${run%%:*} algorithm=${run##*:}
  for side in old new; do
    bin=$old; [ $side = new ] && bin=$new
    OPENBLAS_NUM_THREADS=1 "$bin" sample models/$m --algorithm $algorithm --seed 7 --draws 200 --warmup 200 --quiet --overwrite \
      --output "$out/$side/$run" > "$out/$side-$run.stdout" 2> "$out/$side-$run.stderr"
  done
  for f in "$out/old/$run"/*.csv "$out/old/$run/labels.json"; do
    g="$out/new/$run/$(basename "$f")"
    if cmp -s <(filter "$f") <(filter "$g"); then echo "same    $run/$(basename "$f")"; else echo "DIFFERS $run/$(basename "$f")"; status=1; fi
  done
done
for m in sleepstudy dyestuff penicillin pastes sim_medium sim_crossed insteval cbpp grouseticks verbagg; do
  "$old" fit models/$m --json > "$out/old-fit-$m.json" 2>&1
  "$new" fit models/$m --json > "$out/new-fit-$m.json" 2>&1
  if cmp -s <(filter "$out/old-fit-$m.json") <(filter "$out/new-fit-$m.json"); then echo "same    fit $m"; else echo "DIFFERS fit $m"; status=1; fi
done
exit $status
