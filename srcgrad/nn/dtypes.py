"""NumPy's type promotion for losses whose labels and predictions differ in dtype.

Labels often come in another dtype than the predictions: integer classes or 0/1 targets, float64
``one_hot`` rows with float32 logits, float32 targets with float64 predictions. The loss kernels index
both with one loop, so without a rule for the result's dtype Numba cannot type them (issue 19: such
losses failed to compile). The rule is NumPy's, as for the loss written out in NumPy
(``np.mean((y_pred - y_true) ** 2, axis=-1)``):

- the value (and a forward-mode tangent) has ``np.result_type(labels, predictions)``, a float:
  int8/int16/uint8/bool labels keep float32 predictions float32; int32/int64 or float64 labels
  make them float64 (for every loss's formula in NumPy alike, except that Keras's binary
  cross-entropy, ``1 - t`` with bool ``t``, widens through an int64 in NumPy: here bool is bool);
- a label that is a number rather than an array is a Python scalar, which does not widen (NEP 50):
  the value has the predictions' float type;
- each cotangent has its own argument's float type (float32 predictions get a float32 gradient),
  which is what srcgrad's adjoints have, so a rule's result is kept without a cast.

Each helper is a plain NumPy function (the reference) with an ``@overload`` that decides the dtype
when Numba types the call, so the kernels stay one specialisation per combination of dtypes.
"""
import numpy as np
from numba.core import types
from numba.extending import overload

from ..compat import as_dtype
from ..errors import ArgumentError
from ..rules.custom import custom_vjp
from ..runtime.cotangents import float_class, float_type, is_array, is_scalar, py_float_dtype
from ..runtime.standalone import standalone


def result_dtype(labels, predictions):
    """NumPy's float dtype for a loss of ``labels`` and ``predictions`` (NumPy values)."""
    if not isinstance(labels, np.ndarray):
        return py_float_dtype(predictions)
    dtype = np.result_type(labels.dtype, py_float_dtype(predictions))
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _result_class(labels, predictions):
    """:func:`result_dtype` from Numba types: the NumPy scalar class the overloads allocate with."""
    labels, predictions = types.unliteral(labels), types.unliteral(predictions)
    if not is_array(labels):
        return float_class(predictions)
    dtype = np.result_type(as_dtype(labels.dtype), as_dtype(float_type(predictions)))
    return (dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)).type


def loss_empty(shape, labels, predictions):
    """An uninitialised array of ``shape`` in the loss's dtype (:func:`result_dtype`)."""
    return np.empty(shape, result_dtype(labels, predictions))


@overload(loss_empty)
def _ov_loss_empty(shape, labels, predictions):
    cls = _result_class(labels, predictions)
    return lambda shape, labels, predictions: np.empty(shape, cls)


def float_empty(shape, like):
    """An uninitialised array of ``shape`` in ``like``'s float type: the cotangent of ``like``."""
    return np.empty(shape, py_float_dtype(like))


@overload(float_empty)
def _ov_float_empty(shape, like):
    cls = float_class(like)
    return lambda shape, like: np.empty(shape, cls)


def scalar_labels(labels, predictions):
    """A label given as a number, in the predictions' float type (a Python scalar does not widen)."""
    return py_float_dtype(predictions).type(labels)


@overload(scalar_labels)
def _ov_scalar_labels(labels, predictions):
    cls = float_class(predictions)
    return lambda labels, predictions: cls(labels)


def _promote(x, labels):
    """``x`` (predictions or logits) in the loss's dtype: ``x`` itself when it has it already, else
    a converted copy."""
    dtype = result_dtype(labels, x)
    if isinstance(x, np.ndarray):
        return x if x.dtype == dtype else x.astype(dtype)
    return dtype.type(x)


@overload(_promote)
def _ov_promote(x, labels):
    cls = _result_class(labels, x)
    if is_array(x) and as_dtype(x.dtype).type is cls:
        return lambda x, labels: x
    if is_array(x):
        return lambda x, labels: x.astype(cls)
    if is_scalar(x):
        return lambda x, labels: cls(x)
    return None


@custom_vjp(nondiff_argnums=(1,))
def promote(x, labels):
    """``x`` (logits) in the dtype NumPy gives ``x`` combined with ``labels``; no copy when it has
    it. Elementwise kernels and rules promote their logits first, because their result takes the
    logits' type, and Numba keeps ``float32 - int64`` arrays float32 where NumPy gives float64.
    A custom function, so rules that call it can be differentiated again: its derivative is 1."""
    return _promote(x, labels)


promote.defvjp(lambda g, ans, x, labels: g)
promote.defjvp(lambda t, ans, x, labels: promote(t, labels))


def _example_like(labels, predictions):
    """The type and shape of a Keras loss of ``labels`` and ``predictions``: one value per row of
    the last axis, in the loss's dtype; contents meaningless."""
    dtype = result_dtype(labels, predictions)
    shape = np.shape(predictions)
    return dtype.type(0) if len(shape) == 1 else np.empty(shape[:-1], dtype)


@overload(_example_like)
def _ov_example_like(labels, predictions):
    cls = _result_class(labels, predictions)
    if not is_array(predictions):
        return None
    if predictions.ndim == 1:
        return lambda labels, predictions: cls(0)
    return lambda labels, predictions: np.empty(predictions.shape[:-1], cls)


@standalone
def example_like(labels, predictions):
    """The stand-in (``result_like``) of a Keras loss, for gradients that read the loss only for its
    type and shape (see :mod:`srcgrad.runtime.like`); compiled once, called by symbol."""
    return _example_like(labels, predictions)


def class_labels(labels):
    """Integer class labels as a flat array (``tf.nn``'s sparse losses take int32/int64 labels; any
    integer dtype works here). Float or boolean labels are refused with an
    :class:`~srcgrad.ArgumentError` rather than truncated."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise ArgumentError(_class_labels_message(labels.dtype))
    return np.ascontiguousarray(labels).reshape(-1)


def _class_labels_message(dtype):
    return (f"sparse cross-entropy labels must be integer class indices, got {dtype} labels; "
            "convert them (labels.astype(np.int64)) or use the non-sparse loss with one_hot labels")


@overload(class_labels)
def _ov_class_labels(labels):
    labels = types.unliteral(labels)
    if is_array(labels) and isinstance(labels.dtype, types.Integer):
        return lambda labels: np.ascontiguousarray(labels).reshape(-1)
    if isinstance(labels, types.Integer):
        return lambda labels: np.full(1, labels)
    message = _class_labels_message(labels.dtype if is_array(labels) else labels)

    def refuse(labels):
        flat = np.zeros(1, np.int64)
        if flat[0] == 0:            # always: raised when called, so the message is srcgrad's own
            raise ArgumentError(message)
        return flat
    return refuse
