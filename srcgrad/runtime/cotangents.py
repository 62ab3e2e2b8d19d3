"""Type-dispatched helpers for the cotangents (adjoints) of generated gradient code.

Generated code is written before Numba knows whether a variable is a scalar or
an array, so each operation whose implementation depends on that is a helper
here: a plain NumPy function plus an ``@overload`` chosen from Numba types.

- zeros_like / ones_like / zero: allocate or reset an adjoint (float type of x).
- select: mask an adjoint by a condition (where/abs/max adjoints); sign: float np.sign.
- check_float: reject integer/bool inputs at typing time; snapshot: copy arrays before
  they are overwritten (scalars pass through).
- seed: private float copy of the output seed ``dy``, which must have ``y``'s shape.
(unbroadcast lives in reductions.py, reshape_like in linalg.py.)
"""
import numpy as np
from numba.core import types
from numba.core.errors import TypingError
from numba import njit
from numba.extending import overload

from ..compat import as_dtype, to_fixed_tuple
from ..errors import ShapeError
from .standalone import standalone

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


def as_float(like, value):
    """``value`` as the float type of ``like`` (float64 for integers), so float32 stays float32."""
    return value


@overload(as_float)
def _as_float(like, value):
    cls = float_class(like)
    return lambda like, value: cls(value)


def scalar_cases(g, x):
    """The shared cases of reducing a cotangent ``g`` to the shape of ``x`` when either is a scalar:
    an implementation, or None when both are arrays."""
    if is_scalar(x) and is_scalar(g):
        return lambda g, x: g
    if is_scalar(x) and is_array(g):
        gcls = np_class(g.dtype)
        return lambda g, x: gcls(np.sum(g))
    if is_array(x) and is_scalar(g):
        return lambda g, x: np.full(x.shape, g)
    return None


def unsupported(name, *args):
    return TypingError("srcgrad.runtime.%s: unsupported argument types (%s)"
                       % (name, ", ".join(str(a) for a in args)))


# -- broadcasting kernels: plain index loops compile much faster than np.where or
#    broadcasting setitem, and every gradient compiles them -----------------------
@njit(cache=True)
def _aligned(shape, n):
    """``shape`` right-aligned to n dims (leading 1s) as an int64 array."""
    out = np.ones(n, np.int64)
    for d in range(len(shape)):
        out[n - len(shape) + d] = shape[d]
    return out


@standalone
def _rows(osh, src):
    """For a C-ordered array of aligned shape ``src`` broadcast to ``osh``: the flat offset
    of each row (last axis) of ``osh`` in C order, the stride (0 or 1) along a row, and
    the row length."""
    n = len(osh)
    st = np.zeros(max(n, 1), np.int64)
    step, rows = 1, 1
    for d in range(n - 1, -1, -1):
        if src[d] != osh[d] and src[d] != 1:
            raise ShapeError("operands could not be broadcast together")
        st[d] = step if src[d] != 1 else 0
        step *= src[d]
        rows *= osh[d] if d < n - 1 else 1
    inner = osh[n - 1] if n > 0 else 1
    off, idx, o = np.empty(rows if inner > 0 else 0, np.int64), np.zeros(n, np.int64), 0
    for r in range(off.size):
        off[r] = o
        d = n - 2
        while d >= 0:          # odometer over all axes but the last
            idx[d] += 1
            o += st[d]
            if idx[d] < osh[d]:
                break
            o -= st[d] * osh[d]
            idx[d] = 0
            d -= 1
    return off, st[max(n - 1, 0)], inner


@njit(cache=True)
def _flat(a):
    return a.ravel()            # C-order view; a copy only for non-contiguous arrays


# -- zeros_like / ones_like / zero ------------------------------------------
def zeros_like(x):
    dt = py_float_dtype(x)
    return np.zeros(x.shape, dt) if isinstance(x, np.ndarray) else dt.type(0)


def ones_like(x):
    dt = py_float_dtype(x)
    return np.ones(x.shape, dt) if isinstance(x, np.ndarray) else dt.type(1)


def _fill_overload(name, value, alloc):
    def ov(x):
        x = types.unliteral(x)
        if isinstance(x, types.List) and is_array(x.dtype):
            # a tape of whole arrays (generated code saved by reference): one array per entry
            item_cls = np_class(x.dtype.dtype)
            return lambda x: [alloc(a.shape, item_cls) for a in x]
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
    if isinstance(b, list):             # a tape of whole arrays (generated code differentiated again)
        for a in b:
            a[...] = 0
        return b
    if isinstance(b, np.ndarray):
        b[...] = 0
        return b
    return py_float_dtype(b).type(0)


@overload(zero)
def _ov_zero(b):
    b = types.unliteral(b)
    if isinstance(b, types.List) and is_array(b.dtype):
        def impl_list(b):
            for a in b:
                a[...] = 0
            return b
        return impl_list
    cls = float_class(b)
    if is_scalar(b):
        return lambda b: cls(0.0)
    if not is_array(b):
        raise unsupported("zero", b)

    def impl(b):
        if b.ndim == 0:             # folded at compile time
            b[()] = 0
        else:
            b.fill(0)
        return b
    return impl


# -- select / sign ----------------------------------------------------------
def select(c, g):
    dt = py_float_dtype(g)
    if not isinstance(c, np.ndarray) and not isinstance(g, np.ndarray):
        return dt.type(g) if c else dt.type(0)
    return np.where(c, g, dt.type(0)).astype(dt, copy=False)


