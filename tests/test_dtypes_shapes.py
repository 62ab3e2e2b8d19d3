"""Dtypes and memory layouts: float32 stays float32, integers ride along undifferentiated (and are
refused as ``wrt``), 0-d and empty arrays, strided, transposed and Fortran-ordered views, and IEEE
special values that follow NumPy. Every gradient is checked against float64 finite differences or a
closed form, on inputs that must come back unchanged."""
import numpy as np
import pytest

import srcgrad
from conftest import build_grad, check_grad


def scaled_tanh(x, n):
    return np.sum(np.tanh(x) * n)


def quadratic(w, x):
    return np.sum((x @ w) ** 2) + np.sum(w * w * w)


def gather(x, labels):
    s = 0.0
    for i in range(labels.shape[0]):
        s += x[labels[i]] ** 2
    return s


def mean_exp(x):
    return np.mean(np.exp(x))


def ratio(x, y):
    return x / y


def log_sum(x):
    return np.sum(np.log(x))


RNG = np.random.default_rng(12)
X = RNG.normal(size=7)
W = RNG.normal(size=(3, 2))
XM = RNG.normal(size=(4, 3))


@pytest.mark.parametrize("n", [3, np.int32(2), True, np.arange(7), np.arange(7, dtype=np.uint8)],
                         ids=["int", "int32", "bool", "int64 array", "uint8 array"])
def test_integer_and_boolean_arguments_ride_along(n):
    check_grad(scaled_tanh, (X, n))


@pytest.mark.parametrize("n", [3, True, np.arange(7)], ids=["int", "bool", "int array"])
def test_differentiating_an_integer_argument_names_it(n):
    with pytest.raises(srcgrad.ArgumentError, match=r"with respect to 'n', which is .*(int|bool)"):
        srcgrad.grad(scaled_tanh, wrt=1)(X, n)
    with pytest.raises(srcgrad.ArgumentError, match="'n'"):
        srcgrad.jvp(scaled_tanh, wrt=(0, 1))(X, n, (X, X))


def test_float32_in_float32_out_in_every_mode():
    x32 = X.astype(np.float32)
    g = srcgrad.grad(mean_exp)(x32)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.exp(X) / X.size, rtol=2e-6)
    assert srcgrad.vjp(mean_exp)(x32, np.float32(2.0)).dtype == np.float32
    value, tangent = srcgrad.jvp(mean_exp)(x32, np.ones(7, np.float32))
    assert tangent == pytest.approx(np.mean(np.exp(X)), rel=2e-6)
    gw, gx = srcgrad.grad(quadratic, wrt=(0, 1))(W.astype(np.float32), XM.astype(np.float32))
    assert gw.dtype == gx.dtype == np.float32


def test_integer_labels_of_any_width_index_arrays():
    for labels in (np.array([0, 2, 2, 6]), np.array([0, 2, 2, 6], dtype=np.int32)):
        got = check_grad(gather, (X, labels))
        expected = np.zeros_like(X)
        np.add.at(expected, labels, 2 * X[labels])
        np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_zero_dimensional_arrays():
    x = np.array(0.4)
    g = build_grad(mean_exp)(x)
    assert isinstance(g, np.ndarray) and g.shape == ()
    assert float(g) == pytest.approx(np.exp(0.4), rel=1e-15)
    assert srcgrad.jvp(mean_exp)(x, np.array(2.0))[1] == pytest.approx(2 * np.exp(0.4), rel=1e-15)


def test_empty_arrays_have_empty_gradients():
    for f in (mean_exp, log_sum):
        g = build_grad(f)(np.zeros(0))
        assert g.shape == (0,) and g.dtype == np.float64
    g = build_grad(scaled_tanh)(np.zeros((0, 3)), 2.0)
    assert g.shape == (0, 3)
    gw, gx = build_grad(quadratic, wrt=(0, 1))(W, np.zeros((0, 3)))
    np.testing.assert_allclose(gw, 3 * W * W, rtol=1e-15)
    assert gx.shape == (0, 3)


@pytest.mark.parametrize("layout", ["strided", "fortran", "transposed", "negative stride"])
def test_views_and_orders_give_the_contiguous_answer(layout):
    def view(a):
        if layout == "strided":
            return np.repeat(a, 2, axis=-1)[..., ::2]
        if layout == "fortran":
            return np.asfortranarray(a)
        if layout == "transposed":
            return np.ascontiguousarray(a.T).T
        return a[::-1][::-1].copy()[::-1][::-1] if a.ndim == 1 else np.flip(np.flip(a, 0).copy(), 0)
    w, x = view(W), view(XM)
    assert np.array_equal(w, W) and np.array_equal(x, XM)
    got = check_grad(quadratic, (w, x), wrt=(0, 1))
    for g, a in zip(got, (W, XM)):
        assert g.shape == a.shape
    check_grad(scaled_tanh, (view(XM), 2.0))


def test_division_by_zero_and_logs_of_zero_follow_numpy():
    # NumPy's IEEE results, for scalars too: inf and nan propagate instead of raising
    gx, gy = srcgrad.grad(ratio, wrt=(0, 1))(1.0, 0.0)
    assert gx == np.inf and gy == -np.inf          # 1/y and -x/y^2 at y = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.array_equal(srcgrad.grad(log_sum)(np.array([0.0, 1.0, -1.0])),
                              np.array([np.inf, 1.0, -1.0]))
        x = np.array([np.nan, 2.0])
        g = srcgrad.grad(mean_exp)(x)
    assert np.isnan(g[0]) and g[1] == pytest.approx(np.exp(2.0) / 2, rel=1e-15)
