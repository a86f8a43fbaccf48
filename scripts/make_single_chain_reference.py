"""Reference R-hat values for Tests/Fixtures/diagnostics/single_chain.csv as R's posterior
package defines them.

ArviZ 0.23.4 reports NaN for a single chain (it requires two chains before splitting); R posterior
splits the one chain into two halves and computes R-hat on those. This script reproduces
posterior's rule with ArviZ's own building blocks, applied to the explicitly split halves:

    rhat_split_classic = ArviZ _rhat(halves)                      (posterior: rhat_basic(x, split=TRUE))
    rhat_rank          = max(_rhat(_z_scale(halves)),
                             _rhat(_z_scale(|halves - median|)))   (posterior: rhat(x))

Run with ArviZ 0.23.4 installed:  python scripts/make_single_chain_reference.py
"""
import json
import pathlib

import arviz
import numpy as np
from arviz.stats.diagnostics import _rhat, _split_chains, _z_scale

root = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "diagnostics"
table = np.loadtxt(root / "single_chain.csv", delimiter=",", skiprows=1)
draws = table[table[:, 1].argsort(kind="stable"), 2][np.newaxis, :]  # 1 chain x n draws
halves = _split_chains(draws)                                          # 2 chains x n/2 draws
folded = np.abs(halves - np.median(halves))
reference = {
    "source": "scripts/make_single_chain_reference.py",
    "arviz_version": arviz.__version__,
    "numpy_version": np.__version__,
    "rule": "R posterior: a single chain is split into two halves for R-hat",
    "rhat_split_classic": float(_rhat(halves)),
    "rhat_rank": float(max(_rhat(_z_scale(halves)), _rhat(_z_scale(folded)))),
}
(root / "single_chain_posterior.json").write_text(json.dumps(reference, indent=1) + "\n")
print(json.dumps(reference, indent=1))
