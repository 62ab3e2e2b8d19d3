"""Losses with TensorFlow/Keras meanings, each a custom function with fused, stable rules.

Keras losses (``mse``, ``mae``, ``huber``, the cross-entropies) reduce the last axis and return one
value per example: an array of ``y_pred.shape[:-1]``, or a number for a single 1-D example.
``tf.nn``'s ``*_with_logits`` losses keep TensorFlow's argument order ``(labels, logits)``.
Reverse rules give one function per argument, so a gradient with respect to the predictions never
pays for the labels' cotangent; a forward rule contracts the per-example gradient with the tangent.
Second derivatives of these losses are not provided (their rules are native loops); the sigmoid
cross-entropy, elementwise, is the exception.

Labels and predictions may differ in dtype (integer labels, float64 ``one_hot`` rows with float32
logits): the loss has NumPy's result dtype of the two, each cotangent its argument's float type
(:mod:`srcgrad.nn.dtypes`). A gradient kernel is told whose cotangent it computes (``arg``, the
argument itself) because the buffer's dtype depends on it.
"""
import numpy as np

from ..rules.custom import custom_vjp, result_like
from ..runtime.standalone import standalone
from . import dtypes as _dt
from . import kernels as _k
from . import loss_kernels as _lk
from .activations import sigmoid


# -- losses that average a pointwise term over the last axis -------------------------------------------------
@standalone
def _mean_loss(kind, y_true, y_pred, option):
    y_true = _k.labels_like(y_true, y_pred)
    rows = _lk.pointwise_mean_rows(kind, _k.as_rows(y_true, -1), _k.as_rows(y_pred, -1), option)
    return _k.per_example(rows, y_pred)


@standalone
def _mean_loss_grad(kind, wrt, g, y_true, y_pred, option, arg):
    labels, rows = _k.labels_like(y_true, y_pred), _k.as_rows(y_pred, -1)
    out = _lk.pointwise_grad_rows(kind, wrt, _k.as_rows(labels, -1), rows, option,
                                  _k.example_rows(g, y_pred), _dt.float_empty(rows.shape, arg))
    return _k.from_rows(out, y_pred, -1)


@standalone
def _mean_loss_tangent(kind, wrt, t, y_true, y_pred, option):
    labels, rows = _k.labels_like(y_true, y_pred), _k.as_rows(y_pred, -1)
    unit = _lk.pointwise_grad_rows(kind, wrt, _k.as_rows(labels, -1), rows, option, np.ones(rows.shape[0]),
                                   _dt.loss_empty(rows.shape, labels, rows))     # the tangent's dtype
    return _k.per_example(_k.rows_dot(unit, _k.as_rows(t, -1)), y_pred)


def _pointwise_loss(function, kind):
    """Give a mean-of-pointwise-term loss its rules (both arguments differentiable); ``option`` is
    the loss's third argument (Huber's delta, BCE's from_logits) when it has one."""
    function.defvjp(
        lambda g, ans, y_true, y_pred, option=1.0: _mean_loss_grad(kind, 2, g, y_true, y_pred, option,
                                                                   y_true),
        lambda g, ans, y_true, y_pred, option=1.0: _mean_loss_grad(kind, 1, g, y_true, y_pred, option,
                                                                   y_pred))
    function.defjvp(
        lambda t, ans, y_true, y_pred, option=1.0: _mean_loss_tangent(kind, 2, t, y_true, y_pred, option),
        lambda t, ans, y_true, y_pred, option=1.0: _mean_loss_tangent(kind, 1, t, y_true, y_pred, option))
    return function


@custom_vjp
def mse(y_true, y_pred):
    """Mean squared error over the last axis (``tf.keras.losses.MSE``)."""
    return _mean_loss(_lk.MSE, y_true, y_pred, 0.0)


@custom_vjp
def mae(y_true, y_pred):
    """Mean absolute error over the last axis (``tf.keras.losses.MAE``)."""
    return _mean_loss(_lk.MAE, y_true, y_pred, 0.0)


@custom_vjp(nondiff_argnums=(2,))
def huber(y_true, y_pred, delta=1.0):
    """Huber loss over the last axis: quadratic for errors up to ``delta``, linear beyond."""
    return _mean_loss(_lk.HUBER, y_true, y_pred, delta)


@custom_vjp(nondiff_argnums=(2,))
def binary_crossentropy(y_true, y_pred, from_logits=False):
    """Binary cross-entropy averaged over the last axis; probabilities are clipped to
    ``[1e-7, 1 - 1e-7]`` as Keras does, logits go through the stable sigmoid cross-entropy."""
    return _mean_loss(_lk.BCE, y_true, y_pred, from_logits)


for _function, _kind in ((mse, _lk.MSE), (mae, _lk.MAE), (huber, _lk.HUBER),
                        (binary_crossentropy, _lk.BCE)):
    _pointwise_loss(_function, _kind)
    result_like(_function, "sgc.loss_like(y_true, y_pred)")


# -- elementwise: sigmoid cross-entropy with logits ------------------------------------------------------------
@custom_vjp
def sigmoid_cross_entropy_with_logits(labels, logits):
    """``max(x, 0) - x z + log1p(exp(-|x|))`` elementwise (``tf.nn``): finite for any logit. The
    kernel's result takes the logits' float type, so mixed dtypes promote the logits first."""
    return _k.sigmoid_xent(labels, _dt.promote(logits, labels))


def _sxe_labels_rule(g, ans, labels, logits):
    return -g * logits


def _sxe_logits_rule(g, ans, labels, logits):
    return g * (sigmoid(_dt.promote(logits, labels)) - labels)


