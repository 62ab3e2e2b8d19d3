"""Rules for reductions. Numba lacks some axis forms (``np.max(a, axis=1)``, ``np.mean(a, axis=0)``),
so those are emitted as srcgrad runtime helpers that behave like NumPy."""
import builtins

import numpy as np

from .registry import defrule

defrule("np.sum", ("x", "axis"), objects=(np.sum, builtins.sum), defaults={"axis": None},
        x="srt.sum_adjoint(g, like_x, axis)")
defrule("np.mean", ("x", "axis"), objects=(np.mean,), emit="srt.mean", defaults={"axis": None},
        always_pass=("axis",), x="srt.mean_adjoint(g, like_x, axis)")
# Ties share the cotangent equally, as TensorFlow's reduce_max gradient does.
defrule("np.max", ("x", "axis"), objects=(np.max, np.amax), emit="srt.amax", defaults={"axis": None},
        always_pass=("axis",), x="srt.extreme_adjoint(g, x, y, axis)")
defrule("np.min", ("x", "axis"), objects=(np.min, np.amin), emit="srt.amin", defaults={"axis": None},
        always_pass=("axis",), x="srt.extreme_adjoint(g, x, y, axis)")
