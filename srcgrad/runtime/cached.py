"""Disk-cached entry points to the overloaded helpers that generated code calls most.

Why: Numba compiles an ``@overload`` implementation again inside every new function that calls it
(0.1-0.3 s each for the array kernels, 20-50 ms even for one that returns its argument). A
:func:`~srcgrad.runtime.standalone.standalone` kernel that calls the overload is compiled once per
signature on a machine, loaded from Numba's disk cache after that, and called by symbol from
generated code, which therefore neither compiles nor re-optimizes it. Calls with scalars only are
still inlined (the scalar recurrence's gradient calls ``unbroadcast`` on floats in its loop), and so
are ``spread_sum``/``spread_mean``, whose broadcast views a loop reads fast only if LLVM sees their
zero strides, and the bookkeeping helpers at the end (an adjoint's first value, type checks, the
stand-ins for values read only for their shape), which are plain cached functions: loaded rather
than compiled, then inlined, since most of them return an argument or a number.
The helpers' behaviour is the overloads' (their modules have the Python reference versions).
"""
from numba import njit

from . import cotangents as _cotangents
from . import like as _like
from . import linalg as _linalg
from . import reductions as _reductions
from .standalone import standalone


@standalone
def unbroadcast(g, x):
    """:func:`srcgrad.runtime.reductions.unbroadcast`."""
    return _reductions.unbroadcast(g, x)


@njit(cache=True)     # inlined: LLVM must see the broadcast view's zero strides
def spread_sum(c, like):
    """:func:`srcgrad.runtime.reductions.spread_sum`."""
    return _reductions.spread_sum(c, like)


@njit(cache=True)     # inlined: LLVM must see the broadcast view's zero strides
def spread_mean(c, like):
    """:func:`srcgrad.runtime.reductions.spread_mean`."""
    return _reductions.spread_mean(c, like)


@standalone
def example_like(x):
    """:func:`srcgrad.runtime.like.example_like`."""
    return _like.example_like(x)


@standalone
def matmul(a, b):
    """:func:`srcgrad.runtime.linalg.matmul`."""
    return _linalg.matmul(a, b)


@standalone
def dot(a, b):
    """:func:`srcgrad.runtime.linalg.dot`."""
    return _linalg.dot(a, b)


@standalone
def dot_adjoint_a(g, a, b):
    """:func:`srcgrad.runtime.linalg.dot_adjoint_a`."""
    return _linalg.dot_adjoint_a(g, a, b)


@standalone
def dot_adjoint_b(g, a, b):
    """:func:`srcgrad.runtime.linalg.dot_adjoint_b`."""
    return _linalg.dot_adjoint_b(g, a, b)


@standalone
def matmul_adjoint_a(g, a, b):
    """:func:`srcgrad.runtime.linalg.matmul_adjoint_a`."""
    return _linalg.matmul_adjoint_a(g, a, b)


@standalone
def matmul_adjoint_b(g, a, b):
    """:func:`srcgrad.runtime.linalg.matmul_adjoint_b`."""
    return _linalg.matmul_adjoint_b(g, a, b)


# -- bookkeeping: plain cached functions, inlined into the caller ----------------------------------
@njit(cache=True)
def first_adjoint(value, like, fresh):
    """:func:`srcgrad.runtime.cotangents.first_adjoint` (``fresh`` a constant: a literal signature)."""
    return _cotangents.first_adjoint(value, like, fresh)


@njit(cache=True)
def check_float(x):
    """:func:`srcgrad.runtime.cotangents.check_float`."""
    return _cotangents.check_float(x)


@njit(cache=True)
def ones_like(x):
    """:func:`srcgrad.runtime.cotangents.ones_like`."""
    return _cotangents.ones_like(x)


@njit(cache=True)
def zeros_like(x):
    """:func:`srcgrad.runtime.cotangents.zeros_like`."""
    return _cotangents.zeros_like(x)


@njit(cache=True)
def float_like(x):
    """:func:`srcgrad.runtime.like.float_like`."""
    return _like.float_like(x)


@njit(cache=True)
def sum_like(x, axis=None, keepdims=False):
    """:func:`srcgrad.runtime.like.sum_like` (``keepdims`` a constant: a literal signature)."""
    return _like.sum_like(x, axis, keepdims)


@njit(cache=True)
def mean_like(x, axis=None, keepdims=False):
    """:func:`srcgrad.runtime.like.mean_like` (``keepdims`` a constant: a literal signature)."""
    return _like.mean_like(x, axis, keepdims)
