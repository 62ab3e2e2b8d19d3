"""Native per-variable tapes for the reverse sweep.

Loops that overwrite a variable save its old values on a tape so the reverse
sweep can restore them.  Generated code uses this exact pattern::

    if _n_v == 0:
        _tape_v = srt.new_tape(v, hint)
    elif _n_v == len(_tape_v):
        _tape_v = srt.grow_tape(_tape_v)
    _tape_v[_n_v] = v
    _n_v += 1
    ...
    _n_v -= 1
    if _n_v > 0:
        v = _tape_v[_n_v - 1]

- new_tape: scalars go to a typed 1-D ndarray (bool -> np.bool_, Python int ->
  int64, float32 stays float32); arrays go to a list because they are saved by
  reference (the generated code snapshots before mutating in place).
- grow_tape: doubles the capacity, keeping the old entries first.
- trip: number of iterations of ``range(start, stop, step)`` (tape size hint).
"""
import numpy as np
from numba.core import types
from numba.extending import overload, register_jitable

from .adjoint import np_class, unsupported

_MIN_SCALAR_CAP = 16


def new_tape(v, cap):
    if isinstance(v, np.ndarray):
        return [v for _ in range(max(cap, 1))]
    if isinstance(v, (bool, np.bool_)):
        dt = np.bool_
    elif isinstance(v, int):
        dt = np.int64
    elif isinstance(v, float):
        dt = np.float64
    else:
        dt = np.asarray(v).dtype
    return np.empty(max(cap, _MIN_SCALAR_CAP), dt)


@overload(new_tape)
def _ov_new_tape(v, cap):
    v = types.unliteral(v)
    if isinstance(v, (types.Number, types.Boolean)):
        cls = np_class(v)

        def impl_scalar(v, cap):
            return np.empty(max(cap, _MIN_SCALAR_CAP), cls)
        return impl_scalar
    if isinstance(v, types.Array):
        def impl_array(v, cap):
            return [v for _ in range(max(cap, 1))]
        return impl_array
    raise unsupported("new_tape", v, cap)


def grow_tape(t):
    n = len(t)
    if isinstance(t, np.ndarray):
        new = np.empty(2 * n if n > 0 else _MIN_SCALAR_CAP, t.dtype)
        new[:n] = t
        return new
    for _ in range(n):
        t.append(t[0])
    return t


@overload(grow_tape)
def _ov_grow_tape(t):
    if isinstance(t, types.Array) and t.ndim == 1:
        def impl_array(t):
            n = len(t)
            new = np.empty(2 * n if n > 0 else _MIN_SCALAR_CAP, t.dtype)
            new[:n] = t
            return new
        return impl_array
    if isinstance(t, types.List):
        def impl_list(t):
            for _ in range(len(t)):
                t.append(t[0])
            return t
        return impl_list
    raise unsupported("grow_tape", t)


@register_jitable
def trip(start, stop, step):
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    if step < 0:
        return max(0, (start - stop - step - 1) // (-step))
    raise ValueError("range() arg 3 must not be zero")
