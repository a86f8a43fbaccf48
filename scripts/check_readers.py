"""Checks that chains written by mixmc's StanCSVWriter are accepted by the real readers.

Runs the Swift test ExampleChainsTests (which writes two chains with save_warmup = 1 to
$MIXMC_EXAMPLE_CHAINS_DIR), then reads them with
- CmdStanPy's check_sampler_csv (config keys, adaptation block vs metric, draw counts, divergences),
- ArviZ's from_cmdstan (values must equal, bit for bit, what the Swift test wrote).
Then runs `mixmc sample models/sleepstudy` (2 chains, Gibbs) and checks that CmdStanPy accepts
the files (algorithm = gibbs, no adaptation block), that ArviZ reads every column bit for bit,
and that ArviZ's r_Subject[level, coefficient] array agrees with labels.json.
Needs: cmdstanpy, arviz, numpy.   Run from the repository root:  python scripts/check_readers.py
"""
import math
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

COLUMNS = ["lp__", "accept_stat__", "stepsize__", "treedepth__", "n_leapfrog__", "divergent__", "energy__",
           "b_Intercept", "sigma", "r_Subject.1.1", "r_Subject.2.1"]


def value(chain, draw, column):
    """Same formula as Tests/ChainIOTests/ExampleChainsTests.swift."""
    if column == 3:
        return float(1 + (draw + chain) % 4)
    if column == 4:
        return float((1 << (1 + (draw + chain) % 4)) - 1)
    if column == 5:
        return 1.0 if draw == 20 + 7 * chain else 0.0
    return math.sin(float(draw * 31 + column * 7 + chain * 1000)) * (column + 1) + (-100 if column == 0 else 0)


def main():
    from cmdstanpy.utils.stancsv import check_sampler_csv
    import arviz as az

    out = pathlib.Path(tempfile.mkdtemp(prefix="mixmc-readers-"))
    env = dict(os.environ, MIXMC_EXAMPLE_CHAINS_DIR=str(out))
    subprocess.run(["swift", "test", "--filter", "ExampleChainsTests"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    files = sorted(out.glob("example-*.csv"))
    assert len(files) == 2, files
    failures = 0
    for chain, path in enumerate(files, start=1):
        meta = check_sampler_csv(str(path), iter_sampling=50, iter_warmup=20, save_warmup=True)
        assert meta["draws_sampling"] == 50 and meta["draws_warmup"] == 20, meta
        assert meta["ct_divergences"] == 1, meta["ct_divergences"]
        assert meta["id"] == chain and meta["max_depth"] == 10 and meta["metric"] == "diag_e"
    idata = az.from_cmdstan([str(p) for p in files], save_warmup=True)
    for chain in (1, 2):
        for draw in range(50):
            expected = value(chain, draw + 20, 7)
            got = float(idata.posterior["b_Intercept"].values[chain - 1, draw])
            if got != expected:
                failures += 1
                print(f"b_Intercept chain {chain} draw {draw}: {got!r} != {expected!r}")
        warm = float(idata.warmup_posterior["sigma"].values[chain - 1, 3])
        if warm != value(chain, 3, 8):
            failures += 1
            print(f"warmup sigma chain {chain}: {warm!r} != {value(chain, 3, 8)!r}")
    print(f"{2 * 50 * 1 + 2 - failures} passed, {failures} failed")
    return 1 if failures or check_sample_output() else 0


def check_sample_output():
    """Reads a real `mixmc sample` run with CmdStanPy and ArviZ; returns the number of failures."""
    import json
    import arviz as az
    import pandas as pd
    from cmdstanpy.utils.stancsv import check_sampler_csv

    out = pathlib.Path(tempfile.mkdtemp(prefix="mixmc-sample-readers-")) / "sleepstudy"
    subprocess.run(["swift", "build"], check=True, stdout=subprocess.DEVNULL)
    bin_path = subprocess.run(["swift", "build", "--show-bin-path"], check=True, capture_output=True,
                              text=True).stdout.strip()
    subprocess.run([os.path.join(bin_path, "mixmc"), "sample", "models/sleepstudy", "--chains", "2",
                    "--warmup", "200", "--draws", "300", "--seed", "1", "--quiet", "--output", str(out)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    files = [str(out / f"chain-{k}.csv") for k in (1, 2)]
    failures = 0
    for chain, path in enumerate(files, start=1):
        meta = check_sampler_csv(path, iter_sampling=300, iter_warmup=200)
        if not (meta["draws_sampling"] == 300 and meta["algorithm"] == "gibbs" and meta["id"] == chain):
            failures += 1
            print(f"{path}: CmdStanPy metadata {meta}")
    idata = az.from_cmdstan(files)
    labels = json.loads((out / "labels.json").read_text())["columns"]
    checked = 0
    for chain, path in enumerate(files):
        raw = pd.read_csv(path, comment="#", float_precision="round_trip")
        for name in raw.columns:
            if name == "lp__":
                got = idata.sample_stats["lp"].values[chain]
            elif name.startswith("r_"):
                group, level, coefficient = name.split(".")
                got = idata.posterior[group].values[chain, :, int(level) - 1, int(coefficient) - 1]
                label = labels[name]
                subject_levels = json.loads((out / "labels.json").read_text())["groups"]["Subject"]
                if (label["level"] != subject_levels["levels"][int(level) - 1]
                        or label["coefficient"] != subject_levels["coefficients"][int(coefficient) - 1]):
                    failures += 1
                    print(f"labels.json: {name} -> {label}")
            else:
                got = idata.posterior[name].values[chain]
            checked += 1
            if not (got == raw[name].values).all():
                failures += 1
                print(f"{path}: column {name} differs between ArviZ and the file")
    print(f"mixmc sample output: {checked} columns checked, {failures} failed")
    return failures


if __name__ == "__main__":
    sys.exit(main())
