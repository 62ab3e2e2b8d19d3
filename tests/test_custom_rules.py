"""custom_vjp / custom_jvp: user rules replace srcgrad's derivative, in every mode and in @njit code.

A user rule is by design *not* the derivative of the function's body, so these tests compare with
the closed form of the rule the user gave, and with finite differences wherever the rule is exact.
"""
import numpy as np
import pytest
from numba import njit

import srcgrad
from conftest import assert_close, numeric_grad

RNG = np.random.default_rng(3)


# -- a rule that overrides the true derivative ------------------------------------------------------------
@srcgrad.custom_vjp
def clip_gradient(x):
    """The identity, whose cotangent is clipped to [-1, 1] (a common training trick)."""
    return x


@clip_gradient.defvjp
def _clip_gradient_vjp(g, ans, x):
    return np.clip(g, -1.0, 1.0)


@srcgrad.custom_vjp
def straight_through_round(x):
    return np.round(x)


@straight_through_round.defvjp
def _straight_through_vjp(g, ans, x):
    return g


def scaled_identity(x):
    return np.sum(clip_gradient(x) * 3.0) + np.sum(straight_through_round(x) * x)


def test_user_rule_overrides_the_default():
    x = np.array([0.2, 1.6, -2.4])
    # clip(3) = 1 from the first term; d/dx [round(x) * x] with round's cotangent passed straight
    # through is round(x) + x
    assert_close(srcgrad.grad(scaled_identity)(x), 1.0 + np.round(x) + x, rtol=1e-15)


# -- several arguments: one tuple-returning rule, or one rule per argument ----------------------------------
@srcgrad.custom_vjp
def bilinear(x, y):
    return x * y + np.sin(x)


@bilinear.defvjp
def _bilinear_vjp(g, ans, x, y):
    return g * (y + np.cos(x)), g * x


@srcgrad.custom_vjp
def bilinear_per_argument(g, y):          # parameters named like template names do not clash
    return g * y + np.sin(g)


bilinear_per_argument.defvjp(lambda g_out, ans, g, y: g_out * (y + np.cos(g)),
                             lambda g_out, ans, g, y: g_out * g)
bilinear_per_argument.defjvp(lambda t, ans, g, y: t * (y + np.cos(g)),
                             lambda t, ans, g, y: t * g)


def bilinear_ref(x, y):
    return x * y + np.sin(x)


def two_args(x, y):
    return np.sum(bilinear(x, y) ** 2)


def two_args_per_argument(x, y):
    return np.sum(bilinear_per_argument(x, y) ** 2)


def two_args_ref(x, y):
    return np.sum(bilinear_ref(x, y) ** 2)


@pytest.mark.parametrize("f", [two_args, two_args_per_argument])
def test_exact_rules_of_several_arguments_match_finite_differences(f):
    x, y = RNG.normal(size=4), RNG.normal(size=4)
    expected = numeric_grad(two_args_ref, [x, y], wrt=(0, 1))
    assert_close(srcgrad.grad(f, wrt=(0, 1))(x, y), expected, rtol=1e-6, atol=1e-8)
    assert_close(srcgrad.grad(f, wrt=1)(x, y), expected[1], rtol=1e-6, atol=1e-8)


def test_vjp_of_several_arguments_must_return_a_tuple():
    @srcgrad.custom_vjp
    def f(x, y):
        return x * y

    def bad(g, ans, x, y):
        return g * y
    with pytest.raises(srcgrad.SrcgradError, match="one cotangent per differentiable argument"):
        f.defvjp(bad)


# -- forward rules, and reverse mode through their transpose -------------------------------------------------
@srcgrad.custom_jvp
def soft_clip(x, a):
    return a * np.tanh(x / a)


def _soft_clip_dx(t, ans, x, a):
    return t * (1.0 - (ans / a) ** 2)


def _soft_clip_da(t, ans, x, a):
    return t * (ans / a - (1.0 - (ans / a) ** 2) * x / a)


soft_clip.defjvp(_soft_clip_dx, _soft_clip_da)


def uses_soft_clip(x, a):
    return np.sum(soft_clip(x, a) ** 2)


def uses_soft_clip_ref(x, a):
    return np.sum((a * np.tanh(x / a)) ** 2)


def test_custom_jvp_in_forward_and_reverse_mode():
    x, a = RNG.normal(size=5) * 2, 1.5
    expected = numeric_grad(uses_soft_clip_ref, [x, a], wrt=(0, 1))
    assert_close(srcgrad.grad(uses_soft_clip, wrt=(0, 1))(x, a), expected, rtol=1e-6, atol=1e-8)
    v = RNG.normal(size=5)
    _, tangent = srcgrad.jvp(uses_soft_clip)(x, a, v)
    assert_close(tangent, np.dot(expected[0], v), rtol=1e-6, atol=1e-8)
    h = 1e-4
    second = (uses_soft_clip_ref(x, a + h) - 2 * uses_soft_clip_ref(x, a) + uses_soft_clip_ref(x, a - h)) / h**2
    assert_close(srcgrad.hessian(uses_soft_clip, wrt=1)(x, a), second, rtol=1e-5, atol=1e-6)


