"""Row kernels of the losses: one pass per row for a value, one for a gradient.

Every loss reduces the last axis of ``(rows, n)`` arrays. Losses that are a mean of a pointwise term
(MSE, MAE, Huber, binary cross-entropy) share two kernels, selected by a ``kind`` code, because a
Numba function that takes another function as an argument cannot be disk-cached. Cross-entropies
over classes couple a row through its log-sum-exp and have kernels of their own. Gradient kernels
take the per-row cotangent ``g`` and write ``g[r] * dL_r/dx[r, j]`` into ``out``, which the caller
allocates in the dtype of the argument differentiated; values have NumPy's dtype for the labels and
predictions together (:mod:`srcgrad.nn.dtypes`), which may be two different dtypes.

They are plain cached kernels, linked into the standalone loss kernels of ``losses.py`` that call
them, so that a cached gradient loads each loss as one piece of machine code.
"""
import numpy as np
from numba import njit, prange

from ..errors import ShapeError
from ..runtime.vecmath import log64, sigmoid64, softplus64
from .dtypes import loss_empty
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
    out = loss_empty(p.shape[0], t, p)
    for r in range(p.shape[0]):
        acc = 0.0
        for j in range(p.shape[1]):
            acc += pointwise(kind, 0, t[r, j], p[r, j], option)
        out[r] = acc / p.shape[1]
    return out


@njit(cache=True)
def pointwise_grad_rows(kind, wrt, t, p, option, g, out):
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
def _log_total(x, r, probs, scratch):
    """``log sum exp(x[r])`` (logits), or ``log sum clip(x[r])`` (probabilities, Keras);
    ``scratch`` has shape ``(1, n)``."""
    if probs:
        for j in range(x.shape[1]):
            scratch[0, j] = min(max(x[r, j], EPSILON), 1.0 - EPSILON)
        return log64(row_sum(scratch, 0))
    return log_sum_exp(x, r, scratch)


@njit(cache=True, forceinline=True)
def _categorical_value_row(t, x, r, probs, scratch):
    """``-sum(t[r] * log_softmax(x[r]))``; for probabilities, Keras's normalise-then-clip form."""
    if probs:
        total = row_sum(x, r)
        for j in range(x.shape[1]):
            scratch[0, j] = log64(min(max(x[r, j] / total, EPSILON), 1.0 - EPSILON))
        return -row_dot(t, scratch, r, 0)
    lse = _log_total(x, r, False, scratch)
    return row_sum(t, r) * lse - row_dot(t, x, r, r)


@njit(cache=True, forceinline=True)
def _categorical_grad_row(t, x, g, r, probs, wrt_labels, out):
    if probs:
        total = row_sum(x, r)
        if wrt_labels:
            for j in range(x.shape[1]):
                out[r, j] = -g[r] * log64(min(max(x[r, j] / total, EPSILON), 1.0 - EPSILON))
            return
        # u_j = -t_j / q_j where q_j = x_j / total is inside the clip range, else 0
        dot = 0.0
        for j in range(x.shape[1]):
            q = x[r, j] / total
            u = -t[r, j] / q if EPSILON <= q <= 1.0 - EPSILON else 0.0
            out[r, j] = u
            dot += u * q
        for j in range(x.shape[1]):
            out[r, j] = g[r] * (out[r, j] - dot) / total
    elif wrt_labels:
        top, total = exp_row(x, r, out, r)
        lse = top + log64(total)
        for j in range(x.shape[1]):
            out[r, j] = -g[r] * (x[r, j] - lse)
    else:
        _softmax_xent_grad_row(t, x, g, r, out)


@njit(cache=True, forceinline=True)
def _softmax_xent_grad_row(t, x, g, r, out):
    """``g (softmax(x) sum(t) - t)`` for row ``r``, the logits gradient, with one exp per element
    (kept in ``out``)."""
    total = exp_row(x, r, out, r)[1]
    scale = g[r] * row_sum(t, r) / total
    for j in range(x.shape[1]):
        out[r, j] = scale * out[r, j] - g[r] * t[r, j]


