"""Neural-network functions with TensorFlow/Keras meanings: activations, losses, regularizers.

Each works in three places: on NumPy arrays from Python, inside functions srcgrad differentiates
(as a primitive with its own fused, numerically stable rule), and inside a user's ``@numba.njit``
code. They are built with :func:`srcgrad.custom_vjp`, the same API users have for their own rules.
"""
from ..rules.custom import fresh_results
from ..rules.registry import defnondiff
from ..runtime import custom as _namespace
from . import activations, dtypes
from .activations import (elu, gelu, leaky_relu, log_softmax, relu, relu6, selu, sigmoid, silu,
                          softmax, softplus, softsign, swish, tanh)
from .kernels import one_hot
from .losses import (binary_crossentropy, categorical_crossentropy, huber, mae, mse,
                     sigmoid_cross_entropy_with_logits, softmax_cross_entropy_with_logits,
                     sparse_categorical_crossentropy, sparse_softmax_cross_entropy_with_logits)
from .regularizers import (apply_regularization, l1_l2_regularizer, l1_regularizer, l2_loss,
                           l2_regularizer, sum_regularizer)

# every rule here computes a new array, so generated code keeps it without a copy
for _name in ("relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "tanh", "softplus",
              "softsign", "silu", "softmax", "log_softmax", "mse", "mae", "huber",
              "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
              "softmax_cross_entropy_with_logits", "sparse_softmax_cross_entropy_with_logits",
              "sigmoid_cross_entropy_with_logits", "l2_loss"):
    fresh_results(globals()[_name])
fresh_results(activations.gelu_slope)

# one_hot has no derivative: differentiated code calls it as it is
defnondiff("nn.one_hot", objects=(one_hot,), emit=_namespace.publish("one_hot", one_hot))

# the losses' stand-in (result_like): their type and shape, in NumPy's dtype for labels and predictions
defnondiff("nn.loss_like", objects=(dtypes.example_like,),
           emit=_namespace.publish("loss_like", dtypes.example_like))

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "tanh", "softplus", "softsign",
    "silu", "swish", "softmax", "log_softmax",
    "mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits", "sigmoid_cross_entropy_with_logits",
    "l2_loss", "l1_regularizer", "l2_regularizer", "l1_l2_regularizer", "sum_regularizer",
    "apply_regularization", "one_hot",
]
