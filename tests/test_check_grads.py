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


# right at orders 1 and 2, wrong at order 3: one level deeper than second_order_trap
@srcgrad.custom_vjp
def _fourth(x):
    return x * x * x * x


@_fourth.defvjp
def _fourth_vjp(g, ans, x):
    return g * 4.0 * _cubed(x)           # 4 x^3 in value; its derivative goes through _cubed's rule


def third_order_trap(x):
    return np.sum(_fourth(x))


# the same in forward mode, with forward rules only
@srcgrad.custom_jvp
def bad_square_fwd(x):
    return x * x


@bad_square_fwd.defjvp
def _bad_square_fwd_jvp(t, ans, x):
    return t * 2.2 * x                   # wrong: 2 x


@srcgrad.custom_jvp
def _cubed_fwd(x):
    return x * x * x


@_cubed_fwd.defjvp
def _cubed_fwd_jvp(t, ans, x):
    return t * 3.0 * bad_square_fwd(x)


@srcgrad.custom_jvp
def _fourth_fwd(x):
    return x * x * x * x


@_fourth_fwd.defjvp
def _fourth_fwd_jvp(t, ans, x):
    return t * 4.0 * _cubed_fwd(x)


def third_order_trap_fwd(x):
    return np.sum(_fourth_fwd(x))


def fifth_power(x):
    return x ** 5


def sin_exp(x):
    return np.sin(x) * np.exp(x)


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


def test_a_wrong_third_derivative_is_caught_only_at_order_three():
    x = np.random.default_rng(6).uniform(0.5, 1.5, size=4)
    check_grads(third_order_trap, (x,), modes="rev", order=2)
    with pytest.raises(GradientCheckError, match="rev-mode derivative of order 3"):
        check_grads(third_order_trap, (x,), modes="rev", order=3)
    check_grads(third_order_trap_fwd, (x,), modes="fwd", order=2)
    with pytest.raises(GradientCheckError, match="fwd-mode derivative of order 3"):
        check_grads(third_order_trap_fwd, (x,), modes="fwd", order=3)


# orders 1 to 4 of functions returning one value: at order 3 and up the derivatives checked are
# themselves derivatives (a jvp returns the value too, a vjp of several arguments a tuple), and used
# to be refused as "not one value" (issue 19, defect 18). Cold, order 4 compiles 2**4 - 1 derivative
# functions of growing size (about a minute here for a vector argument); sin(x) exp(x) of a vector
# stops at order 3 for that reason.
ANY_ORDER = [pytest.param(f, x, order, id=f"{f.__name__}-{'vector' if np.ndim(x) else 'scalar'}-{order}")
             for f in (fifth_power, sin_exp) for x in (0.7, np.array([0.3, -0.8, 1.1]))
             for order in (1, 2, 3, 4) if not (f is sin_exp and np.ndim(x) and order == 4)]


@pytest.mark.slow
@pytest.mark.parametrize("f, x, order", ANY_ORDER)
def test_any_order_for_one_output(f, x, order):
    check_grads(f, (x,), order=order)


def two_arguments(x, y):
    return np.sin(x * y) * x


@pytest.mark.slow
def test_third_order_with_several_arguments():
    # each derivative is differentiated again for one argument at a time, so it returns one value
    rng = np.random.default_rng(8)
    check_grads(two_arguments, (rng.normal(size=3), rng.normal(size=3)), wrt=(0, 1), order=3)
    check_grads(two_arguments, (0.4, -1.2), wrt=(0, 1), order=3)


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
