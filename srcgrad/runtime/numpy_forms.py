"""Forward helpers for NumPy calls Numba cannot compile as written, plus small rule helpers.

Users write ``np.mean(a, axis=0)``, ``np.clip(scalar, lo, hi)`` or ``a.T.reshape(n)``; Numba rejects
these in nopython mode, so generated code calls these equivalents instead, and ordinary NumPy code
still compiles.
"""
import numpy as np
from numba.core import types
from numba.core.errors import TypingError
from numba.extending import overload

from . import axes


def _is_none(t):
    return t is None or isinstance(t, (types.NoneType, types.Omitted))


def mean(x, axis=None, dtype=None, out=None, keepdims=False):
    return np.mean(x, axis=axis, dtype=dtype, out=out, keepdims=bool(keepdims))


def _unsupported(dtype, out):
    """NumPy's reduction arguments that srcgrad does not take, named for the error."""
    return (dtype, "dtype"), (out, "out")


@overload(mean)
def _mean(x, axis=None, dtype=None, out=None, keepdims=False):
    if axes.is_general("mean", x, axis, keepdims, _unsupported(dtype, out)):
        general = axes.reduce_impl("mean", x, axis, keepdims, "mean")
        return lambda x, axis=None, dtype=None, out=None, keepdims=False: general(x, axis)
    if not isinstance(x, types.Array):
        return lambda x, axis=None, dtype=None, out=None, keepdims=False: x * 1.0
    if _is_none(axis):
        return lambda x, axis=None, dtype=None, out=None, keepdims=False: np.mean(x)

    def impl(x, axis=None, dtype=None, out=None, keepdims=False):
        return np.sum(x, axis=axis) / x.shape[axis]
    return impl


def clip(x, lo, hi):
    return np.clip(x, lo, hi)


@overload(clip)
def _clip(x, lo, hi):
    if isinstance(x, types.Array):
        return lambda x, lo, hi: np.clip(x, lo, hi)
    if isinstance(lo, types.Array) or isinstance(hi, types.Array):
        return lambda x, lo, hi: np.clip(np.full(np.broadcast_shapes(np.shape(lo), np.shape(hi)), x),
                                         lo, hi)
    return lambda x, lo, hi: min(max(x, lo), hi)


def reshape(x, shape):
    return np.reshape(x, shape)


@overload(reshape)
def _reshape(x, shape):
    if not isinstance(x, types.Array):
        raise TypingError("srcgrad: reshape needs an array")
    return lambda x, shape: np.ascontiguousarray(x).reshape(shape)


def ravel(x):
    return np.ravel(x)


@overload(ravel)
def _ravel(x):
    if not isinstance(x, types.Array):
        return lambda x: np.full(1, x)
    return lambda x: np.ascontiguousarray(x).reshape(x.size)


def ndim(x):
    """``np.ndim(x)``, which Numba does not compile."""
    return np.ndim(x)


@overload(ndim)
def _ndim(x):
    n = x.ndim if isinstance(x, types.Array) else 0
    return lambda x: n


def log_or_zero(x):
    """log(x) where x > 0, else 0: the exponent's cotangent of x**b must not turn 0**b into nan."""
    return np.where(np.asarray(x) > 0, np.log(np.where(np.asarray(x) > 0, x, 1.0)), 0.0)


@overload(log_or_zero)
def _log_or_zero(x):
    if isinstance(x, types.Array):
        def impl(x):
            out = np.zeros(x.shape)
            for i in np.ndindex(x.shape):
                if x[i] > 0:
                    out[i] = np.log(x[i])
            return out
        return impl
    return lambda x: np.log(x) if x > 0 else 0.0 * x


def select_not(c, g):
    """``g`` where ``c`` is false, else 0 (the cotangent of np.where's second branch)."""
    return np.where(c, 0.0, g)


@overload(select_not)
def _select_not(c, g):
    if isinstance(c, types.Array) or isinstance(g, types.Array):
        return lambda c, g: np.where(c, 0.0 * g, g)
    return lambda c, g: 0.0 * g if c else g



def reverse_cumsum(g, like):
    """Cotangent of ``y = np.cumsum(x)``: each x[i] feeds every y[j] with j >= i."""
    return np.cumsum(np.ravel(g)[::-1])[::-1].reshape(np.shape(like))


@overload(reverse_cumsum)
def _reverse_cumsum(g, like):
    def impl(g, like):
        flat = np.ascontiguousarray(g).ravel()
        out = np.empty(flat.size, flat.dtype)
        acc = 0.0
        for i in range(flat.size - 1, -1, -1):
            acc += flat[i]
            out[i] = acc
        return out.reshape(like.shape)
    return impl


def truth(c):
    """``bool(c)``, opaque to Numba's constant folding (see ``normalize._truth``)."""
    return bool(c)


@overload(truth)
def _truth(c):
    return lambda c: bool(c)



def reduce_sum(x, axis=None, dtype=None, out=None, keepdims=False):
    """``np.sum``, with what Numba's lacks: ``axis=None`` passed explicitly, a tuple of axes and
    ``keepdims`` (generated code calls it for every ``np.sum``)."""
    return np.sum(x, axis=axis, dtype=dtype, out=out, keepdims=bool(keepdims))


@overload(reduce_sum)
def _reduce_sum(x, axis=None, dtype=None, out=None, keepdims=False):
    if axes.is_general("reduce_sum", x, axis, keepdims, _unsupported(dtype, out)):
        general = axes.reduce_impl("reduce_sum", x, axis, keepdims, "sum")
        return lambda x, axis=None, dtype=None, out=None, keepdims=False: general(x, axis)
    if not isinstance(x, types.Array):
        return lambda x, axis=None, dtype=None, out=None, keepdims=False: x
    if _is_none(axis):
        return lambda x, axis=None, dtype=None, out=None, keepdims=False: np.sum(x)
    return lambda x, axis=None, dtype=None, out=None, keepdims=False: np.sum(x, axis=axis)


def broadcast_like(h, like):
    """``h`` (a cotangent shaped like an unbroadcast result) broadcast back to ``like``'s shape:
    the transpose of ``unbroadcast``, needed to differentiate generated code."""
    return np.broadcast_to(h, np.shape(like)).copy() if np.ndim(like) else h


@overload(broadcast_like)
def _broadcast_like(h, like):
    if not isinstance(like, types.Array):
        if isinstance(h, types.Array):
            return lambda h, like: np.sum(h)
        return lambda h, like: h
    if not isinstance(h, types.Array):
        return lambda h, like: np.full(like.shape, h)
    return lambda h, like: np.broadcast_to(h, like.shape).copy()
