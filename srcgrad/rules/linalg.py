"""Rules for products and shape changes (their adjoints are the transposed linear maps)."""
import ast

import numpy as np

from .registry import defbinop, defrule

# NumPy's two products agree up to two dimensions and differ beyond: np.matmul (and @) multiplies
# stacks of matrices, broadcasting the leading dims; np.dot contracts the last axis of a with the
# second-to-last of b (see runtime/batched.py).
defrule("np.dot", ("a", "b"), objects=(np.dot,), allocates=True,
        tangents={"a": "np.dot(t, b)", "b": "np.dot(a, t)"},
        a="srt.dot_adjoint_a(g, like_a, b)", b="srt.dot_adjoint_b(g, a, like_b)")
_MATMUL = dict(a="srt.matmul_adjoint_a(g, like_a, b)", b="srt.matmul_adjoint_b(g, a, like_b)")
defrule("np.matmul", ("a", "b"), objects=(np.matmul,),
        tangents={"a": "np.matmul(t, b)", "b": "np.matmul(a, t)"}, **_MATMUL)
defbinop(ast.MatMult, "matmul", tangents={"a": "t @ b", "b": "a @ t"}, elementwise=False, **_MATMUL)
defrule("np.outer", ("a", "b"), objects=(np.outer,),
        tangents={"a": "np.outer(t, b)", "b": "np.outer(a, t)"},
        a="srt.outer_adjoint_a(g, like_a, b)", b="srt.outer_adjoint_b(g, a, like_b)")
defrule("np.transpose", ("x",), objects=(np.transpose,), x="np.transpose(g)",
        tangents={"x": "np.transpose(t)"})
defrule("np.reshape", ("x", "shape"), objects=(np.reshape,), emit="srt.reshape",
        tangents={"x": "srt.reshape(t, shape)"},
        x="srt.reshape_like(g, like_x)")
defrule("np.ravel", ("x",), objects=(np.ravel,), emit="srt.ravel", x="srt.reshape_like(g, like_x)",
        tangents={"x": "srt.ravel(t)"})
# The 2-norm of a vector (Frobenius for a matrix); its cotangent is g * x / |x|.
defrule("np.linalg.norm", ("x",), objects=(np.linalg.norm,), x="g * x / y",
        tangents={"x": "np.sum(x * t) / y"})
defrule("np.cumsum", ("x",), objects=(np.cumsum,), x="srt.reverse_cumsum(g, like_x)",
        tangents={"x": "np.cumsum(t)"})
