"""Native optimizer updates, in place, with TensorFlow 1.x's update rules.

Each kernel updates one variable and its slot arrays in a single loop. They are ``@njit`` functions,
so a user's own ``@njit`` training loop can call them with its state arrays; the optimizer classes and
:func:`srcgrad.train.fit` call the same kernels. Variables and slots must be C-contiguous float arrays
of one shape (the gradient too).
"""
import math

import numpy as np
from numba import njit

from ..runtime.standalone import standalone


@njit(cache=True)
def _flat(a):
    """A flat view of a C-contiguous array (variables and slots: updated in place)."""
    return a.reshape(-1)


@njit(cache=True)
def _flat_read(a):
    """A flat array of ``a``'s values (gradients: copied only if not contiguous)."""
    return np.ascontiguousarray(a).reshape(-1)


@standalone
def sgd_step(var, grad, lr):
    """``var -= lr * grad``."""
    v, g = _flat(var), _flat_read(grad)
    for i in range(v.size):
        v[i] -= lr * g[i]


@standalone
def momentum_step(var, grad, accum, lr, momentum, use_nesterov):
    """``accum = momentum * accum + grad``; ``var -= lr * accum`` (Nesterov:
    ``var -= lr * grad + lr * momentum * accum``)."""
    v, g, a = _flat(var), _flat_read(grad), _flat(accum)
    for i in range(v.size):
        a[i] = a[i] * momentum + g[i]
        if use_nesterov:
            v[i] -= g[i] * lr + a[i] * momentum * lr
        else:
            v[i] -= lr * a[i]


@standalone
def adagrad_step(var, grad, accum, lr):
    """``accum += grad**2``; ``var -= lr * grad / sqrt(accum)``."""
    v, g, a = _flat(var), _flat_read(grad), _flat(accum)
    for i in range(v.size):
        a[i] += g[i] * g[i]
        v[i] -= lr * g[i] / math.sqrt(a[i])


@standalone
def rmsprop_step(var, grad, ms, mom, mg, lr, decay, momentum, epsilon, centered):
    """``ms = decay*ms + (1-decay)*grad**2``; ``mom = momentum*mom + lr*grad/sqrt(ms + eps)``;
    ``var -= mom``. Centered: the denominator is ``sqrt(ms - mg**2 + eps)`` with ``mg`` the mean
    gradient, updated like ``ms``."""
    v, g, s, m, c = _flat(var), _flat_read(grad), _flat(ms), _flat(mom), _flat(mg)
    for i in range(v.size):
        s[i] += (g[i] * g[i] - s[i]) * (1.0 - decay)
        denominator = s[i] + epsilon
        if centered:
            c[i] += (g[i] - c[i]) * (1.0 - decay)
            denominator -= c[i] * c[i]
        m[i] = m[i] * momentum + lr * g[i] / math.sqrt(denominator)
        v[i] -= m[i]


@standalone
def adam_step(var, grad, m, v, step, lr, beta1, beta2, epsilon):
    """Adam's step number ``step`` (1, 2, ...): TensorFlow's bias-corrected step size
    ``lr_t = lr * sqrt(1 - beta2**step) / (1 - beta1**step)``, then
    ``var -= lr_t * m / (sqrt(v) + epsilon)``."""
    lr_t = lr * math.sqrt(1.0 - beta2 ** step) / (1.0 - beta1 ** step)
    x, g, mf, vf = _flat(var), _flat_read(grad), _flat(m), _flat(v)
    for i in range(x.size):
        mf[i] += (g[i] - mf[i]) * (1.0 - beta1)
        vf[i] += (g[i] * g[i] - vf[i]) * (1.0 - beta2)
        x[i] -= lr_t * mf[i] / (math.sqrt(vf[i]) + epsilon)


@standalone
def ema_step(shadow, var, decay):
    """``shadow -= (1 - decay) * (shadow - var)``."""
    s, v = _flat(shadow), _flat_read(var)
    for i in range(s.size):
        s[i] -= (1.0 - decay) * (s[i] - v[i])


@standalone
def squared_norm(t):
    """``sum(t**2)`` in one pass (float64 accumulator)."""
    total = 0.0
    for x in np.ascontiguousarray(np.asarray(t)).ravel():
        total += x * x
    return total
