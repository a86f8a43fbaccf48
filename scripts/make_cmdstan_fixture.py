"""Writes Tests/Fixtures/cmdstan/: a tiny two-chain run in CmdStan 2.36's Stan CSV layout, and
the numbers the real readers get from it.

The layout (configuration comments, header, adaptation block, draws, timing trailer) is copied
by hand from CmdStan's output as documented in the CmdStan guide ("Stan CSV File Format"); the
values are simulated with numpy (seeded) and printed with 6 significant digits as CmdStan does.

Then the files are read by the real consumers:
- CmdStanPy's check_sampler_csv (validates config, adaptation block, draw counts, divergences),
- ArviZ 0.23.4's from_cmdstan, whose rhat/ess/mcse/quantiles become reference.json,
which the Swift tests compare against (ChainIOTests, CLITests).

Run:  python scripts/make_cmdstan_fixture.py   (needs arviz==0.23.4, cmdstanpy, numpy)
"""
import json
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "cmdstan"
NUM_SAMPLES = 100
COLUMNS = ["lp__", "accept_stat__", "stepsize__", "treedepth__", "n_leapfrog__", "divergent__", "energy__",
           "b_Intercept", "b_Days", "sigma", "sd_Subject__Intercept", "r_Subject.1.1", "r_Subject.2.1"]
PARAMETERS = COLUMNS[7:]

CONFIG = """# stan_version_major = 2
# stan_version_minor = 36
# stan_version_patch = 0
# model = sleepstudy_model
# start_datetime = 2026-11-21 08:00:00 UTC
# method = sample (Default)
#   sample
#     num_samples = {num_samples}
#     num_warmup = 100
#     save_warmup = false (Default)
#     thin = 1 (Default)
#     adapt
#       engaged = true (Default)
#       gamma = 0.05 (Default)
#       delta = 0.8 (Default)
#       kappa = 0.75 (Default)
#       t0 = 10 (Default)
#       init_buffer = 75 (Default)
#       term_buffer = 50 (Default)
#       window = 25 (Default)
#       save_metric = false (Default)
#     algorithm = hmc (Default)
#       hmc
#         engine = nuts (Default)
#           nuts
#             max_depth = 10 (Default)
#         metric = diag_e (Default)
#         metric_file =  (Default)
#         stepsize = 1 (Default)
#         stepsize_jitter = 0 (Default)
#     num_chains = 1 (Default)
# id = {chain_id}
# data
#   file = sleepstudy.json
# init = 2 (Default)
# random
#   seed = 4711
# output
#   file = sleepstudy-{chain_id}.csv
#   diagnostic_file =  (Default)
#   refresh = 100 (Default)
#   sig_figs = -1 (Default)
#   profile_file = profile.csv (Default)
#   save_cmdstan_config = false (Default)
# num_threads = 1 (Default)
"""


def g6(value):
    """CmdStan's default output: 6 significant digits."""
    return f"{value:.6g}"


def simulate_chain(rng, chain_id, step_size):
    n = NUM_SAMPLES
    ar = np.empty((n, len(PARAMETERS)))
    state = rng.normal(size=len(PARAMETERS))
    for i in range(n):
        state = 0.5 * state + np.sqrt(1 - 0.25) * rng.normal(size=len(PARAMETERS))
        ar[i] = state
    centers = np.array([251.4, 10.47, 25.6, 24.7, 2.3, -40.1])
    scales = np.array([6.8, 1.6, 1.5, 6.1, 12.0, 13.0])
    params = centers + scales * ar
    params[:, 2] = np.abs(params[:, 2])  # sigma > 0
    params[:, 3] = np.abs(params[:, 3])
    lp = -880.0 - 0.5 * np.sum(ar ** 2, axis=1)
    energy = -lp + rng.gamma(3.0, 1.0, size=n)
    treedepth = rng.integers(2, 5, size=n)
    treedepth[rng.integers(0, n)] = 10
    n_leapfrog = 2 ** treedepth - 1
    divergent = np.zeros(n, dtype=int)
    divergent[rng.choice(n, size=chain_id, replace=False)] = 1  # chain 1: one, chain 2: two
    accept = rng.uniform(0.6, 1.0, size=n)
    rows = []
    for i in range(n):
        cells = [g6(lp[i]), g6(accept[i]), g6(step_size), str(treedepth[i]), str(n_leapfrog[i]),
                 str(divergent[i]), g6(energy[i])] + [g6(v) for v in params[i]]
        rows.append(",".join(cells))
    return rows


