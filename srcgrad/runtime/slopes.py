"""Elementwise derivatives computed from the input alone, as ufuncs that fuse into one loop.

A rule such as tanh's ``g * (1 - y*y)`` reads the forward result ``y``, which is cheapest when ``y``
exists anyway. When nothing else needs ``y`` (``grad`` of ``sum(tanh(x))``), computing it costs a
whole array; the rule's *recompute* form ``g * srt.tanh_slope(x)`` then does the work in one fused
loop with one new array, as a hand-written gradient does (see :mod:`srcgrad.transform.shape_only`).
"""
import math

from numba import vectorize
from numba.extending import overload

from .adjoint import float_class


def as_float(like, value):
    """``value`` as the float type of ``like`` (float64 for integers), so float32 stays float32."""
    return value


@overload(as_float)
def _as_float(like, value):
    cls = float_class(like)
    return lambda like, value: cls(value)


@vectorize(cache=True)
def tanh_slope(x):
    """``1 - tanh(x)**2``, the derivative of tanh."""
    t = math.tanh(x)
    return as_float(x, 1.0 - t * t)
