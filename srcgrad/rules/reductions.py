"""Rules for reductions. Numba lacks many of NumPy's forms (``np.max(a, axis=1)``, ``np.mean(a,
axis=0)``, a tuple of axes, ``keepdims``), so every reduction is emitted as a srcgrad runtime helper
that behaves like NumPy. Parameters follow NumPy's order, so positional arguments bind as NumPy binds
them; ``dtype=`` and ``out=`` are refused by the helpers. The adjoint helpers see from the
cotangent's shape whether the reduction kept its dims."""
import builtins

import numpy as np

from .registry import defrule

_REDUCTION = ("x", "axis", "dtype", "out", "keepdims")
# (keepdims defaults to None, not False: a constant False makes Numba compile the helper once per
# axis value, None only once)
_NONE = {"axis": None, "dtype": None, "out": None, "keepdims": None}


def _sum(axis, keepdims):
    return dict(emit="srt.reduce_sum", tangents={"x": f"srt.reduce_sum(t, {axis}, None, None, {keepdims})"},
                like=f"srt.sum_like(x, {axis}, {keepdims})",
                x=f"srt.sum_adjoint(g, like_x, {axis})")


defrule("np.sum", _REDUCTION, objects=(np.sum,), defaults=_NONE, **_sum("axis", "keepdims"))
defrule("sum", ("x",), objects=(builtins.sum,), **_sum("None", "None"))   # sum(x, start): refused
defrule("np.mean", _REDUCTION, objects=(np.mean,), emit="srt.mean", defaults=_NONE,
        always_pass=("axis",),
        tangents={"x": "srt.mean(t, axis, None, None, keepdims)"},
        like="srt.mean_like(x, axis, keepdims)", x="srt.mean_adjoint(g, like_x, axis)")

# Ties share the cotangent equally, as TensorFlow's reduce_max gradient does; the tangent is t at
# the extreme, averaged over ties (the weights of the reverse rule).
_WEIGHTS = "srt.extreme_adjoint(srt.ones_like(y), x, y, axis)"
for _name, _objects, _helper in (("max", (np.max, np.amax), "srt.amax"),
                                 ("min", (np.min, np.amin), "srt.amin")):
    defrule(f"np.{_name}", ("x", "axis", "out", "keepdims"), objects=_objects, emit=_helper,
            defaults={"axis": None, "out": None, "keepdims": None}, always_pass=("axis",),
            tangents={"x": f"srt.reduce_sum({_WEIGHTS} * t, axis, None, None, keepdims)"},
            x="srt.extreme_adjoint(g, x, y, axis)")
