"""Element reads and writes, arrays overwritten over several passes, slices,
allocation helpers and array attributes; inputs are never mutated."""

import math

import numpy as np
import pytest

from conftest import build_grad, check_grad


def rand(shape, seed, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed).uniform(lo, hi, size=shape)


# --------------------------------------------------------------------------
# Element reads and writes
# --------------------------------------------------------------------------


def e_read_1d(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += x[i] * x[i + 1] + math.cos(x[i])
    return s + x[-1] * x[0]


def e_read_2d(A, v):
    s = 0.0
    for i in range(A.shape[0]):
        t = 0.0
        for j in range(A.shape[1]):
            t += A[i, j] * v[j]
        s += math.tanh(t)
    return s


def e_write(x):
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = x[i] * x[i] + math.sin(x[i])
    s = 0.0
    for i in range(out.shape[0]):
        s += out[i] * (i + 1.0) * out[i]
    return s


def e_write_2d(A):
    out = np.zeros((A.shape[1], A.shape[0]))
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            out[j, i] = A[i, j] * A[i, j] - A[i, 0]
    s = 0.0
    for j in range(out.shape[0]):
        for i in range(out.shape[1]):
            s += out[j, i] * out[j, i] * (j + 1)
    return s


def e_aug_elem(x):
    acc = np.zeros(3)
    for i in range(x.shape[0]):
        acc[i % 3] += x[i] * x[i]
        acc[(i + 1) % 3] -= 0.5 * x[i]
        acc[0] *= 0.9
    return acc[0] * acc[1] + acc[2] * acc[2]


def e_aug_2d(A):
    acc = np.zeros((2, 2))
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            acc[i % 2, j % 2] += A[i, j] * A[j % A.shape[0], i % A.shape[1]]
    return acc[0, 0] * acc[1, 1] - acc[0, 1] * acc[1, 0]


def e_read_after_write_same_iter(x):
    y = np.zeros(x.shape[0])
    s = 0.0
    for i in range(x.shape[0]):
        y[i] = x[i] * 2.0
        y[i] = y[i] * y[i] + x[i]
        s += y[i] * x[i]
    return s


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
    "f", [e_read_1d, e_write, e_aug_elem, e_read_after_write_same_iter],
    ids=["read", "write", "aug", "rw_same_iter"],
)
def test_element_access_1d(f, seed):
    check_grad(f, (rand(7, seed),), 0)


@pytest.mark.parametrize("seed", [0, 1])
def test_element_read_2d(seed):
    check_grad(e_read_2d, (rand((3, 4), seed), rand(4, seed + 10)), (0, 1))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("f", [e_write_2d, e_aug_2d], ids=["write", "aug"])
def test_element_write_2d(f, seed):
    check_grad(f, (rand((3, 4), seed),), 0)


# --------------------------------------------------------------------------
# Arrays overwritten over several passes
# --------------------------------------------------------------------------


def p_smooth(x):
    n = x.shape[0]
    buf = np.zeros(n)
    for i in range(n):
        buf[i] = x[i]
    for it in range(3):
        for i in range(1, n - 1):
            # Gauss-Seidel style: buf[i-1] was already updated in this pass.
            buf[i] = 0.25 * buf[i - 1] + 0.5 * buf[i] + 0.25 * buf[i + 1]
    s = 0.0
    for i in range(n):
        s += buf[i] * buf[i] * (i + 1)
    return s


def p_smooth_nonlinear(x, a):
    n = x.shape[0]
    buf = np.zeros(n)
    for i in range(n):
        buf[i] = x[i]
    for it in range(3):
        for i in range(1, n - 1):
            buf[i] = math.tanh(a * buf[i - 1] + buf[i] * buf[i + 1])
    return np.sum(buf * buf)


def p_recurrence(x, w):
    y = np.zeros(x.shape[0])
    y[0] = x[0]
    for i in range(1, x.shape[0]):
        y[i] = y[i - 1] * w + x[i]
    s = 0.0
    for i in range(y.shape[0]):
        s += y[i] * y[i]
    return s


def p_recurrence_in_place(x, w):
    # writes into its own argument
    for i in range(1, x.shape[0]):
        x[i] = x[i - 1] * w + x[i] * x[i]
    return np.sum(x * x)


def p_ping_pong(x):
    a = x.copy()
    b = np.zeros_like(x)
    for it in range(4):
        for i in range(1, x.shape[0] - 1):
            b[i] = math.sin(a[i - 1]) * a[i + 1] + a[i]
        b[0] = a[0]
        b[x.shape[0] - 1] = a[x.shape[0] - 1]
        for i in range(x.shape[0]):
            a[i] = b[i]
    return np.sum(a)


@pytest.mark.parametrize("seed", [0, 1])
def test_smoothing_passes(seed):
    check_grad(p_smooth, (rand(8, seed),), 0)


