"""Scalar arithmetic, math-module functions, conditional expressions and
assignment forms, checked against central finite differences."""

import math

import numpy as np
import pytest

from conftest import build_grad, check_grad

# Points used for functions defined on the whole real line (no kinks/ties).
POINTS = [(0.7, -1.3), (-0.4, 0.9), (1.9, 2.3), (-2.2, -0.6)]
# Points with both coordinates positive (logs, roots, real powers).
POS_POINTS = [(0.7, 1.3), (1.4, 0.35), (2.6, 1.9)]

WRT = (0, 1)


def _floats(pt):
    return tuple(float(v) for v in pt)


# --------------------------------------------------------------------------
# Arithmetic operators
# --------------------------------------------------------------------------


def f_add(x, y):
    return x + y + 2.0 + x + 1


def f_sub(x, y):
    return x - y - 3.0 - (y - x * y) - 1


def f_mul(x, y):
    return x * y * x * 3.0 + 2 * y


def f_div(x, y):
    return x / (y * y + 1.0) + 2.0 / (x * x + 0.5) + y / 3.0 + (x * y) / 4


def f_pow_int(x, y):
    return x ** 3 + y ** 2 + x ** 1 + (x * y) ** 4 + 1.0 / (1.0 + x ** 2) + y ** 0


def f_pow_neg_int(x, y):
    return x ** -2 + y ** -1 + (x * y) ** -3


def f_pow_float(x, y):
    return x ** 2.5 + y ** 0.5 + (x * y) ** 1.5 + x ** -0.5


def f_pow_var(x, y):
    return x ** y + y ** (x * 0.5) + 2.0 ** x + y ** (2.0 * x - y)


def f_neg(x, y):
    return -x * -y + -(x - y * y) - (-x) ** 3


def f_abs(x, y):
    return abs(x) * abs(y - 0.1) + abs(x * y * y) + abs(-x)


def f_minmax2(x, y):
    return min(x, y) * 2.0 + max(x, y) * max(x * y, -x) + min(x * x, 3.0)


def f_minmax3(x, y):
    return min(x, y, 0.25) * 3.0 + max(x * y, y, -1.5) + min(x, y * y, x * y)


ARITH = [
    (f_add, POINTS),
    (f_sub, POINTS),
    (f_mul, POINTS),
    (f_div, POINTS),
    (f_pow_int, POINTS),
    (f_pow_neg_int, POINTS),
    (f_pow_float, POS_POINTS),
    (f_pow_var, POS_POINTS),
    (f_neg, POINTS),
    (f_abs, POINTS),
    (f_minmax2, POINTS),
    (f_minmax3, POINTS),
]


@pytest.mark.parametrize(
    "f,pt",
    [(f, pt) for f, pts in ARITH for pt in pts],
    ids=[f"{f.__name__}-{i}" for f, pts in ARITH for i in range(len(pts))],
)
def test_arithmetic(f, pt):
    check_grad(f, _floats(pt), WRT)


def test_pow_int_closed_form():
    # d/dx (x**3 + ...) at a point where each term is easy to write down.
    g = build_grad(f_pow_int, WRT)
    x, y = 1.5, -0.5
    gx, gy = g(x, y)
    ex = 3 * x**2 + 1 + 4 * (x * y) ** 3 * y - 2 * x / (1 + x**2) ** 2
    ey = 2 * y + 4 * (x * y) ** 3 * x
    np.testing.assert_allclose([gx, gy], [ex, ey], rtol=1e-12, atol=1e-12)


