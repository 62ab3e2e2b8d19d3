"""The math library of generated code (``set_math``), and the code that runs on all cores: the row
kernels and ``parallel=True`` gradients.

Both math libraries must give gradients that match float64 finite differences; row kernels and
parallel gradients must give the same bits on one thread as on several (and as the serial build),
and match closed forms or finite differences.
"""
import ast
import math

import numba
import numpy as np
import pytest

import srcgrad
from srcgrad.codegen import mathlib, parallel_mode
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
    x = rng.normal(size=(rows.PARALLEL_MIN // 512 + 7, 512)) * 3
    assert x.size >= rows.PARALLEL_MIN
    labels = rng.integers(0, x.shape[1], x.shape[0])
    onehot = np.eye(x.shape[1])[labels]
    g = rng.uniform(0.5, 2.0, x.shape[0])
    # the parallel kernels (chosen by size) against their serial twins
    serial = np.empty_like(x)
    loss_kernels._categorical_grad_serial(onehot, x, g, False, False, serial)
    for got in _threads(lambda: loss_kernels.categorical_grad_rows(onehot, x, g, False, False,
                                                                  np.empty_like(x))):
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


# -- parallel=True -----------------------------------------------------------------------------------
def _tanh_mean(x):
    return np.mean(np.tanh(x) * x) + np.sum(np.exp(-x * x))


def _recurrence(x):
    y = np.zeros_like(x)
    for i in range(1, x.shape[0]):
        y[i] = 0.5 * y[i - 1] + np.tanh(x[i])
    return np.sum(y * y)


def _same_bits(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a, b))


@pytest.mark.slow
def test_parallel_gradient_matches_differences_and_the_serial_bits_at_any_thread_count():
    # model() has np.dot, np.sum along an axis and means: Numba's parallel versions of those would
    # change the last bits with the thread count
    args = _inputs()
    serial = srcgrad.grad(model, wrt=(0, 1, 2))(*args)
    parallel = srcgrad.grad(model, wrt=(0, 1, 2), parallel=True)
    _check_against_differences(parallel(*args), args)
    for got in _threads(lambda: parallel(*args)):
        assert _same_bits(got, serial)


def test_parallel_code_names_fixed_order_reductions_and_a_dense_sum_cotangent():
    source = _code(srcgrad.source(srcgrad.grad(model, wrt=(0, 1, 2), parallel=True)))
    assert "parallel=True)" in source
    # products call srcgrad's cached kernel, and sums srcgrad's reduce_sum: ordinary calls the
    # parallel pass leaves serial (the bits at any thread count: the test above)
    assert "srt.dot(v, v)" in source and "srt.matmul(x, w)" in source and "srt.reduce_sum(" in source
    assert "np.dot(" not in source and "np.sum(" not in source and " @ " not in source
    assert "srt.spread_sum_dense(" in _code(srcgrad.source(srcgrad.grad(_tanh_mean, parallel=True)))
    statement = ast.parse("y = x.sum(1) + np.mean(x) + a.dot(b) + np.max(x) + x.max()")
    [(_, [renamed])] = parallel_mode.substitute([("", [statement])])
    assert ast.unparse(renamed) == ("y = srt.serial_sum(x, 1) + srt.serial_mean(x) + "
                                    "srt.serial_dot(a, b) + np.max(x) + x.max()")


@pytest.mark.slow
def test_parallel_elementwise_gradient_keeps_float32_and_the_closed_form():
    rng = np.random.default_rng(2)
    g = srcgrad.grad(_tanh_mean, parallel=True)
    x = rng.normal(size=50_000)
    t = np.tanh(x)
    exact = ((1 - t * t) * x + t) / x.size - 2 * x * np.exp(-x * x)
    for got in _threads(lambda: g(x)):
        np.testing.assert_allclose(got, exact, rtol=1e-12, atol=1e-17)
    # float32: the sum's cotangent needs no conversion, the mean's does (two code paths)
    x32 = x[:1000].astype(np.float32)
    x64 = x32.astype(np.float64)
    t = np.tanh(x64)
    exact32 = ((1 - t * t) * x64 + t) / x64.size - 2 * x64 * np.exp(-x64 * x64)
    got32 = g(x32)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, exact32, rtol=1e-5, atol=1e-6)
    # the parallel build's twins carry the NumPy rules: it can be differentiated again
    x = x[:1000]
    t = np.tanh(x)
    e = np.exp(-x * x)
    diagonal = (2 * (1 - t * t) * (1 - t * x)) / x.size + (4 * x * x - 2) * e
    _, hv = srcgrad.jvp(g)(x, np.ones_like(x))
    np.testing.assert_allclose(hv, diagonal, rtol=1e-10, atol=1e-15)


def test_parallel_loops_with_element_writes_forward_mode_and_njit_callers():
    rng = np.random.default_rng(4)
    x = rng.normal(size=40)
    g = srcgrad.grad(_recurrence, parallel=True)(x)
    for d, slope in _finite_difference(_recurrence, [x], 0):
        assert np.sum(g * d) == pytest.approx(slope, rel=1e-6, abs=1e-8)
    value, tangent = srcgrad.jvp(_recurrence, parallel=True)(x, x)
    assert value == pytest.approx(_recurrence(x), rel=1e-14)
    assert tangent == pytest.approx(np.dot(g, x), rel=1e-12)
    grad_tanh_mean = srcgrad.grad(_tanh_mean, parallel=True)

    @numba.njit
    def descend(x):
        for _ in range(3):
            x = x - 0.1 * grad_tanh_mean(x)
        return x
    expected = x.copy()
    for _ in range(3):
        expected = expected - 0.1 * grad_tanh_mean(expected)
    assert np.array_equal(descend(x), expected)


def test_parallel_must_be_a_bool():
    with pytest.raises(srcgrad.SrcgradError, match="parallel must be True or False"):
        srcgrad.grad(_tanh_mean, parallel="yes")
