"""Native kernels behind srcgrad.nn: one fused loop per function, stable at the extremes.

Elementwise functions are Numba ``vectorize`` ufuncs (compiled per dtype on first use): they take
scalars and arrays of any shape, broadcast, and run as a single loop with no temporaries. Each
computes in float64 and returns the input's float type, so float32 stays float32.

Functions along an axis (softmax, the losses) work on rows: the axis is moved last and the array
viewed as ``(rows, n)``; each kernel is one pass (or two, for the max of log-sum-exp) per row.
"""
import math

import numpy as np
from numba import vectorize
from numba.extending import overload

from ..errors import ShapeError
from ..runtime.cotangents import is_array
from ..runtime import vecmath
from ..runtime.cotangents import as_float
from ..runtime.standalone import standalone
from ..runtime.vecmath import exp64, expm1_64, log64, softplus64, tanh64
from .dtypes import scalar_labels
from .rows import exp_row, row_dot, row_sum

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
_GELU_C = 0.7978845608028654          # sqrt(2 / pi)


# -- elementwise --------------------------------------------------------------------------------------
# the sigmoid, its slope and softplus are srcgrad's math runtime's (exact in both tails)
sigmoid = vecmath.sigmoid
sigmoid_slope = vecmath.sigmoid_slope
softplus = vecmath.softplus


@vectorize(cache=True)
def sigmoid_xent(z, x):
    """``-z log σ(x) − (1−z) log(1−σ(x))`` written as TensorFlow does, finite for any logit."""
    return as_float(x, max(x, 0.0) - x * z + softplus64(-abs(x)))


@vectorize(cache=True)
def relu(x):
    return as_float(x, x if x > 0 else 0.0)


@vectorize(cache=True)
def relu6(x):
    return as_float(x, min(max(x, 0.0), 6.0))


@vectorize(cache=True)
def leaky_relu(x, alpha):
    return as_float(x, x if x > 0 else alpha * x)


@vectorize(cache=True)
def elu(x):
    return as_float(x, x if x > 0 else expm1_64(x))


@vectorize(cache=True)
def selu(x):
    return as_float(x, SELU_SCALE * (x if x > 0 else SELU_ALPHA * expm1_64(x)))


@vectorize(cache=True)
def gelu(x):
    # 0.5 x (1 + erf(x/√2)), with erfc so large negative x loses no digits to cancellation
    return as_float(x, 0.5 * x * math.erfc(-x * _SQRT_HALF))


@vectorize(cache=True)
def gelu_tanh(x):
    return as_float(x, 0.5 * x * (1.0 + tanh64(_GELU_C * (x + 0.044715 * x * x * x))))


@vectorize(cache=True)
def gelu_slope(x):
    """d gelu / dx = Φ(x) + x φ(x)."""
    return as_float(x, 0.5 * math.erfc(-x * _SQRT_HALF) + x * _INV_SQRT_2PI * exp64(-0.5 * x * x))


@vectorize(cache=True)
def softsign(x):
    return as_float(x, x / (1.0 + abs(x)))


@vectorize(cache=True)
def silu(x):
    return as_float(x, x * sigmoid(x))


# -- rows: an axis moved last, viewed as (rows, n) ---------------------------------------------------------
def as_rows(x, axis):
    """``x`` with ``axis`` moved last, as a C-contiguous ``(rows, n)`` array (a view if it can be)."""


def from_rows(rows, like, axis):
    """The inverse of :func:`as_rows`: rows back in the layout of ``like``."""


def _is_last(axis, ndim):
    """Whether ``axis`` is known at compile time to be the last one (a literal, or a default)."""
    value = getattr(axis, "literal_value", getattr(axis, "value", None))
    return isinstance(value, int) and value % max(ndim, 1) == ndim - 1


# The last axis (every loss, softmax by default) needs no np.swapaxes, whose implementation takes
# seconds to compile; other axes go through it.
@overload(as_rows, prefer_literal=True)
def _ov_as_rows(x, axis):
    if is_array(x) and _is_last(axis, x.ndim):
        return lambda x, axis: np.ascontiguousarray(x).reshape((-1, x.shape[-1]))

    def moved(x, axis):
        m = np.ascontiguousarray(np.swapaxes(x, axis % x.ndim, x.ndim - 1))
        return m.reshape((-1, m.shape[-1]))
    return moved


@overload(from_rows, prefer_literal=True)
def _ov_from_rows(rows, like, axis):
    if is_array(like) and _is_last(axis, like.ndim):
        return lambda rows, like, axis: rows.reshape(like.shape)

    def back(rows, like, axis):
        a = axis % like.ndim
        return np.swapaxes(rows.reshape(np.swapaxes(like, a, like.ndim - 1).shape), a, like.ndim - 1)
    return back


