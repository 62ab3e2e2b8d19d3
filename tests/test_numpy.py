"""NumPy operations: broadcasting arithmetic, ufuncs, reductions (with and
without axis), linear algebra products, transposes and reshapes, array
methods, a small MLP loss, and float32 inputs."""

import numpy as np
import pytest

from conftest import build_grad, check_grad, numeric_grad


def rand(shape, seed, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed).uniform(lo, hi, size=shape)


SEEDS = [0, 1]


# --------------------------------------------------------------------------
# Elementwise arithmetic with broadcasting
# --------------------------------------------------------------------------


def b_array_array(x, y):
    return np.sum(x * y + x / (1.0 + y * y) - y + x ** 2 * y)


def b_matrix_vector(A, v):
    return np.sum(A * v + A / (2.0 + v) - v * v * A + (A - v) ** 2)


def b_array_scalar(x, c):
    return np.sum(x * c + c / (1.0 + x * x) - x ** 2 + (c - x) * x + 2.0 * x / c)


def b_unary_minus(x, y):
    return np.sum(-x * y + -(x - y) ** 3)


def b_matrix_matrix_same(A, B):
    return np.sum(A * B - A / (1.5 + B) + A * A * B)


@pytest.mark.parametrize("seed", SEEDS)
def test_broadcast_array_array(seed):
    check_grad(b_array_array, (rand(5, seed), rand(5, seed + 7)), (0, 1))


@pytest.mark.parametrize("seed", SEEDS)
def test_broadcast_matrix_vector(seed):
    check_grad(b_matrix_vector, (rand((3, 4), seed), rand(4, seed + 7)), (0, 1))


@pytest.mark.parametrize("c", [1.7, -0.8])
@pytest.mark.parametrize("seed", SEEDS)
def test_broadcast_array_scalar(seed, c):
    check_grad(b_array_scalar, (rand((2, 3), seed), c), (0, 1))


@pytest.mark.parametrize("seed", SEEDS)
def test_unary_minus_arrays(seed):
    check_grad(b_unary_minus, (rand(4, seed), rand(4, seed + 3)), (0, 1))


@pytest.mark.parametrize("seed", SEEDS)
def test_elementwise_matrix_matrix(seed):
    check_grad(b_matrix_matrix_same, (rand((3, 2), seed), rand((3, 2), seed + 5)), (0, 1))


