"""Rules for Python operators, builtins and the ``math`` module.

Operators are shared by scalars and arrays, so their rules reduce a broadcast cotangent back to each
operand's shape with ``srt.unbroadcast`` (the identity, compiled away, when shapes already match).
"""
import ast
import builtins
import math

from ..runtime.ops import stop_gradient
from .registry import defbinop, defnondiff, defrule, defunaryop

# --- Binary operators -------------------------------------------------------------------------------
defbinop(ast.Add, "add", a="srt.unbroadcast(g, like_a)", b="srt.unbroadcast(g, like_b)")
defbinop(ast.Sub, "sub", a="srt.unbroadcast(g, like_a)", b="srt.unbroadcast(-g, like_b)")
defbinop(ast.Mult, "mul", a="srt.unbroadcast(g * b, like_a)", b="srt.unbroadcast(g * a, like_b)")
defbinop(ast.Div, "div", a="srt.unbroadcast(g / b, like_a)", b="srt.unbroadcast(-g * y / b, like_b)")
defbinop(ast.Pow, "pow", a="srt.unbroadcast(g * b * a ** (b - 1), like_a)",
         b="srt.unbroadcast(g * y * srt.log_or_zero(a), like_b)")
defbinop(ast.Mod, "mod", a="srt.unbroadcast(g, like_a)", b="srt.unbroadcast(-g * np.floor(a / b), like_b)")
defbinop(ast.MatMult, "matmul", tangents={"a": "t @ b", "b": "a @ t"}, a="srt.dot_adjoint_a(g, like_a, b)", b="srt.dot_adjoint_b(g, a, like_b)")
defbinop(ast.FloorDiv, "floordiv")          # piecewise constant: no adjoint templates at all

# --- Unary operators --------------------------------------------------------------------------------
defunaryop(ast.USub, "neg", a="-g")
defunaryop(ast.UAdd, "pos", a="g")

# --- Builtins ---------------------------------------------------------------------------------------
defrule("abs", ("x",), objects=(builtins.abs,), emit="np.abs", x="g * srt.sign(x)")
defrule("float", ("x",), objects=(builtins.float,), emit="float", x="g")
# Two-argument min/max; ties send the whole cotangent to the first argument (TensorFlow's choice).
defrule("max2", ("a", "b"), emit="max",
        a="srt.unbroadcast(srt.select(a >= b, g), like_a)", b="srt.unbroadcast(srt.select(a < b, g), like_b)")
defrule("min2", ("a", "b"), emit="min",
        a="srt.unbroadcast(srt.select(a <= b, g), like_a)", b="srt.unbroadcast(srt.select(a > b, g), like_b)")
defnondiff("len", objects=(builtins.len,))
defnondiff("int", objects=(builtins.int,))
defnondiff("bool", objects=(builtins.bool,))
defnondiff("round", objects=(builtins.round,))
defnondiff("range", objects=(builtins.range,))

# --- The math module --------------------------------------------------------------------------------
_SQRT_PI_INV2 = "1.1283791670955126"     # 2 / sqrt(pi), the scale of erf's derivative
for _name, _tmpl in {
    "exp": "g * y",
    "log": "g / x",
    "log1p": "g / (1.0 + x)",
    "expm1": "g * (y + 1.0)",
    "sqrt": "g / (2.0 * y)",
    "sin": "g * math.cos(x)",
    "cos": "-g * math.sin(x)",
    "tan": "g * (1.0 + y * y)",
    "tanh": "g * (1.0 - y * y)",
    "sinh": "g * math.cosh(x)",
    "cosh": "g * math.sinh(x)",
    "atan": "g / (1.0 + x * x)",
    "asin": "g / math.sqrt(1.0 - x * x)",
    "acos": "-g / math.sqrt(1.0 - x * x)",
    "asinh": "g / math.sqrt(x * x + 1.0)",
    "erf": f"g * {_SQRT_PI_INV2} * math.exp(-x * x)",
    "erfc": f"-g * {_SQRT_PI_INV2} * math.exp(-x * x)",
    "fabs": "g * srt.sign(x)",
    "log2": "g / (x * 0.6931471805599453)",
    "log10": "g / (x * 2.302585092994046)",
}.items():
    defrule(f"math.{_name}", ("x",), objects=(getattr(math, _name),), x=_tmpl)

defrule("math.pow", ("a", "b"), objects=(math.pow,),
        a="g * b * math.pow(a, b - 1.0)", b="g * y * srt.log_or_zero(a)")
defrule("math.atan2", ("a", "b"), objects=(math.atan2,),
        a="g * b / (a * a + b * b)", b="-g * a / (a * a + b * b)")
defrule("math.hypot", ("a", "b"), objects=(math.hypot,), a="g * a / y", b="g * b / y")
for _name in ("floor", "ceil", "trunc", "isnan", "isinf", "isfinite", "copysign"):
    defnondiff(f"math.{_name}", objects=(getattr(math, _name),))

# --- srcgrad's own marker -----------------------------------------------------------------------------
defnondiff("stop_gradient", objects=(stop_gradient,), emit="srt.stop_gradient")
