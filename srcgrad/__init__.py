"""srcgrad: automatic differentiation of numeric Python by source transformation, compiled by Numba.

``grad(f)`` reads ``f``'s source, writes its adjoint as readable Python, and compiles that with
Numba in nopython mode. The result runs at native speed from Python and from other ``@njit`` code.
"""
import os

from .errors import (SrcgradError, UnsupportedError, ArgumentError, ShapeError, CompileError,
                     NonFiniteError)
from .pipeline import VERSION
from .api import grad, gradients, hessian, hvp, jacobian, jvp, source, value_and_grad, vjp
from .runtime.ops import stop_gradient
from .runtime.heap import keep_freed_memory
from .runtime.blas import blas_threads
from .codegen.mathlib import set_math
from .check import GradientCheckError, check_grads
from .rules.custom import CustomFunction, custom_jvp, custom_vjp
from . import nn, train
from .train.clipping import clip_by_global_norm, clip_by_norm, clip_by_value


def _use_kernel_caches():
    """srcgrad's own kernels keep their disk caches per digest of its sources (codegen/cache.py):
    this changes only srcgrad's dispatchers, and makes no folder until one compiles or loads."""
    import sys
    from .codegen.cache import use_kernel_caches
    use_kernel_caches([m for name, m in list(sys.modules.items()) if name.startswith("srcgrad.")])


_use_kernel_caches()
if os.environ.get("SRCGRAD_KEEP_FREED_MEMORY", "0").strip() == "1":
    keep_freed_memory()     # opted in: large arrays' pages stay mapped between calls (runtime/heap.py)

__version__ = VERSION
__all__ = ["grad", "value_and_grad", "vjp", "jvp", "gradients", "hvp", "hessian", "jacobian",
           "stop_gradient", "source", "set_math", "keep_freed_memory", "blas_threads", "check_grads", "custom_vjp",
           "custom_jvp", "CustomFunction", "nn", "train",
           "clip_by_value", "clip_by_norm", "clip_by_global_norm",
           "SrcgradError", "UnsupportedError", "ArgumentError", "ShapeError", "CompileError",
           "GradientCheckError", "NonFiniteError"]
