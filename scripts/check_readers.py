"""Checks that chains written by mixmc's StanCSVWriter are accepted by the real readers.

Runs the Swift test ExampleChainsTests (which writes two chains with save_warmup = 1 to
$MIXMC_EXAMPLE_CHAINS_DIR), then reads them with
- CmdStanPy's check_sampler_csv (config keys, adaptation block vs metric, draw counts, divergences),
- ArviZ's from_cmdstan (values must equal, bit for bit, what the Swift test wrote).
Then runs `mixmc sample models/sleepstudy` (2 chains, Gibbs) and checks that CmdStanPy accepts
the files (algorithm = gibbs, no adaptation block), that ArviZ reads every column bit for bit,
and that ArviZ's r_Subject[level, coefficient] array agrees with labels.json.
Then runs `mixmc sample models/sleepstudy --algorithm nuts` on both targets and reads the files
with CmdStanPy's from_csv (a CmdStanMCMC: step sizes, metric, sampler columns, divergences) and
ArviZ's from_cmdstan (sample_stats, every column bit for bit). Then a `--save-warmup`
NUTS run: the warmup rows are counted and read apart from the draws. Last, 4-chain Gibbs and NUTS
runs stopped by SIGINT: ArviZ and CmdStanPy read the set (every chain stops at one iteration).
Needs: cmdstanpy, arviz, numpy.   Run from the repository root:  python scripts/check_readers.py
"""
import math
import os
import pathlib
import subprocess
import sys
import tempfile


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
    sample_failures = check_sample_output()
    nuts_failures = sum(check_nuts_output(target) for target in ("collapsed", "full"))
    warmup_failures = check_saved_warmup()
    interrupted_failures = sum(check_interrupted_run(algorithm) for algorithm in ("gibbs", "nuts"))
    return 1 if failures or sample_failures or nuts_failures or warmup_failures or interrupted_failures else 0


