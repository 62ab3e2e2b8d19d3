"""Workloads 2-4: softmax cross-entropy, a linear model's MSE, and an MLP's loss.

Each is written four ways: the NumPy / ``srcgrad.nn`` function srcgrad differentiates, a hand-written
Numba gradient (matrix products through ``@`` as srcgrad's generated code does, elementwise parts as
loops with ``math.exp`` / ``math.tanh``), hand-written NumPy, and ``loss(ops, ...)`` for the peers.
The softmax cross-entropy pieces are shared with the training-epoch workload (:mod:`epoch`).
"""
import math

import numpy as np
from numba import njit

from harness import gradient_case  # first: it puts this checkout of srcgrad on sys.path
import srcgrad.nn as nn  # noqa: E402


# -- softmax cross-entropy, hand-written pieces ------------------------------------------------------
@njit(cache=True)
def xent_grad_rows(logits, labels, scale):
    """``scale * (softmax(logits) * sum(labels) - labels)`` row by row: d(xent)/d(logits)."""
    rows, cols = logits.shape
    out = np.empty_like(logits)
    for r in range(rows):
        top = logits[r, 0]
        for j in range(1, cols):
            top = max(top, logits[r, j])
        total = 0.0
        weight = 0.0
        for j in range(cols):
            e = math.exp(logits[r, j] - top)
            out[r, j] = e
            total += e
            weight += labels[r, j]
        factor = scale * weight / total
        for j in range(cols):
            out[r, j] = out[r, j] * factor - scale * labels[r, j]
    return out


@njit(cache=True)
def xent_mean(logits, labels):
    """Mean over rows of ``-sum(labels * log_softmax(logits))``."""
    rows, cols = logits.shape
    acc = 0.0
    for r in range(rows):
        top = logits[r, 0]
        for j in range(1, cols):
            top = max(top, logits[r, j])
        total = 0.0
        weight = 0.0
        dot = 0.0
        for j in range(cols):
            total += math.exp(logits[r, j] - top)
            weight += labels[r, j]
            dot += labels[r, j] * logits[r, j]
        acc += weight * (top + math.log(total)) - dot
    return acc / rows


@njit(cache=True)
def column_sums(a):
    out = np.zeros(a.shape[1])
    for r in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[j] += a[r, j]
    return out


