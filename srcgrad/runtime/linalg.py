"""Adjoints of ``np.dot`` / ``@``, ``np.outer`` and reshape/ravel (``reshape_like``).

The cotangent formula depends on the operands' ndim (scalar, 1-D, 2-D), which
generated code does not know, so it calls these helpers. Beyond two dimensions
``np.dot`` and ``np.matmul`` differ (:mod:`.batched` has both), so ``@`` has
its own adjoints, ``matmul_adjoint_a``/``_b``, the same as ``np.dot``'s up to 2-D.  Numba's ``np.dot``
needs contiguous operands of one float dtype, so operands (possibly transposed
views) are made contiguous and cast to the common float type of the inputs
that enter the formula.  Results always have exactly the operand's shape
(a float for a scalar operand).
"""
import numpy as np
from numba.core import types
from numba.core.errors import TypingError
from numba import njit
from numba.extending import overload

from ..compat import as_dtype, from_dtype
from ..errors import ShapeError
from . import batched as _batched
from . import blas as _blas
from .cotangents import (_flat, float_type, is_array, is_scalar, np_class, py_float_dtype,
                      scalar_cases, unsupported)


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
        return _py_dot_nd(g, a, b, dt)[0]
    if isinstance(a, np.ndarray):
        return np.array(np.broadcast_to(r, a.shape), dtype=dt)
    return dt.type(r)


def _py_dot_nd(g, a, b, dt):
    """Both cotangents of ``np.dot(a, b)`` for N-d operands: A (P, k) times B (k, Q)."""
    a, b, k = np.asarray(a, dt), np.asarray(b, dt), np.shape(a)[-1]
    moved = np.moveaxis(b, -2, 0) if b.ndim > 1 else b
    A, B = a.reshape(-1, k), moved.reshape(k, -1)
    G = np.asarray(g, dt).reshape(A.shape[0], B.shape[1])
    gb = (A.T @ G).reshape(moved.shape)
    return (G @ B.T).reshape(a.shape), (np.moveaxis(gb, 0, -2) if b.ndim > 1 else gb)


def dot_adjoint_a(g, a, b):
    return _py_dot_adj(g, a, b)


def matmul_adjoint_a(g, a, b):
    """Cotangent of ``a`` in ``a @ b`` (Python version)."""
    if max(np.ndim(a), np.ndim(b)) <= 2:
        return dot_adjoint_a(g, a, b)
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    full = np.asarray(g).reshape(np.matmul(a2, b2).shape) @ np.swapaxes(b2, -1, -2)
    from .reductions import unbroadcast
    return unbroadcast(full, a2).reshape(a.shape)


def matmul_adjoint_b(g, a, b):
    """Cotangent of ``b`` in ``a @ b`` (Python version)."""
    if max(np.ndim(a), np.ndim(b)) <= 2:
        return dot_adjoint_b(g, a, b)
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    g2 = np.asarray(g).reshape(np.matmul(a2, b2).shape)
    full = np.swapaxes(a2, -1, -2) @ g2
    from .reductions import unbroadcast
    return unbroadcast(full, b2).reshape(b.shape)


def dot_adjoint_b(g, a, b):
    na, nb = np.ndim(a), np.ndim(b)
    if na > 2 or nb > 2:
        return _py_dot_nd(g, a, b, _py_common(g, a))[1]
    if na == 2 and nb >= 1:                       # 2-D.2-D and 2-D.1-D: a.T @ g
        dt = _py_common(g, a)
        return np.asarray(a, dt).T @ np.asarray(g, dt)
    if na == 1 and nb == 2:
        dt = _py_common(g, a)
        return np.outer(np.asarray(a, dt), np.asarray(g, dt))
    return _py_dot_adj(g, b, a)                   # scalar and 1-D.1-D cases are symmetric


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


@njit(cache=True)
def _c64(a):
    return np.ascontiguousarray(a).astype(np.float64)


@njit(cache=True)
def _c32(a):
    return np.ascontiguousarray(a).astype(np.float32)


@njit(cache=True)
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


def _mk(expr, first, env):
    """Jit implementation ``(g, a, b) -> expr`` with ``x`` the differentiated operand
    (``a`` when first, else ``b``) and ``o`` the other one."""
    src = ("def impl(g, a, b):\n    x, o = %s\n    return %s\n"
           % ("a, b" if first else "b, a", expr))
    ns = dict(env, np=np)
    exec(src, ns)
    return ns["impl"]


