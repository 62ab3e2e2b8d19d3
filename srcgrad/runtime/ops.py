"""Functions with a special meaning for differentiation, usable everywhere.

``stop_gradient(x)`` is the identity on values with a zero derivative (``tf.stop_gradient``). It
works on NumPy values from Python, inside functions srcgrad differentiates (its rule says it has no
derivative), and inside a user's ``@njit`` code.

``check_finite`` is what ``debug_nans=True`` code calls after each assignment (see
:mod:`srcgrad.codegen.debug`).
"""
import numpy as np
from numba.core import types
from numba.extending import overload

from ..errors import NonFiniteError


def stop_gradient(x):
    """``x`` itself, treated as a constant by differentiation."""
    return x


@overload(stop_gradient)
def _stop_gradient(x):
    return lambda x: x


def check_finite(value, where, what):
    """Raise :class:`srcgrad.NonFiniteError` if ``value`` (a float or float array) holds a nan or an
    inf: ``what`` (value, gradient or tangent) of the user line ``where``. Other types pass."""
    if isinstance(value, (float, np.floating, np.ndarray)) and np.asarray(value).dtype.kind == "f":
        if not np.all(np.isfinite(value)):
            raise NonFiniteError(_non_finite(where, what))


def _non_finite(where, what):
    return f"debug_nans: a {what} became nan or inf at {where}"


@overload(check_finite, prefer_literal=True)
def _ov_check_finite(value, where, what):
    message = _non_finite(getattr(where, "literal_value", "?"), getattr(what, "literal_value", "?"))
    value = types.unliteral(value)
    if isinstance(value, types.Float):
        def impl_scalar(value, where, what):
            if not np.isfinite(value):
                raise NonFiniteError(message)
        return impl_scalar
    if isinstance(value, types.Array) and isinstance(value.dtype, types.Float):
        def impl_array(value, where, what):
            if not np.all(np.isfinite(value)):
                raise NonFiniteError(message)
        return impl_array
    return lambda value, where, what: None
