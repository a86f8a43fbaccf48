#!/usr/bin/env python3
"""Reference values of the binomial-logit log-likelihood change at 50 digits (mpmath), for
Tests/PosteriorTests/FamilyPosteriorTests.swift (logitLikelihoodChangeMatchesMpmath):
    w y d - w (softplus(eta + d) - softplus(eta)),  softplus(x) = log(1 + e^x).
Prints one Swift tuple per (eta, d, y, w) of the grid, the value to 17 significant digits."""
import mpmath

mpmath.mp.dps = 50
etas = [-40, -12, -3, -0.7, 0, 0.4, 2.5, 9, 40]
changes = [-30, -1.5, -0.999, -0.3, -1e-4, -1e-9, 1e-9, 1e-4, 0.3, 0.999, 1.5, 30]
rows = [(0.0, 1.0), (1.0, 1.0), (0.25, 12.0)]
sp = lambda x: mpmath.log1p(mpmath.exp(x))
for eta in etas:
    for d in changes:
        for y, w in rows:
            e, c = mpmath.mpf(eta), mpmath.mpf(d)
            value = w * y * c - w * (sp(e + c) - sp(e))
            print(f"        ({float(eta)!r}, {float(d)!r}, {y!r}, {w!r}, {mpmath.nstr(value, 17, min_fixed=1, max_fixed=0)}),")
