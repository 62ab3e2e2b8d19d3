"""Adjoints of ``np.dot`` / ``@`` and ``np.outer``.

The cotangent formula depends on the operands' ndim (scalar, 1-D, 2-D), which
generated code does not know, so it calls these helpers.  Numba's ``np.dot``
needs contiguous operands of one float dtype, so operands (possibly transposed
views) are made contiguous and cast to the common float type of the inputs
that enter the formula.  Results always have exactly the operand's shape
(a float for a scalar operand).
"""
import numpy as np
from numba import njit
from numba.core import types
from numba.core.errors import TypingError
from numba.extending import overload, register_jitable

from .adjoint import float_type, is_array, is_scalar, np_class, py_float_dtype, unsupported


# -- Python reference versions ----------------------------------------------
def _py_common(*xs):
    return np.result_type(*[py_float_dtype(v) for v in xs])


def _py_dot_adj(g, a, b):
    """Cotangent of the first operand of np.dot(a, b) (Python version)."""
    dt = _py_common(g, b)
    g, b = np.asarray(g, dt), np.asarray(b, dt)
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0:
        r = np.sum(g * b)
    elif nb == 0:
        r = g * b
    elif na == 1 and nb == 1:
        r = g * b
    elif na == 2 and nb == 2:
        r = g @ b.T
    elif na == 2 and nb == 1:
        r = np.outer(g, b)
    elif na == 1 and nb == 2:
        r = b @ g
    else:
        raise TypeError("srcgrad.dot_adjoint: unsupported operand ndims %d, %d" % (na, nb))
    if isinstance(a, np.ndarray):
        return np.ascontiguousarray(np.broadcast_to(r, a.shape), dtype=dt)
    return dt.type(r)


def dot_adjoint_a(g, a, b):
    return _py_dot_adj(g, a, b)


def dot_adjoint_b(g, a, b):
    # dot(a, b) = dot(b.T, a.T) in the transposed sense
    if np.ndim(a) == 2 and np.ndim(b) == 2:
        dt = _py_common(g, a)
        return np.asarray(a, dt).T @ np.asarray(g, dt)
    if np.ndim(a) == 2 and np.ndim(b) == 1:
        dt = _py_common(g, a)
        return np.asarray(a, dt).T @ np.asarray(g, dt)
    if np.ndim(a) == 1 and np.ndim(b) == 2:
        dt = _py_common(g, a)
        return np.outer(np.asarray(a, dt), np.asarray(g, dt))
    return _py_dot_adj(g, b, a)


def outer_adjoint_a(g, a, b):
    dt = _py_common(g, b)
    r = np.asarray(g, dt) @ np.ravel(np.asarray(b, dt))
    return r.reshape(np.shape(a)) if isinstance(a, np.ndarray) else dt.type(r[0])


def outer_adjoint_b(g, a, b):
    dt = _py_common(g, a)
    r = np.asarray(g, dt).T @ np.ravel(np.asarray(a, dt))
    return r.reshape(np.shape(b)) if isinstance(b, np.ndarray) else dt.type(r[0])


# -- typing-time helpers ----------------------------------------------------
def _common_class(*ts):
    fts = [float_type(t) for t in ts]
    return np.float32 if all(f == types.float32 for f in fts) else np.float64


@register_jitable
def _c64(a):
    return np.ascontiguousarray(a).astype(np.float64)


@register_jitable
def _c32(a):
    return np.ascontiguousarray(a).astype(np.float32)


@register_jitable
def _c(a):
    return np.ascontiguousarray(a)


def _conv(t, cls):
    """Jit function making array type t contiguous with dtype cls."""
    if np_class(t.dtype) is cls:
        return _c
    return _c64 if cls is np.float64 else _c32


def _check(name, *ts):
    for t in ts:
        if not (is_scalar(t) or (is_array(t) and t.ndim <= 2)):
            raise TypingError("srcgrad.runtime.%s: operands must be scalars or arrays of "
                              "ndim <= 2, got %s" % (name, t))


