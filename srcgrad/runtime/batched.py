"""Products of arrays with more than two dimensions, and their adjoints (NumPy's semantics).

- ``np.matmul`` / ``@`` multiplies stacks of matrices: ``a`` (..., n, k) by ``b`` (..., k, m), the
  leading (batch) dims broadcast against each other; a 1-D operand is a matrix of one row (``a``) or
  one column (``b``) whose extra dim is dropped from the result. The adjoint of ``a`` is
  ``g @ b^T`` per batch entry, summed over the batch dims ``a`` was broadcast along.
- ``np.dot`` of N-d arrays is a sum product over the last axis of ``a`` and the second-to-last of
  ``b`` (the only axis of a 1-D ``b``): ``a`` is a (P, k) matrix, ``b`` a (k, Q) one once that axis
  is moved first, and the result is their product with the other axes laid out in order.

Each product runs as 2-D products of contiguous matrices through srcgrad's cached BLAS kernel; the
implementations here are chosen while typing, from the operands' number of dimensions, and call
standalone kernels (compiled once per signature, called by symbol) for the rearranging.
"""
import numpy as np
from numba import njit
from numba.core import types
from numba.core.errors import TypingError
from numba.np.numpy_support import as_dtype
from numba.np.unsafe.ndarray import to_fixed_tuple

from ..errors import ShapeError
from . import blas as _blas
from .cotangents import is_array
from .reductions import unbroadcast
from .standalone import standalone


def result_class(*ts):
    """The NumPy float class of a product of arrays ``ts`` (float64 unless all are float32)."""
    dts = [as_dtype(t.dtype) for t in ts if is_array(t)]
    result = np.result_type(*dts, np.float32) if dts else np.dtype(np.float64)
    if result.kind != "f":
        result = np.dtype(np.float64)
    return result.type


def _check_arrays(name, *ts):
    for t in ts:
        if not is_array(types.unliteral(t)) or t.ndim == 0:
            raise TypingError("srcgrad.runtime.%s: operands must be arrays, got %s" % (name, t))


# -- matmul: stacks of matrices --------------------------------------------------------------------------
@njit(cache=True)
def _stacks(ashape, bshape, bd):
    """The operands as stacks of matrices: their shapes with at least 2 dims (1-D ``a`` as a row,
    1-D ``b`` as a column), the broadcast batch shape (``bd`` dims), and n, k, m."""
    na, nb = len(ashape), len(bshape)
    a2 = np.empty(max(na, 2), np.int64)
    b2 = np.empty(max(nb, 2), np.int64)
    if na == 1:
        a2[0], a2[1] = 1, ashape[0]
    else:
        for d in range(na):
            a2[d] = ashape[d]
    if nb == 1:
        b2[0], b2[1] = bshape[0], 1
    else:
        for d in range(nb):
            b2[d] = bshape[d]
    n, k, m = a2[-2], a2[-1], b2[-1]
    if b2[-2] != k:
        raise ShapeError("matmul: the last dim of a differs from the second-to-last of b")
    batch = np.empty(bd, np.int64)
    for d in range(bd):
        da, db = a2.size - 2 - bd + d, b2.size - 2 - bd + d
        sa = a2[da] if da >= 0 else 1
        sb = b2[db] if db >= 0 else 1
        if sa != sb and sa != 1 and sb != 1:
            raise ShapeError("matmul: the batch dims of a and b do not broadcast")
        batch[d] = sb if sa == 1 else sa
    return a2, b2, batch, n, k, m


@njit(cache=True)
def _join(batch, r, c):
    out = np.empty(batch.size + 2, np.int64)
    out[:batch.size] = batch
    out[batch.size], out[batch.size + 1] = r, c
    return out


@njit(cache=True)
def _result_shape(batch, n, m, keep_n, keep_m):
    out = np.empty(batch.size + keep_n + keep_m, np.int64)
    out[:batch.size] = batch
    if keep_n:
        out[batch.size] = n
    if keep_m:
        out[out.size - 1] = m
    return out