def test_broadcast_matrix_vector_closed_form():
    # f = sum(A * v): df/dA[i, j] = v[j], df/dv[j] = sum_i A[i, j]
    A, v = rand((3, 4), 8), rand(4, 9)
    gA, gv = build_grad(bc_simple, (0, 1))(A, v)
    np.testing.assert_allclose(gA, np.broadcast_to(v, A.shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gv, A.sum(axis=0), rtol=1e-12, atol=1e-12)


def bc_simple(A, v):
    return np.sum(A * v)


# --------------------------------------------------------------------------
# ufuncs
# --------------------------------------------------------------------------


def u_exp(x):
    return np.sum(np.exp(x) * x)


def u_log(x):
    return np.sum(np.log(x) * x + np.log(1.0 + x * x))


def u_log1p(x):
    return np.sum(np.log1p(x) * x)


def u_sqrt(x):
    return np.sum(np.sqrt(x) * x + np.sqrt(x + 1.0))


def u_abs(x):
    return np.sum(np.abs(x) * x + np.abs(x - 0.05))


def u_tanh(x):
    return np.sum(np.tanh(x) ** 2 + np.tanh(2.0 * x))


def u_sin(x):
    return np.sum(np.sin(x) * np.sin(x * x))


def u_cos(x):
    return np.sum(np.cos(x) * x + np.cos(3.0 * x))


def u_power(x):
    return np.sum(np.power(x, 3) + np.power(x, 2.5) + np.power(2.0, x))


def u_power_arrays(x):
    return np.sum(np.power(x, x) + np.power(x + 1.0, 0.5 * x))


def u_maximum(x):
    return np.sum(np.maximum(x, 0.5) * x + np.maximum(x * x, x + 0.1))


def u_minimum(x):
    return np.sum(np.minimum(x, 0.5) * x + np.minimum(x * x, 0.3 - x))


def u_where(x):
    return np.sum(np.where(x > 0.5, x * x, -x) + np.where(x < 0.8, 1.0, x) * x)


def u_clip(x):
    return np.sum(np.clip(x, 0.3, 0.7) * x + np.clip(x * x, 0.1, 0.5))


POSITIVE_UFUNCS = [u_log, u_sqrt, u_power, u_power_arrays]
ANY_UFUNCS = [u_exp, u_log1p, u_abs, u_tanh, u_sin, u_cos, u_maximum, u_minimum, u_where, u_clip]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("f", POSITIVE_UFUNCS, ids=[f.__name__ for f in POSITIVE_UFUNCS])
def test_ufuncs_positive_domain(f, seed):
    check_grad(f, (rand(7, seed, 0.1, 1.2),), 0)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("f", ANY_UFUNCS, ids=[f.__name__ for f in ANY_UFUNCS])
def test_ufuncs(f, seed):
    # in (0.0, 1.2): log1p is defined; the kinks of abs/maximum/minimum/where/clip
    # are avoided by the fixed points below.
    x = np.array([0.02, 0.13, 0.27, 0.36, 0.48, 0.61, 0.74, 0.92, 1.13]) + 0.01 * seed
    check_grad(f, (x,), 0)


@pytest.mark.parametrize("f", [u_exp, u_tanh, u_sin, u_cos, u_abs], ids=lambda f: f.__name__)
def test_ufuncs_negative(f):
    check_grad(f, (rand(7, 21, -1.5, -0.1),), 0)


def u_mixed_2d(A):
    return np.sum(np.exp(A) * np.tanh(A) + np.sin(A) * np.cos(A) + np.abs(A) * A)


def test_ufuncs_2d():
    check_grad(u_mixed_2d, (rand((3, 3), 22, -1.5, 1.5),), 0)


def test_ufunc_closed_forms():
    x = np.array([0.2, 0.45, 0.9])
    np.testing.assert_allclose(build_grad(u_exp)(x), np.exp(x) * (1 + x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        build_grad(u_clip)(x),
        np.clip(x, 0.3, 0.7) + x * ((x > 0.3) & (x < 0.7)) + 2 * x * ((x * x > 0.1) & (x * x < 0.5)),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        build_grad(u_where)(x),
        np.where(x > 0.5, 2 * x, -1.0) + np.where(x < 0.8, 1.0, 2 * x),
        rtol=1e-12,
    )


def u_binary_both(x, y):
    # both operands differentiated
    return np.sum(
        np.maximum(x, y) * x
        + np.minimum(x * 2.0, y)
        + np.power(x, y)
        + np.where(x > y, x * y, y - x)
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_ufuncs_both_arguments(seed):
    rng = np.random.default_rng(seed)
    check_grad(u_binary_both, (rng.uniform(0.2, 1.5, 6), rng.uniform(0.2, 1.5, 6)), (0, 1))


# --------------------------------------------------------------------------
# Reductions
# --------------------------------------------------------------------------

# Weights are passed as (non-differentiated) arguments: srcgrad reads only
# numbers, not arrays, from module globals.
W3 = np.array([0.3, -1.2, 0.7])
W4 = np.array([1.1, -0.4, 0.25, 2.0])


def red_sum(A, w3, w4):
    return np.sum(A * A) * np.sum(A)


def red_sum_axis0(A, w3, w4):
    return np.sum(np.sum(A, axis=0) ** 2 * w4)


def red_sum_axis1(A, w3, w4):
    return np.sum(np.sum(A * A, axis=1) * w3) + np.sum(np.sin(np.sum(A, axis=1)))


def red_mean(A, w3, w4):
    return np.mean(A * A) * np.mean(A) + np.mean(np.exp(A))


def red_mean_axis(A, w3, w4):
    return np.sum(np.mean(A, axis=0) ** 2 * w4) + np.sum(np.mean(A, axis=1) * w3)


def red_max(A, w3, w4):
    return np.max(A) * np.max(A * w4) + np.max(-A)


def red_min(A, w3, w4):
    return np.min(A) * np.min(A * A + 0.1) - np.min(np.sin(A))


def red_max_axis(A, w3, w4):
    return np.sum(np.max(A, axis=1) * w3) + np.sum(np.max(A, axis=0) ** 2)


def red_min_axis(A, w3, w4):
    return np.sum(np.min(A, axis=1) * w3) + np.sum(np.min(A * A, axis=0) * w4)


def red_vector(x):
    return np.sum(x) ** 2 + np.mean(x * x) + np.max(x) * np.min(x)


REDUCTIONS = [red_sum, red_sum_axis0, red_sum_axis1, red_mean, red_mean_axis,
              red_max, red_min, red_max_axis, red_min_axis]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("f", REDUCTIONS, ids=[f.__name__ for f in REDUCTIONS])
def test_reductions(f, seed):
    check_grad(f, (rand((3, 4), seed), W3, W4), 0)


@pytest.mark.parametrize("seed", SEEDS)
def test_reductions_1d(seed):
    check_grad(red_vector, (rand(6, seed),), 0)


def red_max_axis1_only(A, w3):
    return np.sum(np.max(A, axis=1) * w3)


def test_max_axis1_closed_form():
    # Numba itself has no np.max(a, axis=...); srcgrad must provide it.
    A = rand((3, 4), 31)
    expected = np.zeros_like(A)
    expected[np.arange(3), np.argmax(A, axis=1)] = W3
    np.testing.assert_allclose(build_grad(red_max_axis1_only)(A, W3), expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# Linear algebra products, transposes, reshapes
# --------------------------------------------------------------------------


def l_dot_mm(A, B):
    return np.sum(np.dot(A, B) ** 2)


def l_matmul_mm(A, B):
    return np.sum(np.sin(A @ B))


def l_dot_mv(A, v):
    return np.sum(np.tanh(np.dot(A, v)))


def l_matmul_mv(A, v):
    return np.sum((A @ v) ** 2)


def l_dot_vv(u, v):
    return np.dot(u, v) * np.dot(u, u)


def l_matmul_vv(u, v):
    return (u @ v) ** 2 + u @ u


def l_outer(u, v):
    return np.sum(np.outer(u, v) ** 2 * 0.5) + np.sum(np.outer(u, u) * np.outer(v, v)[:3, :3])


def l_transpose(A, B):
    return np.sum(np.transpose(A) * B) + np.sum((A.T @ A) ** 2)


def l_vector_matrix(v, A):
    return np.sum(np.exp(v @ A))


def l_reshape(x, w):
    M = np.reshape(x, (3, 4))
    return np.sum(np.tanh(M @ w)) + np.sum(np.reshape(M * M, (12,)) * x)


def l_chain(A, B, v):
    return np.sum((A @ (B @ v)) * (A.T @ v[:3]).sum())


MM = [
    (l_dot_mm, lambda s: (rand((3, 4), s), rand((4, 2), s + 1)), (0, 1)),
    (l_matmul_mm, lambda s: (rand((3, 4), s), rand((4, 2), s + 1)), (0, 1)),
    (l_dot_mv, lambda s: (rand((3, 4), s), rand(4, s + 1)), (0, 1)),
    (l_matmul_mv, lambda s: (rand((3, 4), s), rand(4, s + 1)), (0, 1)),
    (l_dot_vv, lambda s: (rand(5, s), rand(5, s + 1)), (0, 1)),
    (l_matmul_vv, lambda s: (rand(5, s), rand(5, s + 1)), (0, 1)),
    (l_outer, lambda s: (rand(3, s), rand(4, s + 1)), (0, 1)),
    (l_transpose, lambda s: (rand((3, 4), s), rand((4, 3), s + 1)), (0, 1)),
    (l_vector_matrix, lambda s: (rand(3, s), rand((3, 4), s + 1)), (0, 1)),
    (l_reshape, lambda s: (rand(12, s), rand(4, s + 1)), (0, 1)),
    (l_chain, lambda s: (rand((3, 4), s), rand((4, 4), s + 1), rand(4, s + 2)), (0, 1, 2)),
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("f,make,wrt", MM, ids=[m[0].__name__ for m in MM])
def test_linear_algebra(f, make, wrt, seed):
    check_grad(f, make(seed), wrt)


def l_mixed_operands(A32, K, x):
    # float32 @ float64, an integer matrix and a scalar np.dot, which Numba's own products refuse:
    # srcgrad's promote the operands as NumPy does
    return np.sum((A32 @ x) ** 2) + np.sum(np.sin(K @ x)) + np.dot(2.0, x[0]) * np.dot(x, x)


def test_products_outside_the_cached_kernel():
    A32 = rand((3, 4), 5).astype(np.float32)
    K = np.arange(12).reshape(3, 4) % 5 - 2
    g = check_grad(l_mixed_operands, (A32, K, rand(4, 6)), 2)
    assert g.dtype == np.float64


def l_bilinear(A, B):
    return np.sum(A @ B)


def test_matmul_closed_form():
    # f = sum(A @ B): df/dA = 1 B^T, df/dB = A^T 1
    A, B = rand((3, 4), 40), rand((4, 2), 41)
    gA, gB = build_grad(l_bilinear, (0, 1))(A, B)
    np.testing.assert_allclose(gA, np.ones((3, 2)) @ B.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gB, A.T @ np.ones((3, 2)), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# Array methods
# --------------------------------------------------------------------------


def am_sum(x):
    return x.sum() * (x * x).sum()


def am_sum_axis(A):
    w3 = np.ones(3) * 0.7
    w3[1] = -1.2
    return (A.sum(axis=0) ** 2).sum() + (A.sum(axis=1) * w3).sum()


def am_mean(A):
    return A.mean() * (A * A).mean()


def am_reshape(x):
    M = x.reshape((3, 4))
    N = x.reshape(4, 3)
    return (M @ N).sum() + (M.T * N).sum()


def am_T(A):
    return (A.T @ A).sum() + (A.T ** 2).sum()


def am_max(A):
    w4 = np.ones(4)
    w4[2] = 0.25
    w4[3] = -0.5
    return A.max() * (A * w4).max() + A.min()


METHODS = [
    (am_sum, lambda s: rand(6, s)),
    (am_sum_axis, lambda s: rand((3, 4), s)),
    (am_mean, lambda s: rand((3, 4), s)),
    (am_reshape, lambda s: rand(12, s)),
    (am_T, lambda s: rand((3, 4), s)),
    (am_max, lambda s: rand((3, 4), s)),
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("f,make", METHODS, ids=[m[0].__name__ for m in METHODS])
def test_array_methods(f, make, seed):
    check_grad(f, (make(seed),), 0)


# --------------------------------------------------------------------------
# A small MLP-like loss
# --------------------------------------------------------------------------


def mlp_loss(X, W, b):
    return np.sum(np.tanh(X @ W + b) ** 2)


def mlp_two_layer(X, W1, b1, W2, y):
    H = np.tanh(X @ W1 + b1)
    out = H @ W2
    r = out - y
    return np.mean(r * r)


@pytest.mark.parametrize("seed", SEEDS)
def test_mlp_loss(seed):
    X, W, b = rand((5, 3), seed), rand((3, 4), seed + 1), rand(4, seed + 2)
    check_grad(mlp_loss, (X, W, b), (1, 2))


def test_mlp_loss_closed_form():
    X, W, b = rand((5, 3), 50), rand((3, 4), 51), rand(4, 52)
    T = np.tanh(X @ W + b)
    dZ = 2 * T * (1 - T * T)
    gW, gb = build_grad(mlp_loss, (1, 2))(X, W, b)
    np.testing.assert_allclose(gW, X.T @ dZ, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb, dZ.sum(axis=0), rtol=1e-12, atol=1e-12)


def test_mlp_two_layer():
    X, W1, b1 = rand((6, 3), 60), rand((3, 5), 61), rand(5, 62)
    W2, y = rand(5, 63), rand(6, 64)
    check_grad(mlp_two_layer, (X, W1, b1, W2, y), (1, 2, 3))


def softmax_cross_entropy(x, k):
    m = np.max(x)
    e = np.exp(x - m)
    p = e / np.sum(e)
    return -np.log(p[k])


@pytest.mark.parametrize("k", [0, 3])
def test_softmax_cross_entropy_closed_form(k):
    x = rand(5, 90)
    p = np.exp(x) / np.sum(np.exp(x))
    expected = p.copy()
    expected[k] -= 1.0
    got = check_grad(softmax_cross_entropy, (x, k), 0)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# float32
# --------------------------------------------------------------------------


def f32_loss(X, W, b):
    return np.sum(np.tanh(X @ W + b) ** 2) + np.sum(W * W) * 0.5


def f32_elementwise(x):
    return np.sum(np.exp(x * 0.5) * x + np.sqrt(x * x + 1.0))


def test_float32_inputs_give_float32_gradients():
    X = rand((5, 3), 70).astype(np.float32)
    W = rand((3, 4), 71).astype(np.float32)
    b = rand(4, 72).astype(np.float32)
    gW, gb = build_grad(f32_loss, (1, 2))(X, W, b)
    assert gW.dtype == np.float32 and gb.dtype == np.float32
    assert gW.shape == W.shape and gb.shape == b.shape
    eW, eb = numeric_grad(f32_loss, (X, W, b), (1, 2))
    np.testing.assert_allclose(gW, eW, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(gb, eb, rtol=2e-4, atol=2e-5)


def test_float32_elementwise():
    x = rand(6, 73).astype(np.float32)
    g = build_grad(f32_elementwise)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, numeric_grad(f32_elementwise, (x,), 0), rtol=2e-4, atol=2e-5)
