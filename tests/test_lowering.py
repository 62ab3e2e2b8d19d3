"""How generated functions compile (srcgrad/codegen/lowering.py): branch-free broadcasting and
wide vectors.

Every broadcasting pattern of Numba's array expressions (length-1 axes anywhere, missing leading
axes, scalars, empty arrays, views with strides) compiled with it must give NumPy's result exactly;
the wide vectors must reach LLVM and change no bit of any result; and Numba's own lowering must be
back in place outside a generated function's compile. With ``SRCGRAD_NUMBA_PATCHES=0`` neither is
used (srcgrad/compat.py): the same results from Numba's own lowering and LLVM's vector width.
"""
import re

import llvmlite.binding as ll
import numpy as np
import pytest
from numba import njit
from numba.core.codegen import CPUCodeLibrary
from numba.np import npyimpl

import srcgrad
from srcgrad import compat
from srcgrad.codegen import lowering
from srcgrad.codegen.lowering import branch_free_broadcasting, wide_vectors
from srcgrad.runtime import vecmath


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


def test_the_installed_numba_gets_the_branch_free_lowering_unless_switched_off():
    """With another Numba internal, or SRCGRAD_NUMBA_PATCHES=0, srcgrad keeps Numba's lowering
    (correct, slower to compile): this says when that happens."""
    assert compat.shape_ok("broadcast_select")
    numbas = npyimpl._ArrayIndexingHelper.update_indices
    with branch_free_broadcasting():
        swapped = npyimpl._ArrayIndexingHelper.update_indices
    assert (swapped is compat._update_indices_by_select) == compat.ENABLED
    assert swapped is compat._update_indices_by_select or swapped is numbas
    assert npyimpl._ArrayIndexingHelper.update_indices is numbas


def _slopes_and_sum(x):
    """Elementwise math (remainder loops included at odd lengths) and a sequential sum."""
    out = np.empty_like(x)
    total = 0.0
    for i in range(x.shape[0]):
        out[i] = vecmath.tanh_slope64(x[i]) * vecmath.tanh64(x[i]) + vecmath.exp64(-x[i] * x[i])
        total += out[i]
    return out, total


def test_wide_vectors_change_no_bit():
    x = np.random.default_rng(7).normal(scale=4.0, size=1003)
    narrow = njit(_slopes_and_sum)
    wide = njit(_slopes_and_sum)
    with wide_vectors():
        wide.compile("(float64[::1],)")
    (a, sa), (b, sb) = narrow(x), wide(x)
    assert a.tobytes() == b.tobytes() and sa == sb
    assert ('"prefer-vector-width"="512"' in _own_attributes(wide)) == compat.uses("vector_width")
    assert "prefer-vector-width" not in _own_attributes(narrow)


def _own_attributes(dispatcher):
    """The LLVM attributes of the compiled function itself (linked kernels have their own)."""
    text = dispatcher.inspect_llvm(dispatcher.signatures[0])
    name = dispatcher.py_func.__name__
    define = next(line for line in text.splitlines()
                  if line.startswith("define") and name in line and "cpython" not in line)
    groups = re.findall(r"#(\d+)", define)
    return define + "".join(re.search(rf"^attributes #{g} = (.*)$", text, re.M).group(1)
                            for g in groups)


def _sum_tanh_of_sum(x, v):
    """Differentiated only by the test below, so that its compile is its own."""
    return np.sum(np.tanh(x + v))


def test_a_generated_function_gets_wide_vectors(tmp_path, monkeypatch):
    """The attribute reaches LLVM, and on an AVX-512 CPU the loops use 512-bit registers (compiled
    afresh: a function loaded from the disk cache has no LLVM text to read). With the switch at 0,
    no attribute: LLVM's own choice of width (256 bits on most AVX-512 CPUs, 512 on AMD Zen 4)."""
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(tmp_path))
    assert lowering.VECTOR_WIDTH == "512"
    adding = CPUCodeLibrary.add_ir_module
    grad = srcgrad.grad(_sum_tanh_of_sum, wrt=(0, 1))
    x, v = np.linspace(-3, 3, 1001), np.float64(0.25)
    gx, gv = grad(x, v)
    slope = 1.0 / np.cosh(x + v) ** 2                          # closed form
    np.testing.assert_allclose(gx, slope, rtol=1e-14)
    np.testing.assert_allclose(gv, slope.sum(), rtol=1e-13)
    signature = grad.signatures[0]
    wide = compat.uses("vector_width")
    assert ('"prefer-vector-width"="512"' in grad.inspect_llvm(signature)) == wide
    if wide and "+avx512f" in ll.get_host_cpu_features().flatten().split(","):
        assert "zmm" in grad.inspect_asm(signature)
    assert CPUCodeLibrary.add_ir_module is adding


def test_a_bad_vector_width_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(lowering, "VECTOR_WIDTH", "wide")
    adding = CPUCodeLibrary.add_ir_module
    with pytest.raises(srcgrad.SrcgradError, match="SRCGRAD_VECTOR_WIDTH must be a number of bits"):
        with wide_vectors():
            pass
    assert CPUCodeLibrary.add_ir_module is adding


def test_vector_width_zero_keeps_llvms_choice(monkeypatch):
    monkeypatch.setattr(lowering, "VECTOR_WIDTH", "0")
    compiled = njit(_slopes_and_sum)
    with wide_vectors():
        compiled.compile("(float64[::1],)")
    assert "prefer-vector-width" not in _own_attributes(compiled)
