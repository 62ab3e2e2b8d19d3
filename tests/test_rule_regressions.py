"""Rules that were wrong, each against a closed form written out here (issue 19).

- Derivatives registered as zero that are not: ``np.sort`` (a permutation), ``np.linspace`` and
  ``np.arange`` (linear in their end points and step), ``np.full``/``np.full_like`` (linear in the
  fill value), ``math.copysign`` (±1 in x).
- ``x ** 0`` at x = 0: the derivative is 0, not ``0 * 0**-1 = nan`` (autograd issue 116), at every
  order and in both modes.
- Tuple axes and ``keepdims``; stacked and N-d products (NumPy's ``matmul`` and ``dot``); integer casts
  of arrays.
- Second order through ``np.max``/``np.min``, with and without an axis.
"""
import math

import numpy as np
import pytest

import srcgrad

RNG = np.random.default_rng(19)


def _both(f, args, wrt, expected, direction):
    """The gradient equals ``expected``, and the tangent along ``direction`` its dot product."""
    got = srcgrad.grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    _, tangent = srcgrad.jvp(f, wrt=wrt)(*args, direction)
    assert tangent == pytest.approx(float(np.sum(np.asarray(expected) * direction)), rel=1e-12,
                                    abs=1e-12)


# -- derivatives that were registered as zero ------------------------------------------------------
def sorted_weighted(x, c):
    return np.sum(np.sort(x) * c)


def sorted_columns(x, c):
    return np.sum(np.sort(x, axis=0) * c)


def test_sort_sends_the_cotangent_back_through_the_permutation():
    x, c = RNG.permutation(7) * 0.3 - 1.0, RNG.normal(size=7)
    expected = np.empty(7)
    expected[np.argsort(x)] = c                  # the k-th smallest entry gets weight c[k]
    _both(sorted_weighted, (x, c), 0, expected, RNG.normal(size=7))
    X, C = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
    expected = np.empty((4, 3))
    np.put_along_axis(expected, np.argsort(X, axis=0), C, axis=0)
    _both(sorted_columns, (X, C), 0, expected, RNG.normal(size=(4, 3)))


def ramp(a, b, c):
    return np.sum(np.linspace(a, b, 5) * c)


def test_linspace_is_linear_in_its_end_points():
    c = RNG.normal(size=5)
    w = np.arange(5) / 4.0
    _both(ramp, (0.3, 1.7, c), 0, np.sum(c * (1 - w)), 0.7)
    _both(ramp, (0.3, 1.7, c), 1, np.sum(c * w), -1.3)


def stepped(a, s, c):
    return np.sum(np.arange(a, 2.0, s) * c)


def counted(b):
    return np.sum(np.arange(b) * b)


def test_arange_is_linear_in_start_and_step():
    a, s = 0.25, 0.3                          # 6 values: 0.25, 0.55, ..., 1.75
    c = RNG.normal(size=6)
    _both(stepped, (a, s, c), 0, np.sum(c), 0.5)
    _both(stepped, (a, s, c), 1, np.sum(c * np.arange(6)), 0.5)
    # with one argument it is the stop: only the length depends on it
    assert srcgrad.grad(counted)(3.5) == pytest.approx(np.sum(np.arange(3.5)))


def filled(a, c):
    return np.sum(np.full((2, 3), a) * c) + np.sum(np.full_like(c, a) * c)


def filled_as_integers(a, c):
    return np.sum(np.full_like(np.int64(c), a) * c)


def test_full_is_linear_in_its_fill_value():
    c = RNG.normal(size=(2, 3))
    _both(filled, (0.7, c), 0, 2 * np.sum(c), 1.0)
    # an integer result is constant almost everywhere
    assert srcgrad.grad(filled_as_integers)(2.7, c) == 0.0


def signed(x, y):
    return math.copysign(x, y) ** 3


@pytest.mark.parametrize("x,y", [(0.7, -0.3), (-0.7, -0.3), (0.7, 0.3), (-0.7, 0.3)])
def test_copysign_is_plus_or_minus_one_in_x_and_flat_in_y(x, y):
    value = math.copysign(x, y)
    slope = 3 * value ** 2 * math.copysign(1.0, x) * math.copysign(1.0, y)
    gx, gy = srcgrad.grad(signed, wrt=(0, 1))(x, y)
    assert (gx, gy) == (pytest.approx(slope, rel=1e-14), 0.0)
    assert srcgrad.jvp(signed, wrt=0)(x, y, 1.0)[1] == pytest.approx(slope, rel=1e-14)


# -- x ** 0 at 0 --------------------------------------------------------------------------------------
def power_zero(x):
    return np.sum(x ** 0.0) + np.sum(np.power(x, 0.0)) + np.sum(x ** 0) + math.pow(x[0], 0.0)


def power_one(x):
    return np.sum(x ** 1.0)


def power_two(x):
    return np.sum(x ** 2)


def test_power_zero_has_zero_derivative_at_zero_in_every_mode_and_order():
    x = np.array([0.0, 1.5, -2.0])
    assert np.array_equal(srcgrad.grad(power_zero)(x), np.zeros(3))
    assert srcgrad.jvp(power_zero)(x, np.ones(3))[1] == 0.0
    assert np.array_equal(srcgrad.hessian(power_zero)(x), np.zeros((3, 3)))
    assert np.array_equal(srcgrad.hvp(power_zero)(x, np.ones(3)), np.zeros(3))
    assert np.array_equal(srcgrad.hessian(power_one)(x), np.zeros((3, 3)))
    np.testing.assert_array_equal(srcgrad.hessian(power_two)(x), 2 * np.eye(3))


