"""Elementwise helpers that rules call where the plain formula would be wrong or would not compile.

- ``pow_slope(a, b)``: ``b * a**(b - 1)``, the slope of ``a**b`` in ``a``, and 0 where ``b == 0``:
  ``a**0`` is 1 everywhere, but the plain product is ``0 * 0**-1 = 0 * inf = nan`` at ``a = 0``
  (autograd issue 116). A Numba ufunc, so it broadcasts and fuses into the loop that reads it.
  Its own slope is ``b * pow_slope(a, pow_lower(b))``, finite at every order.
- ``float_gate(v, like)``: ``v`` when the result of ``np.full_like(like, ...)`` is a float, else
  zeros: an integer or boolean result is constant almost everywhere, so nothing flows through it.
- ``to_float64``, ``to_float32``, ``to_int64``, ``to_int32``, ``to_bool``: NumPy's scalar types
  called on arrays (``np.int64(x)``), which Numba compiles for scalars only.
"""
import numpy as np
from numba import vectorize
from numba.core import types
from numba.extending import overload

from .cotangents import as_float, is_array, is_scalar, unsupported


@vectorize(cache=True)
def pow_slope(a, b):
    """``b * a**(b - 1)``, 0 where ``b == 0`` (also at ``a = 0``, where the product is nan)."""
    if b == 0:
        return as_float(a, 0.0)
    return as_float(a, b * a ** (b - 1))


@vectorize(cache=True)
def pow_lower(b):
    """``b - 1``, except 1 where ``b == 0``: the exponent of ``pow_slope``'s own slope, which the
    factor ``b`` zeroes there anyway; so no order of derivative meets ``0**-1`` at ``a = 0``."""
    if b == 0:
        return b + 1
    return b - 1


# -- the result type of a constructor decides whether its fill value carries a derivative ----------
def float_gate(v, like):
    """``v`` if ``like`` (whose type a constructor's result takes) is a float, else zeros."""
    return v if np.issubdtype(np.asarray(like).dtype, np.inexact) else v * 0


@overload(float_gate)
def _ov_float_gate(v, like):
    kind = like.dtype if is_array(like) else types.unliteral(like)
    if isinstance(kind, (types.Float, types.Complex)):
        return lambda v, like: v
    return lambda v, like: v * 0


# -- NumPy's scalar types called on arrays ---------------------------------------------------------
def _cast(name, cls):
    def cast(x):
        return cls(x) if np.ndim(x) == 0 else np.asarray(x).astype(cls)
    cast.__name__ = cast.__qualname__ = name
    cast.__doc__ = f"``np.{cls.__name__}(x)`` for a scalar or an array (Numba's takes scalars only)."

    def ov(x):
        if is_array(x):
            return lambda x: x.astype(cls)
        if is_scalar(x):
            return lambda x: cls(x)
        raise unsupported(name, x)
    overload(cast)(ov)
    return cast


to_float64 = _cast("to_float64", np.float64)
to_float32 = _cast("to_float32", np.float32)
to_int64 = _cast("to_int64", np.int64)
to_int32 = _cast("to_int32", np.int32)
to_bool = _cast("to_bool", np.bool_)

__all__ = ["pow_slope", "float_gate", "to_float64", "to_float32", "to_int64", "to_int32", "to_bool"]