def _matmul_dims(a, b):
    """Typing time: (dims of a as a stack, of b, batch dims, result dims)."""
    na, nb = a.ndim, b.ndim
    da, db = max(na, 2), max(nb, 2)
    bd = max(da, db) - 2
    return da, db, bd, bd + (na > 1) + (nb > 1)


@standalone
def _stack_of(x, shape, full, count, r, c, cls):
    """``x`` (of ``shape``) broadcast to ``full`` and laid out as ``count`` contiguous matrices."""
    x = np.ascontiguousarray(x).astype(cls).reshape(shape)
    return np.ascontiguousarray(np.broadcast_to(x, full)).reshape((count, r, c))


@njit(cache=True)
def _count(batch):
    count = 1
    for s in batch:
        count *= s
    return count


def matmul_impl(a, b):
    """Implementation ``(a, b)`` of ``a @ b`` for operands with more than 2 dims."""
    _check_arrays("matmul", a, b)
    da, db, bd, rd = _matmul_dims(a, b)
    bd2 = bd + 2        # (a constant, as to_fixed_tuple needs)
    cls, keep_n, keep_m = result_class(a, b), a.ndim > 1, b.ndim > 1

    def impl(a, b):
        a2, b2, batch, n, k, m = _stacks(a.shape, b.shape, bd)
        count = _count(batch)
        A = _stack_of(a, to_fixed_tuple(a2, da), to_fixed_tuple(_join(batch, n, k), bd2),
                      count, n, k, cls)
        B = _stack_of(b, to_fixed_tuple(b2, db), to_fixed_tuple(_join(batch, k, m), bd2),
                      count, k, m, cls)
        out = np.empty((count, n, m), cls)
        for i in range(count):
            out[i] = _blas.dot(A[i], B[i])
        return out.reshape(to_fixed_tuple(_result_shape(batch, n, m, keep_n, keep_m), rd))
    return impl


def matmul_adjoint_impl(g, x, other, first):
    """Implementation ``(g, a, b)`` of the cotangent of ``x`` (``a`` when ``first``, else ``b``) of
    ``a @ b``, for operands with more than 2 dims: per batch entry ``g b^T`` (or ``a^T g``), summed
    over the batch dims ``x`` was broadcast along."""
    a, b = (x, other) if first else (other, x)
    _check_arrays("matmul_adjoint", a, b)
    da, db, bd, rd = _matmul_dims(a, b)
    bd2 = bd + 2
    cls = result_class(g, other)

    def impl_a(g, a, b):
        a2, b2, batch, n, k, m = _stacks(a.shape, b.shape, bd)
        count = _count(batch)
        G = np.ascontiguousarray(g).astype(cls).reshape((count, n, m))
        B = _stack_of(b, to_fixed_tuple(b2, db), to_fixed_tuple(_join(batch, k, m), bd2),
                      count, k, m, cls)
        full = np.empty((count, n, k), cls)
        for i in range(count):
            full[i] = _blas.dot(G[i], np.ascontiguousarray(B[i].T))
        stacked = full.reshape(to_fixed_tuple(_join(batch, n, k), bd2))
        like = np.empty(to_fixed_tuple(a2, da), cls)
        return np.ascontiguousarray(unbroadcast(stacked, like)).reshape(a.shape)

    def impl_b(g, a, b):
        a2, b2, batch, n, k, m = _stacks(a.shape, b.shape, bd)
        count = _count(batch)
        G = np.ascontiguousarray(g).astype(cls).reshape((count, n, m))
        A = _stack_of(a, to_fixed_tuple(a2, da), to_fixed_tuple(_join(batch, n, k), bd2),
                      count, n, k, cls)
        full = np.empty((count, k, m), cls)
        for i in range(count):
            full[i] = _blas.dot(np.ascontiguousarray(A[i].T), G[i])
        stacked = full.reshape(to_fixed_tuple(_join(batch, k, m), bd2))
        like = np.empty(to_fixed_tuple(b2, db), cls)
        return np.ascontiguousarray(unbroadcast(stacked, like)).reshape(b.shape)
    return impl_a if first else impl_b


