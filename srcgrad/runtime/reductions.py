"""Reduction helpers: adjoints of sums (broadcasting included) and of sum/mean/max/min.

- unbroadcast: sum a broadcast result's adjoint back to an operand's shape
  (the implicit sum-reduction of broadcasting; free when nothing was broadcast).
- sum_adjoint / mean_adjoint: spread a reduction's adjoint back over the input;
  generated code cannot write this itself, not knowing the operand's ndim.
- amax / amin: forward helpers, because Numba has no ``np.max(a, axis=...)``.
- extreme_adjoint: max/min adjoint shared equally among tied extrema
  (TensorFlow's reduce_max gradient); a NaN extremum selects the NaN entries.

``axis`` is None (or omitted) or an int, possibly negative or literal.  Axis reductions
view the input as (pre, n, post) blocks and loop: any ndim, quick to compile.  A tuple of axes,
or ``keepdims=True``, takes the general form in :mod:`.axes`.
"""
import numpy as np
from numba.core import types
from numba.core.errors import TypingError
from numba import njit
from numba.extending import overload

from ..compat import to_fixed_tuple
from ..errors import ShapeError
from . import axes as _axes
from .standalone import standalone
from .cotangents import (_aligned, _flat, _rows, float_class, is_array, is_scalar, np_class,
                      py_float_dtype, scalar_cases, unsupported)


# -- unbroadcast ------------------------------------------------------------
def unbroadcast(g, x):
    if not isinstance(x, np.ndarray):
        return np.sum(g) if isinstance(g, np.ndarray) else g
    if not isinstance(g, np.ndarray):
        return np.full(x.shape, g)
    if g.shape == x.shape:
        return g
    out = np.sum(g, axis=tuple(range(g.ndim - x.ndim))) if g.ndim > x.ndim else g
    axes = tuple(i for i, n in enumerate(x.shape) if n == 1 and out.shape[i] != 1)
    return np.ascontiguousarray(np.sum(out, axis=axes, keepdims=True)).reshape(x.shape)


@njit(cache=True)       # linked into runtime/cached.py's unbroadcast, its only caller
def _unbroadcast_slow(g, x, cls):
    out = np.zeros(x.shape, cls)
    of, gf = out.reshape(-1), _flat(g)
    off, s, m = _rows(_aligned(g.shape, g.ndim), _aligned(x.shape, g.ndim))
    for r in range(off.size):
        if s == 0:                  # summed along the last axis too
            acc = of[off[r]]
            for j in range(m):
                acc += gf[r * m + j]
            of[off[r]] = acc
        else:                       # s == 1: contiguous row (slices, so that LLVM vectorizes: 4×)
            orow, grow = of[off[r]:off[r] + m], gf[r * m:(r + 1) * m]
            for j in range(m):
                orow[j] += grow[j]
    return out


@overload(unbroadcast)
def _ov_unbroadcast(g, x):
    g, x = types.unliteral(g), types.unliteral(x)
    impl = scalar_cases(g, x)
    if impl is not None:
        return impl
    if not (is_array(x) and is_array(g) and g.ndim >= x.ndim):
        raise unsupported("unbroadcast", g, x)
    gcls = np_class(g.dtype)
    if g.ndim > x.ndim:
        return lambda g, x: _unbroadcast_slow(g, x, gcls)

    def impl_same(g, x):
        if g.shape == x.shape:      # hot path: nothing was broadcast
            return g
        return _unbroadcast_slow(g, x, gcls)
    return impl_same


# -- shared axis machinery --------------------------------------------------
def _check_axis(name, x, axis):
    """Typing-time check; True when axis is None (or omitted), False for an int axis."""
    if axis is None or isinstance(axis, (types.NoneType, types.Omitted)):
        return True
    if not isinstance(axis, types.Integer):
        raise TypingError("srcgrad.runtime.%s: axis must be None or an int, got %s" % (name, axis))
    if not is_array(x) or x.ndim == 0:
        raise TypingError("srcgrad.runtime.%s: an int axis needs an array of ndim >= 1, got %s"
                          % (name, x))
    return False


@njit(cache=True)
def _blocks(shape, axis):
    """(axis normalised, pre, n, post) for reducing ``shape`` along ``axis``."""
    nd = len(shape)
    ax = axis + nd if axis < 0 else axis
    if ax < 0 or ax >= nd:
        raise ShapeError("axis out of bounds")
    pre, post = 1, 1
    for d in range(nd):
        if d < ax:
            pre *= shape[d]
        elif d > ax:
            post *= shape[d]
    return ax, pre, shape[ax], post


