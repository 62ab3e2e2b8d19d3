"""User helper functions, the public API surface (grad forms, wrt, value_and_grad,
vjp, source), calling gradients from inside @numba.njit, determinism."""

import inspect
import math
import os

import numba
import numpy as np
import pytest

import srcgrad
from conftest import (
    assert_close,
    assert_same_structure,
    build_grad,
    build_value_and_grad,
    build_vjp,
    check_grad,
    numeric_grad,
)


def rand(shape, seed, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed).uniform(lo, hi, size=shape)


# --------------------------------------------------------------------------
# Helper functions
# --------------------------------------------------------------------------


def helper_sq(a):
    return a * a


def helper_poly(a, b):
    return helper_sq(a) + 3.0 * a * b - helper_sq(b - a)


def helper_loop(x, limit):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * x[i]
        if s > limit:
            return s * 2.0
    return s


def helper_array(x, w):
    return np.tanh(x * w) + x


def helper_writes(x):
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = helper_sq(x[i]) + math.sin(x[i])
    return out


def uses_helpers(x, y):
    return helper_poly(x, y) * math.sin(helper_sq(y)) + helper_sq(helper_sq(x))


def uses_loop_helper(x):
    return helper_loop(x, 3.0) + helper_loop(x * 0.5, 0.4) * x[0]


def uses_array_helpers(x, w):
    y = helper_array(x, w)
    z = helper_writes(y)
    return np.sum(z * y)