def test_smoothing_is_linear_closed_form():
    # p_smooth(x) = sum_i (i+1) * (M x)_i^2 for a fixed matrix M, so its
    # gradient is 2 M^T D M x.  Build M by applying the same in-place row
    # updates to the identity matrix.
    n = 8
    M = np.eye(n)
    for it in range(3):
        for i in range(1, n - 1):
            M[i] = 0.25 * M[i - 1] + 0.5 * M[i] + 0.25 * M[i + 1]
    D = np.diag(np.arange(1, n + 1, dtype=float))
    x = rand(n, 3)
    np.testing.assert_allclose(build_grad(p_smooth)(x), 2 * M.T @ D @ M @ x, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_smoothing_nonlinear(seed):
    check_grad(p_smooth_nonlinear, (rand(7, seed), 0.8), (0, 1))


@pytest.mark.parametrize("seed", [0, 1])
def test_recurrence(seed):
    check_grad(p_recurrence, (rand(9, seed), 0.85), (0, 1))


@pytest.mark.parametrize("seed", [0, 1])
def test_recurrence_in_place_on_argument(seed):
    x = rand(9, seed)
    x_before = x.copy()
    g = build_grad(p_recurrence_in_place, (0, 1))
    gx, gw = g(x, 0.7)
    np.testing.assert_array_equal(x, x_before)  # caller's array untouched
    check_grad(p_recurrence_in_place, (x, 0.7), (0, 1))
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.parametrize("seed", [0, 1])
def test_ping_pong_buffers(seed):
    check_grad(p_ping_pong, (rand(6, seed),), 0)


# --------------------------------------------------------------------------
# Slices
# --------------------------------------------------------------------------


def s_column(A):
    c = A[:, 0]
    r = A[1, :]
    return np.sum(c * c) + np.sum(r * c[1]) + np.sum(A[:, 2] * A[:, 1])


def s_window(x):
    s = 0.0
    for i in range(x.shape[0] - 2):
        w = x[i:i + 3]
        s += np.sum(w) ** 2 + np.sum(w * w) * x[i]
    return s


def s_prefix_suffix(x):
    return np.sum(x[1:] * x[:-1]) + np.sum(x[::2] ** 2) + np.sum(x[2:5])


def s_slice_write(x):
    out = np.zeros(x.shape[0] + 2)
    out[1:-1] = x * x
    out[0] = x[0]
    return np.sum(out[1:] * out[:-1])


def s_row_loop(A):
    s = 0.0
    for i in range(A.shape[0]):
        row = A[i]
        s += np.sum(np.tanh(row)) * row[0]
    return s


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("f", [s_column, s_row_loop], ids=["column", "row_loop"])
def test_slices_2d(f, seed):
    check_grad(f, (rand((4, 3), seed),), 0)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
    "f", [s_window, s_prefix_suffix, s_slice_write], ids=["window", "prefix_suffix", "write"]
)
def test_slices_1d(f, seed):
    check_grad(f, (rand(8, seed),), 0)


def test_column_slice_closed_form():
    A = rand((4, 3), 5)
    expected = np.zeros_like(A)
    c = A[:, 0]
    r = A[1, :]
    expected[:, 0] += 2 * c
    expected[1, :] += c[1]
    expected[1, 0] += np.sum(r)
    expected[:, 2] += A[:, 1]
    expected[:, 1] += A[:, 2]
    np.testing.assert_allclose(build_grad(s_column)(A), expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# Allocation helpers, copy, shape, size, len
# --------------------------------------------------------------------------


def a_allocs(x):
    a = np.ones(x.shape[0])
    b = np.zeros_like(x)
    c = np.ones_like(x)
    d = np.empty(x.size)
    e = np.empty_like(x)
    for i in range(len(x)):
        b[i] = a[i] * x[i] + c[i] * 2.0
        d[i] = b[i] * x[i]
        e[i] = d[i] + a[i] * math.sin(x[i])
    return np.sum(e * b)


def a_allocs_2d(A):
    n, m = A.shape
    Z = np.zeros((n, m))
    O = np.ones((m, n))
    E = np.empty((n, m))
    for i in range(n):
        for j in range(m):
            Z[i, j] = A[i, j] * O[j, i] * 3.0
            E[i, j] = Z[i, j] * A[i, j]
    return np.sum(E) + A.size * np.sum(Z) / len(A)


def a_copy(x):
    y = x.copy()
    y[0] = 5.0
    y[1] = y[1] * y[1]
    return np.sum(x * y)


def a_copy_then_mutate_loop(x):
    y = x.copy()
    for i in range(1, y.shape[0]):
        y[i] = y[i] * y[i - 1]
    return np.sum(y) + np.sum(x)


def a_np_copy(x):
    y = np.copy(x)
    y[2] = 0.0
    return np.sum(y * x) + x[2]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
    "f", [a_allocs, a_copy, a_copy_then_mutate_loop, a_np_copy],
    ids=["allocs", "copy", "copy_loop", "np_copy"],
)
def test_allocations_and_copy(f, seed):
    check_grad(f, (rand(6, seed),), 0)