@njit(cache=True)
def categorical_value_rows(t, x, probs):
    """``-sum(t * log_softmax(x))`` per row; for probabilities, Keras's normalise-then-clip form."""
    out = loss_empty(x.shape[0], t, x)
    scratch = np.empty((1, x.shape[1]))
    for r in range(x.shape[0]):
        out[r] = _categorical_value_row(t, x, r, probs, scratch)
    return out


@njit(cache=True)
def _categorical_grad_serial(t, x, g, probs, wrt_labels, out):
    for r in range(x.shape[0]):
        _categorical_grad_row(t, x, g, r, probs, wrt_labels, out)


@njit(cache=True, parallel=True)
def _softmax_xent_grad_parallel(t, x, g, out):
    for r in prange(x.shape[0]):
        # prange counts in uint64: as int64, the row functions are the serial driver's, compiled once
        _softmax_xent_grad_row(t, x, g, np.int64(r), out)


@njit(cache=True)
def categorical_grad_rows(t, x, g, probs, wrt_labels, out):
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
def _sparse_value_row(labels, x, r, probs, scratch):
    """``-log_softmax(x[r])[label]``; for probabilities, Keras's clip-then-normalise form."""
    k = labels[r]
    picked = log64(min(max(x[r, k], EPSILON), 1.0 - EPSILON)) if probs else x[r, k]
    return _log_total(x, r, probs, scratch) - picked


@njit(cache=True, forceinline=True)
def _sparse_grad_row(labels, x, g, r, probs, out):
    if probs:
        k = labels[r]
        for j in range(x.shape[1]):
            out[r, j] = min(max(x[r, j], EPSILON), 1.0 - EPSILON)
        share = 1.0 / row_sum(out, r)                      # 1 / sum(clip(x[r]))
        for j in range(x.shape[1]):
            inside = EPSILON <= x[r, j] <= 1.0 - EPSILON
            d = share if inside else 0.0
            if j == k and inside:
                d -= 1.0 / x[r, j]
            out[r, j] = g[r] * d
        return
    _sparse_softmax_xent_grad_row(labels, x, g, r, out)


@njit(cache=True, forceinline=True)
def _sparse_softmax_xent_grad_row(labels, x, g, r, out):
    """``g (softmax(x) - one_hot(label))`` for row ``r``, with one exp per element (kept in ``out``)."""
    scale = g[r] / exp_row(x, r, out, r)[1]
    for j in range(x.shape[1]):
        out[r, j] *= scale
    out[r, labels[r]] -= g[r]


@njit(cache=True)
def sparse_value_rows(labels, x, probs):
    """``-log_softmax(x)[label]`` per row; for probabilities, Keras's clip-then-normalise form."""
    _check_labels(labels, x)
    out = np.empty(x.shape[0], x.dtype)
    scratch = np.empty((1, x.shape[1]))
    for r in range(x.shape[0]):
        out[r] = _sparse_value_row(labels, x, r, probs, scratch)
    return out


@njit(cache=True)
def _sparse_grad_serial(labels, x, g, probs, out):
    for r in range(x.shape[0]):
        _sparse_grad_row(labels, x, g, r, probs, out)


@njit(cache=True, parallel=True)
def _sparse_softmax_xent_grad_parallel(labels, x, g, out):
    for r in prange(x.shape[0]):
        _sparse_softmax_xent_grad_row(labels, x, g, np.int64(r), out)     # as above


@njit(cache=True)
def sparse_grad_rows(labels, x, g, probs):
    _check_labels(labels, x)
    out = np.empty(x.shape, x.dtype)
    if x.size >= PARALLEL_MIN and not probs:                     # the logits gradient
        _sparse_softmax_xent_grad_parallel(labels, x, g, out)
    else:
        _sparse_grad_serial(labels, x, g, probs, out)
    return out
