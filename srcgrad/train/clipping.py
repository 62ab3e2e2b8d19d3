"""Gradient clipping as in TensorFlow: by value, by norm, by global norm.

``clip_by_value`` and ``clip_by_norm`` are ``@njit`` functions (usable in Python, in ``@njit`` code
and in differentiated code); ``clip_by_global_norm`` takes a list of arrays from Python.
"""
import math

import numpy as np
from numba import njit

from .. import runtime as srt
from ..errors import ArgumentError
from ..rules.registry import alias
from . import kernels


@njit(cache=True)
def clip_by_value(t, clip_value_min, clip_value_max):
    """Each element of ``t`` limited to ``[clip_value_min, clip_value_max]``."""
    return srt.clip(t, clip_value_min, clip_value_max)


@njit(cache=True)
def clip_by_norm(t, clip_norm):
    """``t * clip_norm / max(||t||_2, clip_norm)``: ``t`` itself if its L2 norm is at most
    ``clip_norm``, else ``t`` rescaled to that norm."""
    norm = math.sqrt(kernels.squared_norm(t))
    return t * clip_norm / max(norm, clip_norm)


def clip_by_global_norm(t_list, clip_norm, use_norm=None):
    """``(clipped_list, global_norm)``: every tensor scaled by ``clip_norm / max(global_norm,
    clip_norm)`` where ``global_norm = sqrt(sum of squared L2 norms)``. None entries stay None.
    A non-finite global norm gives NaN tensors, as in TensorFlow."""
    tensors = list(t_list)
    if clip_norm < 0:
        raise ArgumentError(f"clip_norm must be >= 0, got {clip_norm}")
    if use_norm is None:
        use_norm = math.sqrt(sum(kernels.squared_norm(np.asarray(t, dtype=float))
                                 for t in tensors if t is not None))
    largest = max(use_norm, clip_norm)
    scale = (clip_norm / largest if largest > 0 else 1.0) if math.isfinite(use_norm) else math.nan
    clipped = [None if t is None else np.asarray(t) * np.asarray(scale, dtype=np.asarray(t).dtype)
               for t in tensors]
    return clipped, use_norm


# in differentiated code, clip_by_value is np.clip (TensorFlow's gradient: 1 inside the bounds)
alias(clip_by_value, "np.clip")
clip_by_norm.__srcgrad_inline__ = True