@njit(cache=True)
def _drop(shape, ax):
    out = np.empty(len(shape) - 1, np.int64)
    for d in range(len(shape) - 1):
        out[d] = shape[d] if d < ax else shape[d + 1]
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
            raise ShapeError("expected a scalar adjoint for a full reduction")
        return v.flat[0]
    return impl


# -- sum / mean adjoints ----------------------------------------------------
def sum_adjoint(g, x, axis=None):
    """The adjoint of ``np.sum(x, axis)``; ``g`` with or without the reduced dims (keepdims)."""
    if not isinstance(x, np.ndarray):
        return g
    dt = py_float_dtype(g)
    if axis is None:
        return np.full(x.shape, _item(g), dt)
    g = np.asarray(g) if np.ndim(g) == x.ndim else np.expand_dims(g, axis)
    return np.broadcast_to(g, x.shape).astype(dt)


def mean_adjoint(g, x, axis=None):
    if not isinstance(x, np.ndarray):
        return g
    out = sum_adjoint(g, x, axis)
    out /= x.size if axis is None else np.prod([x.shape[a] for a in np.atleast_1d(axis)])
    return out


def _spread_impl(name, g, x, axis, mean):
    if _axes.kept_or_tuple(name, g, x, axis):
        return _axes.spread_impl(name, g, x, axis, mean)
    g, x = types.unliteral(g), types.unliteral(x)
    none = _check_axis(name, x, axis)
    cls = float_class(g)
    if is_scalar(x):
        return lambda g, x, axis=None: g
    if not is_array(x) or not (is_scalar(g) or is_array(g)):
        raise unsupported(name, g, x)
    if none or x.ndim == 1:
        def impl_full(g, x, axis=None):
            n = x.size if axis is None else _blocks(x.shape, axis)[2]
            return np.full(x.shape, cls(cls(_item(g)) / n) if mean else cls(_item(g)))
        return impl_full
    if not is_array(g) or g.ndim != x.ndim - 1:
        raise TypingError("srcgrad.runtime.%s: adjoint %s does not fit reducing %s along an axis"
                          % (name, g, x))

    def impl_axis(g, x, axis=None):
        ax, pre, n, post = _blocks(x.shape, axis)
        gc = np.ascontiguousarray(g).reshape((pre, post))
        out = np.empty((pre, n, post), cls)
        for p in range(pre):
            for i in range(n):
                for q in range(post):
                    out[p, i, q] = gc[p, q] / n if mean else gc[p, q]
        return out.reshape(x.shape)
    return impl_axis


@overload(sum_adjoint)
def _ov_sum_adjoint(g, x, axis=None):
    return _spread_impl("sum_adjoint", g, x, axis, False)


@overload(mean_adjoint)
def _ov_mean_adjoint(g, x, axis=None):
    return _spread_impl("mean_adjoint", g, x, axis, True)


# -- amax / amin ------------------------------------------------------------
def amax(x, axis=None, out=None, keepdims=False):
    return np.max(x, axis=axis, out=out, keepdims=bool(keepdims))


def amin(x, axis=None, out=None, keepdims=False):
    return np.min(x, axis=axis, out=out, keepdims=bool(keepdims))


def _extreme_impl(name, x, axis, out, keepdims, is_max):
    if _axes.is_general(name, x, axis, keepdims, ((out, "out"),)):
        general = _axes.reduce_impl(name, x, axis, keepdims, "max" if is_max else "min")
        return lambda x, axis=None, out=None, keepdims=False: general(x, axis)
    x = types.unliteral(x)
    none = _check_axis(name, x, axis)
    if is_scalar(x):
        return lambda x, axis=None, out=None, keepdims=False: x
    if not is_array(x):
        raise unsupported(name, x)
    if none or x.ndim == 1:
        red = np.max if is_max else np.min

        def impl_all(x, axis=None, out=None, keepdims=False):
            if axis is not None:
                _blocks(x.shape, axis)          # bounds check
            return red(x)
        return impl_all
    m = x.ndim - 1

    def impl_axis(x, axis=None, out=None, keepdims=False):
        ax, pre, n, post = _blocks(x.shape, axis)
        if n == 0:
            raise ShapeError("zero-size array to reduction operation with no identity")
        xc = np.ascontiguousarray(x).reshape((pre, n, post))
        r = xc[:, 0, :].copy()
        for p in range(pre):
            for i in range(1, n):
                for q in range(post):
                    v = xc[p, i, q]
                    if (v > r[p, q] if is_max else v < r[p, q]) or v != v:  # NaN wins
                        r[p, q] = v
        return r.reshape(to_fixed_tuple(_drop(x.shape, ax), m))
    return impl_axis


@overload(amax)
def _ov_amax(x, axis=None, out=None, keepdims=False):
    return _extreme_impl("amax", x, axis, out, keepdims, True)


