"""Disk-cached entry points to the overloaded helpers that generated code calls most.

Why: Numba compiles an ``@overload`` implementation again inside every new function that calls it
(0.1-0.3 s each: together about a quarter of a new MLP gradient's compile). A plain
``@njit(cache=True)`` function that calls the overload is compiled once per signature on a machine
and then loaded from Numba's disk cache, and LLVM still inlines it into the caller (the scalar
recurrence's gradient, which calls ``unbroadcast`` on floats in its loop, runs at the same speed).
The helpers' behaviour is the overloads' (their modules have the Python reference versions).
"""
from numba import njit

from . import like as _like
from . import linalg as _linalg
from . import reductions as _reductions


@njit(cache=True)
def unbroadcast(g, x):
    """:func:`srcgrad.runtime.reductions.unbroadcast`."""
    return _reductions.unbroadcast(g, x)


@njit(cache=True)
def spread_sum(c, like):
    """:func:`srcgrad.runtime.reductions.spread_sum`."""
    return _reductions.spread_sum(c, like)


@njit(cache=True)
def spread_mean(c, like):
    """:func:`srcgrad.runtime.reductions.spread_mean`."""
    return _reductions.spread_mean(c, like)


@njit(cache=True)
def example_like(x):
    """:func:`srcgrad.runtime.like.example_like`."""
    return _like.example_like(x)


@njit(cache=True)
def matmul(a, b):
    """:func:`srcgrad.runtime.linalg.matmul`."""
    return _linalg.matmul(a, b)


@njit(cache=True)
def dot(a, b):
    """:func:`srcgrad.runtime.linalg.dot`."""
    return _linalg.dot(a, b)
