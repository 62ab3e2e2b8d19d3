"""if/elif/else, for/while loops, break/continue/return, zero-trip loops and
values overwritten inside loops, checked against central finite differences."""

import math

import numpy as np
import pytest

from conftest import build_grad, check_grad

RNG = np.random.default_rng(1234)


def vec(n, lo=-1.0, hi=1.0, seed=None):
    rng = RNG if seed is None else np.random.default_rng(seed)
    return rng.uniform(lo, hi, size=n)


# --------------------------------------------------------------------------
# if / elif / else
# --------------------------------------------------------------------------


def b_if_elif_else(x, y):
    if x > 1.0:
        z = x * y
    elif x > 0.0:
        z = x * x + y
        z = z * y
    elif x > -1.0:
        z = math.sin(x) * y
    else:
        z = -x * y * y
    return z * 2.0 + x


def b_if_no_else(x, y):
    z = x * y
    if y < 0.0:
        z = z * z
    if x > 0.5:
        z += x
    return z


def b_nested_if(x, y):
    if x > 0.0:
        if y > 0.0:
            r = x * y
        else:
            r = x - y * y
    else:
        if y > x:
            r = math.exp(x) * y
        else:
            r = y * y * y
    return r


def b_if_defines_var_used_later(x, y):
    a = x
    if x * y > 0.0:
        a = a * y
        b = a + 1.0
    else:
        b = a * a
    return a * b


IF_FUNCS = [b_if_elif_else, b_if_no_else, b_nested_if, b_if_defines_var_used_later]
IF_POINTS = [(1.5, 0.7), (0.4, -0.8), (-0.3, 1.2), (-1.7, -0.4), (0.9, 0.3), (-0.6, -1.1)]


@pytest.mark.parametrize("f", IF_FUNCS, ids=[f.__name__ for f in IF_FUNCS])
@pytest.mark.parametrize("pt", IF_POINTS)
def test_if_elif_else(f, pt):
    check_grad(f, pt, (0, 1))


