"""Rules for elementwise functions: one table row per function, registered under each of its names.

A function that is ``math.f``, ``np.f`` and perhaps a Python operator has one derivative, written
once below. ``M`` in a template stands for the module of the name being registered, so ``math.sin``'s
rule calls ``math.cos`` and ``np.sin``'s calls ``np.cos``. NumPy's functions and the operators
broadcast, so their cotangents are summed back to each operand's shape with ``srt.unbroadcast``
(compiled away when the shapes match); ``math`` takes scalars only. Every rule here is declared
elementwise: forward mode reads its templates with ``g`` as the tangent (see ``Rule.tangent``).
"""
import ast
import builtins
import math

import numpy as np

from .registry import defbinop, defnondiff, defrule

_SQRT_PI_INV2 = "1.1283791670955126"     # 2 / sqrt(pi), the scale of erf's derivative

# --- Functions of one argument ------------------------------------------------------------------------
# math name, NumPy names (the first names the rule, the others are the same function), derivative
# (g: the output's cotangent, y: the output) and, where that reads y, a form recomputing from x
# (chosen when nothing else needs y, which then is never computed: see transform/shape_only.py)
UNARY = (
    ("exp", ("exp",), "g * y", "g * M.exp(x)"),
    ("expm1", ("expm1",), "g * (y + 1.0)", "g * M.exp(x)"),
    ("log", ("log",), "g / x", None),
    ("log1p", ("log1p",), "g / (1.0 + x)", None),
    ("log2", ("log2",), "g / (x * 0.6931471805599453)", None),
    ("log10", ("log10",), "g / (x * 2.302585092994046)", None),
    ("sqrt", ("sqrt",), "g / (2.0 * y)", "g / (2.0 * M.sqrt(x))"),
    ("sin", ("sin",), "g * M.cos(x)", None),
    ("cos", ("cos",), "-g * M.sin(x)", None),
    ("tan", ("tan",), "g * (1.0 + y * y)", None),
    ("sinh", ("sinh",), "g * M.cosh(x)", None),
    ("cosh", ("cosh",), "g * M.sinh(x)", None),
    ("tanh", ("tanh",), "g * (1.0 - y * y)", "g * srt.tanh_slope(x)"),
    ("asin", ("arcsin",), "g / M.sqrt(1.0 - x * x)", None),
    ("acos", ("arccos",), "-g / M.sqrt(1.0 - x * x)", None),
    ("atan", ("arctan",), "g / (1.0 + x * x)", None),
    ("asinh", ("arcsinh",), "g / M.sqrt(x * x + 1.0)", None),
    ("erf", (), f"g * {_SQRT_PI_INV2} * M.exp(-x * x)", None),
    ("erfc", (), f"-g * {_SQRT_PI_INV2} * M.exp(-x * x)", None),
    ("fabs", ("fabs",), "g * srt.sign(x)", None),
    (None, ("abs", "absolute"), "g * srt.sign(x)", None),       # builtins.abs too (below)
    (None, ("square",), "g * 2.0 * x", None),
    (None, ("negative",), "-g", None),
)
# NumPy functions whose result keeps an integer argument's type (the others return floats): the
# stand-in for a result read only for its type and shape
_KEEP_TYPE = ("abs", "negative", "square")

for _math, _numpy, _slope, _again in UNARY:
    if _math is not None:
        defrule(f"math.{_math}", ("x",), objects=(getattr(math, _math),), elementwise=True,
                recompute={"x": _again.replace("M.", "math.")} if _again else None,
                x=_slope.replace("M.", "math."))
    if _numpy:          # (further NumPy names are aliases: np.absolute is np.abs)
        _objects = [getattr(np, n) for n in _numpy] + ([builtins.abs] if "abs" in _numpy else [])
        defrule(f"np.{_numpy[0]}", ("x",), objects=_objects, elementwise=True,
                like="x" if _numpy[0] in _KEEP_TYPE else "srt.float_like(x)",
                recompute={"x": _again.replace("M.", "np.")} if _again else None,
                x=_slope.replace("M.", "np."))

# --- Functions of two arguments ---------------------------------------------------------------------
# operator (and its rule's key), math name, NumPy names, d/da, d/db (None: constant in b)
BINARY = (
    (ast.Add, "add", None, ("add",), "g", "g"),
    (ast.Sub, "sub", None, ("subtract",), "g", "-g"),
    (ast.Mult, "mul", None, ("multiply",), "g * b", "g * a"),
    (ast.Div, "div", None, ("divide", "true_divide"), "g / b", "-g * y / b"),
    (ast.Pow, "pow", "pow", ("power",), "g * srt.pow_slope(a, b)", "g * y * srt.log_or_zero(a)"),
    (ast.Mod, "mod", None, (), "g", "-g * np.floor(a / b)"),
    (None, None, "atan2", ("arctan2",), "g * b / (a * a + b * b)", "-g * a / (a * a + b * b)"),
    (None, None, "hypot", ("hypot",), "g * a / y", "g * b / y"),
    (None, None, "copysign", ("copysign",), "g * srt.sign(a) * M.copysign(1.0, b)", None),
)


