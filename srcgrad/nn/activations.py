"""Activation functions (``tf.nn`` / Keras meanings), each a custom function with fused rules.

Elementwise rules are written as one arithmetic expression over NumPy arrays, which Numba fuses into
a single loop, and which srcgrad can differentiate again (second derivatives, Hessians). Subgradients
follow TensorFlow: the derivative of relu at 0 is 0. An elementwise function's JVP is its VJP with the
tangent in place of the cotangent (the Jacobian is diagonal), so both rules share one function.
"""
import numpy as np

from ..rules.custom import custom_vjp, recompute_vjp, result_like
from ..rules.registry import defrule
from ..runtime import custom as _namespace
from ..runtime import vecmath as _vm
from . import kernels as _k


def _diagonal(function):
    """Register ``rule(g, ans, x, ...)`` as both the VJP and the JVP of a function whose result has
    the shape of ``x`` (elementwise, or along an axis)."""
    def register(rule):
        function.defvjp(rule)
        function.defjvp(rule)
        result_like(function, "srt.float_like(x)")
        return rule
    return register


@custom_vjp
def sigmoid(x):
    """``1 / (1 + exp(-x))``, exact in both tails."""
    return _k.sigmoid(x)


@_diagonal(sigmoid)
def _sigmoid_rule(g, ans, x):
    return g * (ans - ans * ans)


# sigmoid's recompute form calls the slope kernel, which fuses into the rule's loop; the kernel's own
# rule lets that form be differentiated again: d/dx s'(x) = s'(x) (1 - 2 s(x)) = -s'(x) tanh(x / 2)
defrule("nn.sigmoid_slope", ("x",), objects=(_k.sigmoid_slope,),
        emit=_namespace.publish("sigmoid_slope", _k.sigmoid_slope),
        elementwise=True, like="srt.float_like(x)", x="-g * sgc.sigmoid_slope(x) * np.tanh(0.5 * x)")


recompute_vjp(sigmoid, "g * sgc.sigmoid_slope(x)")


@custom_vjp
def tanh(x):
    """Hyperbolic tangent (srcgrad's vectorizable one)."""
    return _vm.tanh(x)


@_diagonal(tanh)
def _tanh_rule(g, ans, x):
    return g - g * ans * ans


recompute_vjp(tanh, "g * srt.tanh_slope(x)")


@custom_vjp
def relu(x):
    """``max(x, 0)``; its derivative at 0 is 0 (TensorFlow's choice)."""
    return _k.relu(x)


@_diagonal(relu)
def _relu_rule(g, ans, x):
    return g * (x > 0)


@custom_vjp
def relu6(x):
    """``min(max(x, 0), 6)``; the derivative is 1 strictly between 0 and 6."""
    return _k.relu6(x)


@_diagonal(relu6)
def _relu6_rule(g, ans, x):
    return g * (x > 0) * (x < 6)


@custom_vjp(nondiff_argnums=(1,))
def leaky_relu(x, alpha=0.2):
    """``x`` for ``x > 0``, else ``alpha * x`` (``tf.nn.leaky_relu``, default ``alpha=0.2``)."""
    return _k.leaky_relu(x, alpha)


@_diagonal(leaky_relu)
def _leaky_relu_rule(g, ans, x, alpha):
    return g * (alpha + (1.0 - alpha) * (x > 0))


@custom_vjp
def elu(x):
    """``x`` for ``x > 0``, else ``exp(x) - 1``."""
    return _k.elu(x)


@_diagonal(elu)
def _elu_rule(g, ans, x):
    return g * ((x > 0) + (ans + 1.0) * (x <= 0))


@custom_vjp
def selu(x):
    """Scaled ELU with the constants of Klambauer et al. (``tf.nn.selu``)."""
    return _k.selu(x)


@_diagonal(selu)
def _selu_rule(g, ans, x):
    return g * ((x > 0) * _k.SELU_SCALE + (ans + _k.SELU_SCALE * _k.SELU_ALPHA) * (x <= 0))


@custom_vjp(nondiff_argnums=(1,))
def gelu(x, approximate=False):
    """``x Φ(x)`` (``tf.nn.gelu``); ``approximate=True`` uses the tanh approximation."""
    if approximate:
        return _k.gelu_tanh(x)
    return _k.gelu(x)


@_diagonal(gelu)
def _gelu_rule(g, ans, x, approximate=False):
    if approximate:
        u = 0.7978845608028654 * (x + 0.044715 * x * x * x)
        th = _vm.tanh(u)
        return g * (0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * 0.7978845608028654
                    * (1.0 + 0.134145 * x * x))
    return g * gelu_slope(x)


@custom_vjp
def gelu_slope(x):
    """The derivative of the exact gelu, ``Φ(x) + x φ(x)`` (a primitive of its own)."""
    return _k.gelu_slope(x)


@_diagonal(gelu_slope)
def _gelu_slope_rule(g, ans, x):
    return g * 0.3989422804014327 * _vm.exp(-0.5 * x * x) * (2.0 - x * x)


@custom_vjp
def softplus(x):
    """``log(1 + exp(x))`` without overflow."""
    return _k.softplus(x)


@_diagonal(softplus)
def _softplus_rule(g, ans, x):
    return g * sigmoid(x)


@custom_vjp
def softsign(x):
    """``x / (1 + |x|)``."""
    return _k.softsign(x)


@_diagonal(softsign)
def _softsign_rule(g, ans, x):
    d = 1.0 + np.abs(x)
    return g / (d * d)


@custom_vjp
def silu(x):
    """``x * sigmoid(x)`` (also called swish)."""
    return _k.silu(x)


@_diagonal(silu)
def _silu_rule(g, ans, x):
    s = sigmoid(x)
    return g * (s + ans * (1.0 - s))


swish = silu


@custom_vjp(nondiff_argnums=(1,))
def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``, computed through log-sum-exp."""
    return _k.from_rows(_k.softmax_rows(_k.as_rows(x, axis), False), x, axis)


@_diagonal(softmax)
def _softmax_rule(g, ans, x, axis=-1):
    # the softmax Jacobian is symmetric, so the same map serves both modes
    rows = _k.softmax_vjp_rows(_k.as_rows(g, axis), _k.as_rows(ans, axis))
    return _k.from_rows(rows, x, axis)


@custom_vjp(nondiff_argnums=(1,))
def log_softmax(x, axis=-1):
    """``x - logsumexp(x)`` along ``axis``."""
    return _k.from_rows(_k.softmax_rows(_k.as_rows(x, axis), True), x, axis)


@log_softmax.defvjp
def _log_softmax_vjp(g, ans, x, axis=-1):
    rows = _k.log_softmax_vjp_rows(_k.as_rows(g, axis), _k.as_rows(ans, axis), True)
    return _k.from_rows(rows, x, axis)


@log_softmax.defjvp
def _log_softmax_jvp(t, ans, x, axis=-1):
    rows = _k.log_softmax_vjp_rows(_k.as_rows(t, axis), _k.as_rows(ans, axis), False)
    return _k.from_rows(rows, x, axis)