def _beyond_2d(*ts):
    return any(is_array(t) and t.ndim > 2 for t in ts)


def _dot_adj_impl(name, g, x, other, first, stacked=False):
    """Implementation (g, a, b) of the cotangent of operand ``x`` of np.dot (of ``@`` when
    ``stacked``); ``other`` is the other operand and ``first`` tells whether x is ``a``."""
    g, x, other = types.unliteral(g), types.unliteral(x), types.unliteral(other)
    if _beyond_2d(x, other):
        adjoint = _batched.matmul_adjoint_impl if stacked else _batched.dot_adjoint_impl
        return adjoint(g, x, other, first)
    _check(name, g, x, other)
    cls = _common_class(g, other)
    nx = x.ndim if is_array(x) else -1
    no = other.ndim if is_array(other) else -1
    env = dict(cls=cls, scale=_scale, vdot=_vdot, outer=_outer, dot=_dot, dot_nt=_dot_nt, dot_tn=_dot_tn)
    if nx <= 0 and no > 0:                      # scalar-like x times array: sum(g * other)
        expr = "cls(vdot(g, o))" if nx < 0 else "np.full(x.shape, cls(vdot(g, o)))"
    elif nx < 0:                                # scalar x, scalar-like other
        expr = "cls(np.sum(g * o))" if is_array(g) or is_array(other) else "cls(g) * cls(o)"
    elif no <= 0:                               # array x times a scalar-like other
        ov = "o" if no < 0 else "o[()]"
        expr = ("scale(g, x, %s, cls)" if is_array(g) else "np.full(x.shape, cls(g * %s))") % ov
    elif nx == 1 and no == 1:
        if is_array(g):
            raise TypingError("srcgrad.runtime.%s: 1-D.1-D needs a scalar cotangent, got %s"
                              % (name, g))
        expr = "scale(o, x, g, cls)"
    else:
        if not is_array(g):
            raise TypingError("srcgrad.runtime.%s: cotangent %s does not fit %s, %s"
                              % (name, g, x, other))
        env["cg"], env["co"] = _conv(g, cls), _conv(other, cls)
        if nx == 2 and no == 2:
            expr = "dot_nt(cg(g), co(o))" if first else "dot_tn(co(o), cg(g))"
        elif nx == 2:                           # other is 1-D
            expr = "outer(g, o, cls)" if first else "outer(o, g, cls)"
        else:                                   # x 1-D, other 2-D
            expr = "dot(co(o), cg(g))" if first else "dot_tn(co(o), cg(g))"
    return _mk(expr, first, env)


# Matrix products of the adjoints. They, and the loop kernels below, are linked into the
# disk-cached entry points that generated code calls (runtime/cached.py: matmul, dot, dot_adjoint_a
# and dot_adjoint_b), so loading a cached gradient loads each entry point as one piece.
@njit(cache=True)
def _dot(a, b):
    return _blas.dot(a, b)


@njit(cache=True)
def _dot_nt(a, b):
    return _blas.dot(a, b.T)


@njit(cache=True)
def _dot_tn(a, b):
    return _blas.dot(a.T, b)


# The user's products, in generated code (srcgrad/codegen/products.py): the same cached kernel, and
# NumPy's promotions, which Numba's product lacks (an integer or a float32 operand with a float64 one)
def matmul(a, b):
    """``a @ b``."""
    return a @ b


def dot(a, b):
    """``np.dot(a, b)``."""
    return np.dot(a, b)


def _kernel_product(a, b):
    """The implementation of a product of arrays of 1 or 2 dimensions whose result is float (both
    operands cast to its type, which NumPy's promotion gives), or None."""
    if not (isinstance(a, types.Array) and isinstance(b, types.Array) and a.ndim in (1, 2)
            and b.ndim in (1, 2)):
        return None
    try:
        result = np.promote_types(as_dtype(a.dtype), as_dtype(b.dtype))
    except (NotImplementedError, TypeError):
        return None
    if result.kind != "f":
        return None
    cls = from_dtype(result)
    if a.dtype == cls and b.dtype == cls:
        return lambda a, b: _dot(a, b)
    return lambda a, b: _dot(a.astype(cls), b.astype(cls))