def numpy_xent_grad_rows(logits, labels, scale):
    """Hand-written NumPy version of :func:`xent_grad_rows`."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return scale * (e * (labels.sum(axis=1, keepdims=True) / e.sum(axis=1, keepdims=True)) - labels)


def peer_xent(ops, logits, labels):
    """Mean softmax cross-entropy for the peers."""
    return ops.mean(-ops.sum(labels * ops.log_softmax(logits), -1))


def one_hot_labels(rng, rows, classes):
    return np.eye(classes)[rng.integers(0, classes, rows)]


# -- 2: softmax cross-entropy w.r.t. the logits ------------------------------------------------------
def xent_loss(logits, labels):
    return np.mean(nn.softmax_cross_entropy_with_logits(labels, logits))


@njit(cache=True)
def hand_xent_grad(logits, labels):
    return (xent_grad_rows(logits, labels, 1.0 / logits.shape[0]),)


def numpy_xent_grad(logits, labels):
    return (numpy_xent_grad_rows(logits, labels, 1.0 / logits.shape[0]),)


def xent_cases(settings):
    shapes = ((128, 10),) if settings.quick else ((128, 10), (1024, 1000))
    rng = np.random.default_rng(1)
    out = []
    for rows, classes in shapes:
        args = (rng.normal(size=(rows, classes)), one_hot_labels(rng, rows, classes))
        out.append(gradient_case(
            "2 softmax xent", f"({rows}, {classes})", args, (0,), hand=hand_xent_grad,
            hand_primal=xent_mean, srcgrad_loss=xent_loss, numpy_grad=numpy_xent_grad,
            peer_loss=peer_xent))
    return out


# -- 3: linear model MSE w.r.t. w and b ----------------------------------------------------------------
def linear_loss(w, b, X, y):
    return np.mean((X @ w + b - y) ** 2)


@njit(cache=True)
def _linear_residual(w, b, X, y):
    r = X @ w
    for i in range(r.shape[0]):
        r[i] = r[i] + b - y[i]
    return r


@njit(cache=True)
def hand_linear_grad(w, b, X, y):
    r = _linear_residual(w, b, X, y)
    scale = 2.0 / r.shape[0]
    gb = 0.0
    for i in range(r.shape[0]):
        r[i] *= scale
        gb += r[i]
    return X.T @ r, gb


@njit(cache=True)
def hand_linear_primal(w, b, X, y):
    r = _linear_residual(w, b, X, y)
    total = 0.0
    for i in range(r.shape[0]):
        total += r[i] * r[i]
    return total / r.shape[0]


def numpy_linear_grad(w, b, X, y):
    r = (2.0 / X.shape[0]) * (X @ w + b - y)
    return X.T @ r, r.sum()


def peer_linear(ops, w, b, X, y):
    return ops.mean((X @ w + b - y) ** 2)


def linear_cases(settings):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1000, 100))
    args = (rng.normal(size=100), 0.5, X, rng.normal(size=1000))
    return [gradient_case(
        "3 linear MSE", "X (1000, 100)", args, (0, 1), hand=hand_linear_grad,
        hand_primal=hand_linear_primal, srcgrad_loss=linear_loss, numpy_grad=numpy_linear_grad,
        peer_loss=peer_linear)]


# -- 4: MLP 784-128-10, tanh hidden layer, softmax cross-entropy -------------------------------------
def mlp_loss(W1, b1, W2, b2, X, labels):
    h = np.tanh(X @ W1 + b1)
    return np.mean(nn.softmax_cross_entropy_with_logits(labels, h @ W2 + b2))


@njit(cache=True)
def _add_rows(a, v):
    """``a + v`` with ``v`` added to every row, in place."""
    for r in range(a.shape[0]):
        for j in range(a.shape[1]):
            a[r, j] += v[j]
    return a


@njit(cache=True)
def _tanh_inplace(a):
    for r in range(a.shape[0]):
        for j in range(a.shape[1]):
            a[r, j] = math.tanh(a[r, j])
    return a


@njit(cache=True)
def hand_mlp_grad(W1, b1, W2, b2, X, labels):
    h = _tanh_inplace(_add_rows(X @ W1, b1))
    logits = _add_rows(h @ W2, b2)
    g = xent_grad_rows(logits, labels, 1.0 / X.shape[0])
    gh = g @ W2.T
    for r in range(gh.shape[0]):
        for j in range(gh.shape[1]):
            gh[r, j] *= 1.0 - h[r, j] * h[r, j]
    return X.T @ gh, column_sums(gh), h.T @ g, column_sums(g)


@njit(cache=True)
def hand_mlp_primal(W1, b1, W2, b2, X, labels):
    h = _tanh_inplace(_add_rows(X @ W1, b1))
    return xent_mean(_add_rows(h @ W2, b2), labels)


def numpy_mlp_grad(W1, b1, W2, b2, X, labels):
    h = np.tanh(X @ W1 + b1)
    g = numpy_xent_grad_rows(h @ W2 + b2, labels, 1.0 / X.shape[0])
    gh = (g @ W2.T) * (1.0 - h * h)
    return X.T @ gh, gh.sum(axis=0), h.T @ g, g.sum(axis=0)


def peer_mlp(ops, W1, b1, W2, b2, X, labels):
    h = ops.tanh(X @ W1 + b1)
    return peer_xent(ops, h @ W2 + b2, labels)


def mlp_args(rng, batch=100):
    return (rng.normal(scale=784 ** -0.5, size=(784, 128)), rng.normal(scale=0.1, size=128),
            rng.normal(scale=128 ** -0.5, size=(128, 10)), rng.normal(scale=0.1, size=10),
            rng.random(size=(batch, 784)), one_hot_labels(rng, batch, 10))


def mlp_cases(settings):
    args = mlp_args(np.random.default_rng(3))
    single = tuple(a.astype(np.float32) for a in args)
    return [gradient_case(
        "4 MLP", "784-128-10, batch 100", args, (0, 1, 2, 3), hand=hand_mlp_grad,
        hand_primal=hand_mlp_primal, srcgrad_loss=mlp_loss, numpy_grad=numpy_mlp_grad,
        peer_loss=peer_mlp),
        # float32 everywhere (every system keeps float32 inputs float32): agreement to float32 precision
        gradient_case(
        "4 MLP", "784-128-10, batch 100, float32", single, (0, 1, 2, 3), hand=hand_mlp_grad,
        hand_primal=hand_mlp_primal, srcgrad_loss=mlp_loss, numpy_grad=numpy_mlp_grad,
        peer_loss=peer_mlp, rtol=1e-4)]