def sin_squared(x):
    return np.sum(clip_gradient(np.sin(x)) ** 2)


def test_forward_mode_needs_a_forward_rule():
    with pytest.raises(srcgrad.UnsupportedError, match="test_custom_rules.py:.*clip_gradient.*defjvp"):
        srcgrad.jvp(sin_squared)


@srcgrad.custom_vjp
def no_rule(x):
    return x


def uses_no_rule(x):
    return no_rule(x) * 2.0


def test_a_custom_function_without_rule_is_an_error_at_the_users_line():
    with pytest.raises(srcgrad.UnsupportedError, match="test_custom_rules.py:.*no_rule.*without a rule"):
        srcgrad.grad(uses_no_rule)


# -- higher order: the rules are themselves differentiated ---------------------------------------------------
@srcgrad.custom_vjp
def cube(x):
    return x * x * x


@cube.defvjp
def _cube_vjp(g, ans, x):
    return 3.0 * g * x * x


def cube_times_x(x):
    return cube(x) * x


def test_second_derivative_through_a_custom_rule():
    # d²/dx² x⁴ = 12 x²
    assert_close(srcgrad.grad(srcgrad.grad(cube_times_x))(1.3), 12 * 1.3 ** 2, rtol=1e-12)


# -- nondiff arguments, rules that change, and @njit callers --------------------------------------------------
@srcgrad.custom_vjp(nondiff_argnums=(1,))
def power(x, n):
    return x ** n


@power.defvjp
def _power_vjp(g, ans, x, n):
    return g * n * x ** (n - 1)


def uses_power(x):
    return np.sum(power(x, 3))


def test_nondiff_arguments_and_njit_callers():
    x = RNG.uniform(0.5, 2.0, size=3)
    g = srcgrad.grad(uses_power)
    assert_close(g(x), 3 * x ** 2, rtol=1e-14)

    @njit
    def caller(x):
        return power(x, 2.0).sum() + g(x).sum()
    assert_close(caller(x), np.sum(x ** 2) + np.sum(3 * x ** 2), rtol=1e-14)


def test_redefining_a_rule_takes_effect():
    @srcgrad.custom_vjp
    def twice(x):
        return 2.0 * x

    def uses(x):
        return twice(x)

    twice.defvjp(lambda g, ans, x: 2.0 * g)
    assert srcgrad.grad(uses)(1.0) == 2.0
    twice.defvjp(lambda g, ans, x: 5.0 * g)          # a deliberately different rule
    assert srcgrad.grad(uses)(1.0) == 5.0


# -- a recompute form given as an expression: written into the generated code itself -----------------
@srcgrad.custom_vjp
def soft_exp(x):
    return np.exp(x) + 1.0


@soft_exp.defvjp
def _soft_exp_vjp(g, ans, x):
    return g * (ans - 1.0)


srcgrad.rules.custom.recompute_vjp(soft_exp, "g * np.exp(x)")
srcgrad.rules.custom.result_like(soft_exp, "srt.float_like(x)")      # lets the forward call go


def sum_soft_exp(x):
    return np.sum(soft_exp(x))


def sum_soft_exp_and_value(x):
    y = soft_exp(x)
    return np.sum(y * y)


def test_recompute_expression_is_inlined_and_exact():
    g = srcgrad.grad(sum_soft_exp)
    code = "\n".join(line for line in srcgrad.source(g).splitlines() if not line.strip().startswith("#"))
    key = soft_exp.__srcgrad_rule__.key
    assert f"sgc.{key}(" not in code                 # the forward call is skipped
    assert "* srt.exp(x)" in code                    # the expression, fused in place
    x = np.linspace(-2.0, 2.0, 9)
    assert_close(g(x), np.exp(x), rtol=1e-14)
    # where the output is needed anyway, the first rule (reading ans) is used, and is right too
    g2 = srcgrad.grad(sum_soft_exp_and_value)
    assert f"sgc.{key}(" in srcgrad.source(g2)
    assert_close(g2(x), numeric_grad(sum_soft_exp_and_value, (x,)), rtol=1e-7)
    # and the expression can be differentiated again
    h = srcgrad.hessian(sum_soft_exp)(x)
    assert_close(h, np.diag(np.exp(x)), rtol=1e-13, atol=1e-15)


def test_recompute_expression_refuses_parameters_named_like_the_cotangent():
    @srcgrad.custom_vjp
    def scaled(g):
        return 2.0 * g

    scaled.defvjp(lambda c, ans, g: 2.0 * c)
    with pytest.raises(srcgrad.SrcgradError, match="cannot be called g or y"):
        srcgrad.rules.custom.recompute_vjp(scaled, "g * 2.0")