def test_mul_closed_form():
    g = build_grad(f_mul, WRT)
    x, y = 0.3, -2.0
    gx, gy = g(x, y)
    np.testing.assert_allclose([gx, gy], [6.0 * x * y, 3.0 * x * x + 2.0], rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# math-module functions
# --------------------------------------------------------------------------


def m_exp(x, y):
    return math.exp(x * 0.5) * y + math.exp(-y * y)


def m_log(x, y):
    return math.log(x) * y + math.log(x * y + 2.0)


def m_log1p(x, y):
    return math.log1p(x * x) + math.log1p(y) * x


def m_expm1(x, y):
    return math.expm1(x) * y + math.expm1(y * 0.3)


def m_sqrt(x, y):
    return math.sqrt(x) + math.sqrt(x * x + y * y + 1.0) * y


def m_sin(x, y):
    return math.sin(x * y) + math.sin(y) * x


def m_cos(x, y):
    return math.cos(x * y) * math.cos(y - x)


def m_tan(x, y):
    return math.tan(x * 0.5) + math.tan(y * 0.3) * x


def m_tanh(x, y):
    return math.tanh(x * y) + math.tanh(y) ** 2


def m_sinh(x, y):
    return math.sinh(x) * y + math.sinh(x * y * 0.5)


def m_cosh(x, y):
    return math.cosh(x * 0.7) + math.cosh(y) * x


def m_atan(x, y):
    return math.atan(x * y) + math.atan(y) * x


def m_erf(x, y):
    return math.erf(x) * y + math.erf(x * y)


def m_pow(x, y):
    return math.pow(x, y) + math.pow(y, 2.0) + math.pow(x * y, 0.5)


MATH = [
    (m_exp, POINTS),
    (m_log, POS_POINTS),
    (m_log1p, POS_POINTS),
    (m_expm1, POINTS),
    (m_sqrt, POS_POINTS),
    (m_sin, POINTS),
    (m_cos, POINTS),
    (m_tan, POINTS),
    (m_tanh, POINTS),
    (m_sinh, POINTS),
    (m_cosh, POINTS),
    (m_atan, POINTS),
    (m_erf, POINTS),
    (m_pow, POS_POINTS),
]


@pytest.mark.parametrize(
    "f,pt",
    [(f, pt) for f, pts in MATH for pt in pts],
    ids=[f"{f.__name__}-{i}" for f, pts in MATH for i in range(len(pts))],
)
def test_math_functions(f, pt):
    check_grad(f, _floats(pt), WRT)


def m_single(x):
    return math.exp(x) + math.sin(x) + math.log(x) + math.sqrt(x) + math.tanh(x) + math.erf(x)


def test_math_closed_form():
    g = build_grad(m_single)
    for x in (0.3, 1.7):
        expected = (
            math.exp(x)
            + math.cos(x)
            + 1.0 / x
            + 0.5 / math.sqrt(x)
            + (1.0 - math.tanh(x) ** 2)
            + 2.0 / math.sqrt(math.pi) * math.exp(-x * x)
        )
        np.testing.assert_allclose(g(x), expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# Conditional expressions with comparisons
# --------------------------------------------------------------------------


def c_gt(x, y):
    return x * x * y if x > y else y * 3.0 + x


def c_ge(x, y):
    return math.sin(x) if x >= y else math.cos(y) * x


def c_lt(x, y):
    return x * y if x * y < 0.5 else x + y * y


def c_le(x, y):
    return (x if x <= 0.0 else x * x) + (y * 2.0 if y <= x else -y)


def c_eq_ne(x, y):
    a = x * y if x != 0.0 else y
    # Continuous and differentiable at y == 2 (value 4, slope 4 on both arms).
    b = 4.0 * y - 4.0 if y == 2.0 else y * y
    return a + b


def c_nested(x, y):
    return (x * y if x > 0.0 else x - y) if y > 0.0 else (x * x if x > y else y * y * y)


def c_boolean(x, y):
    return x * y if (x > 0.0 and y > 0.0) or x < -2.0 else x + y * 0.5


def c_chained(x, y):
    return x * y * y if -1.0 < x < 1.0 else x * x


COND = [c_gt, c_ge, c_lt, c_le, c_eq_ne, c_nested, c_boolean, c_chained]
COND_POINTS = POINTS + [(0.5, 0.2), (-0.3, 2.0), (2.0, 0.0001), (-2.5, 1.0)]


@pytest.mark.parametrize("f", COND, ids=[f.__name__ for f in COND])
@pytest.mark.parametrize("pt", COND_POINTS)
def test_conditional_expressions(f, pt):
    check_grad(f, _floats(pt), WRT)


def test_conditional_closed_form():
    g = build_grad(c_gt, WRT)
    # branch x > y: d/dx = 2xy, d/dy = x*x
    np.testing.assert_allclose(g(2.0, 1.0), (4.0, 4.0), rtol=1e-12, atol=1e-12)
    # branch x <= y: d/dx = 1, d/dy = 3
    np.testing.assert_allclose(g(1.0, 2.0), (1.0, 3.0), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# Assignment forms
# --------------------------------------------------------------------------


def a_reassign(x, y):
    a = x * y
    a = a + x
    a = math.sin(a) * a
    b = a
    a = a * a - y
    a = a * b + x
    a = math.tanh(a)
    b = b * a
    return a + b


def a_swap(x, y):
    a, b = x, y
    a, b = b, a * x
    a, b = b + a, a * b
    c, d = a * a, math.sin(b)
    return a * b + c * d


def a_augmented(x, y):
    s = x
    s += y * 2.0
    s *= x
    s -= y * y
    s /= 1.0 + y * y
    s += 1
    s *= s
    t = y
    t -= x
    t /= 2.0
    return s + t


def a_chain_assign(x, y):
    a = b = x * y
    a = a + 1.0
    return a * b + b


ASSIGN = [a_reassign, a_swap, a_augmented, a_chain_assign]


@pytest.mark.parametrize("f", ASSIGN, ids=[f.__name__ for f in ASSIGN])
@pytest.mark.parametrize("pt", POINTS)
def test_assignment_forms(f, pt):
    check_grad(f, _floats(pt), WRT)


def test_swap_closed_form():
    # a, b = x, y -> (y, x*x) -> (y + x*x, x*x*y); c, d = a*a, sin(b)
    g = build_grad(a_swap, WRT)
    x, y = 0.8, -1.1
    a, b = y + x * x, x * x * y
    da = (2 * x, 1.0)
    db = (2 * x * y, x * x)
    # f = a*b + a*a*sin(b)
    expected = tuple(
        da[k] * b + a * db[k] + 2 * a * da[k] * math.sin(b) + a * a * math.cos(b) * db[k]
        for k in range(2)
    )
    np.testing.assert_allclose(g(x, y), expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# Module-level constants
# --------------------------------------------------------------------------

SCALE = 2.5
OFFSET = -0.75
INT_POWER = 3


def k_constants(x, y):
    return SCALE * x * y + OFFSET * x + x ** INT_POWER + math.pi * y + math.e * x * x


@pytest.mark.parametrize("pt", POINTS)
def test_module_constants(pt):
    check_grad(k_constants, _floats(pt), WRT)


def test_module_constants_closed_form():
    g = build_grad(k_constants, WRT)
    x, y = 1.2, 0.4
    ex = SCALE * y + OFFSET + INT_POWER * x ** (INT_POWER - 1) + 2 * math.e * x
    ey = SCALE * x + math.pi
    np.testing.assert_allclose(g(x, y), (ex, ey), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# Integer non-differentiated argument mixed with float ones
# --------------------------------------------------------------------------


def k_int_arg(x, n):
    return x ** n + n * x


def test_int_argument_not_differentiated():
    g = build_grad(k_int_arg, 0)
    for x, n in [(1.3, 3), (0.7, 2), (2.0, 0)]:
        got = g(x, n)
        np.testing.assert_allclose(got, n * x ** (n - 1) + n, rtol=1e-12, atol=1e-12)