def test_if_elif_else_closed_form():
    g = build_grad(b_if_elif_else, (0, 1))
    # x > 1: z = x*y -> f = 2xy + x
    np.testing.assert_allclose(g(2.0, 3.0), (2 * 3.0 + 1, 2 * 2.0), rtol=1e-12, atol=1e-12)
    # x <= -1: z = -x*y*y -> f = -2xy^2 + x
    np.testing.assert_allclose(g(-2.0, 3.0), (-2 * 9.0 + 1, -2 * 2 * -2.0 * 3.0), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# range with start / stop / step
# --------------------------------------------------------------------------


def r_start_stop(x):
    s = 0.0
    for i in range(2, x.shape[0] - 1):
        s += x[i] * x[i - 1] * x[i + 1]
    return s


def r_step(x):
    s = 0.0
    for i in range(1, x.shape[0], 2):
        s = s * x[i - 1] + math.sin(x[i])
    return s


def r_reverse(x):
    s = 0.0
    c = 1.0
    for i in range(x.shape[0] - 1, -1, -1):
        c = c * 0.5 + x[i] * c
        s += c * c
    return s


def r_negative_step(x):
    s = 1.0
    for i in range(10, 2, -3):  # i = 10, 7, 4
        s = s * x[i] + x[i - 1]
    return s


def r_scalar_count(x, n):
    s = 1.0
    for i in range(n):
        s = s * x + 1.0 / (i + 1.0)
    return s


def r_index_in_expression(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * (i + 1) + x[i] * x[i] / (i + 2.0)
    return s


RANGE_FUNCS = [r_start_stop, r_step, r_reverse, r_negative_step, r_index_in_expression]


@pytest.mark.parametrize("f", RANGE_FUNCS, ids=[f.__name__ for f in RANGE_FUNCS])
@pytest.mark.parametrize("seed", [0, 1])
def test_range_forms(f, seed):
    check_grad(f, (vec(12, seed=seed),), 0)


def test_negative_step_closed_form():
    # s = ((1*x10 + x9)*x7 + x6)*x4 + x3
    g = build_grad(r_negative_step)
    x = vec(12, seed=5)
    got = g(x)
    expected = np.zeros(12)
    expected[10] = x[7] * x[4]
    expected[9] = x[7] * x[4]
    expected[7] = (x[10] + x[9]) * x[4]
    expected[6] = x[4]
    expected[4] = (x[10] + x[9]) * x[7] + x[6]
    expected[3] = 1.0
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x,n", [(0.7, 5), (-1.2, 3), (1.1, 1), (0.3, 8)])
def test_range_scalar_count(x, n):
    check_grad(r_scalar_count, (x, n), 0)


# --------------------------------------------------------------------------
# Nested loops
# --------------------------------------------------------------------------


def n_rectangular(A):
    s = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            s += A[i, j] * A[i, j] * (i + 1) - A[i, j] * j
    return s


def n_triangular(x):
    s = 0.0
    for i in range(x.shape[0]):
        t = 0.0
        for j in range(i + 1):
            t += x[j] * x[i]
        s += math.sin(t)
    return s


def n_triangular_reverse(x):
    s = 0.0
    for i in range(x.shape[0]):
        for j in range(i, -1, -1):
            s = s * 0.9 + x[j] * x[i - j]
    return s


def n_three_levels(A):
    s = 0.0
    for k in range(2):
        for i in range(A.shape[0]):
            for j in range(i, A.shape[1]):
                s = s * 0.5 + A[i, j] * A[j % A.shape[0], i] * (k + 1)
    return s


@pytest.mark.parametrize("seed", [0, 1])
def test_nested_rectangular(seed):
    check_grad(n_rectangular, (vec((3, 4), seed=seed),), 0)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("f", [n_triangular, n_triangular_reverse], ids=["fwd", "rev"])
def test_nested_triangular(f, seed):
    check_grad(f, (vec(6, seed=seed),), 0)


@pytest.mark.parametrize("seed", [0, 1])
def test_nested_three_levels(seed):
    check_grad(n_three_levels, (vec((3, 4), seed=seed),), 0)


# --------------------------------------------------------------------------
# while loops
# --------------------------------------------------------------------------


def w_fixed_count(x):
    s = x
    k = 0
    while k < 5:
        s = s * 0.5 + math.sin(s)
        k += 1
    return s


def w_data_dependent(x):
    # number of iterations depends on x
    s = x
    while s < 10.0:
        s = s * 1.5 + 0.1
    return s * s


def w_over_array(x):
    i = 0
    s = 0.0
    while i < x.shape[0]:
        s = s + x[i] * math.cos(s)
        i += 1
    return s


def w_with_break(x):
    s = x
    k = 0
    while True:
        s = math.sin(s) + x * 0.5
        k += 1
        if k >= 4:
            break
    return s


@pytest.mark.parametrize("x", [0.3, 1.7, -0.9])
def test_while_fixed_count(x):
    check_grad(w_fixed_count, (x,), 0)


@pytest.mark.parametrize("x", [0.5, 2.0, 4.0, 9.0, 11.0])
def test_while_data_dependent(x):
    check_grad(w_data_dependent, (x,), 0)


def test_while_data_dependent_closed_form():
    g = build_grad(w_data_dependent)
    # x = 9 -> one iteration: s = 1.5x + 0.1 = 13.6 -> f = s^2, df/dx = 2*s*1.5
    np.testing.assert_allclose(g(9.0), 2 * 13.6 * 1.5, rtol=1e-12, atol=1e-12)
    # x = 11 -> zero iterations: f = x^2
    np.testing.assert_allclose(g(11.0), 22.0, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_while_over_array(seed):
    check_grad(w_over_array, (vec(7, seed=seed),), 0)


@pytest.mark.parametrize("x", [0.3, -1.4])
def test_while_true_break(x):
    check_grad(w_with_break, (x,), 0)


# --------------------------------------------------------------------------
# break / continue / return inside loops and branches
# --------------------------------------------------------------------------


def k_break(x):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] < 0.0:
            break
        s += x[i] * x[i] * (i + 1)
    return s


def k_continue(x):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] < 0.0:
            continue
        s = s * x[i] + math.exp(x[i])
    return s


def k_return_in_loop(x):
    p = 1.0
    for i in range(x.shape[0]):
        p = p * x[i]
        if p > 5.0:
            return p * 2.0 + x[0]
    return p


def k_return_in_branch(x, y):
    if x > y:
        return x * y
    z = x + y
    if z > 0.0:
        return z * z
    return -z * x


def k_break_inner(A):
    s = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            if A[i, j] > 0.5:
                break
            s = s * 0.5 + A[i, j]
        s += A[i, 0] * A[i, 0]
    return s


def k_continue_and_break(x):
    s = 0.0
    for i in range(x.shape[0]):
        if i % 2 == 1:
            continue
        if s > 3.0:
            break
        s = s + x[i] * x[i] + s * x[i]
    return s


def k_return_nested(A):
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            if A[i, j] > 0.8:
                return A[i, j] * A[0, 0] + i
    return np.sum(A * A)


BREAK_CASES = [
    (k_break, np.array([0.5, 1.2, 0.3, -0.2, 0.9])),
    (k_break, np.array([0.5, 1.2, 0.3, 0.2, 0.9])),
    (k_break, np.array([-0.5, 1.2, 0.3, 0.2, 0.9])),
    (k_continue, np.array([0.5, -1.2, 0.3, -0.2, 0.9])),
    (k_continue, np.array([-0.5, -1.2, -0.3, -0.2, -0.9])),
    (k_return_in_loop, np.array([1.5, 2.0, 3.0, 0.5])),
    (k_return_in_loop, np.array([1.5, 0.5, 1.2, 0.5])),
    (k_continue_and_break, np.array([1.1, 5.0, 1.3, -2.0, 0.9, 1.0, 0.2])),
    (k_continue_and_break, np.array([0.1, 5.0, 0.3, -2.0, 0.2, 1.0, 0.2])),
]


@pytest.mark.parametrize(
    "f,x", BREAK_CASES, ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(BREAK_CASES)]
)
def test_break_continue_return_in_loops(f, x):
    check_grad(f, (x,), 0)