def interrupt_run(out, flags):
    """Starts `mixmc sample models/sleepstudy --chains 4 FLAGS` with far too many draws, sends
    SIGINT once every chain file holds draws, and returns the four chain files (issue 12)."""
    import signal
    import time

    bin_path = subprocess.run(["swift", "build", "--show-bin-path"], check=True, capture_output=True,
                              text=True).stdout.strip()
    process = subprocess.Popen([os.path.join(bin_path, "mixmc"), "sample", "models/sleepstudy", "--chains", "4",
                                "--draws", "100000000", "--seed", "3", *flags, "--quiet", "--output", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    files = [out / f"chain-{k}.csv" for k in (1, 2, 3, 4)]
    deadline = time.time() + 120
    while time.time() < deadline and not all(f.exists() and f.stat().st_size > 60_000 for f in files):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    assert process.wait() == 130, process.returncode
    return [str(f) for f in files]


def check_interrupted_run(algorithm):
    """A 4-chain run stopped by Ctrl-C: every chain stops at the same iteration, so ArviZ's
    from_cmdstan and CmdStanPy's from_csv read the set as one (scripts/check_readers.sh also runs
    R's posterior on such a directory)."""
    import arviz as az
    import cmdstanpy
    import pandas as pd

    out = pathlib.Path(tempfile.mkdtemp(prefix=f"mixmc-interrupted-{algorithm}-")) / "sleepstudy"
    files = interrupt_run(out, ["--algorithm", algorithm, "--warmup", "100"])
    raws = [pd.read_csv(path, comment="#", float_precision="round_trip") for path in files]
    counts = [len(raw) for raw in raws]
    checks = Checks(f"interrupted {algorithm}")
    check = checks.check
    check(len(set(counts)) == 1 and counts[0] > 0, f"draws per chain {counts}")
    idata = az.from_cmdstan(files)
    check(idata.posterior["b_Days"].shape == (4, counts[0]), f"ArviZ shape {idata.posterior['b_Days'].shape}")
    for chain in range(4):
        check((idata.posterior["sigma"].values[chain] == raws[chain]["sigma"].values).all(), "ArviZ sigma differs")
    fit = cmdstanpy.from_csv(files)  # a list keeps the chain order; a directory is listed in any order
    check(fit.chains == 4 and fit.num_draws_sampling == counts[0], f"from_csv chains {fit.chains}, draws {fit.num_draws_sampling}")
    check((fit.draws(concat_chains=False)[:, 3, :] == raws[3].values).all(), "from_csv draws of chain 4 differ")
    print(f"mixmc sample --algorithm {algorithm} stopped by SIGINT: 4 chains x {counts[0]} draws, "
          f"ArviZ and CmdStanPy read them, {checks.failures} failed")
    return checks.failures


def check_saved_warmup(algorithm="nuts"):
    """Reads a real `mixmc sample --algorithm nuts --save-warmup` run (thin 2): CmdStanPy's check_sampler_csv and
    from_csv count the warmup rows apart, ArviZ's from_cmdstan(save_warmup=True) puts them in
    warmup_posterior, bit for bit. The warmup is a multiple of thin: ArviZ 0.23.4 splits off
    floor(num_warmup / thin) warmup rows where CmdStan (and CmdStanPy) write and count the ceiling
    (docs/chain-format.md)."""
    import arviz as az
    import cmdstanpy
    from cmdstanpy.utils.stancsv import check_sampler_csv

    out, files, raws = sample_sleepstudy("warmup", ["--algorithm", algorithm, "--warmup", "100", "--draws", "60",
                                                    "--thin", "2", "--save-warmup", "--seed", "4"])
    checks = Checks(f"save-warmup {algorithm}")
    check = checks.check
    for chain, path in enumerate(files, start=1):
        meta = check_sampler_csv(path, iter_sampling=60, iter_warmup=100, save_warmup=True, thin=2)
        check(meta["draws_warmup"] == 50 and meta["draws_sampling"] == 30, f"check_sampler_csv counts {meta}")
        check(len(raws[chain - 1]) == 80, f"{len(raws[chain - 1])} rows in the file")
    fit = cmdstanpy.from_csv(str(out))
    check(fit.num_draws_warmup == 50 and fit.num_draws_sampling == 30,
          f"from_csv warmup {fit.num_draws_warmup}, sampling {fit.num_draws_sampling}")
    idata = az.from_cmdstan(files, save_warmup=True)
    for chain in range(2):
        for name in ["b_Intercept", "sigma", "sd_Subject__Days"]:
            warm = idata.warmup_posterior[name].values[chain]
            kept = idata.posterior[name].values[chain]
            check(len(warm) == 50 and (warm == raws[chain][name].values[:50]).all(), f"ArviZ warmup {name}")
            check(len(kept) == 30 and (kept == raws[chain][name].values[50:]).all(), f"ArviZ draws {name}")
    print(f"mixmc sample --algorithm {algorithm} --save-warmup: CmdStanPy and ArviZ split warmup from draws, "
          f"{checks.failures} failed")
    return checks.failures


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


def check_nuts_output(target):
    """Reads a real `mixmc sample --algorithm nuts` run with CmdStanPy's from_csv and ArviZ."""
    import arviz as az
    import cmdstanpy
    from cmdstanpy.utils.stancsv import check_sampler_csv

    out, files, raws = sample_sleepstudy("nuts", ["--algorithm", "nuts", "--target", target, "--warmup", "300",
                                                  "--draws", "300", "--seed", "1"])
    dimension = 6 if target == "collapsed" else 42
    checks = Checks(f"nuts {target}")
    check = checks.check
    for chain, path in enumerate(files, start=1):
        meta = check_sampler_csv(path, iter_sampling=300, iter_warmup=300)
        check(meta["draws_sampling"] == 300 and meta["algorithm"] == "hmc" and meta["engine"] == "nuts"
              and meta["metric"] == "diag_e" and meta["id"] == chain and meta["max_depth"] == 10,
              f"check_sampler_csv metadata {meta}")
        check(meta["ct_divergences"] == int(raws[chain - 1]["divergent__"].sum()), "divergence count")

    fit = cmdstanpy.from_csv(str(out))
    check(isinstance(fit, cmdstanpy.CmdStanMCMC), f"from_csv returned {type(fit)}")
    check(fit.chains == 2 and fit.num_draws_sampling == 300, f"chains {fit.chains}, draws {fit.num_draws_sampling}")
    check(fit.metric_type == "diag_e" and fit.inv_metric.shape == (2, dimension),
          f"metric {fit.metric_type} {fit.inv_metric.shape}")
    for chain in range(2):
        check(fit.step_size[chain] == raws[chain]["stepsize__"].values[0], "step size != stepsize__")
    draws = fit.draws(concat_chains=False)
    columns = list(fit.column_names)
    # CmdStanPy names container elements as CmdStan's stansummary does: r_Subject.3.2 -> r_Subject[3,2].
    def bracketed(name):
        head, *index = name.split(".")
        return f"{head}[{','.join(index)}]" if index else name
    check(columns == [bracketed(c) for c in raws[0].columns], "from_csv column names differ from the header")
    for chain in range(2):
        check((draws[:, chain, :] == raws[chain].values).all(), f"from_csv draws of chain {chain + 1} differ from the file")
    check(fit.method_variables()["treedepth__"].shape == (300, 2), "treedepth__ method variable")
    check(int(fit.divergences.sum()) == sum(int(r["divergent__"].sum()) for r in raws), "from_csv divergences")
    check(fit.stan_variable("r_Subject").shape == (600, 18, 2), "r_Subject is not a 18 x 2 array per draw")

    idata = az.from_cmdstan(files)
    stats = idata.sample_stats
    for name, column in [("lp", "lp__"), ("acceptance_rate", "accept_stat__"), ("step_size", "stepsize__"),
                         ("tree_depth", "treedepth__"), ("n_steps", "n_leapfrog__"), ("diverging", "divergent__"),
                         ("energy", "energy__")]:
        for chain in range(2):
            got = stats[name].values[chain]
            check((got.astype(float) == raws[chain][column].values).all(), f"ArviZ {name} differs from {column}")
    for name in ["b_Intercept", "b_Days", "sigma", "sd_Subject__Intercept", "sd_Subject__Days", "cor_Subject__Intercept__Days"]:
        for chain in range(2):
            check((idata.posterior[name].values[chain] == raws[chain][name].values).all(), f"ArviZ {name} differs")
    bfmi = az.bfmi(idata)
    check(len(bfmi) == 2 and all(b > 0 for b in bfmi), f"E-BFMI {bfmi}")
    print(f"mixmc sample --algorithm nuts --target {target}: from_csv and from_cmdstan read it, {checks.failures} failed "
          f"(step sizes {list(fit.step_size)}, E-BFMI {[round(float(b), 3) for b in bfmi]})")
    return checks.failures


def sample_sleepstudy(tag, flags):
    """Runs `mixmc sample models/sleepstudy --chains 2 FLAGS --quiet` into a new directory; returns
    the directory, the two chain files and their rows (exact doubles)."""
    import pandas as pd

    out = pathlib.Path(tempfile.mkdtemp(prefix=f"mixmc-{tag}-readers-")) / "sleepstudy"
    bin_path = subprocess.run(["swift", "build", "--show-bin-path"], check=True, capture_output=True,
                              text=True).stdout.strip()
    subprocess.run([os.path.join(bin_path, "mixmc"), "sample", "models/sleepstudy", "--chains", "2", *flags,
                    "--quiet", "--output", str(out)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    files = [str(out / f"chain-{k}.csv") for k in (1, 2)]
    raws = [pd.read_csv(path, comment="#", float_precision="round_trip") for path in files]
    return out, files, raws


class Checks:
    """Counts failed checks, printing each with a label."""

    def __init__(self, label):
        self.label = label
        self.failures = 0

    def check(self, condition, message):
        if not condition:
            self.failures += 1
            print(f"{self.label}: {message}")


if __name__ == "__main__":
    sys.exit(main())
