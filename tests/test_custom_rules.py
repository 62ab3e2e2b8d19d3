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


# -- one cotangent, bare or as JAX's 1-tuple (issue 19, defect 17) --------------------------------------------
@srcgrad.custom_vjp
def scaled_sin(x):
    return 2.0 * np.sin(x)


@scaled_sin.defvjp
def _scaled_sin_vjp(g, ans, x):
    return (2.0 * g * np.cos(x),)                # JAX's convention: a tuple even for one argument


@srcgrad.custom_jvp
def scaled_cube(x):
    return 0.5 * x * x * x


@scaled_cube.defjvp
def _scaled_cube_jvp(t, ans, x):
    return (1.5 * t * x * x,)


@srcgrad.custom_vjp
def weighted_product(x, y):
    return x * y * y


weighted_product.defvjp(lambda g, ans, x, y: (g * y * y,),           # a 1-tuple ...
                        lambda g, ans, x, y: 2.0 * g * x * y)         # ... and a bare cotangent


def uses_one_tuples(x, y):
    return np.sum(scaled_sin(x) * x) + np.sum(scaled_cube(x)) + np.sum(weighted_product(x, y) ** 2)


def uses_one_tuples_ref(x, y):
    return np.sum(2.0 * np.sin(x) * x) + np.sum(0.5 * x ** 3) + np.sum((x * y * y) ** 2)


def test_one_argument_rules_may_return_a_1_tuple():
    x, y = RNG.normal(size=4), RNG.normal(size=4)
    expected = numeric_grad(uses_one_tuples_ref, [x, y], wrt=(0, 1))
    assert_close(srcgrad.grad(uses_one_tuples, wrt=(0, 1))(x, y), expected, rtol=1e-6, atol=1e-8)
    value, got = srcgrad.value_and_grad(uses_one_tuples)(x, y)
    assert_close(value, uses_one_tuples_ref(x, y), rtol=1e-14)
    assert_close(got, expected[0], rtol=1e-6, atol=1e-8)


def sin_times_x(x):
    return scaled_sin(x) * x


def cube_times_two(x):
    return np.sum(scaled_cube(x) * 2.0)


def test_1_tuple_rules_in_forward_mode_and_second_order():
    # forward mode: the JVP's 1-tuple is the tangent
    x, v = RNG.normal(size=3), RNG.normal(size=3)
    value, tangent = srcgrad.jvp(cube_times_two)(x, v)
    assert_close(value, np.sum(x ** 3), rtol=1e-14)
    assert_close(tangent, np.sum(3.0 * x * x * v), rtol=1e-13)
    # reverse mode through the JVP's transpose, and the Hessian (forward over reverse)
    assert_close(srcgrad.grad(cube_times_two)(x), 3.0 * x * x, rtol=1e-13)
    assert_close(srcgrad.hessian(cube_times_two)(x), np.diag(6.0 * x), rtol=1e-12, atol=1e-14)
    # the VJP's 1-tuple differentiated again: d²/dx² 2 x sin(x) = 4 cos(x) - 2 x sin(x)
    assert_close(srcgrad.grad(srcgrad.grad(sin_times_x))(0.7),
                 4 * np.cos(0.7) - 2 * 0.7 * np.sin(0.7), rtol=1e-12)


def test_1_tuple_rules_from_njit_code():
    g = srcgrad.grad(sin_times_x)

    @njit
    def caller(x):
        return g(x) + scaled_sin(x)
    assert_close(caller(0.3), 2 * np.sin(0.3) + 2 * 0.3 * np.cos(0.3) + 2 * np.sin(0.3), rtol=1e-13)


def test_tuples_of_the_wrong_length_are_clear_errors_naming_the_rule():
    @srcgrad.custom_vjp
    def one_arg(x):
        return x

    def two_cotangents(g, ans, x):
        return g, g
    with pytest.raises(srcgrad.SrcgradError, match=r"VJP of one_arg for x \(two_cotangents\) returns "
                                                    r"a tuple of 2 values"):
        one_arg.defvjp(two_cotangents)

    @srcgrad.custom_vjp(nondiff_argnums=(1,))
    def two_args(x, n, y):
        return x * n * y

    def three_cotangents(g, ans, x, n, y):      # a cotangent for the nondiff n too: refused
        return g * n * y, g * x * y, g * x * n
    with pytest.raises(srcgrad.SrcgradError, match=r"VJP of two_args \(three_cotangents\) returns a "
                                                    r"tuple of 3 values.*\(x, y\)"):
        two_args.defvjp(three_cotangents)

    def two_tangents(t, ans, x):
        return t, t
    with pytest.raises(srcgrad.SrcgradError, match=r"JVP of one_arg for x \(two_tangents\)"):
        one_arg.defjvp(two_tangents)


@srcgrad.custom_vjp
def hidden_pair(x):
    return x


@hidden_pair.defvjp
def _hidden_pair_vjp(g, ans, x):
    both = (g, g)                               # a tuple the definition does not show
    return both


def uses_hidden_pair(x):
    return np.sum(hidden_pair(x))


def test_a_tuple_of_the_wrong_length_seen_only_when_compiled_is_a_clear_error():
    with pytest.raises(srcgrad.SrcgradError, match=r"VJP of hidden_pair for x \(_hidden_pair_vjp\) "
                                                    r"returns a tuple of 2 values where one is expected"):
        srcgrad.grad(uses_hidden_pair)(np.ones(3))
