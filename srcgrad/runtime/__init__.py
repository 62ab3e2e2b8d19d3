"""Native runtime helpers called by srcgrad's generated code (and ``stop_gradient``).

Every helper is a plain NumPy function that also has a Numba ``@overload``, so the type-agnostic
generated code picks scalar or array code when Numba types the call, and works inside ``@njit``.
The most used ones are exported as disk-cached entry points to those overloads (``cached.py``).
"""
from .cotangents import seed, seed_at, select, sign, snapshot, zero
from .linalg import outer_adjoint_a, outer_adjoint_b, reshape_like
from .numpy_forms import (broadcast_like, clip, log_or_zero, mean, ndim, ravel, reshape, reverse_cumsum,
                      reduce_sum, select_not, truth)
from .ops import check_finite, stop_gradient
from .serial_twins import (serial_dot, serial_mean, serial_prod, serial_std, serial_sum, serial_var,
                       spread_mean_dense, spread_sum_dense)
from .vecmath import exp, expm1, log, log1p, tanh, tanh_slope
from .scatter import add_at, put, take_written
from .views import is_copy, refuse_view, view_adjoint
from .tangent import expand_like
from .reductions import amax, amin, extreme_adjoint, mean_adjoint, sum_adjoint
from .tape import accumulate, cast_like, extend_tape, new_exact_tape, new_tape, trip
from .pointwise import float_gate, pow_lower, pow_slope, to_bool, to_float32, to_float64, to_int32, to_int64
from .arrays import (arange_start_adjoint, arange_start_tangent, linspace_start_adjoint,
                     linspace_stop_adjoint, ramp, ramp_dot, sort, sort_adjoint, sort_tangent)
# the most used overloads, through disk-cached entry points (see cached.py)
from .cached import (check_float, dot, dot_adjoint_a, dot_adjoint_b, example_like, first_adjoint,
                     float_like, matmul, matmul_adjoint_a, matmul_adjoint_b, mean_like, ones_like,
                     spread_mean, spread_sum, sum_like,
                     unbroadcast, zeros_like)

# One flat namespace, as NumPy's is, so generated code reads ``srt.unbroadcast(g, x)``; by family:
__all__ = [
    # cotangents: start, reset, seed, mask and pass on adjoints (cotangents.py, cached.py)
    "zeros_like", "ones_like", "zero", "first_adjoint", "unbroadcast", "select", "select_not", "sign",
    "check_float", "snapshot", "seed", "seed_at", "float_like", "stop_gradient", "check_finite",
    # shapes and NumPy forms the normalised code uses (numpy_forms.py, linalg.py, tangent.py)
    "reshape_like", "reshape", "ravel", "mean", "clip", "log_or_zero", "reverse_cumsum",
    "reduce_sum", "broadcast_like", "truth", "ndim", "expand_like",
    # reductions and their adjoints (reductions.py, cached.py)
    "sum_adjoint", "mean_adjoint", "spread_sum", "spread_mean", "amax", "amin", "extreme_adjoint",
    "sum_like", "mean_like", "example_like",
    # products and their adjoints (cached.py, linalg.py)
    "dot", "matmul", "dot_adjoint_a", "dot_adjoint_b", "matmul_adjoint_a", "matmul_adjoint_b",
    "outer_adjoint_a", "outer_adjoint_b",
    # tapes of overwritten values (tape.py)
    "new_tape", "new_exact_tape", "cast_like", "accumulate", "extend_tape", "trip",
    # vector math (vecmath.py) and pointwise helpers (pointwise.py)
    "exp", "expm1", "log", "log1p", "tanh", "tanh_slope", "pow_slope", "pow_lower", "float_gate",
    "to_float64", "to_float32", "to_int64", "to_int32", "to_bool",
    # parallel mode's fixed-order twins (serial_twins.py)
    "serial_sum", "serial_prod", "serial_mean", "serial_var", "serial_std", "serial_dot",
    "spread_sum_dense", "spread_mean_dense",
    # writes, gathers and views (scatter.py, views.py)
    "add_at", "put", "take_written", "is_copy", "refuse_view", "view_adjoint",
    # sorting and ranges (arrays.py)
    "sort", "sort_adjoint", "sort_tangent", "linspace_start_adjoint", "linspace_stop_adjoint",
    "arange_start_adjoint", "arange_start_tangent", "ramp_dot", "ramp",
]
