"""Workload 1: gradients of ``sum(sigmoid(x))``, ``sum(tanh(x))`` and ``sum(relu(x))``.

srcgrad differentiates plain functions that call ``srcgrad.nn.sigmoid``, ``np.tanh`` and
``srcgrad.nn.relu``; the hand-written Numba gradient is one loop over ``x`` with libm's ``math.exp``
/ ``math.tanh``, as a Numba user writes it (srcgrad calls its own vectorizable versions).
"""
import math

import numpy as np
from numba import njit

from harness import gradient_case  # first: it puts this checkout of srcgrad on sys.path
import srcgrad.nn as nn  # noqa: E402


# -- what srcgrad differentiates -------------------------------------------------------------------
def sum_sigmoid(x):
    return np.sum(nn.sigmoid(x))


def sum_tanh(x):
    return np.sum(np.tanh(x))


def sum_relu(x):
    return np.sum(nn.relu(x))


# -- hand-written Numba: gradient and primal, one loop each -----------------------------------------
@njit(cache=True)
def _sigmoid(v):
    if v >= 0.0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


@njit(cache=True)
def hand_sigmoid_grad(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        s = _sigmoid(x[i])
        out[i] = s - s * s
    return (out,)


@njit(cache=True)
def hand_sigmoid_primal(x):
    total = 0.0
    for i in range(x.shape[0]):
        total += _sigmoid(x[i])
    return total


@njit(cache=True)
def hand_tanh_grad(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        t = math.tanh(x[i])
        out[i] = 1.0 - t * t
    return (out,)


@njit(cache=True)
def hand_tanh_primal(x):
    total = 0.0
    for i in range(x.shape[0]):
        total += math.tanh(x[i])
    return total


@njit(cache=True)
def hand_relu_grad(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = 1.0 if x[i] > 0.0 else 0.0
    return (out,)


@njit(cache=True)
def hand_relu_primal(x):
    total = 0.0
    for i in range(x.shape[0]):
        total += x[i] if x[i] > 0.0 else 0.0
    return total


# -- hand-written NumPy -----------------------------------------------------------------------------
def numpy_sigmoid_grad(x):
    s = 1.0 / (1.0 + np.exp(-x))
    return (s * (1.0 - s),)


def numpy_tanh_grad(x):
    t = np.tanh(x)
    return (1.0 - t * t,)


def numpy_relu_grad(x):
    return ((x > 0.0).astype(x.dtype),)


# -- JAX / PyTorch / autograd ------------------------------------------------------------------------
def peer_sum_sigmoid(ops, x):
    return ops.sum(ops.sigmoid(x))


def peer_sum_tanh(ops, x):
    return ops.sum(ops.tanh(x))


def peer_sum_relu(ops, x):
    return ops.sum(ops.relu(x))


FUNCTIONS = {
    # name: (srcgrad loss, hand grad, hand primal, NumPy grad, peer loss)
    "sigmoid": (sum_sigmoid, hand_sigmoid_grad, hand_sigmoid_primal, numpy_sigmoid_grad,
                peer_sum_sigmoid),
    "tanh": (sum_tanh, hand_tanh_grad, hand_tanh_primal, numpy_tanh_grad, peer_sum_tanh),
    "relu": (sum_relu, hand_relu_grad, hand_relu_primal, numpy_relu_grad, peer_sum_relu),
}


PARALLEL_FROM = 100_000


def cases(settings):
    """One row per function and size: n = 1e3, 1e5, 1e6 (1e3, 1e4 when quick); srcgrad with
    ``parallel=True`` from n = 1e5 on, where threads pay."""
    sizes = (1_000, 10_000) if settings.quick else (1_000, 100_000, 1_000_000)
    rng = np.random.default_rng(0)
    out = []
    for fname, (loss, hand, hand_primal, numpy_grad, peer_loss) in FUNCTIONS.items():
        for n in sizes:
            x = rng.normal(size=n)
            out.append(gradient_case(
                "1 elementwise", f"sum({fname}(x)), n={n:.0e}".replace("e+0", "e"), (x,), (0,),
                hand=hand, hand_primal=hand_primal, srcgrad_loss=loss, numpy_grad=numpy_grad,
                peer_loss=peer_loss, parallel=n >= PARALLEL_FROM,
                notes=[f"srcgrad: grad(..., parallel=True) from n={PARALLEL_FROM:.0e}".replace("e+0", "e")]))
    return out
