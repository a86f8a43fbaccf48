#!/bin/bash
# Chains and fits of two mixmc binaries, compared byte for byte (for a change that must not move a
# single draw, such as issue 14's CSV reader). Lines with timings or file paths are left out.
#
#     scripts/check_identical_runs.sh OLD_MIXMC NEW_MIXMC [SCRATCH_DIR]
#
# Run from the repository root. Samples sleepstudy, dyestuff, penicillin, pastes and sim_medium
# with --algorithm gibbs, sleepstudy and sim_crossed with NUTS, dyestuff, penicillin, pastes and
# sim_crossed with collapsed Gibbs (crossed scalar terms), the GLMM examples cbpp, verbagg and
# grouseticks with their Gibbs samplers (seed 7, 200 + 200; the algorithm always named, not the
# default, so that a binary whose default is --algorithm auto is compared like with like), and
# fits every example model with --json; prints one line per file and exits 1 if any differs.
set -u
old=$1 new=$2 out=${3:-/tmp/mixmc-identical}
rm -rf "$out"; mkdir -p "$out"
filter() { grep -v "Elapsed\|seconds\|file = " "$1"; }
status=0
runs="sleepstudy:gibbs dyestuff:gibbs penicillin:gibbs pastes:gibbs sim_medium:gibbs sleepstudy:nuts sim_crossed:nuts
  dyestuff:collapsed-gibbs penicillin:collapsed-gibbs pastes:collapsed-gibbs sim_crossed:collapsed-gibbs
  cbpp:gibbs verbagg:gibbs grouseticks:gibbs"
for run in $runs; do
  m=${run%%:*} algorithm="--algorithm ${run#*:}"
  name=${run/:/-}
  for side in old new; do
    bin=$old; [ $side = new ] && bin=$new
    OPENBLAS_NUM_THREADS=1 "$bin" sample models/$m $algorithm --seed 7 --draws 200 --warmup 200 --quiet --overwrite \
      --output "$out/$side/$name" > "$out/$side-$name.stdout" 2> "$out/$side-$name.stderr"
  done
  if ! ls "$out/old/$name"/*.csv > /dev/null 2>&1; then echo "NO RUN  $name (see $out/old-$name.stderr)"; status=1; continue; fi
  for f in "$out/old/$name"/*.csv "$out/old/$name/labels.json"; do
    g="$out/new/$name/$(basename "$f")"
    if cmp -s <(filter "$f") <(filter "$g"); then echo "same    $name/$(basename "$f")"; else echo "DIFFERS $name/$(basename "$f")"; status=1; fi
  done
done
for m in sleepstudy dyestuff penicillin pastes sim_medium sim_crossed insteval cbpp grouseticks verbagg; do
  "$old" fit models/$m --json > "$out/old-fit-$m.json" 2>&1
  "$new" fit models/$m --json > "$out/new-fit-$m.json" 2>&1
  if cmp -s <(filter "$out/old-fit-$m.json") <(filter "$out/new-fit-$m.json"); then echo "same    fit $m"; else echo "DIFFERS fit $m"; status=1; fi
done
exit $status
