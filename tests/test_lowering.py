"""The branch-free broadcasting that generated functions compile with (srcgrad/codegen/lowering.py).

Every broadcasting pattern of Numba's array expressions (length-1 axes anywhere, missing leading
axes, scalars, empty arrays, views with strides) compiled with it must give NumPy's result exactly,
and Numba's own lowering must be back in place outside a generated function's compile.
"""
import numpy as np
import pytest
from numba import njit
from numba.np import npyimpl

import srcgrad
from srcgrad.codegen import lowering
from srcgrad.codegen.lowering import branch_free_broadcasting


def _expression(a, b, c):
    return a * (1.0 - b * b) + c


SHAPES = [
    ((3, 4), (3, 4), (4,)),
    ((3, 4), (1, 4), (3, 1)),
    ((2, 3, 4), (3, 1), (1, 1, 4)),
    ((5,), (1,), ()),
    ((1, 1), (6, 7), (7,)),
    ((0, 4), (1, 4), (4,)),
    ((2, 1, 3), (1, 5, 1), (5, 3)),
]


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_branch_free_broadcasting_gives_numpys_result(shapes):
    rng = np.random.default_rng(len(str(shapes)))
    a, b, c = (rng.normal(size=s) if s else rng.normal() for s in shapes)
    compiled = njit(_expression)
    with branch_free_broadcasting():
        got = compiled(a, b, c)
    np.testing.assert_array_equal(got, _expression(a, b, c))


def test_strided_and_fortran_operands():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 8))[::2, 1::3]                    # strided view
    b = np.asfortranarray(rng.normal(size=(3, 3)))
    c = rng.normal(size=(3, 1))
    compiled = njit(_expression)
    with branch_free_broadcasting():
        got = compiled(a, b, c)
    np.testing.assert_array_equal(got, _expression(a, b, c))


def _sum_tanh_plus(x, v):
    return np.sum(np.tanh(x + v))


def test_numbas_lowering_is_back_after_a_generated_compile():
    numbas = npyimpl._ArrayIndexingHelper.update_indices
    grad = srcgrad.grad(_sum_tanh_plus, wrt=(0, 1))
    x, v = np.linspace(-1, 1, 12).reshape(3, 4), np.linspace(0, 0.5, 4)
    gx, gv = grad(x, v)
    slope = 1.0 / np.cosh(x + v) ** 2                          # closed form
    np.testing.assert_allclose(gx, slope, rtol=1e-14)
    np.testing.assert_allclose(gv, slope.sum(axis=0), rtol=1e-14)
    assert npyimpl._ArrayIndexingHelper.update_indices is numbas


def test_the_installed_numba_gets_the_branch_free_lowering():
    """With another Numba internal, srcgrad keeps Numba's lowering (correct, slower to compile):
    this says when that happens."""
    assert lowering._KNOWN
    numbas = npyimpl._ArrayIndexingHelper.update_indices
    with branch_free_broadcasting():
        assert npyimpl._ArrayIndexingHelper.update_indices is lowering._update_indices_by_select
    assert npyimpl._ArrayIndexingHelper.update_indices is numbas
