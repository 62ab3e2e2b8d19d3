"""srcgrad.gradients and srcgrad.stop_gradient against the TensorFlow seed documents.

Where a seed printed numbers, the test uses those numbers; everything else is checked against
central finite differences of a plain Python function (for stopped values: the same function with
the stopped value passed in as a constant).
"""
import numba
import numpy as np
import pytest

import srcgrad
from conftest import numeric_grad

stop_gradient = srcgrad.stop_gradient


# --- seed 000, In [2]: several outputs, grad_ys ----------------------------------------------------
def sums(w1, w2, w3, w4):
    z1 = w1 + w2 + w3
    z2 = w3 + w4
    return z1, z2


def test_grad_ys_several_outputs_seed000():
    g = srcgrad.gradients(sums, ("w1", "w2", "w3", "w4"))
    o = np.ones(3)
    got = g(o, o, o, o, grad_ys=[np.array([2., 2., 3.]), np.array([3., 2., 4.])])
    expected = [[2., 2., 3.], [2., 2., 3.], [5., 4., 7.], [3., 2., 4.]]
    for a, e in zip(got, expected):
        np.testing.assert_array_equal(a, e)
    # grad_ys defaults to ones for each output
    for a, e in zip(g(o, o, o, o), [[1.] * 3, [1.] * 3, [2.] * 3, [1.] * 3]):
        np.testing.assert_array_equal(a, e)


# --- seed 003: weighted outputs ----------------------------------------------------------------------
def weighted(w1, w2, w3, w4):
    z1 = 3 * w1 + 2 * w2 + w3
    z2 = -1 * w3 + w4
    return z1, z2


def test_grad_ys_weights_seed003():
    g = srcgrad.gradients(weighted, (0, 1, 2, 3))
    o = np.ones(3)
    seeds = (np.array([-2.0, -3.0, -4.0]), np.array([-2.0, -3.0, -4.0]))
    got = g(o, o, o, o, grad_ys=seeds)
    expected = [[-6., -9., -12.], [-4., -6., -8.], [0., 0., 0.], [-2., -3., -4.]]
    for a, e in zip(got, expected):
        np.testing.assert_array_equal(a, e)


# --- seed 000, In [3]-[5]: stop_gradients and intermediate variables --------------------------------
def a_plus_2a(a):
    b = 2 * a
    return a + b


def a_plus_2a_stopped(a):
    a0 = stop_gradient(a)
    b = stop_gradient(2 * a0)
    return a0 + b


def test_intermediate_wrt_total_derivative():
    assert srcgrad.gradients(a_plus_2a, ("a", "b"))(0.0) == (3.0, 1.0)


def test_stop_gradients_gives_partial_derivatives():
    g = srcgrad.gradients(a_plus_2a, ("a", "b"), stop_gradients=("a", "b"))
    assert g(0.0) == (1.0, 1.0)


def test_stop_gradient_calls_seed000():
    assert srcgrad.gradients(a_plus_2a_stopped, ("a0", "b"))(0.0) == (1.0, 1.0)


# --- seed 000, In [38]: a stopped product; In [42]: stopped next to unstopped -----------------------
def stopped_product(w1, w2):
    a = w1 * 3.0
    a_stopped = stop_gradient(a)
    return a_stopped * w2


def unstopped_product(w1, w2):
    a = w1 * 3.0
    return a * w2


def stopped_sum(a, b):
    c = a + b
    c_stopped = stop_gradient(c)
    d = a + b
    return c_stopped + d


def test_stopped_product_seed000():
    assert srcgrad.gradients(unstopped_product, (0, 1))(2.0, 2.0) == (6.0, 6.0)
    assert srcgrad.gradients(stopped_product, ("w1", "w2"))(2.0, 2.0) == (None, 6.0)
    assert srcgrad.gradients(stopped_product, (0, 1), unconnected="zero")(2.0, 2.0) == (0.0, 6.0)
    # grad never returns None: the unconnected argument gets zeros
    assert srcgrad.grad(stopped_product, wrt=(0, 1))(2.0, 2.0) == (0.0, 6.0)


def test_stopped_sum_seed000():
    assert srcgrad.gradients(stopped_sum, ("a", "b"))(1.0, 1.0) == (1.0, 1.0)


# --- second and third derivatives of a**2 are not in this issue; the gradient itself is -------------
def square(a):
    b = a ** 2
    return b


def test_gradient_of_square_seed000():
    assert srcgrad.gradients(square, "a")(3.0) == (6.0,)


# --- the DQN target network held constant -----------------------------------------------------------
def dqn_loss(W, s, s2, r, action):
    q = s @ W
    q_next = stop_gradient(s2 @ W)          # target network: no gradient through it
    target = r + 0.9 * np.max(q_next)
    d = target - q[action]
    return d * d


def dqn_loss_frozen(W, W_target, s, s2, r, action):
    q = s @ W
    target = r + 0.9 * np.max(s2 @ W_target)
    d = target - q[action]
    return d * d