@overload(matmul)
def _ov_matmul(a, b):
    if _beyond_2d(a, b):
        return _batched.matmul_impl(a, b)
    return _kernel_product(a, b) or (lambda a, b: a @ b)


@overload(dot)
def _ov_dot(a, b):
    if isinstance(a, types.Number) or isinstance(b, types.Number):
        return lambda a, b: a * b
    if _beyond_2d(a, b):
        return _batched.dot_impl(a, b)
    return _kernel_product(a, b) or (lambda a, b: np.dot(a, b))


# Small loop kernels: they compile far faster than np.outer / ufunc expressions.
@njit(cache=True)
def _scale(g, x, o, cls):
    """g * o (g shaped like x, o a scalar) as a new array."""
    out = np.empty(x.shape, cls)
    of, gf = out.reshape(-1), _flat(g)
    for k in range(of.size):
        of[k] = gf[k] * o
    return out


@njit(cache=True)
def _vdot(g, o):
    gf, of = _flat(g), _flat(o)
    s = 0.0
    for k in range(gf.size):
        s += gf[k] * of[k]
    return s


@njit(cache=True)
def _outer(u, v, cls):
    uf, vf = _flat(u), _flat(v)
    out = np.empty((uf.size, vf.size), cls)
    for i in range(uf.size):
        for j in range(vf.size):
            out[i, j] = uf[i] * vf[j]
    return out


@overload(dot_adjoint_a)
def _ov_dot_adjoint_a(g, a, b):
    return _dot_adj_impl("dot_adjoint_a", g, a, b, True)


@overload(dot_adjoint_b)
def _ov_dot_adjoint_b(g, a, b):
    return _dot_adj_impl("dot_adjoint_b", g, b, a, False)


@overload(matmul_adjoint_a)
def _ov_matmul_adjoint_a(g, a, b):
    return _dot_adj_impl("matmul_adjoint_a", g, a, b, True, stacked=True)


@overload(matmul_adjoint_b)
def _ov_matmul_adjoint_b(g, a, b):
    return _dot_adj_impl("matmul_adjoint_b", g, b, a, False, stacked=True)


def _outer_impl(name, g, x, other, first):
    g, x, other = types.unliteral(g), types.unliteral(x), types.unliteral(other)
    if not (is_array(g) and g.ndim == 2) or not all(is_scalar(t) or is_array(t) for t in (x, other)):
        raise unsupported(name, g, x, other)
    cls = _common_class(g, other)
    env = dict(cls=cls, cg=_conv(g, cls), check=_one, blas_dot=_blas.dot)
    if is_scalar(other):
        ov = "np.full(1, cls(o))"
    else:
        env["co"] = _conv(other, cls)
        ov = "co(o).reshape(-1)"
    r = "blas_dot(cg(g)%s, %s)" % ("" if first else ".T", ov)
    return _mk("check(%s)" % r if is_scalar(x) else "%s.reshape(x.shape)" % r, first, env)


@njit(cache=True)
def _one(r):
    if r.size != 1:
        raise ShapeError("cotangent shape mismatch")
    return r[0]


@overload(outer_adjoint_a)
def _ov_outer_adjoint_a(g, a, b):
    return _outer_impl("outer_adjoint_a", g, a, b, True)


@overload(outer_adjoint_b)
def _ov_outer_adjoint_b(g, a, b):
    return _outer_impl("outer_adjoint_b", g, b, a, False)


# -- reshape / ravel -----------------------------------------------------------
def reshape_like(g, x):
    if not isinstance(x, np.ndarray):
        return np.sum(g) if isinstance(g, np.ndarray) else g
    if not isinstance(g, np.ndarray):
        return np.full(x.shape, g)
    return np.ascontiguousarray(g).reshape(x.shape)


@overload(reshape_like)
def _ov_reshape_like(g, x):
    g, x = types.unliteral(g), types.unliteral(x)
    impl = scalar_cases(g, x)
    if impl is not None:
        return impl
    if is_array(x) and is_array(g):
        return lambda g, x: np.ascontiguousarray(g).reshape(x.shape)
    raise unsupported("reshape_like", g, x)
