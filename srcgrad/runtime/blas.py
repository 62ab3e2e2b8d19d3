"""Matrix products on NumPy's own BLAS, so that NumPy and srcgrad share one thread pool.

Why: Numba's ``@``/``np.dot`` call SciPy's OpenBLAS, a second copy of the library next to NumPy's,
with a thread pool of its own. OpenBLAS threads spin for a while after each product, so a program
that alternates NumPy products with compiled ones (a NumPy forward pass, then a srcgrad gradient)
has two pools fighting over the cores: on two cores, an MLP gradient followed by NumPy's took
18.8 ms per pair instead of 1.0 ms. NumPy's wheels export their OpenBLAS's CBLAS interface (64-bit
integers, ``scipy_`` prefix), so srcgrad's products call that one.

How: the functions are looked up through NumPy's extension module (a NumPy internal, in
``srcgrad/compat.py``) and registered under srcgrad's own symbol names with
``llvmlite.binding.add_symbol`` at import (names nothing else uses, so no other code changes), so
compiled code that calls them is disk-cacheable. Where NumPy has no such export (other builds,
Accelerate on macOS, a NumPy srcgrad was not verified on, ``SRCGRAD_NUMBA_PATCHES=0``),
``AVAILABLE`` is False and the products stay Numba's; ``SRCGRAD_NUMPY_BLAS=0`` chooses that too.
The choice is part of srcgrad's source digest (``codegen/cache.py``), so cached kernels never call
a symbol this process did not bind.
"""
import os

import llvmlite.binding as ll
import numpy as np
from numba import njit, types
from numba.extending import overload

from .. import compat

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
_INT = types.int64          # the exports' integers: OpenBLAS built with INTERFACE64

_GEMM_SIG = types.void(types.int32, types.int32, types.int32, _INT, _INT, _INT, types.float64,
                       types.voidptr, _INT, types.voidptr, _INT, types.float64, types.voidptr, _INT)
_SGEMM_SIG = types.void(types.int32, types.int32, types.int32, _INT, _INT, _INT, types.float32,
                        types.voidptr, _INT, types.voidptr, _INT, types.float32, types.voidptr, _INT)


def _bind():
    """Register NumPy's ``cblas_dgemm``/``cblas_sgemm``; the name of what was found, or ''."""
    if os.environ.get("SRCGRAD_NUMPY_BLAS") == "0":
        return ""
    found = compat.numpy_cblas_gemm()
    if found is None:
        return ""
    name, addresses = found
    for kind, address in addresses.items():
        ll.add_symbol(f"srcgrad.numpy_blas.{kind}gemm", address)
    return name


KIND = _bind()
AVAILABLE = bool(KIND)
_dgemm = types.ExternalFunction("srcgrad.numpy_blas.dgemm", _GEMM_SIG)
_sgemm = types.ExternalFunction("srcgrad.numpy_blas.sgemm", _SGEMM_SIG)


@njit(cache=True)
def _operand(a):
    """``a`` as an operand: (array, transposed flag, leading dimension), copied only if neither C-
    nor F-contiguous (an F-contiguous matrix is the row-major transpose of its ``.T``)."""
    if a.flags.c_contiguous:
        return a, NO_TRANS, max(a.shape[1], 1)
    if a.flags.f_contiguous:
        return a, TRANS, max(a.shape[0], 1)
    c = np.ascontiguousarray(a)
    return c, NO_TRANS, max(c.shape[1], 1)


@njit(cache=True)
def gemm(a, b):
    """``a @ b`` for 2-D float64 or float32 arrays of one dtype, by NumPy's BLAS (``AVAILABLE``)."""
    m, k, n = a.shape[0], a.shape[1], b.shape[1]
    if b.shape[0] != k:
        raise ValueError("matrix product: the operands' inner dimensions differ")
    if m == 0 or n == 0 or k == 0:
        return np.zeros((m, n), a.dtype)
    out = np.empty((m, n), a.dtype)
    x, tx, ldx = _operand(a)
    y, ty, ldy = _operand(b)
    _gemm(tx, ty, m, n, k, x, ldx, y, ldy, out)
    return out


def _gemm(tx, ty, m, n, k, x, ldx, y, ldy, out):
    """``out = op(x) @ op(y)`` by ``cblas_dgemm`` or ``cblas_sgemm`` (compiled code only)."""


@overload(_gemm)
def _ov_gemm(tx, ty, m, n, k, x, ldx, y, ldy, out):
    if out.dtype == types.float64:
        return lambda tx, ty, m, n, k, x, ldx, y, ldy, out: _dgemm(
            ROW_MAJOR, tx, ty, m, n, k, 1.0, x.ctypes, ldx, y.ctypes, ldy, 0.0, out.ctypes, n)
    return lambda tx, ty, m, n, k, x, ldx, y, ldy, out: _sgemm(
        ROW_MAJOR, tx, ty, m, n, k, np.float32(1.0), x.ctypes, ldx, y.ctypes, ldy, np.float32(0.0),
        out.ctypes, n)


def dot(a, b):
    """``np.dot(a, b)``; in compiled code, products of float matrices and vectors run on NumPy's
    BLAS when it is ``AVAILABLE`` (a vector is a one-row or one-column matrix)."""
    return np.dot(a, b)


@overload(dot)
def _ov_dot(a, b):
    if not (AVAILABLE and isinstance(a, types.Array) and isinstance(b, types.Array)
            and a.dtype == b.dtype and a.dtype in (types.float32, types.float64)
            and a.ndim in (1, 2) and b.ndim in (1, 2) and a.ndim + b.ndim > 2):
        return lambda a, b: np.dot(a, b)
    if a.ndim == 2 and b.ndim == 2:
        return lambda a, b: gemm(a, b)
    if a.ndim == 2:
        return lambda a, b: gemm(a, np.ascontiguousarray(b).reshape((b.shape[0], 1))).reshape(a.shape[0])
    return lambda a, b: gemm(np.ascontiguousarray(a).reshape((1, a.shape[0])), b).reshape(b.shape[1])
