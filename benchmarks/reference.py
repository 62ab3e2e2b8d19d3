"""Workload 8: srcgrad against an expert's hand-written adjoint of the five reference functions of
tests/reference_adjoints.py (a loop of tanh, a scalar recurrence, a loop with a branch, a loop
writing elements, an MLP with softmax cross-entropy), both compiled by Numba. The tests check the
hand-written adjoints against finite differences and compare the lengths of the reverse sweeps;
this compares their speed (issue 20: "runs no slower")."""
import sys
from pathlib import Path

import numpy as np
from numba import njit

from harness import Case, plain, srcgrad_builder

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import reference_adjoints  # noqa: E402


def cases(settings):
    rng = np.random.default_rng(3)
    n = 1000 if settings.quick else 100_000
    x = rng.normal(size=n)
    batch = 20 if settings.quick else 100
    X = rng.normal(size=(batch, 784))
    Y = np.eye(10)[rng.integers(0, 10, size=batch)]
    W1, b1 = rng.normal(size=(784, 128)) * 0.05, np.zeros(128)
    W2, b2 = rng.normal(size=(128, 10)) * 0.1, np.zeros(10)
    sizes = {"quickstart": ((x, 0.7), (0, 1), f"n={n}"), "recurrence": ((x, 0.6), (0, 1), f"n={n}"),
             "branchy": ((x, 0.8), (0, 1), f"n={n}"), "writes": ((x * 0.1, 0.5), (0, 1), f"n={n}"),
             "mlp": ((W1, b1, W2, b2, X, Y), (0, 1, 2, 3), f"784-128-10, batch {batch}")}
    out = []
    for name, (args, wrt, size) in sizes.items():
        f = getattr(reference_adjoints, name)
        hand = njit(getattr(reference_adjoints, f"{name}_adjoint"))
        out.append(Case("8 reference adjoints", f"{name}, {size}", reference=lambda h=hand, a=args: h(*a),
                        systems={"hand Numba": lambda h=hand, a=args: plain(h, *a),
                                 "srcgrad": srcgrad_builder(f, args, wrt)},
                        params={"size": size}))
    return out
