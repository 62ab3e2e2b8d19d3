"""Native per-variable tapes for the reverse sweep.

Loops that overwrite a variable save its old values on a tape so the reverse
sweep can restore them.  Generated code uses this exact pattern::

    if _top_v == 0:
        _tape_v = srt.new_tape(v, hint)
    elif _top_v == len(_tape_v):
        _tape_v = srt.extend_tape(_tape_v, _top_v + hint)
    _tape_v[_top_v] = v
    _top_v += 1
    ...
    _top_v -= 1
    if _top_v > 0:
        v = srt.cast_like(_tape_v[_top_v - 1], v)

- new_tape: a number goes to a float64 (complex: complex128) array, whatever its own type, because
  a variable can change type between its definitions (``p = 1`` then ``p = p * x[i]``): the tape is
  made at the first push, which sees only the first type, and an int64 tape would truncate every
  later float silently. ``cast_like`` gives the variable its own type back on the way out, exactly
  (integers below 2**53, bools, float32). Arrays go to a list, saved by reference (the generated
  code snapshots an array before writing into it).
- new_exact_tape: a tape of the value's own type, for the generated flags and counters, which
  never change type (a branch flag costs one byte per push, not eight).
- extend_tape: room for at least ``needed`` entries (at least double), old entries first; always a
  new tape.
- accumulate: ``target + value`` for adjoints of tapes of whole arrays (a list's ``+=`` would
  concatenate): entry by entry, in place.
- trip: number of iterations of ``range(start, stop, step)`` (tape size hint).
"""
import numpy as np
from numba.core import types
from numba.extending import overload, register_jitable

from .cotangents import np_class, unsupported

_MIN_SCALAR_CAP = 16


def new_tape(v, cap):
    if isinstance(v, np.ndarray):
        return [v for _ in range(max(cap, 1))]
    dt = np.complex128 if np.iscomplexobj(v) else np.float64
    return np.empty(max(cap, _MIN_SCALAR_CAP), dt)


def new_exact_tape(v, cap):
    if isinstance(v, (bool, np.bool_)):
        dt = np.bool_
    elif isinstance(v, int):
        dt = np.int64
    else:
        dt = np.asarray(v).dtype
    return np.empty(max(cap, _MIN_SCALAR_CAP), dt)


def _tape_overload(name, joined):
    def ov(v, cap):
        v = types.unliteral(v)
        if isinstance(v, (types.Number, types.Boolean)):
            if not joined:
                cls = np_class(v)
            else:
                cls = np.complex128 if isinstance(v, types.Complex) else np.float64

            def impl_scalar(v, cap):
                return np.empty(max(cap, _MIN_SCALAR_CAP), cls)
            return impl_scalar
        if isinstance(v, types.Array) and v.ndim > 0:
            def impl_any_layout(v, cap):
                # any layout (``v[::1]`` is v, typed 'A'): a variable that is a fresh array at one
                # definition and a view (h = h[::-1]) at another goes on the same tape
                return [v[::1] for _ in range(max(cap, 1))]
            return impl_any_layout
        if isinstance(v, (types.Array, types.List)):
            def impl_array(v, cap):      # (a list: a tape of tapes, in generated code
                return [v for _ in range(max(cap, 1))]      # differentiated twice)
            return impl_array
        raise unsupported(name, v, cap)
    return ov


overload(new_tape)(_tape_overload("new_tape", joined=True))
overload(new_exact_tape)(_tape_overload("new_exact_tape", joined=False))


def cast_like(value, like):
    """``value`` (read from a tape) in the type of ``like`` (the variable it is restored to)."""
    if isinstance(like, np.ndarray) or isinstance(value, np.ndarray):
        return value
    return type(like)(value) if isinstance(like, (bool, int, float, complex)) else \
        np.asarray(like).dtype.type(value)


@overload(cast_like)
def _ov_cast_like(value, like):
    value, like = types.unliteral(value), types.unliteral(like)
    if isinstance(like, (types.Number, types.Boolean)) and isinstance(value, (types.Number,
                                                                              types.Boolean)):
        cls = np_class(like)
        return lambda value, like: cls(value)
    return lambda value, like: value


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
    return tape + [tape[0]] * (target - len(tape))


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
            # a new list (not the old one grown in place), so that generated code, when it is
            # differentiated again, reads as what it does
            target = max(needed, 2 * len(tape))
            out = [tape[0] for _ in range(target)]
            for k in range(len(tape)):
                out[k] = tape[k]
            return out
        return impl_list
    raise unsupported("extend_tape", tape, needed)


@register_jitable
def trip(start, stop, step):
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    if step < 0:
        return max(0, (start - stop - step - 1) // (-step))
    raise ValueError("range() arg 3 must not be zero")


def accumulate(target, value):
    """``target += value`` entry by entry when both are lists of arrays (the adjoints of a tape of
    whole arrays); ``target + value`` otherwise. Returns the sum."""
    if isinstance(target, list):
        for k in range(min(len(target), len(value))):
            target[k] = target[k] + value[k]
        return target
    return target + value


@overload(accumulate)
def _ov_accumulate(target, value):
    if isinstance(target, types.List):
        def impl_list(target, value):
            for k in range(min(len(target), len(value))):
                target[k] += value[k]
            return target
        return impl_list
    return lambda target, value: target + value