@pytest.mark.parametrize("seed", [0, 1])
def test_allocations_2d(seed):
    check_grad(a_allocs_2d, (rand((3, 5), seed),), 0)


def test_copy_closed_form():
    # f = 5*x0 + x1^3 + sum_{i>=2} x_i^2
    x = rand(6, 4)
    expected = 2 * x
    expected[0] = 5.0
    expected[1] = 3 * x[1] ** 2
    np.testing.assert_allclose(build_grad(a_copy)(x), expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# Inputs are never mutated
# --------------------------------------------------------------------------


def m_writes_argument(x):
    for i in range(x.shape[0]):
        x[i] = x[i] * x[i] + 1.0
    return np.sum(x) * x[0]


def m_writes_2d_argument(A, v):
    for i in range(A.shape[0]):
        A[i, 0] = A[i, 0] * v[i]
        v[i] = v[i] * 2.0
    return np.sum(A * A) + np.sum(v)


def test_writes_into_argument_not_visible_to_caller():
    x = rand(5, 11)
    keep = x.copy()
    g = build_grad(m_writes_argument)
    got = g(x)
    np.testing.assert_array_equal(x, keep)
    got2 = g(x)  # calling again gives the same answer
    np.testing.assert_array_equal(got, got2)
    np.testing.assert_array_equal(x, keep)
    check_grad(m_writes_argument, (x,), 0)


def test_writes_into_2d_argument_not_visible_to_caller():
    A = rand((3, 3), 12)
    v = rand(3, 13)
    A0, v0 = A.copy(), v.copy()
    g = build_grad(m_writes_2d_argument, (0, 1))
    g(A, v)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(v, v0)
    check_grad(m_writes_2d_argument, (A, v), (0, 1))


def test_non_contiguous_input():
    # A transposed (Fortran-ordered) view and a strided view passed as they are.
    from conftest import numeric_grad

    A = rand((4, 3), 14).T
    v = rand(4, 16)
    x = rand(12, 15)[::2]
    assert not A.flags.c_contiguous and not x.flags.c_contiguous
    gA, gv = build_grad(e_read_2d, (0, 1))(A, v)
    eA, ev = numeric_grad(e_read_2d, (A, v), (0, 1))
    np.testing.assert_allclose(gA, eA, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gv, ev, rtol=1e-6, atol=1e-8)
    gx = build_grad(e_read_1d)(x)
    np.testing.assert_allclose(gx, numeric_grad(e_read_1d, (x,), 0), rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------
# Row writes and whole arrays overwritten every iteration
# --------------------------------------------------------------------------


def w_row_slice_write(A, v):
    out = np.zeros(A.shape)
    for i in range(A.shape[0]):
        out[i, :] = A[i, :] * v[i]
    return np.sum(out * out * A)


def w_row_index_write(A):
    out = np.zeros(A.shape)
    for i in range(A.shape[0]):
        out[i] = A[i] * 2.0 + np.sin(A[i])
        out[i] = out[i] * A[i]
    return np.sum(out)


def w_vector_rnn(X, W, U):
    h = np.zeros(W.shape[0])
    s = 0.0
    for t in range(X.shape[0]):
        h = np.tanh(W @ h + U @ X[t])
        s += np.sum(h * h)
    return s


def w_accumulate(x, W):
    acc = np.zeros(W.shape[1])
    for i in range(x.shape[0]):
        acc = acc + x[i] * W[i]
        acc = acc * acc * 0.5
    return np.sum(acc)


@pytest.mark.parametrize("seed", [0, 1])
def test_row_slice_write_in_loop(seed):
    check_grad(w_row_slice_write, (rand((3, 4), seed), rand(3, seed + 1)), (0, 1))


@pytest.mark.parametrize("seed", [0, 1])
def test_row_index_write_in_loop(seed):
    check_grad(w_row_index_write, (rand((3, 4), seed),), 0)


@pytest.mark.parametrize("seed", [0, 1])
def test_array_state_overwritten_each_iteration(seed):
    rng = np.random.default_rng(seed)
    args = (rng.normal(size=(5, 2)), 0.5 * rng.normal(size=(3, 3)), rng.normal(size=(3, 2)))
    check_grad(w_vector_rnn, args, (0, 1, 2))


@pytest.mark.parametrize("seed", [0, 1])
def test_array_accumulator_overwritten(seed):
    check_grad(w_accumulate, (rand(4, seed), rand((4, 3), seed + 1)), (0, 1))


def w_slice_passes(x):
    y = x.copy()
    for it in range(3):
        y[1:] = y[1:] * 0.5 + y[:-1] * y[1:]
    return np.sum(y)


@pytest.mark.parametrize("seed", [0, 1])
def test_slice_assignment_over_passes(seed):
    check_grad(w_slice_passes, (rand(6, seed),), 0)
