"""Forward mode (srcgrad.jvp): tangents against central finite differences along a random direction,
and agreement with reverse mode (u . J v computed by jvp equals (J^T u) . v computed by vjp)."""
import math

import numpy as np
import pytest

import srcgrad


def fd_directional(f, args, wrt, v, h=1e-6):
    """Central difference of f along direction v (one entry per wrt position)."""
    def shifted(sign):
        a = [x.copy() if isinstance(x, np.ndarray) else x for x in args]
        for p, d in zip(wrt, v):
            a[p] = a[p] + sign * h * d
        return np.asarray(f(*a), dtype=float)
    return (shifted(1) - shifted(-1)) / (2 * h)


# --- functions of every kind the core suite covers --------------------------------------------------
def scalar_math(x, y):
    z = math.exp(x) * math.sin(y) + math.log1p(x * x) / (1.0 + y * y) - x ** 3
    return z + max(x, y) * abs(x - y) + math.tanh(x * y) + math.sqrt(1.0 + x * x) + y ** x


def control(x, y):
    s = 0.0
    for i in range(7, -1, -2):
        if x * i > 2.0:
            s += x * y
        elif y > 0.5:
            s -= y * i
        else:
            s = s * x
    k = 0
    while s < 10.0 and k < 20:
        s = s * 1.3 + y
        k += 1
    return s


def early_exit(x, y):
    p = 1.0
    for i in range(10):
        if i % 3 == 1:
            continue
        p = p * (x + 0.1 * i)
        if p > 4.0:
            return p * y
    return p - y


def recurrence(a, x):
    h = 0.0
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        h = math.tanh(a * h + x[i])
        out[i] = h * h
    for p in range(2):
        for i in range(1, x.shape[0] - 1):
            out[i] = 0.5 * out[i] + 0.25 * (out[i - 1] + out[i + 1])
    return out


def numpy_ops(A, w):
    z = np.tanh(A @ w) + np.max(A, axis=1) - np.mean(A, axis=1)
    m = np.where(z > 0.0, np.exp(z), np.log1p(z * z)) + np.clip(z, -0.5, 0.5)
    r = np.sum(np.maximum(m, 0.2) * np.minimum(z, 0.9)) + np.outer(w, w).reshape(-1)[3]
    return r + np.sum(A.T * w[0]) + np.linalg.norm(w) + np.cumsum(w)[2] + A.sum(axis=0) @ w


def _helper(v, scale):
    s = 0.0
    for i in range(v.shape[0]):
        s += scale * v[i] * v[i]
    return s


def with_helper(x, y):
    return _helper(x, y) * y + np.sum(x)


CASES = [
    (scalar_math, (0.7, 0.4), (0, 1)),
    (control, (0.3, 0.8), (0, 1)),
    (control, (0.9, 0.2), (0, 1)),
    (early_exit, (1.2, 0.5), (0, 1)),
    (early_exit, (0.2, 0.5), (0, 1)),
    (recurrence, (0.8, np.linspace(-1.0, 1.0, 6)), (0, 1)),
    (numpy_ops, (np.random.default_rng(0).normal(size=(3, 4)),
                 np.random.default_rng(1).normal(size=4)), (0, 1)),
    (with_helper, (np.linspace(0.1, 0.9, 4), 1.3), (0, 1)),
]


def _direction(args, wrt, seed):
    rng = np.random.default_rng(seed)
    return tuple(rng.normal(size=np.shape(args[p])) if np.ndim(args[p]) else float(rng.normal())
                 for p in wrt)


@pytest.mark.parametrize("f,args,wrt", CASES, ids=[f"{c[0].__name__}-{k}" for k, c in enumerate(CASES)])
def test_jvp_matches_finite_differences_and_vjp(f, args, wrt):
    v = _direction(args, wrt, 3)
    value, tangent = srcgrad.jvp(f, wrt=wrt)(*args, v)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tangent, fd_directional(f, args, wrt, v), rtol=1e-6, atol=1e-7)
    # reverse mode agrees: u . (J v) == (J^T u) . v
    u = np.random.default_rng(5).normal(size=np.shape(value))
    u = u if np.ndim(value) else float(u)
    cotangents = srcgrad.vjp(f, wrt=wrt)(*args, u)
    lhs = float(np.sum(u * np.asarray(tangent)))
    rhs = sum(float(np.sum(c * d)) for c, d in zip(cotangents, v))
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-12)


def single(x):
    return x * x * 3.0


def test_single_wrt_takes_a_plain_tangent():
    value, tangent = srcgrad.jvp(single)(2.0, 0.5)
    assert (value, tangent) == (12.0, 6.0)
    assert "_dx" in srcgrad.source(srcgrad.jvp(single))


def test_jvp_does_not_mutate_inputs():
    x = np.linspace(0.0, 1.0, 6)
    keep = x.copy()
    v = np.ones(6)
    srcgrad.jvp(recurrence, wrt=1)(0.8, x, v)
    np.testing.assert_array_equal(x, keep)
    np.testing.assert_array_equal(v, np.ones(6))


# --- the core suite's own functions: forward and reverse mode agree, and match finite differences ------
def _core_cases():
    import test_control_flow as cf
    import test_numpy as tn
    import test_scalar as ts
    cases = [(f, pts[0], (0, 1)) for f, pts in ts.ARITH]
    cases += [(f, cf.IF_POINTS[1], (0, 1)) for f in cf.IF_FUNCS]
    cases += [(f, (x,), (0,)) for f, x in cf.BREAK_CASES[::2]]
    x = np.array([0.02, 0.13, 0.27, 0.36, 0.48, 0.61, 0.74, 0.92, 1.13])
    cases += [(f, (x,), (0,)) for f in tn.ANY_UFUNCS + tn.POSITIVE_UFUNCS]
    return cases


CORE = _core_cases()


@pytest.mark.parametrize("f,args,wrt", CORE, ids=[f"{c[0].__name__}-{k}" for k, c in enumerate(CORE)])
def test_core_functions_forward_and_reverse_agree(f, args, wrt):
    args = tuple(float(a) if isinstance(a, (int, float)) else a for a in args)
    v = _direction(args, wrt, 11)
    value, tangent = srcgrad.jvp(f, wrt=wrt)(*args, v)
    np.testing.assert_allclose(tangent, fd_directional(f, args, wrt, v), rtol=1e-6, atol=1e-7)
    u = 0.7
    cotangents = srcgrad.vjp(f, wrt=wrt)(*args, u)
    rhs = sum(float(np.sum(c * d)) for c, d in zip(cotangents, v))
    assert u * float(tangent) == pytest.approx(rhs, rel=1e-10, abs=1e-12)
