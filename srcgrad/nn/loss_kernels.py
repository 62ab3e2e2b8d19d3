"""Row kernels of the losses: one pass per row for a value, one for a gradient.

Every loss reduces the last axis of ``(rows, n)`` arrays. Losses that are a mean of a pointwise term
(MSE, MAE, Huber, binary cross-entropy) share two kernels, selected by a ``kind`` code, because a
Numba function that takes another function as an argument cannot be disk-cached. Cross-entropies
over classes couple a row through its log-sum-exp and have kernels of their own. Gradient kernels
take the per-row cotangent ``g`` and return ``g[r] * dL_r/dx[r, j]``.
"""
import math

import numpy as np
from numba import njit, prange

from ..errors import ShapeError
from ..runtime.vecmath import exp64, log1p64, log64, sigmoid64, softplus64
from .rows import PARALLEL_MIN, exp_row, log_sum_exp, row_dot, row_sum

MSE, MAE, HUBER, BCE, BCE_LOGITS = range(5)
EPSILON = 1e-7          # Keras's fuzz factor, used to clip probabilities


@njit(cache=True, inline="always")
def _sign(x):
    return (x > 0) - (x < 0)


@njit(cache=True, inline="always")
def pointwise(kind, wrt, t, p, option):
    """Loss term of one (label ``t``, prediction ``p``) pair (``wrt`` 0), or its derivative in ``p``
    (``wrt`` 1) or in ``t`` (``wrt`` 2). ``option``: Huber's delta, or for BCE whether ``p`` is a
    logit."""
    if kind == BCE_LOGITS or kind == BCE and option:
        if wrt == 0:
            return max(p, 0.0) - p * t + softplus64(-abs(p))
        if wrt == 1:
            return sigmoid64(p) - t
        return -p
    if kind == BCE:
        c = min(max(p, EPSILON), 1.0 - EPSILON)
        lo, hi = log64(c + EPSILON), log64(1.0 - c + EPSILON)
        if wrt == 0:
            return -(t * lo + (1.0 - t) * hi)
        if wrt == 1:
            inside = EPSILON <= p <= 1.0 - EPSILON
            return -(t / (c + EPSILON) - (1.0 - t) / (1.0 - c + EPSILON)) if inside else 0.0
        return hi - lo
    e = p - t
    if kind == MSE:
        d = e * e if wrt == 0 else 2.0 * e
    elif kind == MAE:
        d = abs(e) if wrt == 0 else float(_sign(e))
    else:                                   # HUBER
        delta = option
        if abs(e) <= delta:
            d = 0.5 * e * e if wrt == 0 else e
        else:
            d = delta * abs(e) - 0.5 * delta * delta if wrt == 0 else delta * _sign(e)
    return -d if wrt == 2 else d


@njit(cache=True)
def pointwise_mean_rows(kind, t, p, option):
    out = np.empty(p.shape[0], p.dtype)
    for r in range(p.shape[0]):
        acc = 0.0
        for j in range(p.shape[1]):
            acc += pointwise(kind, 0, t[r, j], p[r, j], option)
        out[r] = acc / p.shape[1]
    return out


@njit(cache=True)
def pointwise_grad_rows(kind, wrt, t, p, option, g):
    like = p if wrt == 1 else t
    out = np.empty(like.shape, like.dtype)
    for r in range(p.shape[0]):
        scale = g[r] / p.shape[1]
        for j in range(p.shape[1]):
            out[r, j] = scale * pointwise(kind, wrt, t[r, j], p[r, j], option)
    return out


# -- losses over classes: one function per row, run by a loop over rows ------------------------------
# The logits gradients (the hot path of training) also have a parallel driver (prange), used from
# rows.PARALLEL_MIN elements on: rows are independent, so it gives the serial driver's bits. It is a
# separate function because Numba's disk cache keys compiled code by source location and signature,
# not by options; it covers only the logits path because parallel code is slow to compile.
@njit(cache=True, forceinline=True)
def _log_total(x, probs, scratch):
    """``log sum exp(x)`` (logits), or ``log sum clip(x)`` (probabilities, Keras) of the row ``x``."""
    if probs:
        for j in range(x.shape[0]):
            scratch[j] = min(max(x[j], EPSILON), 1.0 - EPSILON)
        return log64(row_sum(scratch))
    return log_sum_exp(x, scratch)


@njit(cache=True, forceinline=True)
def _categorical_value_row(t, x, probs, scratch):
    """``-sum(t * log_softmax(x))`` of one row; for probabilities, Keras's normalise-then-clip form."""
    if probs:
        total = row_sum(x)
        for j in range(x.shape[0]):
            scratch[j] = log64(min(max(x[j] / total, EPSILON), 1.0 - EPSILON))
        return -row_dot(t, scratch)
    lse = _log_total(x, False, scratch)
    return row_sum(t) * lse - row_dot(t, x)


