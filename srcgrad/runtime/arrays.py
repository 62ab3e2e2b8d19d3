"""Helpers for the derivatives of array constructors and of ``np.sort``.

- ``sort(x, axis)``: ``np.sort`` along any axis (Numba's sorts along the last one only), and its
  derivative: sorting permutes, so the cotangent goes back through the permutation
  (``sort_adjoint`` scatters it, ``sort_tangent`` gathers a tangent). The permutation is constant
  almost everywhere, so each of the two is the other's transpose.
- ``linspace(a, b, n)`` is ``a (1 - w) + b w`` with ``w_k = k / (n - 1)``: ``linspace_start_adjoint``
  and ``linspace_stop_adjoint`` contract a cotangent with ``1 - w`` and ``w``.
- ``arange(start, stop, step)`` is ``start + k step``: ``arange_start_adjoint`` sums the cotangent
  (nothing when ``stop`` is omitted: the one argument is then the stop), ``ramp_dot`` contracts it
  with ``k``; ``arange_start_tangent`` and ``ramp`` are their transposes.
"""
import numpy as np
from numba import njit
from numba.core import types
from numba.core.errors import TypingError
from numba.extending import overload

from .cotangents import float_class, is_array, is_scalar, unsupported
from .numpy_forms import _is_none
from .reductions import _blocks


# -- sort ------------------------------------------------------------------------------------------
def sort(x, axis=-1):
    """``np.sort(x, axis)``."""
    return np.sort(x, axis=axis)


def sort_adjoint(c, x, axis=-1):
    """The cotangent of ``x`` from the cotangent ``c`` of ``np.sort(x, axis)``."""
    order = np.argsort(x, axis=axis, kind="stable")
    out = np.zeros(np.shape(x) if axis is not None else np.size(x), np.result_type(c, 0.0))
    if axis is None:
        out[order] = c
        return out.reshape(np.shape(x))
    np.put_along_axis(out, order, c, axis)
    return out


def sort_tangent(c, x, axis=-1):
    """The tangent of ``np.sort(x, axis)`` from the tangent ``c`` of ``x``."""
    order = np.argsort(x, axis=axis, kind="stable")
    if axis is None:
        return np.ravel(c)[order]
    return np.take_along_axis(np.asarray(c), order, axis)


@njit(cache=True)
def _lanes(x, pre, n, post):
    """``x`` as (pre, n, post) lanes, and the stable sorting order of each lane."""
    xc = np.ascontiguousarray(x).reshape((pre, n, post))
    order = np.empty((pre, n, post), np.int64)
    lane = np.empty(n, x.dtype)
    for p in range(pre):
        for q in range(post):
            for i in range(n):
                lane[i] = xc[p, i, q]
            idx = np.argsort(lane, kind="mergesort")
            for i in range(n):
                order[p, i, q] = idx[i]
    return xc, order


@njit(cache=True)
def _flat_lanes(x, axis):
    return _lanes(x, 1, x.size, 1)


@njit(cache=True)
def _axis_lanes(x, axis):
    _, pre, n, post = _blocks(x.shape, axis)
    return _lanes(x, pre, n, post)


@njit(cache=True)
def _flat_shape(x):
    return (x.size,)


@njit(cache=True)
def _same_shape(x):
    return x.shape


def _sort_kind(name, x, axis):
    """Typing time: the functions giving the sorted array's shape and splitting ``x`` into lanes
    (``axis`` None: all of ``x``, flattened); checks the types."""
    x = types.unliteral(x)
    if not is_array(x) or x.ndim == 0:
        raise TypingError("srcgrad.runtime.%s: np.sort needs an array of ndim >= 1, got %s" % (name, x))
    if isinstance(axis, types.Omitted):         # the default, -1
        axis = axis.value
    if axis is None or isinstance(axis, types.NoneType):
        return _flat_shape, _flat_lanes
    if not isinstance(axis, int) and not isinstance(types.unliteral(axis), types.Integer):
        raise TypingError("srcgrad.runtime.%s: axis must be None or an int, got %s" % (name, axis))
    return _same_shape, _axis_lanes


@overload(sort)
def _ov_sort(x, axis=-1):
    shape, lanes = _sort_kind("sort", x, axis)

    def impl(x, axis=-1):
        xc, order = lanes(x, axis)
        out = np.empty_like(xc)
        pre, n, post = xc.shape
        for p in range(pre):
            for i in range(n):
                for q in range(post):
                    out[p, i, q] = xc[p, order[p, i, q], q]
        return out.reshape(shape(x))
    return impl