@overload(select)
def _ov_select(c, g):
    c, g = types.unliteral(c), types.unliteral(g)
    cls = float_class(g)
    if is_scalar(c) and is_scalar(g):
        return lambda c, g: cls(g) if c else cls(0.0)
    if not ((is_scalar(c) or is_array(c)) and (is_scalar(g) or is_array(g))):
        raise unsupported("select", c, g)
    n = max(getattr(c, "ndim", 0), getattr(g, "ndim", 0))
    same = is_array(c) and is_array(g) and c.ndim == g.ndim

    def impl(c, g):
        ca, ga = np.asarray(c), np.asarray(g)
        cs, gs = _aligned(ca.shape, n), _aligned(ga.shape, n)
        osh = np.where(cs == 1, gs, cs)
        out = np.zeros(to_fixed_tuple(osh, n), cls)
        of, cf, gf = out.reshape(-1), _flat(ca), _flat(ga)
        if same and ca.shape == ga.shape:      # common case: no broadcasting
            for k in range(of.size):
                if cf[k]:
                    of[k] = gf[k]
            return out
        (oc, sc, m), (og, sg, _) = _rows(osh, cs), _rows(osh, gs)
        for r in range(oc.size):
            for j in range(m):
                if cf[oc[r] + j * sc]:
                    of[r * m + j] = gf[og[r] + j * sg]
        return out
    return impl


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
        return lambda x: np.full((), np.sign(cls(x[()])))
    if is_array(x):
        if isinstance(x.dtype, types.Float):
            return lambda x: np.sign(x)
        return lambda x: np.sign(x.astype(cls))
    raise unsupported("sign", x)


# -- check_float / snapshot / seed / seed_at --------------------------------------
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


_SEED_MSG = "dy must have the shape of the function's output"


def seed(dy, y):
    """A private float copy of the output cotangent ``dy``, which must have ``y``'s shape.

    As with TensorFlow's ``grad_ys``, no broadcasting: a mismatch is the caller's mistake.
    """
    if np.shape(dy) != np.shape(y):
        raise ShapeError(_SEED_MSG)
    dt = py_float_dtype(dy)
    if not isinstance(y, np.ndarray):
        return dt.type(dy)
    return np.array(dy, dtype=dt, order="C")


@overload(seed)
def _ov_seed(dy, y):
    dy, y = types.unliteral(dy), types.unliteral(y)
    cls = float_class(dy)
    if is_scalar(y):
        if not is_scalar(dy):
            raise TypingError("srcgrad: dy must be a number, like the function's output")
        return lambda dy, y: cls(dy)
    if not (is_array(dy) and dy.ndim == y.ndim):
        raise TypingError(f"srcgrad: dy must be an array of {y.ndim} dimension(s), like the "
                          "function's output")

    def impl(dy, y):
        if dy.shape != y.shape:
            raise ShapeError(_SEED_MSG)
        return _flat(dy).astype(cls).reshape(y.shape)      # astype always copies
    return impl


def seed_at(grad_ys, k, y):
    """Output ``k``'s seed from ``grad_ys``: a tuple (one entry per output) or, for a function with
    one output, the seed itself (``tf.gradients`` accepts both)."""
    if isinstance(grad_ys, (tuple, list)):
        return seed(grad_ys[k], y)
    return seed(grad_ys, y)


@overload(seed_at)
def _ov_seed_at(grad_ys, k, y):
    if isinstance(grad_ys, types.BaseTuple):
        return lambda grad_ys, k, y: seed(grad_ys[k], y)
    return lambda grad_ys, k, y: seed(grad_ys, y)


def first_adjoint(value, like, fresh):
    """An adjoint started from its first contribution ``value`` (instead of zeros, then ``+=``):
    ``value`` itself when it is a new array of the adjoint's float type (``fresh``), else a copy in
    that type, so no two adjoints ever share memory."""
    dt = py_float_dtype(like)
    if not isinstance(like, np.ndarray):
        return dt.type(value)
    return np.array(np.broadcast_to(value, like.shape), dtype=dt)


@overload(first_adjoint, prefer_literal=True)
def _ov_first_adjoint(value, like, fresh):
    value, like = types.unliteral(value), types.unliteral(like)
    cls = float_class(like)
    if is_scalar(like) and is_scalar(value):
        return lambda value, like, fresh: cls(value)
    if not is_array(like) or not (is_array(value) or is_scalar(value)):
        raise unsupported("first_adjoint", value, like)
    if is_scalar(value):
        return lambda value, like, fresh: _filled(cls(value), like)
    if value.ndim != like.ndim:
        return lambda value, like, fresh: _broadcast_copy(value, like, cls)
    if getattr(fresh, "literal_value", False) and value.dtype == float_type(like):
        return lambda value, like, fresh: value
    return lambda value, like, fresh: _copy_as(value, cls)


# The copies behind first_adjoint, compiled once on a machine rather than in every gradient (no slice
# assignment ``out[...] = value``: its error path takes seconds to compile)
@standalone
def _filled(value, like):
    return np.full(like.shape, value)


@standalone
def _broadcast_copy(value, like, cls):
    return np.broadcast_to(value, like.shape).astype(cls)


@standalone
def _copy_as(value, cls):
    return value.astype(cls)        # astype always copies