sigmoid_cross_entropy_with_logits.defvjp(_sxe_labels_rule, _sxe_logits_rule)
sigmoid_cross_entropy_with_logits.defjvp(_sxe_labels_rule, _sxe_logits_rule)


# -- cross-entropy over classes (the last axis) -------------------------------------------------------------------
@standalone
def _categorical(labels, x, probs):
    labels = _k.labels_like(labels, x)
    return _k.per_example(_lk.categorical_value_rows(_k.as_rows(labels, -1), _k.as_rows(x, -1), probs), x)


@standalone
def _categorical_grad(g, labels, x, probs, wrt_labels, arg):
    t, rows = _k.labels_like(labels, x), _k.as_rows(x, -1)
    out = _lk.categorical_grad_rows(_k.as_rows(t, -1), rows, _k.example_rows(g, x), probs, wrt_labels,
                                    _dt.float_empty(rows.shape, arg))
    return _k.from_rows(out, x, -1)


@standalone
def _categorical_tangent(t, labels, x, probs, wrt_labels):
    labels, rows = _k.as_rows(_k.labels_like(labels, x), -1), _k.as_rows(x, -1)
    unit = _lk.categorical_grad_rows(labels, rows, np.ones(rows.shape[0]), probs, wrt_labels,
                                     _dt.loss_empty(rows.shape, labels, rows))     # the tangent's dtype
    return _k.per_example(_k.rows_dot(unit, _k.as_rows(t, -1)), x)


@custom_vjp
def softmax_cross_entropy_with_logits(labels, logits):
    """``-sum(labels * log_softmax(logits))`` per example (``tf.nn``, last axis); its gradient
    with respect to the logits is the fused ``softmax * sum(labels) - labels``."""
    return _categorical(labels, logits, False)


softmax_cross_entropy_with_logits.defvjp(
    lambda g, ans, labels, logits: _categorical_grad(g, labels, logits, False, True, labels),
    lambda g, ans, labels, logits: _categorical_grad(g, labels, logits, False, False, logits))
softmax_cross_entropy_with_logits.defjvp(
    lambda t, ans, labels, logits: _categorical_tangent(t, labels, logits, False, True),
    lambda t, ans, labels, logits: _categorical_tangent(t, labels, logits, False, False))
result_like(softmax_cross_entropy_with_logits, "sgc.loss_like(labels, logits)")


@custom_vjp(nondiff_argnums=(2,))
def categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Keras's categorical cross-entropy: predictions are normalised to sum to 1 and clipped to
    ``[1e-7, 1 - 1e-7]``; with ``from_logits=True`` it is the softmax cross-entropy."""
    return _categorical(y_true, y_pred, not from_logits)


categorical_crossentropy.defvjp(
    lambda g, ans, y_true, y_pred, from_logits=False:
        _categorical_grad(g, y_true, y_pred, not from_logits, True, y_true),
    lambda g, ans, y_true, y_pred, from_logits=False:
        _categorical_grad(g, y_true, y_pred, not from_logits, False, y_pred))
categorical_crossentropy.defjvp(
    lambda t, ans, y_true, y_pred, from_logits=False:
        _categorical_tangent(t, y_true, y_pred, not from_logits, True),
    lambda t, ans, y_true, y_pred, from_logits=False:
        _categorical_tangent(t, y_true, y_pred, not from_logits, False))
result_like(categorical_crossentropy, "sgc.loss_like(y_true, y_pred)")


# -- integer labels --------------------------------------------------------------------------------------------
@standalone
def _sparse(labels, x, probs):
    flat = _dt.class_labels(labels)
    return _k.per_example(_lk.sparse_value_rows(flat, _k.as_rows(x, -1), probs), x)


@standalone
def _sparse_grad(g, labels, x, probs):
    flat = _dt.class_labels(labels)
    rows = _lk.sparse_grad_rows(flat, _k.as_rows(x, -1), _k.example_rows(g, x), probs)
    return _k.from_rows(rows, x, -1)


@standalone
def _sparse_tangent(t, labels, x, probs):
    flat = _dt.class_labels(labels)
    rows = _k.as_rows(x, -1)
    unit = _lk.sparse_grad_rows(flat, rows, np.ones(rows.shape[0]), probs)
    return _k.per_example(_k.rows_dot(unit, _k.as_rows(t, -1)), x)


@custom_vjp(nondiff_argnums=(0,))
def sparse_softmax_cross_entropy_with_logits(labels, logits):
    """``-log_softmax(logits)[label]`` per example, ``labels`` integers (``tf.nn``)."""
    return _sparse(labels, logits, False)


sparse_softmax_cross_entropy_with_logits.defvjp(
    lambda g, ans, labels, logits: _sparse_grad(g, labels, logits, False))
sparse_softmax_cross_entropy_with_logits.defjvp(
    lambda t, ans, labels, logits: _sparse_tangent(t, labels, logits, False))
result_like(sparse_softmax_cross_entropy_with_logits, "srt.example_like(logits)")


@custom_vjp(nondiff_argnums=(0, 2))
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Keras's sparse categorical cross-entropy: integer labels; probabilities are clipped to
    ``[1e-7, 1 - 1e-7]`` and renormalised, logits go through log-sum-exp."""
    return _sparse(y_true, y_pred, not from_logits)


sparse_categorical_crossentropy.defvjp(
    lambda g, ans, y_true, y_pred, from_logits=False: _sparse_grad(g, y_true, y_pred, not from_logits))
sparse_categorical_crossentropy.defjvp(
    lambda t, ans, y_true, y_pred, from_logits=False: _sparse_tangent(t, y_true, y_pred, not from_logits))
result_like(sparse_categorical_crossentropy, "srt.example_like(y_pred)")