def scalar_power_zero(x):
    return x ** 0.0 + math.pow(x, 0.0)


def test_scalar_power_zero_third_derivative():
    g = srcgrad.grad(scalar_power_zero)
    assert (g(0.0), srcgrad.grad(g)(0.0), srcgrad.grad(srcgrad.grad(g))(0.0)) == (0.0, 0.0, 0.0)


# -- tuple axes, keepdims, N-d products, integer casts ------------------------------------------------
def tuple_sum(x, c):
    return np.sum(np.sum(x, axis=(1, 2)) * c) + np.sum(np.mean(x, axis=(0, 2), keepdims=True))


def tuple_max(x, c):
    return np.sum(np.max(x, axis=(0, 2)) * c) + np.sum(np.min(x, axis=-1, keepdims=True))


@pytest.mark.slow
def test_tuple_axes_and_keepdims():
    x = RNG.permutation(24).reshape(2, 3, 4) * 0.1
    c2, c3 = RNG.normal(size=2), RNG.normal(size=3)
    expected = np.broadcast_to(c2[:, None, None], x.shape) + 1.0 / 8.0
    _both(tuple_sum, (x, c2), 0, expected, RNG.normal(size=x.shape))
    expected = np.zeros(x.shape)
    for j in range(3):
        i, k = np.unravel_index(np.argmax(x[:, j, :]), (2, 4))
        expected[i, j, k] += c3[j]
    lowest = np.argmin(x, axis=-1)[..., None]
    np.put_along_axis(expected, lowest, np.take_along_axis(expected, lowest, -1) + 1.0, -1)
    _both(tuple_max, (x, c3), 0, expected, RNG.normal(size=x.shape))


def stacked(a, b, c):
    return np.sum((a @ b) * c)


def tensor_dot(a, b, c):
    return np.sum(np.dot(a, b) * c)


def test_matmul_broadcasts_stacks_and_dot_contracts_the_last_axes():
    a, b = RNG.normal(size=(1, 3, 4)), RNG.normal(size=(2, 4, 5))
    c = RNG.normal(size=(2, 3, 5))
    _both(stacked, (a, b, c), 0, np.sum(c @ np.swapaxes(b, 1, 2), axis=0, keepdims=True),
          RNG.normal(size=a.shape))
    _both(stacked, (a, b, c), 1, np.swapaxes(a, 1, 2) @ c, RNG.normal(size=b.shape))
    a, b = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(5, 4, 2))
    c = RNG.normal(size=(2, 3, 5, 2))
    _both(tensor_dot, (a, b, c), 0, np.einsum("ijkm,klm->ijl", c, b), RNG.normal(size=a.shape))
    _both(tensor_dot, (a, b, c), 1, np.einsum("ijl,ijkm->klm", a, c), RNG.normal(size=b.shape))


def truncated(x):
    return np.sum(np.int64(3.0 * x) * x) + np.sum(np.int32(x) * np.bool_(x > 0.0) * x)


def test_integer_casts_of_arrays_compile_and_carry_no_derivative():
    x = np.array([0.35, -1.2, 2.6, 1.7])
    expected = np.trunc(3.0 * x) + np.trunc(x) * (x > 0)
    _both(truncated, (x,), 0, expected, RNG.normal(size=4))


# -- second order through max and min ---------------------------------------------------------------
def log_sum_exp_rows(x):
    m = np.max(x, axis=1)
    return np.sum(m + np.log(np.sum(np.exp(x - m.reshape(-1, 1)), axis=1)))


def max_times_sum(x):
    return np.max(x) * np.sum(x) + np.min(x) ** 2


def test_hessian_through_max_with_an_axis():
    x = RNG.normal(size=(3, 4))
    p = np.exp(x - x.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    expected = np.zeros((3, 4, 3, 4))
    for i in range(3):
        expected[i, :, i, :] = np.diag(p[i]) - np.outer(p[i], p[i])
    np.testing.assert_allclose(srcgrad.hessian(log_sum_exp_rows)(x), expected, atol=1e-12)
    v = RNG.normal(size=(3, 4))
    np.testing.assert_allclose(srcgrad.hvp(log_sum_exp_rows)(x, v),
                               np.einsum("ijkl,kl->ij", expected, v), atol=1e-12)


def test_hessian_through_a_full_max_and_min():
    x = np.array([0.3, 1.9, -0.4, 0.8])
    top, low = np.eye(4)[1], np.eye(4)[2]
    expected = np.outer(top, np.ones(4)) + np.outer(np.ones(4), top) + 2 * np.outer(low, low)
    np.testing.assert_allclose(srcgrad.hessian(max_times_sum)(x), expected, atol=1e-14)


def scalar_of_max(a, c):
    return np.max(c * a) ** 3


def test_grad_of_grad_through_max():
    # max(c a) = 2a for a > 0, so f = 8 a^3 and f'' = 48 a
    c = np.array([0.5, 2.0, 1.0])
    assert srcgrad.grad(srcgrad.grad(scalar_of_max))(1.5, c) == pytest.approx(72.0, rel=1e-14)


def keepdims_from_a_variable(x, flag):
    return np.sum(np.sum(x, axis=0, keepdims=flag > 0.0))


def test_a_keepdims_that_is_not_a_constant_is_refused_at_the_users_line():
    with pytest.raises(srcgrad.SrcgradError, match=r"test_rule_regressions\.py:\d+.*keepdims must be "
                                                   r"the constant True or False"):
        srcgrad.grad(keepdims_from_a_variable)(np.ones((2, 3)), 1.0)
