#!/usr/bin/env python3
"""Posterior means of a mixmc run against a Stan reference (issue 13).

usage: scripts/compare_with_stan.py REFERENCE SUMMARY.txt
  REFERENCE: a key of Tests/Fixtures/stan_glmm_references.json (verbagg_logit, grouseticks_poisson, ...)
  SUMMARY.txt: the table `mixmc sample` (or `mixmc diagnose`) printed for the run.
Prints, per β and SD, mixmc's mean ± MCSE, Stan's, and z = difference / combined MCSE;
exits 1 when some |z| ≥ 4 (the bound of Tests/CLITests/StanGLMMAgreementTests.swift)."""
import json, re, sys, pathlib

reference = json.loads(pathlib.Path(__file__).resolve().parent.parent.joinpath(
    "Tests/Fixtures/stan_glmm_references.json").read_text())[sys.argv[1]]
rows = {line.split()[0]: line.split() for line in open(sys.argv[2]) if line.startswith(("b_", "sd_"))}

def column(name):
    return "b_Intercept" if name == "(Intercept)" else "b_" + re.sub("[^A-Za-z0-9_]", "_", name)

expected = [(column(k), v) for k, v in reference["fixed"].items()]
expected += [("sd_" + k + "__Intercept", v) for k, v in reference["sd"].items()]
worst = 0.0
for name, stan in expected:
    row = rows[name]
    mean, mcse = float(row[1]), float(row[-1])
    z = (mean - stan["mean"]) / (mcse ** 2 + stan["mcse_mean"] ** 2) ** 0.5
    worst = max(worst, abs(z))
    print(f"{name:24s} mixmc {mean:9.4f} ± {mcse:.4f}   Stan {stan['mean']:9.4f} ± {stan['mcse_mean']:.4f}   z = {z:5.2f}")
print(f"largest |z| = {worst:.2f}")
sys.exit(1 if worst >= 4 else 0)
