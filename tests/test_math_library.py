"""The math library of generated code (``set_math``), and the row kernels that run on all cores.

Both math libraries must give gradients that match float64 finite differences; row kernels must give
the same bits on one thread as on several, and match closed forms.
"""
import math

import numba
import numpy as np
import pytest

import srcgrad
from srcgrad.codegen import mathlib
from srcgrad.nn import loss_kernels, rows


def model(x, w, v):
    h = np.tanh(x @ w)
    s = 1e-3 * np.dot(v, v) + np.sum(np.exp(-x * x), axis=1)
    return np.mean(np.log1p(h * h)) + np.sum(s) * np.mean(v) / 300.0 + math.exp(0.5) * np.sum(np.expm1(w))


def _inputs():
    rng = np.random.default_rng(7)
    return rng.normal(size=(300, 20)), rng.normal(size=(20, 8)) * 0.3, rng.normal(size=5000)


def _finite_difference(f, args, position, probes=6, h=1e-6):
    """Central differences of ``f`` along a few random unit directions of argument ``position``."""
    rng = np.random.default_rng(3)
    x = args[position]
    out = []
    for _ in range(probes):
        d = rng.normal(size=x.shape)
        d /= np.linalg.norm(d)
        up = list(args); up[position] = x + h * d
        down = list(args); down[position] = x - h * d
        out.append((d, (f(*up) - f(*down)) / (2 * h)))
    return out


def _check_against_differences(grads, args):
    for position, g in enumerate(grads):
        for d, slope in _finite_difference(model, args, position):
            assert np.sum(g * d) == pytest.approx(slope, rel=1e-6, abs=1e-7)


def _code(source):
    """The generated source without its comments (which quote the user's lines)."""
    return "\n".join(line for line in source.splitlines() if not line.strip().startswith("#"))


def test_generated_code_calls_srcgrads_math_by_default():
    source = _code(srcgrad.source(srcgrad.grad(model, wrt=1)))
    for name in ("tanh", "exp", "log1p", "expm1"):
        assert f"srt.{name}(" in source and f"np.{name}(" not in source
    assert "math.exp(" not in source


def test_libm_switch_restores_numpy_calls_and_stays_correct():
    previous = srcgrad.set_math("libm")
    try:
        g = srcgrad.grad(model, wrt=(0, 1, 2))
    finally:
        srcgrad.set_math(previous)
    source = _code(srcgrad.source(g))
    assert "np.tanh(" in source and "srt.tanh(" not in source and "math.exp(" in source
    args = _inputs()
    _check_against_differences(g(*args), args)


def test_default_math_gradient_is_correct():
    g = srcgrad.grad(model, wrt=(0, 1, 2))
    args = _inputs()
    _check_against_differences(g(*args), args)


def test_unknown_math_library_is_refused():
    with pytest.raises(srcgrad.SrcgradError, match="set_math"):
        srcgrad.set_math("svml")
    assert mathlib.substitute([]) == []        # the setting is unchanged


def test_float32_stays_float32_with_srcgrads_math():
    def f(x):
        return np.sum(np.tanh(x) * np.exp(-x) + np.log1p(x * x))
    x = np.linspace(-2, 2, 101).astype(np.float32)
    g = srcgrad.grad(f)(x)
    assert g.dtype == np.float32
    x64 = x.astype(np.float64)
    t = np.tanh(x64)
    exact = (1 - t * t) * np.exp(-x64) - t * np.exp(-x64) + 2 * x64 / (1 + x64 * x64)
    np.testing.assert_allclose(g, exact, rtol=3e-6, atol=3e-6)


def _threads(run):
    """``run()`` on one thread and on every thread Numba has (the same machine's two extremes)."""
    before = numba.get_num_threads()
    try:
        results = []
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            results.append(run())
        return results
    finally:
        numba.set_num_threads(before)


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_large_softmax_cross_entropy_runs_rows_in_parallel_with_the_serial_bits():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(300, rows.PARALLEL_MIN // 300 + 7)) * 3
    assert x.size >= rows.PARALLEL_MIN
    labels = rng.integers(0, x.shape[1], x.shape[0])
    onehot = np.eye(x.shape[1])[labels]
    g = rng.uniform(0.5, 2.0, x.shape[0])
    # the parallel kernels (chosen by size) against their serial twins
    serial = np.empty_like(x)
    loss_kernels._categorical_grad_serial(onehot, x, g, False, False, serial)
    for got in _threads(lambda: loss_kernels.categorical_grad_rows(onehot, x, g, False, False)):
        assert np.array_equal(got, serial)
    serial = np.empty_like(x)
    loss_kernels._sparse_grad_serial(labels, x, g, False, serial)
    for got in _threads(lambda: loss_kernels.sparse_grad_rows(labels, x, g, False)):
        assert np.array_equal(got, serial)
    # and against the closed form g * (softmax(x) - onehot)
    np.testing.assert_allclose(serial, g[:, None] * (_softmax(x) - onehot), rtol=1e-13, atol=1e-16)
    values = loss_kernels.sparse_value_rows(labels, x, False)
    reference = -np.log(_softmax(x)[np.arange(x.shape[0]), labels])
    np.testing.assert_allclose(values, reference, rtol=1e-12)
    np.testing.assert_array_equal(loss_kernels.categorical_value_rows(onehot, x, False), values)


def test_row_reductions_match_numpy():
    rng = np.random.default_rng(5)
    for n in (1, 7, 8, 9, 100, 1001):
        a, b = rng.normal(size=n), rng.normal(size=n)
        ab = np.stack([b, a])                 # row 1 of ab is a
        assert rows.row_max(ab, 1) == a.max()
        assert rows.row_sum(ab, 1) == pytest.approx(math.fsum(a), rel=1e-14, abs=1e-14)
        assert rows.row_dot(ab, ab, 1, 0) == pytest.approx(math.fsum(a * b), rel=1e-13, abs=1e-14)
        assert rows.log_sum_exp(ab, 1, np.empty((1, n))) == pytest.approx(np.log(np.sum(np.exp(a))),
                                                                          rel=1e-14)
