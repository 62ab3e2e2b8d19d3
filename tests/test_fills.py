"""Arrays filled once (srcgrad/analysis/fills.py): where every element is written once and no read
sees an element before its write, the gradient keeps no tape of the overwritten elements and clears
no adjoint, as an expert writes it; near misses keep their tapes. All against finite differences,
in reverse mode, forward mode and to second order."""
import numpy as np
import pytest

import srcgrad
from conftest import numeric_grad
from fill_programs import FILLED, KEPT

X = np.array([0.3, -0.8, 0.55, 1.2, -0.4, 0.9])
A = 0.7


def _check(f):
    expected = numeric_grad(f, (X, A), (0, 1))
    g = srcgrad.grad(f, wrt=(0, 1))
    gx, ga = g(X.copy(), A)
    np.testing.assert_allclose(gx, expected[0], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ga, expected[1], rtol=1e-6, atol=1e-8)
    t = np.linspace(-1.0, 1.0, X.size)
    _, slope = srcgrad.jvp(f, wrt=(0, 1))(X.copy(), A, (t, 0.5))
    assert slope == pytest.approx(float(expected[0] @ t + 0.5 * expected[1]), rel=1e-6, abs=1e-8)
    return srcgrad.source(g)


@pytest.mark.parametrize("f", FILLED, ids=lambda f: f.__name__)
def test_arrays_filled_once_need_no_tape(f):
    source = _check(f)
    assert "_etape" not in source and "] = 0.0" not in source, source


@pytest.mark.parametrize("f", KEPT, ids=lambda f: f.__name__)
def test_near_misses_keep_their_tapes(f):
    source = _check(f)
    assert "_etape" in source or f.__name__ == "copied", source


@pytest.mark.parametrize("f", FILLED[:2] + KEPT[:2], ids=lambda f: f.__name__)
def test_second_order(f):
    srcgrad.check_grads(f, (X.copy(), A), wrt=1, order=2, rtol=1e-4, atol=1e-6)