def test_dqn_target_held_constant():
    rng = np.random.default_rng(4)
    W, s, s2 = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=4)
    got = srcgrad.grad(dqn_loss)(W, s, s2, 0.5, 1)
    expected = numeric_grad(lambda w: dqn_loss_frozen(w, W, s, s2, 0.5, 1), (W,), 0)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    d = 0.5 + 0.9 * np.max(s2 @ W) - (s @ W)[1]
    closed = np.zeros_like(W)
    closed[:, 1] = -2.0 * d * s
    np.testing.assert_allclose(got, closed, rtol=1e-12, atol=1e-12)


# --- stop_gradient in loops, helpers and njit code ----------------------------------------------------
def damped(x):
    s = 0.0
    for i in range(4):
        s = s + stop_gradient(s) * x + x
    return s


def helper_stops(v):
    return stop_gradient(v * v) + v


def uses_stopping_helper(x):
    return helper_stops(x) * x


def test_stop_gradient_in_a_loop():
    # d/dx with s_{k+1} = s_k + c_k x + x, c_k = s_k held constant
    x = 0.7
    s, ds = 0.0, 0.0
    for _ in range(4):
        s, ds = s + s * x + x, ds + s + 1.0
    assert srcgrad.grad(damped)(x) == pytest.approx(ds, rel=1e-12)


def test_stop_gradient_in_a_helper():
    x = 1.3
    # f = (c + x) * x with c = x*x constant: f' = c + 2x
    assert srcgrad.grad(uses_stopping_helper)(x) == pytest.approx(x * x + 2 * x, rel=1e-12)


@numba.njit
def _stop_in_njit(x):
    return stop_gradient(x) * 2.0


def test_stop_gradient_is_identity_everywhere():
    x = np.arange(3.0)
    assert stop_gradient(x) is x
    assert _stop_in_njit(1.5) == 3.0


# --- gradients against finite differences -------------------------------------------------------------
def two_layer(W, V, x):
    h = np.tanh(W @ x)
    y = V @ h
    return y, np.sum(h * h)


def test_gradients_with_grad_ys_matches_finite_differences():
    rng = np.random.default_rng(7)
    W, V, x = rng.normal(size=(3, 4)), rng.normal(size=(2, 3)), rng.normal(size=4)
    gy = (rng.normal(size=2), 0.7)
    got = srcgrad.gradients(two_layer, ("W", "V", "h"))(W, V, x, grad_ys=gy)

    def weighted_sum(W, V, x):
        y, r = two_layer(W, V, x)
        return np.sum(gy[0] * y) + gy[1] * r

    for a, e in zip(got[:2], numeric_grad(weighted_sum, (W, V, x), (0, 1))):
        np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-8)
    # with respect to the intermediate h: d/dh of gy0 . V h + gy1 |h|^2
    h = np.tanh(W @ x)
    np.testing.assert_allclose(got[2], V.T @ gy[0] + 2 * gy[1] * h, rtol=1e-12, atol=1e-12)


# --- errors ------------------------------------------------------------------------------------------
def reassigned(x):
    y = x * 2.0
    y = y * x
    for i in range(2):
        z = y * x
    return z


def test_wrt_must_name_a_variable_assigned_once():
    with pytest.raises(srcgrad.SrcgradError, match="assigned 2 times"):
        srcgrad.gradients(reassigned, "y")
    with pytest.raises(srcgrad.SrcgradError, match="inside a loop"):
        srcgrad.gradients(reassigned, "z")
    with pytest.raises(srcgrad.SrcgradError, match="never assigned"):
        srcgrad.gradients(reassigned, "nope")
    with pytest.raises(srcgrad.SrcgradError, match="no argument named"):
        srcgrad.grad(reassigned, wrt="y")


def test_grad_ys_of_the_wrong_shape():
    g = srcgrad.gradients(sums, (0,))
    o = np.ones(3)
    with pytest.raises(srcgrad.SrcgradError, match="dy must"):
        g(o, o, o, o, grad_ys=(np.ones(2), np.ones(3)))


# --- seed 001: the chain rule through an intermediate, and a second derivative that is None ---------
def chain(x, w1, b1, w2, b2):
    y1 = x * w1 + b1
    y2 = y1 * w2 + b2
    return y2


def affine(w, b, x):
    y = x * w + b
    return y


def test_chain_rule_through_an_intermediate_seed001():
    args = (1.0, 2.0, 1.0, 2.0, 1.0)
    (dy2_dy1,) = srcgrad.gradients(chain, "y1")(*args)
    dy1_dw1 = 1.0                                    # y1 = x * w1 + b1 with x = 1
    (dy2_dw1,) = srcgrad.gradients(chain, "w1")(*args)
    assert dy2_dy1 * dy1_dw1 == dy2_dw1 == 2.0


def test_second_derivative_of_an_affine_map_is_none_seed001():
    dy_dw, dy_db = srcgrad.gradients(affine, ("w", "b"))(1.0, 2.0, 3.0)
    assert (dy_dw, dy_db) == (3.0, 1.0)
    first = srcgrad.grad(affine, wrt=0)
    assert srcgrad.gradients(first, "w")(1.0, 2.0, 3.0) == (None,)
