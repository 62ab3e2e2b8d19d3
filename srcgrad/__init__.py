"""srcgrad: automatic differentiation of numeric Python by source transformation, compiled by Numba.

``grad(f)`` reads ``f``'s source, writes its adjoint as readable Python, and compiles that with
Numba in nopython mode. The result runs at native speed from Python and from other ``@njit`` code.
"""
from .errors import (SrcgradError, UnsupportedError, ArgumentError, ShapeError, CompileError,
                     NonFiniteError)
from .api import grad, gradients, hessian, hvp, jacobian, jvp, source, value_and_grad, vjp
from .runtime.ops import stop_gradient
from .runtime.heap import keep_freed_memory
from .codegen.mathlib import set_math
from .check import GradientCheckError, check_grads
from .rules.custom import CustomFunction, custom_jvp, custom_vjp
from . import nn, train
from .train.clipping import clip_by_global_norm, clip_by_norm, clip_by_value

def _refresh_kernel_caches():
    import sys
    from .codegen.cache import refresh_kernel_caches
    refresh_kernel_caches([m for name, m in list(sys.modules.items()) if name.startswith("srcgrad.")])


_refresh_kernel_caches()
keep_freed_memory()     # large arrays' pages stay mapped between calls (runtime/heap.py)

__version__ = "0.1.0"
__all__ = ["grad", "value_and_grad", "vjp", "jvp", "gradients", "hvp", "hessian", "jacobian",
           "stop_gradient", "source", "set_math", "check_grads", "custom_vjp", "custom_jvp",
           "CustomFunction", "nn", "train",
           "clip_by_value", "clip_by_norm", "clip_by_global_norm",
           "SrcgradError", "UnsupportedError", "ArgumentError", "ShapeError", "CompileError",
           "GradientCheckError", "NonFiniteError"]