# -- dot: a sum product over the last axis of a and the second-to-last of b ----------------------------
@njit(cache=True)
def _dot_shape(ashape, bshape):
    """(P, k, m, Q) and the result's shape for ``np.dot`` of arrays of these shapes: ``a`` is a
    (P, k) matrix, ``b`` a (k, Q) one with Q = (its leading size) * m, m its last dim (1 if 1-D)."""
    na, nb = len(ashape), len(bshape)
    k = ashape[na - 1]
    kb = bshape[nb - 2] if nb > 1 else bshape[0]
    if k != kb:
        raise ShapeError("dot: shapes are not aligned")
    out = np.empty(na - 1 + max(nb - 1, 0), np.int64)
    P, Q = 1, 1
    for d in range(na - 1):
        out[d] = ashape[d]
        P *= ashape[d]
    j = na - 1
    if nb > 1:
        for d in range(nb):
            if d != nb - 2:
                out[j] = bshape[d]
                Q *= bshape[d]
                j += 1
    return P, k, (bshape[nb - 1] if nb > 1 else 1), Q, out


@standalone
def _matrix(x, r, c, cls):
    """``x`` as a contiguous (r, c) matrix of type ``cls``."""
    return np.ascontiguousarray(x).astype(cls).reshape((r, c))


@standalone
def _columns(b, k, m, cls):
    """``b`` (..., k, m) as the (k, Q) matrix whose column ``p * m + j`` is ``b[p, :, j]``."""
    bf = np.ascontiguousarray(b).reshape(b.size)
    lead = b.size // max(k * m, 1)
    out = np.empty((k, lead * m), cls)
    for p in range(lead):
        for i in range(k):
            for j in range(m):
                out[i, p * m + j] = bf[(p * k + i) * m + j]
    return out


@standalone
def _uncolumns(B, k, m):
    """The inverse of :func:`_columns`, flat in ``b``'s order."""
    lead = B.shape[1] // max(m, 1)
    out = np.empty(B.size, B.dtype)
    for p in range(lead):
        for i in range(k):
            for j in range(m):
                out[(p * k + i) * m + j] = B[i, p * m + j]
    return out


def dot_impl(a, b):
    """Implementation ``(a, b)`` of ``np.dot`` for operands with more than 2 dims."""
    _check_arrays("dot", a, b)
    cls, rd = result_class(a, b), a.ndim - 1 + max(b.ndim - 1, 0)

    def impl(a, b):
        P, k, m, Q, shape = _dot_shape(a.shape, b.shape)
        product = _blas.dot(_matrix(a, P, k, cls), _columns(b, k, m, cls))
        return product.reshape(to_fixed_tuple(shape, rd))
    return impl


def dot_adjoint_impl(g, x, other, first):
    """Implementation ``(g, a, b)`` of the cotangent of ``x`` (``a`` when ``first``, else ``b``) of
    ``np.dot(a, b)``, for operands with more than 2 dims: ``g B^T`` or ``A^T g`` for the matrices
    ``A`` (P, k) and ``B`` (k, Q), laid out back in the operand's shape."""
    a, b = (x, other) if first else (other, x)
    _check_arrays("dot_adjoint", a, b)
    cls = result_class(g, other)

    def impl_a(g, a, b):
        P, k, m, Q, shape = _dot_shape(a.shape, b.shape)
        B = _columns(b, k, m, cls)
        return _blas.dot(_matrix(g, P, Q, cls), np.ascontiguousarray(B.T)).reshape(a.shape)

    def impl_b(g, a, b):
        P, k, m, Q, shape = _dot_shape(a.shape, b.shape)
        A = _matrix(a, P, k, cls)
        full = _blas.dot(np.ascontiguousarray(A.T), _matrix(g, P, Q, cls))
        return _uncolumns(full, k, m).reshape(b.shape)
    return impl_a if first else impl_b
