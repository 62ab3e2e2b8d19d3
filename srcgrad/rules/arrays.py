"""Rules for NumPy's array constructors, sorting and the functions that return indices or shapes.

A constructor is linear in the values it is given (``np.full``'s fill value, ``np.linspace``'s end
points, ``np.arange``'s start and step); its size and shape carry no derivative. ``np.sort``
permutes, so its cotangent goes back through the permutation. Everything else here is constant
almost everywhere (indices, shapes, truth values), so it has no derivative.
"""
import numpy as np

from .registry import defnondiff, defrule

# --- Constructors, linear in their values ------------------------------------------------------------
# (srcgrad's front end takes no dtype arguments: a result is a float exactly when a value is one,
# except for full_like, which takes a's type; srt.float_gate gives zero through an integer result)
defrule("np.full", ("shape", "fill_value"), objects=(np.full,),
        tangents={"fill_value": "np.full(shape, t)"}, fill_value="srt.unbroadcast(g, like_fill_value)")
defrule("np.full_like", ("a", "fill_value"), objects=(np.full_like,),
        tangents={"fill_value": "np.full(np.shape(a), srt.float_gate(t, a))"},
        fill_value="srt.unbroadcast(srt.float_gate(g, a), like_fill_value)")
# a (1 - w) + b w with w_k = k / (num - 1)
defrule("np.linspace", ("start", "stop", "num"), objects=(np.linspace,), defaults={"num": 50},
        tangents={"start": "np.linspace(t, 0.0 * t, num)", "stop": "np.linspace(0.0 * t, t, num)"},
        start="srt.linspace_start_adjoint(g)", stop="srt.linspace_stop_adjoint(g)")
# start + k step; with one argument, ``start`` is bound to what NumPy reads as the stop (no derivative)
defrule("np.arange", ("start", "stop", "step"), objects=(np.arange,),
        defaults={"stop": None, "step": None},
        tangents={"start": "srt.arange_start_tangent(t, y, stop)", "step": "srt.ramp(t, y)"},
        start="srt.arange_start_adjoint(g, stop)", step="srt.ramp_dot(g)")

# --- Sorting: a permutation (constant almost everywhere), so the cotangent is permuted back ---------
defrule("np.sort", ("x", "axis"), objects=(np.sort,), emit="srt.sort", defaults={"axis": -1},
        tangents={"x": "srt.sort_tangent(t, x, axis)"}, x="srt.sort_adjoint(g, x, axis)")

# --- No derivative: shapes, fills with constants, indices, truth values -----------------------------
for _name in ("zeros", "ones", "empty", "zeros_like", "ones_like", "empty_like", "eye", "identity",
              "shape", "size", "argmax", "argmin", "argsort", "nonzero", "searchsorted",
              "count_nonzero", "any", "all"):
    defnondiff(f"np.{_name}", objects=(getattr(np, _name),))
defnondiff("np.ndim", objects=(np.ndim,), emit="srt.ndim")        # (Numba has no np.ndim)