def _dot_adj_impl(name, g, x, other, first):
    """Cotangent of operand ``x`` in np.dot; ``other`` is the other operand.

    ``first`` tells whether x is the left operand (matters for 2-D/1-D mixes).
    The returned implementation takes (g, x, other).
    """
    g, x, other = types.unliteral(g), types.unliteral(x), types.unliteral(other)
    _check(name, g, x, other)
    cls = _common_class(g, other)
    nx = x.ndim if is_array(x) else -1
    no = other.ndim if is_array(other) else -1
    if nx <= 0 and is_array(other) and no > 0:
        # scalar (or 0-d) x times array: sum(g * other)
        if nx < 0:
            return lambda g, x, o: cls(np.sum(g * o))
        return lambda g, x, o: np.full(x.shape, cls(np.sum(g * o)))
    if nx <= 0 or no <= 0:
        # elementwise product with a scalar-like other
        if nx < 0:
            if is_array(g) or is_array(other):
                return lambda g, x, o: cls(np.sum(g * o))
            return lambda g, x, o: cls(g) * cls(o)

        def impl_scale(g, x, o):
            out = np.empty(x.shape, cls)
            out[...] = g
            out *= o
            return out
        return impl_scale
    if not is_array(g) and not (nx == 1 and no == 1):
        raise TypingError("srcgrad.runtime.%s: cotangent %s does not fit %s, %s"
                          % (name, g, x, other))
    if nx == 1 and no == 1:
        co = _conv(other, cls)

        def impl_vv(g, x, o):
            return co(o) * cls(g)
        return impl_vv
    cg, co = _conv(g, cls), _conv(other, cls)
    if nx == 2 and no == 2:
        if first:
            return lambda g, x, o: np.dot(cg(g), co(o).T)
        return lambda g, x, o: np.dot(co(o).T, cg(g))
    if nx == 2 and no == 1:
        if first:
            return lambda g, x, o: np.outer(cg(g), co(o))
        return lambda g, x, o: np.outer(co(o), cg(g))
    # nx == 1, no == 2
    if first:
        return lambda g, x, o: np.dot(co(o), cg(g))
    return lambda g, x, o: np.dot(co(o).T, cg(g))


@overload(dot_adjoint_a)
def _ov_dot_adjoint_a(g, a, b):
    impl = njit(_dot_adj_impl("dot_adjoint_a", g, a, b, True))
    return lambda g, a, b: impl(g, a, b)


@overload(dot_adjoint_b)
def _ov_dot_adjoint_b(g, a, b):
    impl = njit(_dot_adj_impl("dot_adjoint_b", g, b, a, False))
    return lambda g, a, b: impl(g, b, a)


def _outer_impl(name, g, x, other, first):
    g, x, other = types.unliteral(g), types.unliteral(x), types.unliteral(other)
    if not (is_array(g) and g.ndim == 2) or not all(is_scalar(t) or is_array(t) for t in (x, other)):
        raise unsupported(name, g, x, other)
    cls = _common_class(g, other)
    cg = _conv(g, cls)
    if is_scalar(other):
        ovec = njit(lambda o: np.full(1, cls(o)))
    else:
        co = _conv(other, cls)
        ovec = njit(lambda o: co(o).reshape(-1))
    if first:
        red = njit(lambda g, o: np.dot(cg(g), ovec(o)))
    else:
        red = njit(lambda g, o: np.dot(cg(g).T, ovec(o)))
    if is_scalar(x):
        def impl_s(g, x, o):
            r = red(g, o)
            if r.size != 1:
                raise ValueError("srcgrad.outer_adjoint: cotangent shape mismatch")
            return r[0]
        return impl_s
    return lambda g, x, o: red(g, o).reshape(x.shape)


@overload(outer_adjoint_a)
def _ov_outer_adjoint_a(g, a, b):
    impl = njit(_outer_impl("outer_adjoint_a", g, a, b, True))
    return lambda g, a, b: impl(g, a, b)


@overload(outer_adjoint_b)
def _ov_outer_adjoint_b(g, a, b):
    impl = njit(_outer_impl("outer_adjoint_b", g, b, a, False))
    return lambda g, a, b: impl(g, b, a)
