"""Rules for NumPy's elementwise functions (they act on scalars too, so one rule serves both)."""
import numpy as np

from .registry import defnondiff, defrule

# --- Unary ufuncs -----------------------------------------------------------------------------------
# Templates that read the output y have a form that recomputes from x in the same fused loop, used
# when nothing else needs y (then the forward call is skipped: see transform/shape_only.py).
_RECOMPUTE = {"exp": "g * np.exp(x)", "expm1": "g * np.exp(x)", "sqrt": "g / (2.0 * np.sqrt(x))",
              "tanh": "g * srt.tanh_slope(x)"}
for _name, _tmpl in {
    "exp": "g * y",
    "log": "g / x",
    "log1p": "g / (1.0 + x)",
    "expm1": "g * (y + 1.0)",
    "log2": "g / (x * 0.6931471805599453)",
    "log10": "g / (x * 2.302585092994046)",
    "sqrt": "g / (2.0 * y)",
    "square": "g * 2.0 * x",
    "abs": "g * srt.sign(x)",
    "absolute": "g * srt.sign(x)",
    "fabs": "g * srt.sign(x)",
    "negative": "-g",
    "tanh": "g * (1.0 - y * y)",
    "sin": "g * np.cos(x)",
    "cos": "-g * np.sin(x)",
    "tan": "g * (1.0 + y * y)",
    "sinh": "g * np.cosh(x)",
    "cosh": "g * np.sinh(x)",
    "arctan": "g / (1.0 + x * x)",
    "arcsin": "g / np.sqrt(1.0 - x * x)",
    "arccos": "-g / np.sqrt(1.0 - x * x)",
    "arcsinh": "g / np.sqrt(x * x + 1.0)",
}.items():
    # the stand-in for a result read only for its type and shape (abs, negative and square keep
    # an integer argument's type; the others return floats)
    like = "x" if _name in ("abs", "absolute", "negative", "square") else "srt.float_like(x)"
    again = {"x": _RECOMPUTE[_name]} if _name in _RECOMPUTE else None
    defrule(f"np.{_name}", ("x",), objects=(getattr(np, _name),), like=like, recompute=again,
            x=_tmpl)

# --- Binary ufuncs (operands broadcast, so cotangents are reduced back) -----------------------------
_UB = "srt.unbroadcast"
defrule("np.add", ("a", "b"), objects=(np.add,), a=f"{_UB}(g, like_a)", b=f"{_UB}(g, like_b)")
defrule("np.subtract", ("a", "b"), objects=(np.subtract,), a=f"{_UB}(g, like_a)", b=f"{_UB}(-g, like_b)")
defrule("np.multiply", ("a", "b"), objects=(np.multiply,), a=f"{_UB}(g * b, like_a)",
        b=f"{_UB}(g * a, like_b)")
defrule("np.divide", ("a", "b"), objects=(np.divide, np.true_divide), a=f"{_UB}(g / b, like_a)",
        b=f"{_UB}(-g * y / b, like_b)")
defrule("np.power", ("a", "b"), objects=(np.power,), a=f"{_UB}(g * b * a ** (b - 1), like_a)",
        b=f"{_UB}(g * y * srt.log_or_zero(a), like_b)")
# Ties go to the first argument, as TensorFlow's Maximum/Minimum gradients do.
defrule("np.maximum", ("a", "b"), objects=(np.maximum, np.fmax),
        a=f"{_UB}(srt.select(a >= b, g), like_a)", b=f"{_UB}(srt.select(a < b, g), like_b)")
defrule("np.minimum", ("a", "b"), objects=(np.minimum, np.fmin),
        a=f"{_UB}(srt.select(a <= b, g), like_a)", b=f"{_UB}(srt.select(a > b, g), like_b)")
defrule("np.where", ("c", "a", "b"), objects=(np.where,),
        a=f"{_UB}(srt.select(c, g), like_a)", b=f"{_UB}(srt.select_not(c, g), like_b)")
# Inside [lo, hi] (bounds included) the cotangent passes to x, as in tf.clip_by_value.
defrule("np.clip", ("x", "lo", "hi"), objects=(np.clip,), emit="srt.clip",
        x=f"{_UB}(srt.select((x >= lo) & (x <= hi), g), like_x)",
        lo=f"{_UB}(srt.select(x < lo, g), like_lo)", hi=f"{_UB}(srt.select(x > hi, g), like_hi)")
defrule("np.float64", ("x",), objects=(np.float64,), x="g")
defrule("np.float32", ("x",), objects=(np.float32,), x="g")
defrule("np.copy", ("x",), objects=(np.copy,), x="g")
defrule("np.asarray", ("x",), objects=(np.asarray,), x="g")

# --- Constructors and piecewise-constant functions: no derivative ------------------------------------
for _name in ("zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like",
              "arange", "linspace", "eye", "identity", "sign", "floor", "ceil", "trunc", "rint",
              "round", "argmax", "argmin", "argsort", "isnan", "isinf", "isfinite", "shape", "size",
              "ndim", "greater", "less", "equal", "not_equal", "greater_equal", "less_equal",
              "logical_and", "logical_or", "logical_not", "any", "all", "count_nonzero", "int64",
              "int32", "bool_", "empty_like", "nonzero", "searchsorted", "sort"):
    if hasattr(np, _name):
        defnondiff(f"np.{_name}", objects=(getattr(np, _name),))