def _pair(da, db, module, broadcast):
    """The adjoint templates of one binary row for one module (NumPy and operators broadcast)."""
    out = {}
    for p, slope in (("a", da), ("b", db)):
        if slope is not None:
            slope = slope.replace("M.", f"{module}.")
            out[p] = f"srt.unbroadcast({slope}, like_{p})" if broadcast else slope
    return out


for _op, _key, _math, _numpy, _da, _db in BINARY:
    if _op is not None:
        defbinop(_op, _key, **_pair(_da, _db, "np", True))
    if _math is not None:
        defrule(f"math.{_math}", ("a", "b"), objects=(getattr(math, _math),), elementwise=True,
                **_pair(_da, _db, "math", False))
    if _numpy:
        defrule(f"np.{_numpy[0]}", ("a", "b"), objects=tuple(getattr(np, n) for n in _numpy),
                elementwise=True, **_pair(_da, _db, "np", True))
defbinop(ast.FloorDiv, "floordiv")          # piecewise constant: no adjoint templates at all

# Two-argument max/min (Python's builtins and NumPy's): ties send the whole cotangent to the first
# argument, as TensorFlow's Maximum/Minimum gradients do.
for _builtin, _numpy, _first, _second in (("max", ("maximum", "fmax"), "a >= b", "a < b"),
                                          ("min", ("minimum", "fmin"), "a <= b", "a > b")):
    _select = _pair(f"srt.select({_first}, g)", f"srt.select({_second}, g)", "np", True)
    defrule(f"{_builtin}2", ("a", "b"), emit=_builtin, elementwise=True, **_select)
    defrule(f"np.{_numpy[0]}", ("a", "b"), objects=tuple(getattr(np, n) for n in _numpy),
            elementwise=True, **_select)

_UB = "srt.unbroadcast"
defrule("np.where", ("c", "a", "b"), objects=(np.where,), elementwise=True,
        a=f"{_UB}(srt.select(c, g), like_a)", b=f"{_UB}(srt.select_not(c, g), like_b)")
# Inside [lo, hi] (bounds included) the cotangent passes to x, as in tf.clip_by_value.
defrule("np.clip", ("x", "lo", "hi"), objects=(np.clip,), emit="srt.clip", elementwise=True,
        x=f"{_UB}(srt.select((x >= lo) & (x <= hi), g), like_x)",
        lo=f"{_UB}(srt.select(x < lo, g), like_lo)", hi=f"{_UB}(srt.select(x > hi, g), like_hi)")

# --- Identities and float casts (a cast's tangent has the cast's precision) ---------------------------
defrule("float", ("x",), objects=(builtins.float,), emit="float", elementwise=True, x="g")
defrule("np.float64", ("x",), objects=(np.float64,), emit="srt.to_float64",
        tangents={"x": "srt.to_float64(t)"}, x="g")
defrule("np.float32", ("x",), objects=(np.float32,), emit="srt.to_float32",
        tangents={"x": "srt.to_float32(t)"}, x="g")
defrule("np.copy", ("x",), objects=(np.copy,), elementwise=True, x="g")
defrule("np.asarray", ("x",), objects=(np.asarray,), elementwise=True, x="g")

# --- Piecewise constant: no derivative (each is constant almost everywhere) --------------------------
for _name in ("sign", "floor", "ceil", "trunc", "rint", "round", "isnan", "isinf", "isfinite",
              "greater", "less", "equal", "not_equal", "greater_equal", "less_equal",
              "logical_and", "logical_or", "logical_not"):
    defnondiff(f"np.{_name}", objects=(getattr(np, _name),))
for _name in ("floor", "ceil", "trunc", "isnan", "isinf", "isfinite"):
    defnondiff(f"math.{_name}", objects=(getattr(math, _name),))
# casts to integers and booleans (NumPy's scalar types, called on arrays too)
for _name, _helper in (("int64", "to_int64"), ("int32", "to_int32"), ("bool_", "to_bool")):
    defnondiff(f"np.{_name}", objects=(getattr(np, _name),), emit=f"srt.{_helper}")