def write_files():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261121)
    paths = []
    for chain_id, step_size in [(1, 0.412577), (2, 0.386102)]:
        rows = simulate_chain(rng, chain_id, step_size)
        metric = ", ".join(g6(v) for v in rng.uniform(0.5, 2.0, size=len(PARAMETERS)))
        text = CONFIG.format(num_samples=NUM_SAMPLES, chain_id=chain_id)
        text += ",".join(COLUMNS) + "\n"
        text += "# Adaptation terminated\n"
        text += f"# Step size = {g6(step_size)}\n"
        text += "# Diagonal elements of inverse mass matrix:\n"
        text += f"# {metric}\n"
        text += "\n".join(rows) + "\n"
        text += "# \n#  Elapsed Time: 0.071 seconds (Warm-up)\n"
        text += "#                0.064 seconds (Sampling)\n"
        text += "#                0.135 seconds (Total)\n# \n"
        path = OUT / f"sleepstudy-{chain_id}.csv"
        path.write_text(text)
        paths.append(path)
    return paths


def reference(paths):
    import arviz as az
    import cmdstanpy
    from cmdstanpy.utils.stancsv import check_sampler_csv

    metas = [check_sampler_csv(str(p), iter_sampling=NUM_SAMPLES, iter_warmup=100) for p in paths]
    idata = az.from_cmdstan([str(p) for p in paths])
    post = idata.posterior

    def draws(name):
        if name.startswith("r_Subject."):
            _, i, j = name.split(".")
            return post["r_Subject"].values[:, :, int(i) - 1, int(j) - 1]
        return post[name].values

    stats = {}
    for name in ["lp__"] + PARAMETERS:
        x = idata.sample_stats["lp"].values if name == "lp__" else draws(name)
        q05, q50, q95 = np.quantile(x, [0.05, 0.5, 0.95])
        stats[name] = {
            "mean": float(x.mean()), "sd": float(x.std(ddof=1)),
            "q5": float(q05), "q50": float(q50), "q95": float(q95),
            "rhat": float(az.rhat(x)), "ess_bulk": float(az.ess(x, method="bulk")),
            "ess_tail": float(az.ess(x, method="tail")),
            "mcse_mean": float(az.mcse(x, method="mean")), "mcse_sd": float(az.mcse(x, method="sd")),
        }
    energy = idata.sample_stats["energy"].values
    return {
        "source": "scripts/make_cmdstan_fixture.py",
        "arviz_version": az.__version__,
        "cmdstanpy_version": cmdstanpy.__version__,
        "numpy_version": np.__version__,
        "chains": len(paths),
        "draws_per_chain": NUM_SAMPLES,
        "cmdstanpy_draws_sampling": [m["draws_sampling"] for m in metas],
        "cmdstanpy_divergences": [int(m["ct_divergences"]) for m in metas],
        "cmdstanpy_max_treedepth_hits": [int(m["ct_max_treedepth"]) for m in metas],
        "cmdstanpy_step_size": [float(cmdstanpy.utils.stancsv.parse_hmc_adaptation_lines(
            [ln.encode() for ln in p.read_text().splitlines() if ln.startswith("#")])[0]) for p in paths],
        "arviz_bfmi": [float(v) for v in az.bfmi(energy)],
        "parameters": stats,
    }


if __name__ == "__main__":
    files = write_files()
    result = reference(files)
    (OUT / "reference.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "parameters"}, indent=1))
