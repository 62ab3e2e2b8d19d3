"""Reduction helpers: adjoints of sum/mean/max/min and forward max/min along an axis.

- sum_adjoint / mean_adjoint: spread a reduction's adjoint back over the input
  (the generated code cannot write ``np.expand_dims`` + broadcast itself because
  it does not know whether the operand is a scalar).
- amax / amin: forward helpers, because Numba has no ``np.max(a, axis=...)``.
- extreme_adjoint: max/min adjoint, shared equally among tied extrema
  (TensorFlow's reduce_max gradient); a NaN extremum selects the NaN entries.

``axis`` is None (omitted) or an int, possibly negative, possibly literal.
"""
import numpy as np
from numba.core import types
from numba.core.errors import TypingError
from numba.extending import overload, register_jitable
from numba.np.unsafe.ndarray import to_fixed_tuple

from .adjoint import float_class, is_array, is_scalar, py_float_dtype, unsupported


def _axis_none(axis):
    return axis is None or isinstance(axis, (types.NoneType, types.Omitted))


def _check_axis(name, x, axis):
    """Typing-time check; returns True when axis is None."""
    if _axis_none(axis):
        return True
    if not isinstance(axis, types.Integer):
        raise TypingError("srcgrad.runtime.%s: axis must be None or an int, got %s" % (name, axis))
    if not is_array(x) or x.ndim == 0:
        raise TypingError("srcgrad.runtime.%s: integer axis needs an array of ndim >= 1, got %s"
                          % (name, x))
    return False


@register_jitable
def _norm_axis(axis, nd):
    ax = axis + nd if axis < 0 else axis
    if ax < 0 or ax >= nd:
        raise ValueError("srcgrad: axis out of bounds")
    return ax


@register_jitable
def _split(shape, ax):
    pre = 1
    post = 1
    for d in range(len(shape)):
        if d < ax:
            pre *= shape[d]
        elif d > ax:
            post *= shape[d]
    return pre, shape[ax], post


@register_jitable
def _drop(shape, ax):
    out = np.empty(len(shape) - 1, np.int64)
    j = 0
    for d in range(len(shape)):
        if d != ax:
            out[j] = shape[d]
            j += 1
    return out


def _item(v):
    """Single value of a scalar or size-1 array."""
    return np.asarray(v).reshape(-1)[0] if isinstance(v, np.ndarray) else v


@overload(_item)
def _ov_item(v):
    if is_scalar(v):
        return lambda v: v

    def impl(v):
        if v.size != 1:
            raise ValueError("srcgrad: expected a scalar adjoint for a full reduction")
        return v.flat[0]
    return impl


def _pyaxis(x, axis):
    return axis + x.ndim if axis < 0 else axis


# -- sum / mean adjoints ----------------------------------------------------
def sum_adjoint(g, x, axis=None):
    if not isinstance(x, np.ndarray):
        return g
    dt = py_float_dtype(g)
    if axis is None or x.ndim == 1:
        return np.full(x.shape, _item(g), dt)
    return np.broadcast_to(np.expand_dims(g, _pyaxis(x, axis)), x.shape).astype(dt)


def mean_adjoint(g, x, axis=None):
    if not isinstance(x, np.ndarray):
        return g
    out = sum_adjoint(g, x, axis)
    out /= x.size if axis is None else x.shape[_pyaxis(x, axis)]
    return out


def _spread_impl(name, g, x, axis, mean):
    g, x = types.unliteral(g), types.unliteral(x)
    none = _check_axis(name, x, axis)
    cls = float_class(g)
    if is_scalar(x):
        return lambda g, x, axis=None: g
    if not is_array(x) or not (is_scalar(g) or is_array(g)):
        raise unsupported(name, g, x)
    if none or x.ndim == 1:
        def impl_full(g, x, axis=None):
            if axis is not None:
                _norm_axis(axis, 1)
            out = np.full(x.shape, cls(_item(g)))
            if mean:
                out /= x.size
            return out
        return impl_full
    if not is_array(g) or g.ndim != x.ndim - 1:
        raise TypingError("srcgrad.runtime.%s: adjoint %s does not match reducing %s along one axis"
                          % (name, g, x))

    def impl_axis(g, x, axis=None):
        ax = _norm_axis(axis, x.ndim)
        out = np.empty(x.shape, cls)
        out[...] = np.expand_dims(g, ax)
        if mean:
            out /= x.shape[ax]
        return out
    return impl_axis


@overload(sum_adjoint)
def _ov_sum_adjoint(g, x, axis=None):
    return _spread_impl("sum_adjoint", g, x, axis, False)


