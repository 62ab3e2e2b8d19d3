"""Row kernels of the losses: one pass per row for a value, one for a gradient.

Every loss reduces the last axis of ``(rows, n)`` arrays. Losses that are a mean of a pointwise term
(MSE, MAE, Huber, binary cross-entropy) share two kernels, selected by a ``kind`` code, because a
Numba function that takes another function as an argument cannot be disk-cached. Cross-entropies
over classes couple a row through its log-sum-exp and have kernels of their own. Gradient kernels
take the per-row cotangent ``g`` and return ``g[r] * dL_r/dx[r, j]``.
"""
import math

import numpy as np
from numba import njit

from ..errors import ShapeError
from .kernels import exp_row

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
            return max(p, 0.0) - p * t + math.log1p(math.exp(-abs(p)))
        if wrt == 1:
            s = 1.0 / (1.0 + math.exp(-p)) if p >= 0 else math.exp(p) / (1.0 + math.exp(p))
            return s - t
        return -p
    if kind == BCE:
        c = min(max(p, EPSILON), 1.0 - EPSILON)
        lo, hi = math.log(c + EPSILON), math.log(1.0 - c + EPSILON)
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


@njit(cache=True, inline="always")
def _log_total(x, r, probs):
    """``log sum exp(x[r])`` (logits), or ``log sum clip(x[r])`` (probabilities, Keras)."""
    if probs:
        total = 0.0
        for j in range(x.shape[1]):
            total += min(max(x[r, j], EPSILON), 1.0 - EPSILON)
        return math.log(total)
    top = x[r, 0]
    for j in range(1, x.shape[1]):
        top = max(top, x[r, j])
    total = 0.0
    for j in range(x.shape[1]):
        total += math.exp(x[r, j] - top)
    return top + math.log(total)


@njit(cache=True)
def categorical_value_rows(t, x, probs):
    """``-sum(t * log_softmax(x))`` per row; for probabilities, Keras's normalise-then-clip form."""
    out = np.empty(x.shape[0], x.dtype)
    for r in range(x.shape[0]):
        acc = 0.0
        if probs:
            total = 0.0
            for j in range(x.shape[1]):
                total += x[r, j]
            for j in range(x.shape[1]):
                acc -= t[r, j] * math.log(min(max(x[r, j] / total, EPSILON), 1.0 - EPSILON))
        else:
            lse = _log_total(x, r, False)
            for j in range(x.shape[1]):
                acc -= t[r, j] * (x[r, j] - lse)
        out[r] = acc
    return out


@njit(cache=True)
def categorical_grad_rows(t, x, g, probs, wrt_labels):
    out = np.empty(x.shape, x.dtype)
    for r in range(x.shape[0]):
        if probs:
            total = 0.0
            for j in range(x.shape[1]):
                total += x[r, j]
            if wrt_labels:
                for j in range(x.shape[1]):
                    out[r, j] = -g[r] * math.log(min(max(x[r, j] / total, EPSILON), 1.0 - EPSILON))
                continue
            # u_j = -t_j / c_j where q_j = x_j / total is inside the clip range, else 0
            dot = 0.0
            for j in range(x.shape[1]):
                q = x[r, j] / total
                u = -t[r, j] / q if EPSILON <= q <= 1.0 - EPSILON else 0.0
                out[r, j] = u
                dot += u * q
            for j in range(x.shape[1]):
                out[r, j] = g[r] * (out[r, j] - dot) / total
        elif wrt_labels:
            lse = _log_total(x, r, False)
            for j in range(x.shape[1]):
                out[r, j] = -g[r] * (x[r, j] - lse)
        else:
            # softmax * sum(labels) - labels, with one exp per element (kept in ``out``)
            total = exp_row(x, r, out)[1]
            mass = 0.0
            for j in range(x.shape[1]):
                mass += t[r, j]
            scale = g[r] * mass / total
            for j in range(x.shape[1]):
                out[r, j] = scale * out[r, j] - g[r] * t[r, j]
    return out


@njit(cache=True, inline="always")
def _label(labels, r, n):
    k = labels[r]
    if not 0 <= k < n:
        raise ShapeError("a class label is outside [0, number of classes)")
    return k


@njit(cache=True)
def _check_labels(labels, x):
    if labels.size != x.shape[0]:
        raise ShapeError("one integer label per example is needed (labels.shape must be "
                         "the predictions' shape without the class axis)")


@njit(cache=True)
def sparse_value_rows(labels, x, probs):
    """``-log_softmax(x)[label]`` per row; for probabilities, Keras's clip-then-normalise form."""
    _check_labels(labels, x)
    out = np.empty(x.shape[0], x.dtype)
    for r in range(x.shape[0]):
        k = _label(labels, r, x.shape[1])
        picked = math.log(min(max(x[r, k], EPSILON), 1.0 - EPSILON)) if probs else x[r, k]
        out[r] = _log_total(x, r, probs) - picked
    return out


@njit(cache=True)
def sparse_grad_rows(labels, x, g, probs):
    _check_labels(labels, x)
    out = np.empty(x.shape, x.dtype)
    for r in range(x.shape[0]):
        k = _label(labels, r, x.shape[1])
        if probs:
            share = math.exp(-_log_total(x, r, True))       # 1 / sum(clip(x[r]))
            for j in range(x.shape[1]):
                inside = EPSILON <= x[r, j] <= 1.0 - EPSILON
                d = share if inside else 0.0
                if j == k and inside:
                    d -= 1.0 / x[r, j]
                out[r, j] = g[r] * d
            continue
        # softmax - one_hot(label), with one exp per element (kept in ``out``)
        scale = g[r] / exp_row(x, r, out)[1]
        for j in range(x.shape[1]):
            out[r, j] *= scale
        out[r, k] -= g[r]
    return out