def uses_helper_in_loop(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = helper_poly(s * 0.5, x[i])
    return s


def helper_fill(a, x):
    # writes into the array its caller passed
    for i in range(a.shape[0]):
        a[i] = a[i] + x[i] * x[i]
    return a[0]


def helper_pair(x, y):
    return x + y, x * y


def helper_inner_sum(x, k):
    t = 0.0
    for j in range(k + 1):
        t += x[j] * x[k]
    return math.sin(t)


def uses_mutating_helper(x):
    buf = np.zeros(x.shape[0])
    t = helper_fill(buf, x)
    return np.sum(buf * x) + t


def uses_tuple_helper(x, y):
    a, b = helper_pair(x, y)
    c, d = helper_pair(a, b * x)
    return a * b + c * d


def uses_looping_helper_in_loop(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += helper_inner_sum(x, i)
    return s


def helper_first_big(r, thr):
    for j in range(r.shape[0]):
        for k in range(j):
            if r[j] * r[k] > thr:
                return r[j] * r[k]
    return r[0]


def uses_nested_return_helper(A):
    s = 0.0
    for i in range(A.shape[0]):
        s += helper_first_big(A[i], 0.3) * s + A[i, 0]
    return s


@pytest.mark.parametrize("seed", [0, 1])
def test_helper_returning_from_nested_loop(seed):
    check_grad(uses_nested_return_helper, (rand((4, 4), seed, 0.0, 1.0),), 0)


@pytest.mark.parametrize("seed", [0, 1])
def test_helper_writing_callers_array(seed):
    check_grad(uses_mutating_helper, (rand(4, seed),), 0)


@pytest.mark.parametrize("pt", [(0.3, 1.7), (-1.1, 0.4)])
def test_helper_returning_tuple(pt):
    check_grad(uses_tuple_helper, pt, (0, 1))


@pytest.mark.parametrize("seed", [0, 1])
def test_looping_helper_called_in_loop(seed):
    check_grad(uses_looping_helper_in_loop, (rand(5, seed),), 0)


@pytest.mark.parametrize("pt", [(0.7, -1.3), (1.2, 0.4), (-0.5, 2.1)])
def test_helpers_same_module_and_nested(pt):
    check_grad(uses_helpers, pt, (0, 1))


@pytest.mark.parametrize(
    "x",
    [
        np.array([0.5, 1.0, 1.5, 0.2]),  # first call returns early, second does not
        np.array([0.1, 0.2, 0.3, 0.1]),  # neither returns early
        np.array([2.0, 0.1, 0.3, 0.4]),  # both return early
    ],
)
def test_helper_with_loop_and_early_return(x):
    check_grad(uses_loop_helper, (x,), 0)


@pytest.mark.parametrize("seed", [0, 1])
def test_array_helpers(seed):
    check_grad(uses_array_helpers, (rand(5, seed), 0.9), (0, 1))


@pytest.mark.parametrize("seed", [0, 1])
def test_helper_called_in_loop(seed):
    check_grad(uses_helper_in_loop, (rand(5, seed),), 0)


def test_helpers_closed_form():
    # uses_helpers(x, y) = (x^2 + 3xy - (y-x)^2) sin(y^2) + x^4
    x, y = 0.6, -0.9
    p = x * x + 3 * x * y - (y - x) ** 2
    dpx = 2 * x + 3 * y + 2 * (y - x)
    dpy = 3 * x - 2 * (y - x)
    ex = dpx * math.sin(y * y) + 4 * x**3
    ey = dpy * math.sin(y * y) + p * math.cos(y * y) * 2 * y
    np.testing.assert_allclose(build_grad(uses_helpers, (0, 1))(x, y), (ex, ey), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# Decorator forms
# --------------------------------------------------------------------------


def cube_plus(x, y):
    return x * x * x + x * y


@srcgrad.grad
def d_cube(x):
    return x * x * x


@srcgrad.grad(wrt=(0, 1))
def d_cube_plus(x, y):
    return x * x * x + x * y


@srcgrad.grad(wrt="y")
def d_cube_plus_y(x, y):
    return x * x * x + x * y


def test_decorator_bare():
    for x in (0.5, -1.5, 2.0):
        np.testing.assert_allclose(d_cube(x), 3 * x * x, rtol=1e-12, atol=1e-12)


def test_decorator_with_arguments():
    for x, y in [(0.5, 2.0), (-1.5, 0.25)]:
        got = d_cube_plus(x, y)
        assert_same_structure(got, (x, y), (0, 1))
        assert_close(got, numeric_grad(cube_plus, (x, y), (0, 1)))
        np.testing.assert_allclose(got, (3 * x * x + y, x), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(d_cube_plus_y(x, y), x, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# wrt: by position / by name, single / tuple
# --------------------------------------------------------------------------


def three_args(x, A, w):
    return np.sum(np.sin(A * x) * w) + x * w[0]


THREE_ARGS = (0.7, rand((2, 3), 3), rand(3, 4))


@pytest.mark.parametrize(
    "wrt,positions",
    [
        (0, 0),
        (1, 1),
        (2, 2),
        ("x", 0),
        ("A", 1),
        ("w", 2),
        ((0,), (0,)),
        (("A",), (1,)),
        ((0, 1), (0, 1)),
        ((2, 0), (2, 0)),
        (("w", "x"), (2, 0)),
        (("x", "A", "w"), (0, 1, 2)),
        ((0, "A", 2), (0, 1, 2)),
    ],
)
def test_wrt_forms(wrt, positions):
    got = build_grad(three_args, wrt)(*THREE_ARGS)
    assert_same_structure(got, THREE_ARGS, positions)
    assert_close(got, numeric_grad(three_args, THREE_ARGS, positions))


def test_wrt_default_is_first_argument():
    g = srcgrad.grad(cube_plus)
    np.testing.assert_allclose(g(1.5, 2.0), 3 * 1.5 * 1.5 + 2.0, rtol=1e-12, atol=1e-12)
    assert not isinstance(g(1.5, 2.0), tuple)


def sum_sq(x):
    return np.sum(x * x * x)


def test_one_gradient_many_shapes_and_dtypes():
    # the same gradient object specializes for each argument type
    g = build_grad(sum_sq)
    for x in (rand((2, 3), 2), rand(5, 3).astype(np.float32)):
        got = g(x)
        assert got.shape == x.shape and got.dtype == x.dtype
        np.testing.assert_allclose(got, 3 * x.astype(np.float64) ** 2, rtol=1e-5 if x.dtype == np.float32 else 1e-12)


# --------------------------------------------------------------------------
# value_and_grad
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "f,args,wrt",
    [
        (uses_helpers, (0.7, -1.3), (0, 1)),
        (uses_helpers, (0.7, -1.3), 1),
        (three_args, THREE_ARGS, (1, 2)),
        (three_args, THREE_ARGS, 1),
    ],
)
def test_value_and_grad(f, args, wrt):
    vg = build_value_and_grad(f, wrt)
    value, grads = vg(*args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12, atol=1e-12)
    assert np.ndim(value) == 0
    assert_same_structure(grads, args, wrt)
    assert_close(grads, numeric_grad(f, args, wrt))


# --------------------------------------------------------------------------
# vjp and array-valued functions
# --------------------------------------------------------------------------


def vec_out(x, w):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = math.sin(x[i] * w) + x[i] ** 2
    return out


def vec_out_numpy(A, x):
    return np.tanh(A @ x) * x[0]


def mat_out(A, b):
    return A * A * b + np.sin(A)


def _jt_dy(f, args, wrt, dy):
    """FD of <f(args), dy>, i.e. J^T dy."""
    return numeric_grad(lambda *a: np.sum(f(*a) * dy), args, wrt)


@pytest.mark.parametrize("seed", [0, 1])
def test_vjp_loop_valued(seed):
    x, w, dy = rand(5, seed), 1.3, rand(5, seed + 10)
    got = build_vjp(vec_out, (0, 1))(x, w, dy)
    assert_same_structure(got, (x, w), (0, 1))
    assert_close(got, _jt_dy(vec_out, (x, w), (0, 1), dy))


@pytest.mark.parametrize("seed", [0, 1])
def test_vjp_numpy_valued(seed):
    A, x, dy = rand((3, 4), seed), rand(4, seed + 1), rand(3, seed + 2)
    got = build_vjp(vec_out_numpy, (0, 1))(A, x, dy)
    assert_close(got, _jt_dy(vec_out_numpy, (A, x), (0, 1), dy))
    single = build_vjp(vec_out_numpy, 1)(A, x, dy)
    assert not isinstance(single, tuple)
    assert_close(single, _jt_dy(vec_out_numpy, (A, x), 1, dy))


def test_vjp_matrix_valued():
    A, b, dy = rand((2, 3), 5), rand(3, 6), rand((2, 3), 7)
    got = build_vjp(mat_out, (0, 1))(A, b, dy)
    assert_close(got, _jt_dy(mat_out, (A, b), (0, 1), dy))
    # closed form
    gA, gb = got
    np.testing.assert_allclose(gA, (2 * A * b + np.cos(A)) * dy, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb, np.sum(A * A * dy, axis=0), rtol=1e-12, atol=1e-12)


def test_vjp_scalar_valued():
    dy = 2.5
    got = build_vjp(uses_helpers, (0, 1))(0.7, -1.3, dy)
    expected = numeric_grad(uses_helpers, (0.7, -1.3), (0, 1))
    assert_close(got, (expected[0] * dy, expected[1] * dy))


@pytest.mark.parametrize("f,args", [(vec_out, (rand(5, 2), 0.8)), (mat_out, (rand((2, 3), 3), rand(3, 4)))])
def test_grad_of_array_valued_is_grad_of_sum(f, args):
    check_grad(f, args, (0, 1))  # numeric_grad differentiates sum(f)


# --------------------------------------------------------------------------
# Unconnected arguments
# --------------------------------------------------------------------------


def unconnected(x, y, A, n):
    return x * x + n


def test_unconnected_arguments_get_zeros():
    A = rand((2, 3), 9)
    gx, gy, gA = build_grad(unconnected, (0, 1, 2))(1.5, -0.5, A, 4)
    np.testing.assert_allclose(gx, 3.0, rtol=1e-12, atol=1e-12)
    assert np.ndim(gy) == 0 and gy == 0.0
    assert isinstance(gA, np.ndarray) and gA.shape == A.shape
    np.testing.assert_array_equal(gA, np.zeros_like(A))


def partly_connected(x, y):
    z = y * 2.0  # dead: never reaches the output
    z = x
    return z * x


def test_dead_path_gets_zero():
    gx, gy = build_grad(partly_connected, (0, 1))(1.5, 3.0)
    np.testing.assert_allclose(gx, 3.0, rtol=1e-12, atol=1e-12)
    assert gy == 0.0


# --------------------------------------------------------------------------
# srcgrad.source
# --------------------------------------------------------------------------


def test_source_is_readable_python_citing_user_lines():
    g = build_grad(uses_helpers, (0, 1))
    src = srcgrad.source(g)
    assert isinstance(src, str)
    assert "def " in src
    compile(src, "<srcgrad source>", "exec")  # it is valid Python
    lines, start = inspect.getsourcelines(uses_helpers)
    # each block opens with a comment citing the user's file, line and text: the `return ...`
    cited = f"# {os.path.basename(__file__)}:{start + 1}: {lines[1].strip()}"
    assert cited in src, src


def test_source_for_value_and_grad_and_vjp():
    for built in (build_value_and_grad(three_args, (1, 2)), build_vjp(vec_out, 0)):
        src = srcgrad.source(built)
        assert isinstance(src, str) and "def " in src
        compile(src, "<srcgrad source>", "exec")


@pytest.mark.parametrize(
    "f,wrt", [(uses_mutating_helper, 0), (uses_looping_helper_in_loop, 0), (three_args, (0, 2))]
)
def test_source_is_deterministic(f, wrt):
    a = srcgrad.grad(f, wrt=wrt)
    b = srcgrad.grad(f, wrt=wrt)
    assert srcgrad.source(a) == srcgrad.source(b)


# --------------------------------------------------------------------------
# Calling srcgrad functions from inside @numba.njit
# --------------------------------------------------------------------------


def rosen(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def quad(x, c):
    return np.sum((x - c) ** 2) + x[0] * c


grad_rosen = srcgrad.grad(rosen)
vg_quad = srcgrad.value_and_grad(quad, wrt=(0, 1))
vjp_vec = srcgrad.vjp(vec_out, wrt=0)


@numba.njit
def njit_descent(x0, steps, lr):
    x = x0.copy()
    for k in range(steps):
        x = x - lr * grad_rosen(x)
    return x


@numba.njit
def njit_value_and_grad(x, c):
    v, gs = vg_quad(x, c)
    return v, gs[0], gs[1]


@numba.njit
def njit_vjp(x, w, dy):
    return vjp_vec(x, w, dy)


def test_grad_inside_njit_gradient_descent():
    x0 = np.array([-1.2, 1.0, 0.5, 0.8])
    steps, lr = 6, 1e-3
    got = njit_descent(x0, steps, lr)
    x = x0.copy()
    for k in range(steps):
        x = x - lr * numeric_grad(rosen, (x,), 0)
    np.testing.assert_allclose(got, x, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(x0, [-1.2, 1.0, 0.5, 0.8])


def test_value_and_grad_inside_njit():
    x, c = rand(4, 80), 0.3
    v, gx, gc = njit_value_and_grad(x, c)
    np.testing.assert_allclose(v, quad(x, c), rtol=1e-12, atol=1e-12)
    assert_close((gx, gc), numeric_grad(quad, (x, c), (0, 1)))


def test_vjp_inside_njit():
    x, w, dy = rand(5, 81), 0.6, rand(5, 82)
    got = njit_vjp(x, w, dy)
    assert_close(got, _jt_dy(vec_out, (x, w), 0, dy))


def test_same_gradient_from_python_and_njit():
    x = np.array([0.3, -0.2, 0.9])
    np.testing.assert_allclose(njit_descent(x, 1, 1.0), x - grad_rosen(x), rtol=1e-14)