def _permute(name, c, x, axis, scatter):
    """``c`` sent through the sorting permutation of ``x`` (scatter: back to ``x``'s positions)."""
    shape, lanes = _sort_kind(name, x, axis)
    if not is_array(c):
        raise unsupported(name, c, x)
    cls = float_class(c)
    result_shape = _same_shape if scatter else shape

    def impl(c, x, axis=-1):
        xc, order = lanes(x, axis)
        pre, n, post = xc.shape
        cc = np.ascontiguousarray(c).reshape((pre, n, post))
        out = np.empty((pre, n, post), cls)
        for p in range(pre):
            for i in range(n):
                for q in range(post):
                    if scatter:
                        out[p, order[p, i, q], q] = cc[p, i, q]
                    else:
                        out[p, i, q] = cc[p, order[p, i, q], q]
        return out.reshape(result_shape(x))
    return impl


@overload(sort_adjoint)
def _ov_sort_adjoint(c, x, axis=-1):
    return _permute("sort_adjoint", c, x, axis, True)


@overload(sort_tangent)
def _ov_sort_tangent(c, x, axis=-1):
    return _permute("sort_tangent", c, x, axis, False)


# -- linspace ----------------------------------------------------------------------------------------
def linspace_stop_adjoint(g):
    """``sum_k g_k w_k`` with ``w_k = k / (n - 1)`` (0 for n = 1): the cotangent of linspace's stop."""
    g = np.ravel(g)
    return float(np.dot(g, np.arange(g.size))) / (g.size - 1) if g.size > 1 else 0.0


def linspace_start_adjoint(g):
    """``sum_k g_k (1 - w_k)``: the cotangent of linspace's start."""
    return float(np.sum(g)) - linspace_stop_adjoint(g)


@njit(cache=True)
def _ramp_dot(g):
    gf = np.ascontiguousarray(g).reshape(g.size)
    s = 0.0
    for k in range(gf.size):
        s += gf[k] * k
    return s


def _ov_linspace(start):
    def ov(g):
        if not is_array(g):
            raise unsupported("linspace_adjoint", g)
        cls = float_class(g)

        def impl(g):
            n = g.size
            stop = _ramp_dot(g) / (n - 1) if n > 1 else 0.0
            return cls(np.sum(g) - stop) if start else cls(stop)
        return impl
    return ov


overload(linspace_start_adjoint)(_ov_linspace(True))
overload(linspace_stop_adjoint)(_ov_linspace(False))


# -- arange ------------------------------------------------------------------------------------------
def arange_start_adjoint(g, stop):
    """``sum(g)`` when ``stop`` was given; else 0 (``np.arange(x)``: x is the stop)."""
    return 0.0 if stop is None else float(np.sum(g))


def arange_start_tangent(s, like, stop):
    """``s`` at every position of ``like`` when ``stop`` was given; else zeros."""
    return np.full(np.shape(like), 0.0 if stop is None else s)


def ramp_dot(g):
    """``sum_k k g_k``: the cotangent of arange's step."""
    return float(np.dot(np.ravel(g), np.arange(np.size(g))))


def ramp(s, like):
    """``s * k`` at position k of the 1-D ``like``: the tangent of arange's step."""
    return s * np.arange(np.size(like), dtype=np.result_type(s, 0.0))


@overload(arange_start_adjoint)
def _ov_arange_start_adjoint(g, stop):
    cls = float_class(g)
    if _is_none(stop):
        return lambda g, stop: cls(0.0)
    if is_scalar(g):
        return lambda g, stop: cls(g)
    return lambda g, stop: cls(np.sum(g))


@overload(arange_start_tangent)
def _ov_arange_start_tangent(s, like, stop):
    cls = float_class(s)
    if not is_array(like):
        raise unsupported("arange_start_tangent", s, like, stop)
    if _is_none(stop):
        return lambda s, like, stop: np.zeros(like.shape, cls)
    return lambda s, like, stop: np.full(like.shape, cls(s))


@overload(ramp_dot)
def _ov_ramp_dot(g):
    if not is_array(g):
        raise unsupported("ramp_dot", g)
    cls = float_class(g)
    return lambda g: cls(_ramp_dot(g))


@overload(ramp)
def _ov_ramp(s, like):
    if not (is_scalar(s) and is_array(like)):
        raise unsupported("ramp", s, like)
    cls = float_class(s)

    def impl(s, like):
        out = np.empty(like.size, cls)
        for k in range(like.size):
            out[k] = s * k
        return out
    return impl
