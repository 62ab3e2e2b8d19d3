"""Training: ``tf.train``-style optimizers, moving averages, clipping, and compiled training loops.

Variables are NumPy arrays updated in place. ``fit`` compiles a whole training run (epochs,
minibatches, forward, backward, update) into one native function; ``kernels`` holds the native
update steps for users who write that loop themselves in ``@numba.njit``.
"""
from . import kernels
from .clipping import clip_by_global_norm, clip_by_norm, clip_by_value
from .ema import ExponentialMovingAverage
from .fit import compile_fit, fit
from .optimizers import (SGD, Adagrad, AdagradOptimizer, Adam, AdamOptimizer, GradientDescentOptimizer,
                         Momentum, MomentumOptimizer, Optimizer, RMSProp, RMSPropOptimizer,
                         create_global_step)

__all__ = ["GradientDescentOptimizer", "MomentumOptimizer", "AdagradOptimizer", "RMSPropOptimizer",
           "AdamOptimizer", "SGD", "Momentum", "Adagrad", "RMSProp", "Adam", "Optimizer",
           "ExponentialMovingAverage", "create_global_step", "fit", "compile_fit", "kernels",
           "clip_by_value", "clip_by_norm", "clip_by_global_norm"]
