"""Native runtime helpers called by srcgrad's generated gradient code.

Every helper is a plain NumPy function that also has a Numba ``@overload``, so
the type-agnostic generated code runs both in Python and inside ``@njit``.
"""
from .adjoint import check_float, seed, ones_like, select, sign, snapshot, zero, zeros_like
from .linalg import dot_adjoint_a, dot_adjoint_b, outer_adjoint_a, outer_adjoint_b, reshape_like
from .reductions import amax, amin, extreme_adjoint, mean_adjoint, sum_adjoint, unbroadcast
from .tape import grow_tape, new_tape, trip

__all__ = [
    "zeros_like", "ones_like", "zero", "unbroadcast", "select", "sign", "check_float",
    "snapshot", "seed", "reshape_like",
    "sum_adjoint", "mean_adjoint", "amax", "amin", "extreme_adjoint",
    "dot_adjoint_a", "dot_adjoint_b", "outer_adjoint_a", "outer_adjoint_b",
    "new_tape", "grow_tape", "trip",
]
from .lowered import (clip, extend_tape, log_or_zero, mean, ravel, reshape,  # noqa: E402
                      reverse_cumsum, select_not, truth)
