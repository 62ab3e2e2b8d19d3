"""Weight regularizers as in TensorFlow 1.x (``tf.nn.l2_loss``, ``tf.contrib.layers.*_regularizer``).

Every regularizer here is ``l1 * sum(|w|) + l2 * sum(w**2) / 2`` for some ``(l1, l2)``, so a sum of
them is one of them too: ``sum_regularizer`` adds coefficients and the result stays a compiled custom
function, usable from Python, in ``@njit`` code and in differentiated code. Their reverse rules are
arithmetic, so Hessians of regularised losses work. Subgradient of ``|w|`` at 0: 0, as in TensorFlow.
"""
import ast
import numbers

import numpy as np
from numba import literal_unroll
from numba.core import types
from numba.extending import overload

from ..errors import SrcgradError
from ..rules.custom import custom_vjp, fresh_results
from . import kernels as _k


@custom_vjp
def l2_loss(t):
    """``sum(t ** 2) / 2`` (``tf.nn.l2_loss``)."""
    return _k.elastic(t, 0.0, 1.0)


@l2_loss.defvjp
def _l2_loss_vjp(g, ans, t):
    return g * t


@l2_loss.defjvp
def _l2_loss_jvp(t_dot, ans, t):
    return _k.elastic_tangent(t_dot, t, 0.0, 1.0)


def _make(l1, l2):
    """The regularizer ``w -> l1 * sum(|w|) + l2 * sum(w**2) / 2`` as a custom function."""
    def regularizer(weights):
        return _k.elastic(weights, l1, l2)

    def vjp(g, ans, weights):
        return g * (l1 * np.sign(weights) + l2 * weights)

    def jvp(t, ans, weights):
        return _k.elastic_tangent(t, weights, l1, l2)

    function = custom_vjp(regularizer)
    function.defvjp(vjp)
    function.defjvp(jvp)
    fresh_results(function)
    function.scales = (l1, l2)
    return function


def _scale(value, name):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise SrcgradError(f"{name} must be a number, got {type(value).__name__}")
    if value < 0:
        raise SrcgradError(f"{name} must be >= 0, got {value}")
    return float(value)


def l1_regularizer(scale):
    """``w -> scale * sum(|w|)``."""
    return _make(_scale(scale, "scale"), 0.0)


def l2_regularizer(scale):
    """``w -> scale * l2_loss(w)`` (TensorFlow's, with the 1/2 of ``l2_loss``)."""
    return _make(0.0, _scale(scale, "scale"))


def l1_l2_regularizer(scale_l1=1.0, scale_l2=1.0):
    """``w -> scale_l1 * sum(|w|) + scale_l2 * l2_loss(w)``."""
    return _make(_scale(scale_l1, "scale_l1"), _scale(scale_l2, "scale_l2"))


# differentiated code may build them in place from constant scales: nn.l2_regularizer(0.01)(w)
for _factory in (l1_regularizer, l2_regularizer, l1_l2_regularizer):
    _factory.__srcgrad_factory__ = True


def sum_regularizer(regularizer_list):
    """The sum of several regularizers. Summing srcgrad regularizers gives a compiled one; other
    callables are summed in Python (then the result works from Python only)."""
    regularizers = list(regularizer_list)
    if all(hasattr(r, "scales") for r in regularizers):
        return _make(sum(r.scales[0] for r in regularizers), sum(r.scales[1] for r in regularizers))

    def summed(weights):
        return sum(r(weights) for r in regularizers)
    return summed


def apply_regularization(regularizer, weights_list):
    """``sum(regularizer(w) for w in weights_list)``. In differentiated code, pass the weights as a
    list or tuple literal (``apply_regularization(reg, [w1, w2])``); in ``@njit`` code, a tuple."""
    return sum(regularizer(w) for w in weights_list)


def _expand_apply_regularization(call, fail):
    """Differentiated code: rewrite the call as ``reg(w1) + reg(w2) + ...`` before normalising."""
    if len(call.args) != 2 or call.keywords:
        fail("apply_regularization takes (regularizer, weights_list)", call)
    weights = call.args[1]
    if not isinstance(weights, (ast.List, ast.Tuple)) or not weights.elts:
        fail("apply_regularization needs its weights as a list or tuple literal here", call,
             "write apply_regularization(reg, [w1, w2])")
    terms = [ast.copy_location(ast.Call(call.args[0], [w], []), call) for w in weights.elts]
    total = terms[0]
    for term in terms[1:]:
        total = ast.copy_location(ast.BinOp(total, ast.Add(), term), call)
    return total


apply_regularization.__srcgrad_expand__ = _expand_apply_regularization


@overload(apply_regularization)
def _apply_regularization_native(regularizer, weights_list):
    if not isinstance(weights_list, types.BaseTuple):
        raise SrcgradError("apply_regularization in @njit code takes a tuple of weight arrays")

    def impl(regularizer, weights_list):
        total = 0.0
        for w in literal_unroll(weights_list):
            total += regularizer(w)
        return total
    return impl
