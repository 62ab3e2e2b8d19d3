"""Helpers that generated code calls instead of NumPy's under ``parallel=True``.

Numba's parallel mode turns each array expression of the generated function into a multi-threaded
loop, which gives the same bits at every thread count, because each element is computed alone. It
also swaps NumPy reductions (``np.sum``, ``np.dot``, ``np.mean``, ...) for parallel versions whose
partial sums depend on the thread count. Generated code calls these ``serial_*`` twins instead:
an ordinary call, which the parallel pass leaves alone, so a gradient has the same bits at one
thread or many (and the serial build's bits).

The cotangent of a full sum is a broadcast view in serial code (no memory). Inside a parallel loop
a stride-0 operand stops LLVM from vectorizing, 5× slower than serial code on two cores; the dense
twins here build it from ``np.ones``, which the parallel pass fuses into the loop that reads it.
"""
import numpy as np
from numba.core import types
from numba.extending import overload

from .cotangents import as_float, float_class, float_type, is_scalar, unsupported
from .reductions import spread_mean, spread_sum

# NumPy functions whose parallel versions reassociate; generated code names their serial twins
ORDER_SENSITIVE = ("sum", "prod", "mean", "var", "std", "dot")


def serial_sum(a, axis=None):
    return np.sum(a, axis)


def serial_prod(a, axis=None):
    return np.prod(a, axis)


def serial_mean(a, axis=None):
    return np.mean(a, axis)


def serial_var(a):
    return np.var(a)


def serial_std(a):
    return np.std(a)


def serial_dot(a, b):
    return np.dot(a, b)


def _axis_overload(reduce):
    """The overload of a twin of ``reduce(a[, axis])``: NumPy's own, in an ordinary call."""
    def ov(a, axis=None):
        if axis is None or isinstance(axis, (types.NoneType, types.Omitted)):
            return lambda a, axis=None: reduce(a)
        return lambda a, axis=None: reduce(a, axis)
    return ov


for _twin, _reduce in ((serial_sum, np.sum), (serial_prod, np.prod), (serial_mean, np.mean)):
    overload(_twin)(_axis_overload(_reduce))


@overload(serial_var)
def _ov_var(a):
    return lambda a: np.var(a)


@overload(serial_std)
def _ov_std(a):
    return lambda a: np.std(a)


@overload(serial_dot)
def _ov_dot(a, b):
    return lambda a, b: np.dot(a, b)


def spread_sum_dense(c, like):
    """:func:`~srcgrad.runtime.reductions.spread_sum` as a new array (see the module's text)."""
    return np.array(spread_sum(c, like))


def spread_mean_dense(c, like):
    return np.array(spread_mean(c, like))


def _dense_overload(mean):
    def ov(c, like):
        c, like = types.unliteral(c), types.unliteral(like)
        if not is_scalar(c):
            raise unsupported("spread_mean" if mean else "spread_sum", c, like)
        if is_scalar(like):
            cls = float_class(like)
            return lambda c, like: cls(c)
        # Written without a call where the types allow: a conversion call (as_float) in the inlined
        # body keeps the parallel pass from dropping the np.ones array after fusing its loop, which
        # then costs a write and a read of the whole array (2.3× on relu's gradient at n = 1e6).
        target = float_type(like)
        if mean and target == types.float64:
            return lambda c, like: np.ones(like.shape, like.dtype) * (c / max(like.size, 1))
        if mean:
            return lambda c, like: np.ones(like.shape, like.dtype) * as_float(like, c / max(like.size, 1))
        if c == target:
            return lambda c, like: np.ones(like.shape, like.dtype) * c
        return lambda c, like: np.ones(like.shape, like.dtype) * as_float(like, c)
    return ov


# inlined into the generated function's IR, so that the parallel pass sees (and fuses) np.ones
overload(spread_sum_dense, inline="always")(_dense_overload(False))
overload(spread_mean_dense, inline="always")(_dense_overload(True))
