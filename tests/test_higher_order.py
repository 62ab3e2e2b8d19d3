"""Derivatives of derivatives: srcgrad's generated code is itself differentiable.

Second derivatives are checked against finite differences of the first derivative computed by the
plain Python closed form or by central differences of the function (never srcgrad against itself).
"""
import math

import numpy as np
import pytest

import srcgrad


def square(a):
    b = a ** 2
    return b


def linear(x):
    return 3.0 * x + 1.0


def test_third_derivative_of_square_seed000():
    g1 = srcgrad.grad(square)
    g2 = srcgrad.grad(g1)
    g3 = srcgrad.grad(g2)
    assert (g1(3.0), g2(3.0), g3(3.0)) == (6.0, 2.0, 0.0)


def test_second_derivative_of_a_linear_function_is_zero():
    assert srcgrad.grad(srcgrad.grad(linear))(2.0) == 0.0


def recurrence(a, x):
    h = 0.0
    s = 0.0
    for i in range(x.shape[0]):
        h = math.tanh(a * h + x[i])
        s += h * h
    return s


def branchy(a, x):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] * a > 0.2:
            s += math.exp(a * x[i])
        else:
            s -= math.sin(a * x[i]) * a
    return s


def redefined(x):
    h = x * 2.0
    y = h * h
    h = np.floor(3.7)          # a new value with no derivative: the old h's adjoint must not leak
    return y + h * x


def second_fd(f, a, x, h=1e-4):
    """d2f/da2 by central differences of f itself."""
    return (f(a + h, x) - 2 * f(a, x) + f(a - h, x)) / (h * h)


@pytest.mark.parametrize("f", [recurrence, branchy], ids=["recurrence", "branchy"])
def test_second_derivative_through_loops_and_branches(f):
    x = np.linspace(-0.8, 0.9, 5)
    a = 0.7
    expected = second_fd(f, a, x)
    g = srcgrad.grad(f, wrt=0)
    assert srcgrad.grad(g, wrt=0)(a, x) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    value, tangent = srcgrad.jvp(g, wrt=0)(a, x, 1.0)       # forward over reverse
    assert tangent == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_mixed_second_derivative_of_a_vjp():
    # d/da of (dy/dx . u) for y = tanh(a * x): closed form
    def f(x, a):
        return np.tanh(a * x)
    x, a, u = np.linspace(-1.0, 1.0, 4), 0.6, np.array([0.3, -1.0, 2.0, 0.5])
    v = srcgrad.vjp(f, wrt=0)
    got = srcgrad.grad(v, wrt=1)(x, a, u)
    t = np.tanh(a * x)
    closed = np.sum(u * ((1 - t * t) - 2 * t * (1 - t * t) * a * x))
    assert got == pytest.approx(closed, rel=1e-12)


def test_redefinition_without_derivative_resets_the_adjoint():
    # z = (2x)^2 + 3x  ->  dz/dx = 8x + 3
    assert srcgrad.grad(redefined)(1.5) == pytest.approx(8 * 1.5 + 3, rel=1e-14)


def quartic(x, c):
    return np.sum(c * x ** 4) + x[0] * x[1] * x[2]


def test_hessian_and_hvp_closed_form():
    x, c = np.array([0.5, -1.0, 2.0]), 0.3
    expected = np.diag(12 * c * x ** 2)
    expected[0, 1] = expected[1, 0] = x[2]
    expected[0, 2] = expected[2, 0] = x[1]
    expected[1, 2] = expected[2, 1] = x[0]
    np.testing.assert_allclose(srcgrad.hessian(quartic)(x, c), expected, rtol=1e-12, atol=1e-12)
    v = np.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(srcgrad.hvp(quartic)(x, c, v), expected @ v, rtol=1e-12, atol=1e-12)
    assert srcgrad.hessian(quartic, wrt="c")(x, c) == 0.0


def layer(W, x):
    return np.tanh(W @ x)


def test_jacobian_against_finite_differences():
    rng = np.random.default_rng(2)
    W, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    got = srcgrad.jacobian(layer, wrt=1)(W, x)
    h = 1e-6
    expected = np.stack([(layer(W, x + h * e) - layer(W, x - h * e)) / (2 * h) for e in np.eye(4)],
                        axis=1)
    assert got.shape == (3, 4)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def rnn(W, x):
    h = x
    for k in range(3):
        h = np.tanh(W @ h)          # whole arrays saved by reference on the tape
    return np.sum(h * h)


def test_hvp_through_a_loop_that_saves_arrays():
    rng = np.random.default_rng(8)
    W, x, V = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3), rng.normal(size=(3, 3))
    hv = srcgrad.hvp(rnn, wrt=0)(W, x, V)
    h = 1e-4
    curvature = (rnn(W + h * V, x) - 2 * rnn(W, x) + rnn(W - h * V, x)) / (h * h)   # V . H V
    assert float(np.sum(V * hv)) == pytest.approx(curvature, rel=1e-5)
