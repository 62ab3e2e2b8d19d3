"""Rules for reductions. Numba lacks some axis forms (``np.max(a, axis=1)``, ``np.mean(a, axis=0)``),
so those are emitted as srcgrad runtime helpers that behave like NumPy."""
import builtins

import numpy as np

from .registry import defrule

# the tangent of a max/min: t at the extreme, averaged over ties (the weights of the reverse rule)
_EXTREME_TANGENT = "srt.reduce_sum(srt.extreme_adjoint(srt.ones_like(y), x, y, axis) * t, axis)"

defrule("np.sum", ("x", "axis"), objects=(np.sum, builtins.sum), defaults={"axis": None},
        tangents={"x": "srt.reduce_sum(t, axis)"}, like="srt.sum_like(x, axis)",
        x="srt.sum_adjoint(g, like_x, axis)")
defrule("np.mean", ("x", "axis"), objects=(np.mean,), emit="srt.mean", defaults={"axis": None},
        always_pass=("axis",), tangents={"x": "srt.mean(t, axis)"}, like="srt.mean_like(x, axis)",
        x="srt.mean_adjoint(g, like_x, axis)")
# Ties share the cotangent equally, as TensorFlow's reduce_max gradient does.
defrule("np.max", ("x", "axis"), objects=(np.max, np.amax), emit="srt.amax", defaults={"axis": None},
        always_pass=("axis",), tangents={"x": _EXTREME_TANGENT},
        x="srt.extreme_adjoint(g, x, y, axis)")
defrule("np.min", ("x", "axis"), objects=(np.min, np.amin), emit="srt.amin", defaults={"axis": None},
        always_pass=("axis",), tangents={"x": _EXTREME_TANGENT},
        x="srt.extreme_adjoint(g, x, y, axis)")