@overload(mean_adjoint)
def _ov_mean_adjoint(g, x, axis=None):
    return _spread_impl("mean_adjoint", g, x, axis, True)


# -- amax / amin ------------------------------------------------------------
def amax(x, axis=None):
    return np.max(x, axis=axis)


def amin(x, axis=None):
    return np.min(x, axis=axis)


def _extreme_impl(name, x, axis, is_max):
    x = types.unliteral(x)
    none = _check_axis(name, x, axis)
    if is_scalar(x):
        return lambda x, axis=None: x
    if not is_array(x):
        raise unsupported(name, x)
    if none or x.ndim == 1:
        red = np.max if is_max else np.min

        def impl_all(x, axis=None):
            if axis is not None:
                _norm_axis(axis, 1)
            return red(x)
        return impl_all
    m = x.ndim - 1

    def impl_axis(x, axis=None):
        ax = _norm_axis(axis, x.ndim)
        pre, n, post = _split(x.shape, ax)
        if n == 0:
            raise ValueError("srcgrad: zero-size array to reduction operation with no identity")
        xc = np.ascontiguousarray(x).reshape((pre, n, post))
        out = xc[:, 0, :].copy()
        for p in range(pre):
            for i in range(1, n):
                for q in range(post):
                    v = xc[p, i, q]
                    if (v > out[p, q] if is_max else v < out[p, q]) or v != v:
                        out[p, q] = v
        return out.reshape(to_fixed_tuple(_drop(x.shape, ax), m))
    return impl_axis


@overload(amax)
def _ov_amax(x, axis=None):
    return _extreme_impl("amax", x, axis, True)


@overload(amin)
def _ov_amin(x, axis=None):
    return _extreme_impl("amin", x, axis, False)


# -- max / min adjoint ------------------------------------------------------
def extreme_adjoint(g, x, y, axis=None):
    if not isinstance(x, np.ndarray):
        return g
    dt = py_float_dtype(g)
    if axis is not None and x.ndim > 1:
        ax = _pyaxis(x, axis)
        y, g = np.expand_dims(y, ax), np.expand_dims(g, ax)
    mask = (x == y) | ((x != x) & (y != y))
    count = mask.sum() if axis is None or x.ndim == 1 else mask.sum(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mask, np.asarray(g, dt) / count, 0).astype(dt)


@register_jitable
def _match(a, b):
    return a == b or (a != a and b != b)


@overload(extreme_adjoint)
def _ov_extreme_adjoint(g, x, y, axis=None):
    g, x, y = types.unliteral(g), types.unliteral(x), types.unliteral(y)
    none = _check_axis("extreme_adjoint", x, axis)
    cls = float_class(g)
    if is_scalar(x):
        return lambda g, x, y, axis=None: g
    if not is_array(x) or not (is_scalar(g) or is_array(g)) or not (is_scalar(y) or is_array(y)):
        raise unsupported("extreme_adjoint", g, x, y)
    if none or x.ndim == 1:
        def impl_all(g, x, y, axis=None):
            if axis is not None:
                _norm_axis(axis, 1)
            yv = _item(y)
            xc = np.ascontiguousarray(x).reshape(-1)
            cnt = 0
            for k in range(xc.size):
                if _match(xc[k], yv):
                    cnt += 1
            out = np.zeros(xc.size, cls)
            if cnt > 0:
                w = cls(cls(_item(g)) / cnt)
                for k in range(xc.size):
                    if _match(xc[k], yv):
                        out[k] = w
            return out.reshape(x.shape)
        return impl_all
    if not (is_array(g) and is_array(y)):
        raise TypingError("srcgrad.runtime.extreme_adjoint: g and y must be arrays for an "
                          "axis reduction of %s" % x)

    def impl_axis(g, x, y, axis=None):
        ax = _norm_axis(axis, x.ndim)
        pre, n, post = _split(x.shape, ax)
        xc = np.ascontiguousarray(x).reshape((pre, n, post))
        yc = np.ascontiguousarray(y).reshape((pre, post))
        gc = np.ascontiguousarray(g).reshape((pre, post))
        out = np.zeros((pre, n, post), cls)
        for p in range(pre):
            for q in range(post):
                yv = yc[p, q]
                cnt = 0
                for i in range(n):
                    if _match(xc[p, i, q], yv):
                        cnt += 1
                if cnt > 0:
                    w = cls(cls(gc[p, q]) / cnt)
                    for i in range(n):
                        if _match(xc[p, i, q], yv):
                            out[p, i, q] = w
        return out.reshape(x.shape)
    return impl_axis
