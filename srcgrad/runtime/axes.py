"""Reductions over a tuple of axes, or keeping the reduced axes (``keepdims=True``), and their adjoints.

NumPy's ``np.sum(x, axis=(1, 2), keepdims=True)`` and friends; Numba compiles few of these forms. The
one-axis, dropped-dims forms keep their own fast kernels (:mod:`.reductions`, :mod:`.numpy_forms`); the
others come here. Every form works the same way: each entry of ``x`` (C order) is mapped to the entry
of the result it reduces into, and a reduction, or an adjoint, is one loop over that map. The loops
are standalone kernels (compiled once per dtype, called by symbol); what each form compiles on its own
(its result's shape depends on the axes and on ``keepdims``, which must be a constant) is a few
lines around them, inlined into the helper that Numba specializes for it.
``axis`` is None, an int or a tuple of ints, negative ones counted from the end, as NumPy has them.
"""
import numpy as np
from numba import njit
from numba.core import types
from numba.core.errors import TypingError
from numba.np.unsafe.ndarray import to_fixed_tuple

from ..errors import ShapeError
from .cotangents import float_class, is_array, is_scalar, np_class
from .standalone import standalone


# -- typing time -------------------------------------------------------------------------------------
def _omitted(t):
    return t is None or isinstance(t, (types.NoneType, types.Omitted))


def keepdims_value(name, keepdims):
    """The constant value of ``keepdims``; a TypingError (Numba then retries with literal types)
    when it is not known while compiling."""
    if _omitted(keepdims):
        return False
    if isinstance(keepdims, (types.BooleanLiteral, types.IntegerLiteral)):
        return bool(keepdims.literal_value)
    if isinstance(keepdims, (bool, int)):
        return bool(keepdims)
    raise TypingError("srcgrad-unsupported: keepdims must be the constant True or False, got %s "
                      "(in srcgrad.runtime.%s)" % (keepdims, name))


def axis_count(name, x, axis):
    """How many axes ``axis`` names (None: all of them); checks its type."""
    if _omitted(axis):
        return x.ndim if is_array(x) else 0
    if isinstance(types.unliteral(axis), types.Integer):
        return 1
    if isinstance(axis, types.BaseTuple) and all(isinstance(types.unliteral(t), types.Integer)
                                                for t in axis):
        return len(axis)
    raise TypingError("srcgrad.runtime.%s: axis must be None, an int or a tuple of ints, got %s"
                      % (name, axis))


def is_general(name, x, axis, keepdims, extra=()):
    """Whether this reduction needs the general form here (a tuple of axes, or keepdims) rather than
    the one-axis kernels. ``extra``: arguments NumPy has that srcgrad does not take (dtype, out)."""
    for arg, what in extra:
        if not _omitted(arg):
            raise TypingError("srcgrad.runtime.%s: %s= is not supported" % (name, what))
    axis_count(name, x, axis)
    keep = keepdims_value(name, keepdims)
    return is_array(types.unliteral(x)) and (keep or isinstance(axis, types.BaseTuple))


def kept_or_tuple(name, g, x, axis):
    """For an adjoint: whether the general form is needed, because ``axis`` is a tuple or the
    reduction kept its dims (``g``, shaped like its result, has as many as ``x``)."""
    g, x = types.unliteral(g), types.unliteral(x)
    if not is_array(x) or _omitted(axis):
        return False
    axis_count(name, x, axis)
    return isinstance(axis, types.BaseTuple) or (is_array(g) and g.ndim == x.ndim)


def _axes_getter(axis):
    """A jitted ``f(axis, nd)`` giving the reduced axes as an int64 array (a literal tuple's values
    are folded in, since a tuple of different literal types cannot be indexed by a variable)."""
    if _omitted(axis):
        return _all_axes
    if isinstance(types.unliteral(axis), types.Integer):
        return _one_axis
    if all(isinstance(t, types.IntegerLiteral) for t in axis):
        values = tuple(t.literal_value for t in axis)
        return njit(lambda axis, nd: np.array(values, np.int64), inline="always")
    return _tuple_axes


@njit(inline="always")
def _all_axes(axis, nd):
    return np.arange(nd)


@njit(inline="always")
def _one_axis(axis, nd):
    return np.full(1, axis, np.int64)


@njit(inline="always")
def _tuple_axes(axis, nd):
    out = np.empty(len(axis), np.int64)
    for i in range(len(axis)):
        out[i] = axis[i]
    return out


@standalone
def _map(shape, axes, keep):
    """For reducing an array of ``shape`` (a tuple) over ``axes``: the index in the result of each
    entry (C order), the result's size, and its shape (reduced dims as 1 when ``keep``, else gone)."""
    nd = len(shape)
    reduced = np.zeros(nd, np.bool_)
    for a in axes:
        ax = a + nd if a < 0 else a
        if ax < 0 or ax >= nd:
            raise ShapeError("axis out of bounds")
        if reduced[ax]:
            raise ShapeError("repeated axis")
        reduced[ax] = True
    stride = np.zeros(nd, np.int64)
    out_shape = np.empty(nd if keep else nd - axes.size, np.int64)
    size, total, k = 1, 1, out_shape.size
    for d in range(nd - 1, -1, -1):
        total *= shape[d]
        if not reduced[d]:
            stride[d] = size
            size *= shape[d]
        if keep or not reduced[d]:
            k -= 1
            out_shape[k] = 1 if reduced[d] else shape[d]
    where = np.empty(total, np.int64)
    index = np.zeros(nd, np.int64)
    for j in range(total):
        o = 0
        for d in range(nd):
            o += index[d] * stride[d]
        where[j] = o
        d = nd - 1
        while d >= 0:
            index[d] += 1
            if index[d] < shape[d]:
                break
            index[d] = 0
            d -= 1
    return where, size, out_shape