@pytest.mark.parametrize("pt", [(1.0, 0.5), (0.3, 0.9), (-1.0, 0.4), (-0.8, -0.1)])
def test_return_in_branches(pt):
    check_grad(k_return_in_branch, pt, (0, 1))


def test_return_in_loop_closed_form():
    g = build_grad(k_return_in_loop)
    x = np.array([1.5, 2.0, 3.0, 0.5])
    # p = 1.5*2*3 = 9 > 5 at i=2 -> f = 2*x0*x1*x2 + x0
    expected = np.array([2 * x[1] * x[2] + 1.0, 2 * x[0] * x[2], 2 * x[0] * x[1], 0.0])
    np.testing.assert_allclose(g(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_break_inner_loop(seed):
    check_grad(k_break_inner, (vec((4, 5), seed=seed),), 0)


@pytest.mark.parametrize("seed", [0, 3])
def test_return_from_nested_loop(seed):
    A = vec((3, 3), seed=seed)
    check_grad(k_return_nested, (A,), 0)
    A2 = A * 0.5  # no element > 0.8 -> falls through to the final return
    check_grad(k_return_nested, (A2,), 0)


# --------------------------------------------------------------------------
# Zero-trip loops
# --------------------------------------------------------------------------


def z_zero_trip(x, n):
    s = x * 2.0
    for i in range(n):
        s = s * x
    return s


def z_empty_range(x):
    s = np.sum(x)
    for i in range(5, 5):
        s = s * x[0]
    for i in range(3, 1):
        s = s * x[1]
    j = 0
    while j < 0:
        s = s * 2.0
        j += 1
    return s * s


@pytest.mark.parametrize("n", [0, 1, 4])
def test_zero_trip_scalar(n):
    g = check_grad(z_zero_trip, (1.3, n), 0)
    # closed form: f = 2 x^(n+1)
    np.testing.assert_allclose(g, 2.0 * (n + 1) * 1.3**n, rtol=1e-12, atol=1e-12)


def test_zero_trip_array():
    x = vec(4, seed=9)
    g = check_grad(z_empty_range, (x,), 0)
    np.testing.assert_allclose(g, np.full(4, 2.0 * np.sum(x)), rtol=1e-12, atol=1e-12)


def z_empty_array(x, w):
    s = w * w
    for i in range(x.shape[0]):
        s = s + x[i] * w
    return s


def test_zero_trip_empty_array():
    g = build_grad(z_empty_array, (0, 1))
    gx, gw = g(np.zeros(0), 1.5)
    assert gx.shape == (0,)
    np.testing.assert_allclose(gw, 3.0, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# Values overwritten every iteration and needed by the reverse sweep
# --------------------------------------------------------------------------


def o_rnn(x, a):
    h = 0.0
    for i in range(x.shape[0]):
        h = math.tanh(a * h + x[i])
    return h


def o_rnn_sum(x, a):
    h = 0.0
    s = 0.0
    for i in range(x.shape[0]):
        h = math.tanh(a * h + x[i])
        s += h
    return s


def o_product(x):
    p = 1.0
    for i in range(x.shape[0]):
        p = p * x[i]
    return p


def o_two_states(x, a, b):
    u = 1.0
    v = 0.0
    for i in range(x.shape[0]):
        u, v = a * u - b * v + x[i], b * u + a * v
        u = math.sin(u)
        v = v * v * 0.5
    return u + v


def o_conditional_overwrite(x, a):
    h = 0.5
    for i in range(x.shape[0]):
        if h > 0.0:
            h = h * a - x[i]
        else:
            h = math.exp(h) + x[i] * a
    return h


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("f", [o_rnn, o_rnn_sum], ids=["last", "sum"])
def test_overwritten_rnn(f, seed):
    rng = np.random.default_rng(seed)
    check_grad(f, (rng.normal(size=10), float(rng.uniform(-1.5, 1.5))), (0, 1))


def test_overwritten_rnn_long():
    rng = np.random.default_rng(7)
    check_grad(o_rnn_sum, (rng.normal(size=200), 0.9), (0, 1))


@pytest.mark.parametrize("seed", [0, 1])
def test_overwritten_product(seed):
    x = vec(8, 0.5, 1.5, seed=seed)
    g = check_grad(o_product, (x,), 0)
    # closed form: prod / x_i
    np.testing.assert_allclose(g, np.prod(x) / x, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_overwritten_two_states(seed):
    rng = np.random.default_rng(seed)
    check_grad(o_two_states, (rng.normal(size=6), 0.7, -0.4), (0, 1, 2))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_overwritten_conditional(seed):
    rng = np.random.default_rng(seed)
    check_grad(o_conditional_overwrite, (rng.normal(size=9), 0.8), (0, 1))


# --------------------------------------------------------------------------
# Python scoping details around loops
# --------------------------------------------------------------------------


def s_loop_var_after_loop(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * x[i]
    return s * x[i]  # i keeps its last value


def s_reused_index(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    for i in range(1, x.shape[0]):
        s = s * x[i - 1]
    return s


def s_defined_in_loop(x):
    s = 0.0
    for i in range(x.shape[0]):
        t = x[i] * 2.0
        s += t * t
    return s + t  # t from the last iteration


def s_while_return(x):
    i = 0
    s = 1.0
    while i < x.shape[0]:
        s = s * x[i]
        if s < 0.1:
            return s + x[0]
        i += 1
    return s


def s_integer_index_arithmetic(x):
    s = 0.0
    n = x.shape[0] // 2
    for i in range(n):
        k = 2 * i + 1
        s += x[k] * x[k - 1] + x[i - 1]  # x[-1] when i == 0
    return s


SCOPING = [
    (s_loop_var_after_loop, np.array([0.5, 1.2, -0.7])),
    (s_reused_index, np.array([0.5, 1.2, -0.7, 0.3])),
    (s_defined_in_loop, np.array([0.5, 1.2, -0.7])),
    (s_while_return, np.array([0.5, 0.9, 0.1, 2.0])),
    (s_while_return, np.array([0.5, 0.9, 0.8, 2.0])),
    (s_integer_index_arithmetic, np.array([0.5, 1.2, -0.7, 0.3, 0.9, 1.1])),
]


@pytest.mark.parametrize(
    "f,x", SCOPING, ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(SCOPING)]
)
def test_loop_scoping(f, x):
    check_grad(f, (x,), 0)


def test_loop_var_after_loop_closed_form():
    x = np.array([0.5, 1.2, -0.7])
    s = np.sum(x * x)
    expected = 2 * x * x[-1]
    expected[-1] += s
    np.testing.assert_allclose(build_grad(s_loop_var_after_loop)(x), expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# Mixed loop kinds and many overwritten values per iteration
# --------------------------------------------------------------------------


def x_while_break_in_for(x):
    s = 0.0
    for i in range(x.shape[0]):
        k = 0
        t = x[i]
        while k < 3:
            t = math.sin(t) + s * 0.1
            if t < -0.5:
                break
            k += 1
        s += t
    return s


def x_rotating_state(x):
    a = 0.1
    b = 0.2
    c = 0.3
    for i in range(x.shape[0]):
        a, b, c = math.tanh(b * c + x[i]), math.sin(a - c), a * b + 0.5
        a = a * 0.9
        b = b + a
    return a + b + c


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_while_with_break_inside_for(seed):
    check_grad(x_while_break_in_for, (np.random.default_rng(seed).normal(size=6),), 0)


@pytest.mark.parametrize("seed", [0, 1])
def test_rotating_state(seed):
    check_grad(x_rotating_state, (np.random.default_rng(seed).normal(size=50),), 0)


# -- a name bound again to a value of another type or shape ----------------------------------------
def rebind_scalar_then_array(x, w):
    s = w * 1.0
    t = s * 3.0
    s = x * 2.0                 # the same name, now an array
    return t + np.sum(s)


def rebind_in_loop_body(x, w):
    acc = 0.0
    for _ in range(2):
        s = w * 1.0
        t = np.sin(s) * 3.0
        s = x * 2.0
        acc = acc + t + np.sum(s * s)
    return acc


def rebind_parameter(x, a, b):
    a = x                       # the scalar parameter becomes an array
    return np.sum(a * b) + a[0]


def test_a_name_rebound_to_another_type_keeps_one_adjoint_per_value():
    x = np.array([0.3, -0.8, 1.1])
    gx, gw = check_grad(rebind_scalar_then_array, (x, 0.7), wrt=(0, 1))
    assert gw == pytest.approx(3.0, rel=1e-12)          # not 3 * x.size
    gx, gw = check_grad(rebind_in_loop_body, (x, 0.7), wrt=(0, 1))
    assert gw == pytest.approx(6 * math.cos(0.7), rel=1e-12)
    np.testing.assert_allclose(gx, 16 * x, rtol=1e-12)
    gx, ga, gb = check_grad(rebind_parameter, (x, 0.7, -0.4), wrt=(0, 1, 2))
    assert np.ndim(ga) == 0 and ga == 0.0               # a scalar, like the argument
    np.testing.assert_allclose(gx, [1 - 0.4, -0.4, -0.4], rtol=1e-12)


# --------------------------------------------------------------------------
# tapes given their room before a loop (plain pushes inside)
# --------------------------------------------------------------------------


def tape_mixed_sites(x, a):
    """h is pushed before the loops, twice per iteration of a loop (once inside a branch), in a
    nested loop and again after it in the same body, and in a loop with a while loop inside."""
    h = 0.5
    s = 0.0
    for i in range(x.shape[0]):
        h = math.sin(a * h + x[i])           # room made before the loop for two pushes...
        if x[i] > 0.0:
            h = h * h + 0.1                  # ...as a push in a branch counts too
        s += h * x[i]
    for i in range(x.shape[0]):
        for j in range(i % 3 + 1):           # room made before this inner loop only...
            h = math.cos(h + j * a)
        h = h * a + x[i]                     # ...so this push after it checks for room
        s += h * h
    for i in range(x.shape[0]):
        h = h * a + x[i] * x[i]
        k = 0
        while k < 2:                         # a while loop inside: checked pushes of t
            t = math.exp(-h * h * 0.1) + k
            s += t * t
            k += 1
        s += h
    return s


def test_reserved_tapes_give_the_finite_difference_gradients():
    for n in (0, 1, 7):
        x = vec(n, seed=n)
        check_grad(o_rnn_sum, (x, 0.7), wrt=(0, 1))
        check_grad(tape_mixed_sites, (x, 0.3), wrt=(0, 1))


def test_a_recurrence_pushes_with_a_plain_store_inside_its_loop():
    import srcgrad
    source = srcgrad.source(build_grad(o_rnn_sum, (0, 1)))
    loop = source[source.index("    for i in range("):source.index("# adjoints start")]
    assert "_tape_h[_top_h] = h" in loop and "extend_tape" not in loop and "new_tape" not in loop
    before = source[:source.index("    for i in range(")]
    assert "if _top_h + _n1 > len(_tape_h):" in before
    # six pushes of h: before the loops and after the nested loop checked, the other four plain
    source = srcgrad.source(build_grad(tape_mixed_sites, (0, 1)))
    forward = source[:source.index("# adjoints start")]
    assert forward.count("_tape_h[_top_h] = h") == 6
    assert forward.count("elif _top_h == len(_tape_h):") == 2
    assert forward.count("if _top_h + ") == 3
