"""Type-dispatched adjoint helpers for generated gradient code.

The transformer emits code before Numba knows whether a variable is a scalar
or an array, so every operation whose implementation depends on that goes
through one of these helpers.  Each is a plain NumPy function (usable from
Python) plus an ``@overload`` that picks a jit implementation from the Numba
argument types:

- zeros_like / ones_like: allocate a fresh adjoint (float type of ``x``).
- zero: reset an adjoint (in place for arrays).
- unbroadcast: sum a broadcast result's adjoint back to an operand's shape.
- select: mask an adjoint by a condition (where/abs/max adjoints).
- sign: float ``np.sign`` (abs adjoint).
- check_float: reject integer/bool differentiation inputs at typing time.
- snapshot: save a value before it is overwritten (copy arrays only).
- copy_seed: private float copy of the output seed ``dy`` shaped like ``y``.
- reshape_like: adjoint of reshape/ravel.
"""
import numpy as np
from numba import njit
from numba.core import types
from numba.core.errors import TypingError
from numba.extending import overload
from numba.np.numpy_support import as_dtype

INT_MSG = "srcgrad: cannot differentiate with respect to an integer or boolean argument"


# -- typing-time utilities shared by the other runtime modules --------------
def is_scalar(t):
    return isinstance(t, (types.Number, types.Boolean))


def is_array(t):
    return isinstance(t, types.Array)


def float_type(t):
    """Numba float type of a scalar/array type: its dtype if floating else float64."""
    dt = t.dtype if isinstance(t, types.Array) else types.unliteral(t)
    return dt if isinstance(dt, types.Float) else types.float64


def np_class(nbtype):
    """NumPy scalar class (np.float64, ...) for a Numba scalar type."""
    return as_dtype(types.unliteral(nbtype)).type


def float_class(t):
    return np_class(float_type(t))


def py_float_dtype(x):
    """Python-side float dtype of a value."""
    dt = np.asarray(x).dtype
    return dt if np.issubdtype(dt, np.floating) else np.dtype(np.float64)


def unsupported(name, *args):
    return TypingError("srcgrad.runtime.%s: unsupported argument types (%s)"
                       % (name, ", ".join(str(a) for a in args)))


# -- zeros_like / ones_like / zero ------------------------------------------
def zeros_like(x):
    dt = py_float_dtype(x)
    return np.zeros(np.shape(x), dt) if isinstance(x, np.ndarray) else dt.type(0)


def ones_like(x):
    dt = py_float_dtype(x)
    return np.ones(np.shape(x), dt) if isinstance(x, np.ndarray) else dt.type(1)


def _fill_overload(name, value, alloc):
    def ov(x):
        x = types.unliteral(x)
        cls = float_class(x)
        if is_scalar(x):
            return lambda x: cls(value)
        if is_array(x):
            return lambda x: alloc(x.shape, cls)
        raise unsupported(name, x)
    return ov


overload(zeros_like)(_fill_overload("zeros_like", 0.0, np.zeros))
overload(ones_like)(_fill_overload("ones_like", 1.0, np.ones))


def zero(b):
    if isinstance(b, np.ndarray):
        b[...] = 0
        return b
    return py_float_dtype(b).type(0)


@overload(zero)
def _ov_zero(b):
    b = types.unliteral(b)
    cls = float_class(b)
    if is_scalar(b):
        return lambda b: cls(0.0)
    if is_array(b):
        if b.ndim == 0:
            def impl0(b):
                b[()] = 0
                return b
            return impl0

        def impl(b):
            b.fill(0)
            return b
        return impl
    raise unsupported("zero", b)


# -- unbroadcast ------------------------------------------------------------
def unbroadcast(g, x):
    if not isinstance(x, np.ndarray):
        return np.sum(g) if isinstance(g, np.ndarray) else g
    if not isinstance(g, np.ndarray):
        return np.full(x.shape, g)
    if g.shape == x.shape:
        return g
    lead = g.ndim - x.ndim
    out = np.sum(g, axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, n in enumerate(x.shape) if n == 1 and out.shape[i] != 1)
    out = np.sum(out, axis=axes, keepdims=True) if axes else out
    return np.ascontiguousarray(out).reshape(x.shape)


def _make_unbroadcast_slow(gnd, xnd, cls):
    lead = gnd - xnd

    def slow(g, xshape):
        out = np.zeros(xshape, cls)
        of = out.reshape(-1)
        gc = np.ascontiguousarray(g).reshape(-1)
        gs = np.empty(gnd, np.int64)
        ost = np.zeros(gnd, np.int64)
        stride = 1
        for d in range(gnd - 1, -1, -1):
            gs[d] = g.shape[d]
            if d >= lead:
                n = xshape[d - lead]
                if n != 1:
                    if n != gs[d]:
                        raise ValueError("srcgrad.unbroadcast: shapes are not broadcast-compatible")
                    ost[d] = stride
                stride *= n
        idx = np.zeros(gnd, np.int64)
        off = 0
        for k in range(gc.size):
            of[off] += gc[k]
            d = gnd - 1
            while d >= 0:
                idx[d] += 1
                off += ost[d]
                if idx[d] < gs[d]:
                    break
                off -= ost[d] * gs[d]
                idx[d] = 0
                d -= 1
        return out
    return slow


