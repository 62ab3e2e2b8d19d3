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

from .cotangents import float_class, is_array, is_scalar, np_class, py_float_dtype, unsupported
from . import axes
from . import numpy_forms as _numpy_forms
from .numpy_forms import _is_none


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


def sum_like(x, axis=None, keepdims=False):
    """The type and shape of ``np.sum(x, axis, keepdims=keepdims)``; the sum itself when ``axis`` is
    given or dims are kept."""
    return np.sum(x, axis=axis, keepdims=bool(keepdims))


def mean_like(x, axis=None, keepdims=False):
    """The type and shape of ``np.mean(x, axis, keepdims=keepdims)``; the mean itself when ``axis``
    is given or dims are kept."""
    return np.mean(x, axis=axis, keepdims=bool(keepdims))


def _reduction_like(mean):
    def ov(x, axis=None, keepdims=False):
        x = types.unliteral(x)
        if axes.keepdims_value("sum_like", keepdims) or not _is_none(axis):
            # computed: only full reductions are skipped
            reduce = _numpy_forms.mean if mean else _numpy_forms.reduce_sum
            return lambda x, axis=None, keepdims=False: reduce(x, axis, None, None, keepdims)
        if is_array(x):
            if mean:
                cls = float_class(x)
                return lambda x, axis=None, keepdims=False: cls(0)
            if isinstance(x.dtype, types.Float):
                cls = float_class(x)
                return lambda x, axis=None, keepdims=False: cls(0)
            # NumPy's integer sum type
            return lambda x, axis=None, keepdims=False: np.sum(np.empty(0, x.dtype))
        if is_scalar(x):
            if mean:
                return lambda x, axis=None, keepdims=False: x * 1.0
            return lambda x, axis=None, keepdims=False: x
        raise unsupported("sum_like", x)
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