@overload(amin)
def _ov_amin(x, axis=None, out=None, keepdims=False):
    return _extreme_impl("amin", x, axis, out, keepdims, False)


# -- max / min adjoint ------------------------------------------------------
def extreme_adjoint(g, x, y, axis=None):
    """The adjoint of ``np.max(x, axis)`` (or min) = ``y``; ``g`` and ``y`` with or without the
    reduced dims (keepdims)."""
    if not isinstance(x, np.ndarray):
        return g
    dt = py_float_dtype(g)
    if axis is not None and np.ndim(y) < x.ndim:
        y, g = np.expand_dims(y, axis), np.expand_dims(g, axis)
    mask = (x == y) | ((x != x) & (y != y))
    count = mask.sum() if axis is None else mask.sum(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mask, np.asarray(g, dt) / count, 0).astype(dt)


@standalone
def _share(out, xc, yc, gc, pre, n, post, cls):
    """out[p, i, q] = g[p, q] / ties where x[p, i, q] equals y[p, q] (NaN matches NaN)."""
    for p in range(pre):
        for q in range(post):
            yv = yc[p, q]
            cnt = 0
            for i in range(n):
                if xc[p, i, q] == yv or (xc[p, i, q] != xc[p, i, q] and yv != yv):
                    cnt += 1
            for i in range(n):
                if cnt > 0 and (xc[p, i, q] == yv or (xc[p, i, q] != xc[p, i, q] and yv != yv)):
                    out[p, i, q] = cls(gc[p, q]) / cnt
    return out


@overload(extreme_adjoint)
def _ov_extreme_adjoint(g, x, y, axis=None):
    if _axes.kept_or_tuple("extreme_adjoint", y, x, axis):
        return _axes.extreme_impl("extreme_adjoint", g, x, y, axis)
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
                _blocks(x.shape, axis)          # bounds check
            out = np.zeros((1, x.size, 1), cls)
            xc = np.ascontiguousarray(x).reshape((1, x.size, 1))
            yc, gc = np.full((1, 1), _item(y)), np.full((1, 1), _item(g))
            return _share(out, xc, yc, gc, 1, x.size, 1, cls).reshape(x.shape)
        return impl_all
    if not (is_array(g) and is_array(y)):
        raise TypingError("srcgrad.runtime.extreme_adjoint: g and y must be arrays for an "
                          "axis reduction of %s" % x)

    def impl_axis(g, x, y, axis=None):
        ax, pre, n, post = _blocks(x.shape, axis)
        xc = np.ascontiguousarray(x).reshape((pre, n, post))
        yc = np.ascontiguousarray(y).reshape((pre, post))
        gc = np.ascontiguousarray(g).reshape((pre, post))
        out = _share(np.zeros((pre, n, post), cls), xc, yc, gc, pre, n, post, cls)
        return out.reshape(x.shape)
    return impl_axis


# -- the adjoint of a full sum or mean, without memory ---------------------------------------------
def spread_sum(c, like):
    """``c`` (the cotangent of ``sum(like)``) at every position of ``like``, as a read-only broadcast
    view: generated code uses it for adjoints that are only read afterwards."""
    cls = py_float_dtype(like).type
    return np.broadcast_to(cls(c), np.shape(like)) if isinstance(like, np.ndarray) else cls(c)


def spread_mean(c, like):
    """As :func:`spread_sum`, for ``mean(like)``: ``c / like.size`` everywhere (nowhere when
    ``like`` is empty: its gradient is an empty array, not a division by zero)."""
    return spread_sum(c / max(np.size(like), 1), like)


def _spread_overload(mean):
    def ov(c, like):
        c, like = types.unliteral(c), types.unliteral(like)
        cls = float_class(like)
        if not is_scalar(c):
            raise unsupported("spread_mean" if mean else "spread_sum", c, like)
        if is_scalar(like):
            return lambda c, like: cls(c)
        if like.ndim == 0:          # (Numba cannot broadcast to shape ())
            return lambda c, like: np.full(like.shape, cls(c))
        if mean:
            return lambda c, like: _spread(cls(c / max(like.size, 1)), like.shape)
        return lambda c, like: _spread(cls(c), like.shape)
    return ov


@njit(cache=True)        # (a scalar and a shape: inlined, so loops see the zero strides)
def _spread(c, shape):
    """``c`` broadcast to ``shape``, compiled once per signature into the disk cache (inline, NumPy's
    broadcast_to costs every new generated function about 0.3 s of compiling)."""
    return np.broadcast_to(c, shape)


overload(spread_sum)(_spread_overload(False))
overload(spread_mean)(_spread_overload(True))
