"""Variables that change type or shape across a loop, and names reused for other things
(issue 19, defects 3, 10, 11).

Checked in reverse and forward mode, and some to second order, against float64 central finite
differences of the plain Python function or closed forms."""
import math

import numpy as np
import pytest

import srcgrad
from conftest import check_both_modes

rng = np.random.default_rng(3)


# -- accumulators started as integers -----------------------------------------------------------
def power_by_loop(a):
    out = 1
    for i in range(3):
        out = out * a
    return out


def product_of_elements(x):
    p = 1
    for i in range(x.shape[0]):
        p = p * x[i]
    return p


def sine_recurrence(x):
    s = 0
    for i in range(x.shape[0]):
        s = np.sin(s) + x[i]
    return s


def counter_and_scale(x):
    k = 0                       # stays an integer: it indexes
    scale = 1                   # becomes a float
    total = 0.0
    while k < x.shape[0]:
        scale = scale * 0.5
        total = total + x[k] * scale
        k = k + 1
    return total * total


def branch_makes_it_float(x):
    acc = 0
    for i in range(x.shape[0]):
        if x[i] > 0.0:
            acc = acc + x[i] * x[i]
        else:
            acc = acc * 2
    return acc


def test_power_closed_form():
    assert srcgrad.grad(power_by_loop)(1.5) == pytest.approx(3 * 1.5 ** 2, rel=1e-14)
    value, tangent = srcgrad.jvp(power_by_loop)(1.5, 1.0)
    assert (value, tangent) == (pytest.approx(1.5 ** 3), pytest.approx(6.75))


@pytest.mark.parametrize("f", [product_of_elements, sine_recurrence, counter_and_scale,
                               branch_makes_it_float], ids=lambda f: f.__name__)
def test_integer_started_accumulators(f):
    check_both_modes(f, (rng.normal(size=5),))


def test_integer_started_accumulators_to_second_order():
    srcgrad.check_grads(product_of_elements, (rng.normal(size=4),), order=2)
    srcgrad.check_grads(sine_recurrence, (rng.normal(size=4),), order=2)


# -- a name that is a loop index, then a float ---------------------------------------------------
def gmm_like(x, d):
    """As in ADBench's GMM: ``c`` indexes a loop, and later holds the constant term."""
    s = 0.0
    for c in range(d):
        s = s + x[c] * x[c]
    c = d * 2.0 * math.log(s)
    return c + s


def index_in_nested_loops_then_float(x):
    total = 0.0
    for i in range(2):
        for c in range(x.shape[0]):
            total = total + x[c] * (i + 1.0)
    c = total * total
    return c * x[0]


def test_a_loop_index_reused_as_a_float():
    check_both_modes(gmm_like, (rng.normal(size=3) + 2.0, 3))
    check_both_modes(index_in_nested_loops_then_float, (rng.normal(size=4),))


# -- a variable whose shape changes from one iteration to the next -------------------------------
def growing_prefix(x):
    s = 0.0
    for i in range(1, x.shape[0]):
        v = x[:i] * 2.0
        s = s + np.sum(v * v)
    return s


def shrinking_carried(x):
    h = x * 1.0
    s = 0.0
    for t in range(3):
        h = h[1:]
        s = s + np.sum(h * h) * (t + 1.0)
    return s


def triangular(a):
    n = a.shape[0]
    s = 0.0
    for i in range(n):
        t = a[i, :i] * a[:i, i]
        s = s + np.sum(np.tanh(t))
    return s


def reversed_each_step(x):
    h = x.copy()
    s = 0.0
    for t in range(3):
        h = h[::-1]
        s = s + h[0] * (t + 1.0)
    return s


def sized_by_index(x):
    s = 0.0
    for i in range(1, 4):
        z = np.zeros(i) + x[i]
        s = s + np.sum(np.exp(z * x[0]))
    return s


SHAPES = [(growing_prefix, (5,)), (shrinking_carried, (6,)), (triangular, (4, 4)),
          (reversed_each_step, (4,)), (sized_by_index, (5,))]


@pytest.mark.parametrize("f, shape", SHAPES, ids=[s[0].__name__ for s in SHAPES])
def test_shapes_that_change_between_iterations(f, shape):
    check_both_modes(f, (rng.normal(size=shape),))


def test_growing_prefix_closed_form():
    # d/dx_k of sum_i sum_{k<i} 4 x_k^2 = 8 x_k (number of i with k < i)
    x = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(srcgrad.grad(growing_prefix)(x), 8 * x * np.array([3, 2, 1, 0]))


@pytest.mark.slow
def test_changing_shapes_to_second_order():
    srcgrad.check_grads(growing_prefix, (rng.normal(size=4),), order=2)
    srcgrad.check_grads(shrinking_carried, (rng.normal(size=5),), order=2)
