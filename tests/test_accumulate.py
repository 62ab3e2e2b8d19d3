"""Adjoints started from their first contribution never share memory with each other or with the
caller's arrays (srcgrad/transform/zeros.py)."""
import numpy as np

import srcgrad
from conftest import assert_close, numeric_grad


def added(x, y):
    z = x + y
    return np.sum(z * z)


def copies(x):
    a = x * 1.0
    b = a
    c = b + a
    d = c
    return np.sum(d * b) + np.sum(np.sin(c))


def test_gradients_are_distinct_arrays():
    x, y = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    gx, gy = srcgrad.grad(added, wrt=(0, 1))(x, y)
    assert gx is not gy and not np.shares_memory(gx, gy)
    expected = 2 * (x + y)
    gx += 100.0
    assert_close(gy, expected, rtol=0)


def test_chains_of_copies_and_seeds():
    x = np.array([0.3, -0.7, 1.1])
    assert_close(srcgrad.grad(copies)(x), numeric_grad(copies, [x]), rtol=1e-6, atol=1e-8)
    dy = np.array([1.0, 2.0])
    g = srcgrad.vjp(scaled, wrt=0)
    out = g(np.array([1.0, 2.0]), dy)
    assert not np.shares_memory(out, dy)
    out += 1.0
    assert_close(dy, [1.0, 2.0], rtol=0)


def scaled(x):
    return x * 1.0          # its adjoint is the seed itself: it must be copied, not returned