@njit(cache=True, forceinline=True)
def _categorical_grad_row(t, x, g, probs, wrt_labels, out):
    if probs:
        total = row_sum(x)
        if wrt_labels:
            for j in range(x.shape[0]):
                out[j] = -g * log64(min(max(x[j] / total, EPSILON), 1.0 - EPSILON))
            return
        # u_j = -t_j / q_j where q_j = x_j / total is inside the clip range, else 0
        dot = 0.0
        for j in range(x.shape[0]):
            q = x[j] / total
            u = -t[j] / q if EPSILON <= q <= 1.0 - EPSILON else 0.0
            out[j] = u
            dot += u * q
        for j in range(x.shape[0]):
            out[j] = g * (out[j] - dot) / total
    elif wrt_labels:
        lse = _log_total(x, False, out)
        for j in range(x.shape[0]):
            out[j] = -g * (x[j] - lse)
    else:
        _softmax_xent_grad_row(t, x, g, out)


@njit(cache=True, forceinline=True)
def _softmax_xent_grad_row(t, x, g, out):
    """``g (softmax(x) sum(t) - t)``, the logits gradient, with one exp per element (kept in ``out``)."""
    total = exp_row(x, out)[1]
    scale = g * row_sum(t) / total
    for j in range(x.shape[0]):
        out[j] = scale * out[j] - g * t[j]


@njit(cache=True)
def categorical_value_rows(t, x, probs):
    """``-sum(t * log_softmax(x))`` per row; for probabilities, Keras's normalise-then-clip form."""
    out = np.empty(x.shape[0], x.dtype)
    scratch = np.empty(x.shape[1])
    for r in range(x.shape[0]):
        out[r] = _categorical_value_row(t[r], x[r], probs, scratch)
    return out


@njit(cache=True)
def _categorical_grad_serial(t, x, g, probs, wrt_labels, out):
    for r in range(x.shape[0]):
        _categorical_grad_row(t[r], x[r], g[r], probs, wrt_labels, out[r])


@njit(cache=True, parallel=True)
def _softmax_xent_grad_parallel(t, x, g, out):
    for r in prange(x.shape[0]):
        _softmax_xent_grad_row(t[r], x[r], g[r], out[r])


@njit(cache=True)
def categorical_grad_rows(t, x, g, probs, wrt_labels):
    out = np.empty(x.shape, x.dtype)
    if x.size >= PARALLEL_MIN and not probs and not wrt_labels:     # the logits gradient
        _softmax_xent_grad_parallel(t, x, g, out)
    else:
        _categorical_grad_serial(t, x, g, probs, wrt_labels, out)
    return out


@njit(cache=True)
def _check_labels(labels, x):
    if labels.size != x.shape[0]:
        raise ShapeError("one integer label per example is needed (labels.shape must be "
                         "the predictions' shape without the class axis)")
    for r in range(labels.size):
        if not 0 <= labels[r] < x.shape[1]:
            raise ShapeError("a class label is outside [0, number of classes)")


@njit(cache=True, forceinline=True)
def _sparse_value_row(k, x, probs, scratch):
    """``-log_softmax(x)[k]`` of one row; for probabilities, Keras's clip-then-normalise form."""
    picked = log64(min(max(x[k], EPSILON), 1.0 - EPSILON)) if probs else x[k]
    return _log_total(x, probs, scratch) - picked


@njit(cache=True, forceinline=True)
def _sparse_grad_row(k, x, g, probs, out):
    if probs:
        share = exp64(-_log_total(x, True, out))       # 1 / sum(clip(x))
        for j in range(x.shape[0]):
            inside = EPSILON <= x[j] <= 1.0 - EPSILON
            d = share if inside else 0.0
            if j == k and inside:
                d -= 1.0 / x[j]
            out[j] = g * d
        return
    _sparse_softmax_xent_grad_row(k, x, g, out)


@njit(cache=True, forceinline=True)
def _sparse_softmax_xent_grad_row(k, x, g, out):
    """``g (softmax(x) - one_hot(k))``, with one exp per element (kept in ``out``)."""
    scale = g / exp_row(x, out)[1]
    for j in range(x.shape[0]):
        out[j] *= scale
    out[k] -= g


@njit(cache=True)
def sparse_value_rows(labels, x, probs):
    """``-log_softmax(x)[label]`` per row; for probabilities, Keras's clip-then-normalise form."""
    _check_labels(labels, x)
    out = np.empty(x.shape[0], x.dtype)
    scratch = np.empty(x.shape[1])
    for r in range(x.shape[0]):
        out[r] = _sparse_value_row(labels[r], x[r], probs, scratch)
    return out


@njit(cache=True)
def _sparse_grad_serial(labels, x, g, probs, out):
    for r in range(x.shape[0]):
        _sparse_grad_row(labels[r], x[r], g[r], probs, out[r])


@njit(cache=True, parallel=True)
def _sparse_softmax_xent_grad_parallel(labels, x, g, out):
    for r in prange(x.shape[0]):
        _sparse_softmax_xent_grad_row(labels[r], x[r], g[r], out[r])


@njit(cache=True)
def sparse_grad_rows(labels, x, g, probs):
    _check_labels(labels, x)
    out = np.empty(x.shape, x.dtype)
    if x.size >= PARALLEL_MIN and not probs:                     # the logits gradient
        _sparse_softmax_xent_grad_parallel(labels, x, g, out)
    else:
        _sparse_grad_serial(labels, x, g, probs, out)
    return out