@overload(unbroadcast)
def _ov_unbroadcast(g, x):
    g, x = types.unliteral(g), types.unliteral(x)
    if is_scalar(x) and is_scalar(g):
        return lambda g, x: g
    if is_scalar(x) and is_array(g):
        gcls = np_class(g.dtype)
        return lambda g, x: gcls(np.sum(g))
    if is_array(x) and is_scalar(g):
        return lambda g, x: np.full(x.shape, g)
    if is_array(x) and is_array(g) and g.ndim >= x.ndim:
        slow = njit(_make_unbroadcast_slow(g.ndim, x.ndim, np_class(g.dtype)))
        if g.ndim == x.ndim:
            def impl_same(g, x):
                if g.shape == x.shape:
                    return g
                return slow(g, x.shape)
            return impl_same
        return lambda g, x: slow(g, x.shape)
    raise unsupported("unbroadcast", g, x)


# -- select / sign ----------------------------------------------------------
def select(c, g):
    dt = py_float_dtype(g)
    if np.ndim(c) == 0 and np.ndim(g) == 0 and not isinstance(c, np.ndarray) \
            and not isinstance(g, np.ndarray):
        return dt.type(g) if c else dt.type(0)
    return np.where(c, g, dt.type(0)).astype(dt, copy=False)


@overload(select)
def _ov_select(c, g):
    c, g = types.unliteral(c), types.unliteral(g)
    cls = float_class(g)
    if is_scalar(c) and is_scalar(g):
        return lambda c, g: cls(g) if c else cls(0.0)
    if (is_scalar(c) or is_array(c)) and (is_scalar(g) or is_array(g)):
        if is_array(g) and not isinstance(g.dtype, types.Float):
            return lambda c, g: np.where(c, g.astype(cls), cls(0.0))
        return lambda c, g: np.where(c, g, cls(0.0))
    raise unsupported("select", c, g)


def sign(x):
    dt = py_float_dtype(x)
    r = np.sign(np.asarray(x, dtype=dt))
    return r if isinstance(x, np.ndarray) else dt.type(r)


@overload(sign)
def _ov_sign(x):
    x = types.unliteral(x)
    cls = float_class(x)
    if isinstance(x, types.Boolean):
        return lambda x: cls(1.0) if x else cls(0.0)
    if is_scalar(x):
        return lambda x: cls(np.sign(cls(x)))
    if is_array(x) and x.ndim == 0:        # Numba ufuncs turn 0-d arrays into scalars
        def impl0(x):
            out = np.empty((), cls)
            out[()] = np.sign(cls(x[()]))
            return out
        return impl0
    if is_array(x):
        if isinstance(x.dtype, types.Float):
            return lambda x: np.sign(x)
        return lambda x: np.sign(x.astype(cls))
    raise unsupported("sign", x)


# -- check_float / snapshot -------------------------------------------------
def check_float(x):
    dt = np.asarray(x).dtype
    if np.issubdtype(dt, np.integer) or dt == np.bool_:
        raise TypeError(INT_MSG)
    return x


@overload(check_float)
def _ov_check_float(x):
    x = types.unliteral(x)
    dt = x.dtype if is_array(x) else x
    if isinstance(dt, (types.Integer, types.Boolean)):
        raise TypingError(INT_MSG)
    if isinstance(dt, types.Float):
        return lambda x: x
    raise unsupported("check_float", x)


def snapshot(v):
    return v.copy() if isinstance(v, np.ndarray) else v


@overload(snapshot)
def _ov_snapshot(v):
    v = types.unliteral(v)
    if is_array(v):
        return lambda v: v.copy()
    if is_scalar(v) or isinstance(v, types.NoneType):
        return lambda v: v
    raise unsupported("snapshot", v)


# -- copy_seed / reshape_like -----------------------------------------------
def copy_seed(dy, y):
    dt = py_float_dtype(dy)
    if not isinstance(y, np.ndarray):
        if np.size(dy) != 1:
            raise ValueError("srcgrad.copy_seed: seed for a scalar output must have one element")
        return dt.type(np.asarray(dy).reshape(-1)[0])
    out = np.empty(y.shape, dt)
    out[...] = dy
    return out


@overload(copy_seed)
def _ov_copy_seed(dy, y):
    dy, y = types.unliteral(dy), types.unliteral(y)
    cls = float_class(dy)
    if is_scalar(y) and is_scalar(dy):
        return lambda dy, y: cls(dy)
    if is_scalar(y) and is_array(dy):
        def impl(dy, y):
            if dy.size != 1:
                raise ValueError("srcgrad.copy_seed: seed for a scalar output must have one element")
            return cls(dy.flat[0])
        return impl
    if is_array(y) and (is_scalar(dy) or is_array(dy)):
        def impl_arr(dy, y):
            out = np.empty(y.shape, cls)
            out[...] = dy
            return out
        return impl_arr
    raise unsupported("copy_seed", dy, y)


def reshape_like(g, x):
    if not isinstance(x, np.ndarray):
        return np.sum(g) if isinstance(g, np.ndarray) else g
    if not isinstance(g, np.ndarray):
        return np.full(x.shape, g)
    return np.ascontiguousarray(g).reshape(x.shape)


@overload(reshape_like)
def _ov_reshape_like(g, x):
    g, x = types.unliteral(g), types.unliteral(x)
    if is_scalar(x) and is_scalar(g):
        return lambda g, x: g
    if is_scalar(x) and is_array(g):
        gcls = np_class(g.dtype)
        return lambda g, x: gcls(np.sum(g))
    if is_array(x) and is_scalar(g):
        return lambda g, x: np.full(x.shape, g)
    if is_array(x) and is_array(g):
        return lambda g, x: np.ascontiguousarray(g).reshape(x.shape)
    raise unsupported("reshape_like", g, x)