def labels_like(labels, predictions):
    """``labels`` checked against ``predictions`` (row kernels index both with one loop, so a
    mismatch must never reach them): the same shape, or fewer dimensions broadcast (a copy), as
    TensorFlow broadcasts a single label row over a batch. Labels keep their dtype (the kernels
    promote as NumPy does, :mod:`srcgrad.nn.dtypes`); a number becomes the predictions' float type."""


_SHAPE_MSG = ("labels must have the predictions' shape (or fewer dimensions, which are "
              "broadcast)")


@overload(labels_like)
def _labels_like(labels, predictions):
    if not is_array(predictions) or (is_array(labels) and labels.ndim > predictions.ndim):
        def mismatch(labels, predictions):
            raise ShapeError(_SHAPE_MSG)
        return mismatch
    if is_array(labels) and labels.ndim == predictions.ndim:
        def same(labels, predictions):
            if labels.shape != predictions.shape:
                raise ShapeError(_SHAPE_MSG)
            return labels
        return same
    if not is_array(labels):        # a number: a Python scalar, which takes the predictions' type
        return lambda labels, predictions: np.full(predictions.shape, scalar_labels(labels, predictions))
    return lambda labels, predictions: np.ascontiguousarray(np.broadcast_to(labels, predictions.shape))


def per_example(values, like):
    """One value per row of ``like`` (over its last axis): an array of ``like.shape[:-1]``, or a
    number for a single example (a 1-D ``like``), as Keras losses return."""


@overload(per_example)
def _per_example(values, like):
    if like.ndim == 1:
        return lambda values, like: values[0]
    return lambda values, like: values.reshape(like.shape[:-1])


def example_rows(g, like):
    """The cotangent of :func:`per_example`'s result as a flat array, one entry per row."""


@overload(example_rows)
def _example_rows(g, like):
    if is_array(g):
        return lambda g, like: np.ascontiguousarray(g).reshape(-1)
    return lambda g, like: np.full(1, g)


@standalone
def softmax_rows(x, log):
    """softmax (or log_softmax) of each row, through log-sum-exp: finite for any finite logits."""
    out = np.empty_like(x)
    for r in range(x.shape[0]):
        top, total = exp_row(x, r, out, r)
        if log:
            shift = top + log64(total)
            for j in range(x.shape[1]):
                out[r, j] = x[r, j] - shift
        else:
            for j in range(x.shape[1]):
                out[r, j] = out[r, j] / total
    return out


@standalone
def softmax_vjp_rows(g, s):
    """``s * (g - <g, s>)`` per row: the softmax Jacobian (symmetric) applied to ``g``."""
    out = np.empty_like(g)
    for r in range(g.shape[0]):
        dot = row_dot(g, s, r, r)
        for j in range(g.shape[1]):
            out[r, j] = s[r, j] * (g[r, j] - dot)
    return out


@standalone
def log_softmax_vjp_rows(g, logp, transpose):
    """The log_softmax Jacobian ``I − 1 pᵀ`` applied to ``g`` (``transpose``: ``I − p 1ᵀ``)."""
    out = np.empty_like(g)
    for r in range(g.shape[0]):
        for j in range(g.shape[1]):
            out[r, j] = exp64(logp[r, j])            # p, kept in out
        acc = row_sum(g, r) if transpose else row_dot(g, out, r, r)
        for j in range(g.shape[1]):
            out[r, j] = g[r, j] - (out[r, j] * acc if transpose else acc)
    return out


@standalone
def rows_dot(a, b):
    """``sum(a * b)`` along each row (a per-example directional derivative)."""
    out = np.empty(a.shape[0], a.dtype)
    for r in range(a.shape[0]):
        out[r] = row_dot(a, b, r, r)
    return out


@standalone
def one_hot(indices, depth):
    """Rows of zeros with a one at each index (an out-of-range index gives zeros, as in TensorFlow)."""
    flat = np.ascontiguousarray(np.asarray(indices)).ravel()
    out = np.zeros((flat.size, depth))
    for r in range(flat.size):
        if 0 <= flat[r] < depth:
            out[r, flat[r]] = 1.0
    return out.reshape(np.asarray(indices).shape + (depth,))


@standalone
def elastic(w, l1, l2):
    """``l1 * sum(|w|) + l2 * sum(w**2) / 2`` in one pass (every regularizer here is of this form)."""
    flat = np.ascontiguousarray(np.asarray(w)).ravel()
    absolute, square = 0.0, 0.0
    for v in flat:
        absolute += abs(v)
        square += v * v
    return l1 * absolute + 0.5 * l2 * square


@standalone
def elastic_tangent(t, w, l1, l2):
    """The directional derivative of :func:`elastic` at ``w`` along ``t``."""
    flat_w = np.ascontiguousarray(np.asarray(w)).ravel()
    flat_t = np.ascontiguousarray(np.asarray(t)).ravel()
    acc = 0.0
    for k in range(flat_w.size):
        acc += flat_t[k] * (l1 * ((flat_w[k] > 0) - (flat_w[k] < 0)) + l2 * flat_w[k])
    return acc
