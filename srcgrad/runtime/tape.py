"""Native per-variable tapes for the reverse sweep.

Loops that overwrite a variable save its old values on a tape so the reverse
sweep can restore them.  Generated code uses this exact pattern::

    if _n_v == 0:
        _tape_v = srt.new_tape(v, hint)
    elif _n_v == len(_tape_v):
        _tape_v = srt.extend_tape(_tape_v, _n_v + hint)
    _tape_v[_n_v] = v
    _n_v += 1
    ...
    _n_v -= 1
    if _n_v > 0:
        v = _tape_v[_n_v - 1]

- new_tape: scalars go to a typed 1-D ndarray (bool -> np.bool_, Python int ->
  int64, float32 stays float32); arrays go to a list because they are saved by
  reference (the generated code snapshots before mutating in place).
- extend_tape: room for at least ``needed`` entries (at least double), old entries first.
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


def extend_tape(tape, needed):
    """A tape with room for at least ``needed`` entries (and at least double), old entries first.

    Sizing from the remaining trip count means a loop that starts pushing onto a tape first made
    outside it reallocates once, not log(n) times.
    """
    if isinstance(tape, np.ndarray):
        out = np.empty(max(needed, 2 * len(tape)), tape.dtype)
        out[:len(tape)] = tape
        return out
    target = max(needed, 2 * len(tape))
    while len(tape) < target:
        tape.append(tape[0])
    return tape


@overload(extend_tape)
def _ov_extend_tape(tape, needed):
    if isinstance(tape, types.Array) and tape.ndim == 1:
        def impl_array(tape, needed):
            out = np.empty(max(needed, 2 * len(tape)), tape.dtype)
            out[:len(tape)] = tape
            return out
        return impl_array
    if isinstance(tape, types.List):
        def impl_list(tape, needed):
            target = max(needed, 2 * len(tape))
            first = tape[0]
            while len(tape) < target:
                tape.append(first)
            return tape
        return impl_list
    raise unsupported("extend_tape", tape, needed)


@register_jitable
def trip(start, stop, step):
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    if step < 0:
        return max(0, (start - stop - step - 1) // (-step))
    raise ValueError("range() arg 3 must not be zero")
