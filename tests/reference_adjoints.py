"""Five reference functions and the adjoints an expert writes for them by hand.

tests/test_generated_code.py checks each hand-written gradient against finite differences, and
srcgrad's reverse sweep against the hand-written one's length; benchmarks/run.py times both. In
each ``*_adjoint`` the statements after the ``# reverse sweep`` comment, up to the final
``return``, are what an expert writes for the reverse sweep.
"""
import math

import numpy as np
from numba import njit


def quickstart(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.tanh(w * x[i])
    return s


def quickstart_adjoint(x, w):
    gx = np.zeros_like(x)
    gw = 0.0
    # reverse sweep
    for i in range(x.shape[0] - 1, -1, -1):
        t = math.tanh(w * x[i])
        d = 1.0 - t * t
        gx[i] = d * w
        gw += d * x[i]
    return gx, gw


def recurrence(x, a):
    h = 0.0
    s = 0.0
    for i in range(x.shape[0]):
        h = math.tanh(a * h + x[i])
        s += h
    return s


def recurrence_adjoint(x, a):
    n = x.shape[0]
    hs = np.zeros(n + 1)
    for i in range(n):
        hs[i + 1] = math.tanh(a * hs[i] + x[i])
    gx = np.zeros_like(x)
    ga = 0.0
    gh = 0.0
    # reverse sweep
    for i in range(n - 1, -1, -1):
        gh += 1.0
        d = gh * (1.0 - hs[i + 1] * hs[i + 1])
        gx[i] = d
        ga += d * hs[i]
        gh = d * a
    return gx, ga


def branchy(x, a):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0.0:
            s += a * x[i] * x[i]
        else:
            s -= math.sin(a * x[i])
    return s


def branchy_adjoint(x, a):
    gx = np.zeros_like(x)
    ga = 0.0
    # reverse sweep
    for i in range(x.shape[0] - 1, -1, -1):
        xi = x[i]
        if xi > 0.0:
            gx[i] = 2.0 * a * xi
            ga += xi * xi
        else:
            c = math.cos(a * xi)
            gx[i] = -a * c
            ga -= xi * c
    return gx, ga


def writes(x, a):
    y = np.zeros_like(x)
    y[0] = x[0]
    for i in range(1, x.shape[0]):
        y[i] = a * y[i - 1] + x[i]
    return np.sum(y * y)


def writes_adjoint(x, a):
    y = np.zeros_like(x)
    y[0] = x[0]
    for i in range(1, x.shape[0]):
        y[i] = a * y[i - 1] + x[i]
    gx = np.zeros_like(x)
    ga = 0.0
    # reverse sweep
    gy = 2.0 * y
    for i in range(x.shape[0] - 1, 0, -1):
        gx[i] = gy[i]
        ga += gy[i] * y[i - 1]
        gy[i - 1] += a * gy[i]
    gx[0] = gy[0]
    return gx, ga


def mlp(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    m = np.max(z, axis=1)
    e = np.exp(z - m.reshape(-1, 1))
    lse = np.log(np.sum(e, axis=1)) + m
    return np.mean(lse - np.sum(Y * z, axis=1))


@njit
def _row_max(z):
    """``np.max(z, axis=1)``, which Numba does not compile (the benchmark compiles these adjoints)."""
    m = np.empty(z.shape[0])
    for r in range(z.shape[0]):
        m[r] = np.max(z[r])
    return m


def mlp_adjoint(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    e = np.exp(z - _row_max(z).reshape(-1, 1))
    # reverse sweep
    gz = (e / np.sum(e, axis=1).reshape(-1, 1) - Y) / X.shape[0]
    gW2 = h.T @ gz
    gb2 = np.sum(gz, axis=0)
    gu = (gz @ W2.T) * (1.0 - h * h)
    gW1 = X.T @ gu
    gb1 = np.sum(gu, axis=0)
    return gW1, gb1, gW2, gb2


# (function, its hand-written gradient, wrt, arguments)
def cases():
    rng = np.random.default_rng(7)
    x = rng.normal(size=9)
    X, Y = rng.normal(size=(6, 5)), np.eye(3)[rng.integers(0, 3, size=6)]
    W1, b1 = rng.normal(size=(5, 4)) * 0.5, rng.normal(size=4) * 0.1
    W2, b2 = rng.normal(size=(4, 3)) * 0.5, rng.normal(size=3) * 0.1
    return {"quickstart": (quickstart, quickstart_adjoint, (0, 1), (x, 0.7)),
            "recurrence": (recurrence, recurrence_adjoint, (0, 1), (x, 0.6)),
            "branchy": (branchy, branchy_adjoint, (0, 1), (x, 0.8)),
            "writes": (writes, writes_adjoint, (0, 1), (x, 0.5)),
            "mlp": (mlp, mlp_adjoint, (0, 1, 2, 3), (W1, b1, W2, b2, X, Y))}
