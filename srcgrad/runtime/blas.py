"""Matrix products on srcgrad's own copy of NumPy's OpenBLAS, with threads chosen per product.

Why a copy: Numba's ``@``/``np.dot`` call SciPy's OpenBLAS, and NumPy has its own; each has a pool of
threads that split every product of more than a few thousand multiply-adds and then spin for a while.
On a machine with other work, a product waits for whichever of its threads was descheduled: beside
two competing processes on two cores, the MLP gradient (784-128-10, batch 100) took 0.55 ms at the
median but 9–24 ms at the 90th percentile and up to 60 ms, NumPy's own alike, where one thread per
product gave 0.98 / 9 / 13 ms, like JAX (1.08 / 5.7 / 17 ms). Changing NumPy's thread count would
change the user's program, so srcgrad loads the file NumPy loaded a second time
(``compat.private_openblas``: from an in-memory file, so it is another library to the loader) and
sets that copy's threads for each product. (Like NumPy's, the copy starts its pool when loaded, at
``import srcgrad``: one more thread, asleep until a product above ``min_work`` uses it.)

How many: one below ``min_work`` multiply-adds (default 2**28, a 645-cube product, about 11 ms on one
core here), the limit above it. Measured here, quiet and beside the load (median / worst ms, one
thread against two): 256³ 0.65/4.7 against 0.36/2.5 quiet and 0.70/13 against 0.70/32 busy; 512³
5.8/6.0 against 2.8/3.2 and 13.8/27 against 19/36 busy; 1024³ 43/46 against 23/24 and 105/143 against
80/86 busy. A quiet machine gains up to 2× from a second thread on mid-sized products, a busy one
loses more: :func:`blas_threads` changes the balance (``blas_threads(2, min_work=0)``).

How: the copy's CBLAS ``dgemm``/``sgemm`` and thread functions are registered under srcgrad's own
symbol names with ``llvmlite.binding.add_symbol`` at import (names nothing else uses, so no other
code changes), so compiled code that calls them is disk-cacheable; the settings live in memory that
compiled code reads through one more symbol. Where there is no such copy (NumPy built with another
BLAS, no ``memfd_create``, a NumPy srcgrad was not verified on, ``SRCGRAD_NUMBA_PATCHES=0``),
``AVAILABLE`` is False and the products stay Numba's; ``SRCGRAD_NUMPY_BLAS=0`` chooses that too.
The choice is part of srcgrad's source digest (``codegen/cache.py``), so cached kernels never call a
symbol this process did not bind.
"""
import ctypes
import os

import llvmlite.binding as ll
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

from .. import compat

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
_INT = types.int64          # the exports' integers: OpenBLAS built with INTERFACE64

_GEMM_SIG = types.void(types.int32, types.int32, types.int32, _INT, _INT, _INT, types.float64,
                       types.voidptr, _INT, types.voidptr, _INT, types.float64, types.voidptr, _INT)
_SGEMM_SIG = types.void(types.int32, types.int32, types.int32, _INT, _INT, _INT, types.float32,
                        types.voidptr, _INT, types.voidptr, _INT, types.float32, types.voidptr, _INT)


MIN_WORK = 1 << 28          # multiply-adds from which a product uses more than one thread
_SETTINGS = (ctypes.c_int64 * 2)(1, MIN_WORK)       # [threads, min_work], read by compiled code


def _bind():
    """Register the private copy's functions and the settings; the name of what was found, or ''."""
    if os.environ.get("SRCGRAD_NUMPY_BLAS") == "0":
        return ""
    found = compat.private_openblas()
    if found is None:
        return ""
    name, addresses = found
    for key, address in addresses.items():
        ll.add_symbol(f"srcgrad.blas.{key}", address)
    ll.add_symbol("srcgrad.blas.settings", ctypes.addressof(_SETTINGS))
    # the copy read OPENBLAS_NUM_THREADS / OMP_NUM_THREADS and the CPUs like NumPy's: its limit
    _SETTINGS[0] = ctypes.CFUNCTYPE(ctypes.c_int)(addresses["get_threads"])()
    return name


KIND = _bind()
AVAILABLE = bool(KIND)
_dgemm = types.ExternalFunction("srcgrad.blas.dgemm", _GEMM_SIG)
_sgemm = types.ExternalFunction("srcgrad.blas.sgemm", _SGEMM_SIG)
_get_threads = types.ExternalFunction("srcgrad.blas.get_threads", types.intc())
_set_threads = types.ExternalFunction("srcgrad.blas.set_threads", types.void(types.intc))


def blas_threads(threads=None, min_work=None):
    """Set how many threads srcgrad's matrix products may use (``threads``) and from how many
    multiply-adds a product uses more than one (``min_work``); returns the settings before the call
    as ``(threads, min_work)``. Only srcgrad's own copy of the BLAS changes, never NumPy's.

    The default uses one thread below 2**28 multiply-adds, which keeps products steady on a machine
    that runs other work; on a quiet machine ``blas_threads(min_work=0)`` makes mid-sized products
    up to twice as fast (see this module's docstring for what was measured)."""
    before = (int(_SETTINGS[0]), int(_SETTINGS[1]))
    if threads is not None:
        if int(threads) < 1:
            raise ValueError("blas_threads: threads must be at least 1")
        _SETTINGS[0] = int(threads)
    if min_work is not None:
        if int(min_work) < 0:
            raise ValueError("blas_threads: min_work must be at least 0")
        _SETTINGS[1] = int(min_work)
    return before


@intrinsic
def _setting(typingctx, index):
    """``_SETTINGS[index]``, read in compiled code through the symbol ``srcgrad.blas.settings``."""
    def codegen(context, builder, signature, args):
        slots = builder.module.globals.get("srcgrad.blas.settings")
        if slots is None:
            slots = ir.GlobalVariable(builder.module, ir.ArrayType(ir.IntType(64), 2),
                                      "srcgrad.blas.settings")
        return builder.load(builder.gep(slots, [ir.Constant(ir.IntType(32), 0), args[0]]))
    return types.int64(types.intp), codegen


@njit(cache=True)
def _use_threads(work):
    """Give the copy the thread count for a product of ``work`` multiply-adds."""
    threads = _setting(0) if work >= _setting(1) else 1
    if _get_threads() != threads:
        _set_threads(threads)


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
    """``a @ b`` for 2-D float64 or float32 arrays of one dtype, by the private BLAS (``AVAILABLE``)."""
    m, k, n = a.shape[0], a.shape[1], b.shape[1]
    if b.shape[0] != k:
        raise ValueError("matrix product: the operands' inner dimensions differ")
    if m == 0 or n == 0 or k == 0:
        return np.zeros((m, n), a.dtype)
    out = np.empty((m, n), a.dtype)
    x, tx, ldx = _operand(a)
    y, ty, ldy = _operand(b)
    _use_threads(m * n * k)
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
    """``np.dot(a, b)``; in compiled code, products of float matrices and vectors run on the
    private BLAS when it is ``AVAILABLE`` (a vector is a one-row or one-column matrix)."""
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
