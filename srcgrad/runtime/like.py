"""Stand-ins for values a gradient reads only for their type and shape.

``grad(f)`` does not return ``f``'s value, so the last steps of ``f`` (the ``sum`` of a loss, the loss
of each example, often the activation before it) are needed only for the type and shape their
adjoints take. :mod:`srcgrad.transform.shape_only` replaces such a call by one of these helpers: each
returns a value of exactly the type and shape the call would return (contents meaningless), at the
cost of at most one small allocation, so the work of the call (an ``exp`` per element) is skipped.
Rules name their stand-in with ``like=`` (see :mod:`srcgrad.rules.registry`).
"""
import numpy as np
from numba.core import types
from numba.extending import overload

from .adjoint import float_class, is_array, is_scalar, np_class, py_float_dtype, unsupported
from .lowered import _is_none


def float_like(x):
    """Shaped like an elementwise function of ``x`` with a float result (float64 for integers):
    ``x`` itself when it is a float array, since only its type and shape will be read."""
    if isinstance(x, np.ndarray):
        return x if np.issubdtype(x.dtype, np.floating) else np.empty(x.shape, py_float_dtype(x))
    return py_float_dtype(x).type(0)


@overload(float_like)
def _ov_float_like(x):
    x = types.unliteral(x)
    cls = float_class(x)
    if is_array(x) and isinstance(x.dtype, types.Float):
        return lambda x: x
    if is_array(x):
        return lambda x: np.empty(x.shape, cls)
    if is_scalar(x):
        return lambda x: cls(0)
    raise unsupported("float_like", x)


def sum_like(x, axis=None):
    """The type and shape of ``np.sum(x, axis)``; the sum itself when ``axis`` is given."""
    return np.sum(x, axis=axis)


def mean_like(x, axis=None):
    """The type and shape of ``np.mean(x, axis)``; the mean itself when ``axis`` is given."""
    return np.mean(x, axis=axis)


def _reduction_like(mean):
    def ov(x, axis=None):
        x = types.unliteral(x)
        if _is_none(axis) and is_array(x):
            if mean:
                cls = float_class(x)
                return lambda x, axis=None: cls(0)
            if isinstance(x.dtype, types.Float):
                cls = float_class(x)
                return lambda x, axis=None: cls(0)
            return lambda x, axis=None: np.sum(np.empty(0, x.dtype))     # NumPy's integer sum type
        if _is_none(axis) and is_scalar(x):
            if mean:
                return lambda x, axis=None: x * 1.0
            return lambda x, axis=None: x
        if mean:    # a reduction along an axis is computed: only full reductions are skipped
            return lambda x, axis=None: np.sum(x, axis=axis) / x.shape[axis]
        return lambda x, axis=None: np.sum(x, axis=axis)
    return ov


overload(sum_like)(_reduction_like(False))
overload(mean_like)(_reduction_like(True))


def example_like(x):
    """The type and shape of a Keras loss of predictions ``x``: one value per row over the last
    axis (an array of ``x.shape[:-1]``, a number for a 1-D ``x``)."""
    x = np.asarray(x)
    return x.dtype.type(0) if x.ndim == 1 else np.empty(x.shape[:-1], x.dtype)


@overload(example_like)
def _ov_example_like(x):
    if not is_array(x):
        raise unsupported("example_like", x)
    cls = np_class(x.dtype)
    if x.ndim == 1:
        return lambda x: cls(0)
    return lambda x: np.empty(x.shape[:-1], cls)
