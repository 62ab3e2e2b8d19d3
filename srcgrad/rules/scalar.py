"""Rules for Python's unary operators and builtins, and srcgrad's own ``stop_gradient``.

The binary operators, ``abs``, ``float`` and two-argument ``max``/``min`` share the rows of the
functions they mean (``np.add``, ``np.abs``, ``np.maximum``, ...): see :mod:`.elementwise`.
"""
import ast
import builtins

from ..runtime.ops import stop_gradient
from .registry import defnondiff, defunaryop

# --- Unary operators --------------------------------------------------------------------------------
defunaryop(ast.USub, "neg", a="-g")
defunaryop(ast.UAdd, "pos", a="g")

# --- Builtins without derivative: sizes, truth values, rounding ---------------------------------------
defnondiff("len", objects=(builtins.len,))
defnondiff("int", objects=(builtins.int,))
defnondiff("bool", objects=(builtins.bool,))
defnondiff("round", objects=(builtins.round,))
defnondiff("range", objects=(builtins.range,))

# --- srcgrad's own marker: the identity with a zero derivative, by definition -----------------------
defnondiff("stop_gradient", objects=(stop_gradient,), emit="srt.stop_gradient")