@njit(inline="always")
def _flat(x):
    return np.ascontiguousarray(x).reshape(x.size)


@standalone
def _reduce_into(out, x, where, kind):
    """``out[where[j]]`` reduces ``x[j]``: kind 0 sum, 1 mean, 2 max, 3 min (NaN wins, as NumPy)."""
    if x.size == 0 and kind >= 2:
        raise ShapeError("zero-size array to reduction operation with no identity")
    seen = np.zeros(out.size, np.bool_)
    for o in range(out.size):
        out[o] = 0
    for j in range(x.size):
        o, v = where[j], x[j]
        if kind <= 1:
            out[o] += v
        elif not seen[o]:
            out[o] = v
            seen[o] = True
        elif out[o] == out[o] and (v != v or (v > out[o] if kind == 2 else v < out[o])):
            out[o] = v
    if kind == 1 and out.size:
        for o in range(out.size):
            out[o] /= x.size // out.size
    return out


@standalone
def _spread_into(out, g, where, mean):
    """``out[j] = g[where[j]]`` (divided by the count of entries each reduced, for a mean)."""
    n = out.size // max(g.size, 1) if mean else 1
    for j in range(out.size):
        out[j] = g[where[j]] / n if mean else g[where[j]]
    return out


@standalone
def _share_into(out, g, x, y, where):
    """``g`` shared equally by the entries ``x[j]`` equal to their extreme ``y[where[j]]`` (NaN
    matching NaN): the adjoint of max and min, ties sharing as TensorFlow's do."""
    count = np.zeros(y.size, np.int64)
    for j in range(x.size):
        v, e = x[j], y[where[j]]
        if v == e or (v != v and e != e):
            count[where[j]] += 1
    for j in range(x.size):
        v, e = x[j], y[where[j]]
        out[j] = g[where[j]] / count[where[j]] if v == e or (v != v and e != e) else 0
    return out


# -- the forms' own code -----------------------------------------------------------------------------
_KINDS = {"sum": 0, "mean": 1, "max": 2, "min": 3}


def reduce_impl(name, x, axis, keepdims, kind):
    """A jitted ``f(x, axis)``: the general-form reduction ``kind`` ("sum", "mean", "max" or "min").
    The result is a scalar when every axis is reduced and dims are not kept."""
    x = types.unliteral(x)
    nd, keep, axes_of = x.ndim, keepdims_value(name, keepdims), _axes_getter(axis)
    rnd, code = (nd if keep else nd - axis_count(name, x, axis)), _KINDS[kind]
    if kind == "mean":
        cls = float_class(x)
    elif kind == "sum" and not isinstance(x.dtype, types.Float):
        cls = np.int64
    else:
        cls = np_class(x.dtype)

    @njit(inline="always")
    def reduce(x, axis):
        where, size, shape = _map(x.shape, axes_of(axis, nd), keep)
        return _reduce_into(np.empty(size, cls), _flat(x), where, code), shape

    if rnd == 0:
        return njit(lambda x, axis: reduce(x, axis)[0][0], inline="always")

    def impl(x, axis):
        out, shape = reduce(x, axis)
        return out.reshape(to_fixed_tuple(shape, rnd))
    return njit(impl, inline="always")


def spread_impl(name, g, x, axis, mean):
    """Implementation ``(g, x, axis=None)`` of the adjoint of a general-form sum (or mean): ``g`` at
    every position of ``x`` that its entry reduced (divided by their count, for a mean)."""
    g, x = types.unliteral(g), types.unliteral(x)
    if not (is_scalar(g) or is_array(g)):
        raise TypingError("srcgrad.runtime.%s: unsupported cotangent %s" % (name, g))
    nd, axes_of, cls = x.ndim, _axes_getter(axis), float_class(g)

    def impl(g, x, axis=None):
        where, size, shape = _map(x.shape, axes_of(axis, nd), False)
        out = _spread_into(np.empty(x.size, cls), _flat(np.asarray(g)), where, mean)
        return out.reshape(x.shape)
    return impl


def extreme_impl(name, g, x, y, axis):
    """Implementation ``(g, x, y, axis=None)`` of the adjoint of a general-form max or min: ``g``
    shared equally by the entries of ``x`` equal to their extreme ``y``."""
    g, x, y = types.unliteral(g), types.unliteral(x), types.unliteral(y)
    if not all(is_scalar(t) or is_array(t) for t in (g, y)):
        raise TypingError("srcgrad.runtime.%s: unsupported arguments %s, %s" % (name, g, y))
    nd, axes_of, cls = x.ndim, _axes_getter(axis), float_class(g)

    def impl(g, x, y, axis=None):
        where, size, shape = _map(x.shape, axes_of(axis, nd), False)
        out = _share_into(np.empty(x.size, cls), _flat(np.asarray(g)), _flat(x),
                          _flat(np.asarray(y)), where)
        return out.reshape(x.shape)
    return impl
