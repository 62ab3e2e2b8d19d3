"""``srcgrad.check_grads``: it passes correct derivatives (checked here against closed forms too) and
catches wrong ones, naming the mode, order and argument; bad requests are refused clearly."""
import numpy as np
import pytest

import srcgrad
from srcgrad import GradientCheckError, check_grads


def layer(x, w, b):
    h = np.tanh(x @ w + b)
    return np.sum(h * h) + np.mean(np.exp(-x)) * b


def pair(x, y):
    return x * y, np.sum(np.sin(x) * y)


def cube(x):
    return np.sum(x * x * x)


# a rule that is wrong at order 1: the derivative of x**3 off by a factor
@srcgrad.custom_vjp
def bad_cube(x):
    return x * x * x


@bad_cube.defvjp
def _bad_cube_vjp(g, ans, x):
    return g * 2.9 * x * x


@srcgrad.custom_jvp
def bad_cube_fwd(x):
    return x * x * x


@bad_cube_fwd.defjvp
def _bad_cube_jvp(t, ans, x):
    return t * 3.1 * x * x


# right at order 1, wrong at order 2: the rule's own (linear) derivative in x is off, because the
# rule calls a function whose rule is wrong
@srcgrad.custom_vjp
def bad_square(x):
    return x * x


@bad_square.defvjp
def _bad_square_vjp(g, ans, x):
    return 2.0 * x * x * x * x


def with_bad_cube(x, y):
    return np.sum(bad_cube(x) * y)


def with_bad_cube_fwd(x):
    return np.sum(bad_cube_fwd(x))


def second_order_trap(x):
    return np.sum(_cubed(x))


@srcgrad.custom_vjp
def _cubed(x):
    return x * x * x


@_cubed.defvjp
def _cubed_vjp(g, ans, x):
    return g * 3.0 * bad_square(x)       # 3 x^2 in value; its derivative uses bad_square's rule


def _args(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(5, 3)), rng.normal(size=(3, 2)), 0.3


def test_correct_derivatives_pass_in_both_modes_for_several_arguments_and_outputs():
    check_grads(layer, _args(), wrt=(0, 1, 2))
    check_grads(layer, _args(1), wrt=("x", "b"), modes="rev")
    rng = np.random.default_rng(2)
    check_grads(pair, (rng.normal(size=4), rng.normal(size=4)), wrt=(0, 1))


def test_float32_arguments_are_checked_to_float32_precision():
    x, w, b = _args()
    check_grads(layer, (x.astype(np.float32), w.astype(np.float32), b), wrt=(0, 1))


def test_second_order_passes_for_correct_code():
    x = np.random.default_rng(3).normal(size=4)
    check_grads(cube, (x,), order=2)
    # and the thing it vouches for: the Hessian of sum(x^3) is diag(6x)
    np.testing.assert_allclose(srcgrad.hessian(cube)(x), np.diag(6 * x), rtol=1e-12)


def test_a_wrong_reverse_rule_is_caught_and_named():
    rng = np.random.default_rng(4)
    args = (rng.normal(size=6), rng.normal(size=6))
    with pytest.raises(GradientCheckError, match=r"rev-mode derivative of order 1 .* argument 'x'"):
        check_grads(with_bad_cube, args, wrt=(0, 1), modes="rev")
    check_grads(with_bad_cube, args, wrt=1)          # y does not pass through the wrong rule


def test_a_wrong_forward_rule_is_caught_and_named():
    x = np.random.default_rng(5).normal(size=6)
    with pytest.raises(GradientCheckError, match=r"fwd-mode derivative of order 1 .* 'x' \(position 0\)"):
        check_grads(with_bad_cube_fwd, (x,), modes="fwd")


def test_a_wrong_second_derivative_is_caught_only_at_order_two():
    x = np.random.default_rng(6).uniform(0.5, 1.5, size=4)
    check_grads(second_order_trap, (x,), modes="rev")
    with pytest.raises(GradientCheckError, match="order 2"):
        check_grads(second_order_trap, (x,), modes="rev", order=2)


def test_arguments_are_not_modified():
    x, w, b = _args()
    kept = (x.copy(), w.copy())
    check_grads(layer, (x, w, b), wrt=(0, 1))
    assert np.array_equal(x, kept[0]) and np.array_equal(w, kept[1])


@pytest.mark.parametrize("kwargs, message", [
    (dict(wrt=3), "not one of the 3 arguments"),
    (dict(wrt="z"), "no argument named 'z'"),
    (dict(wrt=(0, 0)), "distinct"),
    (dict(modes=("rev", "backward")), "modes must be drawn from"),
    (dict(order=0), "order must be an int >= 1"),
])
def test_bad_requests_are_refused(kwargs, message):
    with pytest.raises(srcgrad.ArgumentError, match=message):
        check_grads(layer, _args(), **kwargs)


def test_integer_arguments_have_no_gradient_to_check():
    def scaled(x, n):
        return np.sum(x) * n
    with pytest.raises(srcgrad.ArgumentError, match=r"'n' \(position 1\) is not a float"):
        check_grads(scaled, (np.ones(3), 2), wrt=1)


def test_order_two_needs_one_output():
    rng = np.random.default_rng(7)
    with pytest.raises(srcgrad.ArgumentError, match="return one value"):
        check_grads(pair, (rng.normal(size=3), rng.normal(size=3)), order=2)
