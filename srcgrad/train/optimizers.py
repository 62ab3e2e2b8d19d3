"""``tf.train`` optimizers over NumPy arrays: compute_gradients, apply_gradients, minimize.

Variables are NumPy float arrays updated **in place** (the array you pass is the variable), so the
model a loss closes over sees every step. Slots (momentum accumulators, Adam's moments) live in the
optimizer, one set per variable, created on first use with TensorFlow 1.x's initial values. Each
update is one native kernel from :mod:`srcgrad.train.kernels`.
"""
import numbers

import numpy as np

from ..api import value_and_grad
from ..errors import ArgumentError, SrcgradError
from . import kernels


class Optimizer:
    """Base class: subclasses name their slots and their kernel call."""

    slot_names = ()             # slots, in the order the kernel takes them
    slot_initial = {}           # slot -> initial value (zeros if absent)

    def __init__(self, learning_rate):
        self.learning_rate = _number(learning_rate, "learning_rate")
        self.iterations = 0     # apply_gradients calls so far (Adam's step count)
        self._slots = {}        # id(variable) -> (variable, {slot: array})
        self._gradients = {}    # (loss, number of variables) -> compiled value_and_grad

    # -- TensorFlow's interface ---------------------------------------------------------------------
    def compute_gradients(self, loss, var_list, *data):
        """``[(gradient, variable), ...]`` of ``loss(*var_list, *data)`` (a scalar)."""
        value, grads = self._value_and_gradients(loss, var_list, data)
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars, global_step=None):
        """One update of every variable with its gradient (pairs whose gradient is None are
        skipped, as in TensorFlow); then ``global_step`` (a NumPy integer array) grows by one."""
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        for g, v in pairs:
            _check_pair(g, v)
        self.iterations += 1
        for g, v in pairs:
            self._update(v, np.ascontiguousarray(g, dtype=v.dtype), self.slots(v))
        _increment(global_step)

    def minimize(self, loss, var_list, *data, global_step=None):
        """compute_gradients then apply_gradients; returns the loss before the update."""
        value, grads = self._value_and_gradients(loss, var_list, data)
        self.apply_gradients(zip(grads, var_list), global_step=global_step)
        return value

    # -- slots ---------------------------------------------------------------------------------------
    def slots(self, var):
        """The slot arrays of ``var`` (created on first use), in ``slot_names`` order."""
        entry = self._slots.get(id(var))
        if entry is None or entry[0] is not var:
            slots = {name: np.full(var.shape, self.slot_initial.get(name, 0.0), dtype=var.dtype)
                     for name in self.slot_names}
            entry = self._slots[id(var)] = (var, slots)
        return [entry[1][name] for name in self.slot_names]

    def get_slot(self, var, name):
        """A slot array of ``var`` by name (``"m"``, ``"v"``, ``"accumulator"``, ...)."""
        if name not in self.slot_names:
            raise SrcgradError(f"{type(self).__name__} has the slots {self.slot_names}, not {name!r}")
        return self.slots(var)[self.slot_names.index(name)]

    def _value_and_gradients(self, loss, var_list, data):
        var_list = list(var_list)
        if not var_list:
            raise ArgumentError("var_list is empty: name the variables to train")
        key = (loss, len(var_list))
        if key not in self._gradients:
            self._gradients[key] = value_and_grad(loss, wrt=tuple(range(len(var_list))))
        value, grads = self._gradients[key](*var_list, *data)
        return value, grads

    # -- what subclasses provide -----------------------------------------------------------------------
    def _update(self, var, grad, slots):
        raise NotImplementedError

    def kernel_call(self, var, grad, slots, step):
        """Source text of this optimizer's kernel call (for generated training loops)."""
        raise NotImplementedError

    def hyperparameters(self):
        """Name -> value of the constants :meth:`kernel_call` uses."""
        return {"lr": self.learning_rate}


class GradientDescentOptimizer(Optimizer):
    """``var -= learning_rate * grad``."""

    def _update(self, var, grad, slots):
        kernels.sgd_step(var, grad, self.learning_rate)

    def kernel_call(self, var, grad, slots, step):
        return f"srk.sgd_step({var}, {grad}, lr)"


class MomentumOptimizer(Optimizer):
    """``accum = momentum * accum + grad``; ``var -= lr * accum`` (or Nesterov's variant)."""

    slot_names = ("momentum",)

    def __init__(self, learning_rate, momentum, use_nesterov=False):
        super().__init__(learning_rate)
        self.momentum = _number(momentum, "momentum")
        self.use_nesterov = bool(use_nesterov)

    def _update(self, var, grad, slots):
        kernels.momentum_step(var, grad, slots[0], self.learning_rate, self.momentum, self.use_nesterov)

    def kernel_call(self, var, grad, slots, step):
        return f"srk.momentum_step({var}, {grad}, {slots[0]}, lr, momentum, use_nesterov)"

    def hyperparameters(self):
        return {"lr": self.learning_rate, "momentum": self.momentum, "use_nesterov": self.use_nesterov}


class AdagradOptimizer(Optimizer):
    """``accum += grad**2``; ``var -= lr * grad / sqrt(accum)``, accumulators starting at 0.1."""

    slot_names = ("accumulator",)

    def __init__(self, learning_rate, initial_accumulator_value=0.1):
        super().__init__(learning_rate)
        value = _number(initial_accumulator_value, "initial_accumulator_value")
        if value <= 0:
            raise SrcgradError(f"initial_accumulator_value must be positive, got {value}")
        self.slot_initial = {"accumulator": value}

    def _update(self, var, grad, slots):
        kernels.adagrad_step(var, grad, slots[0], self.learning_rate)

    def kernel_call(self, var, grad, slots, step):
        return f"srk.adagrad_step({var}, {grad}, {slots[0]}, lr)"


class RMSPropOptimizer(Optimizer):
    """TensorFlow 1.x RMSProp; its mean-square slot starts at ones."""

    slot_names = ("rms", "momentum", "mg")
    slot_initial = {"rms": 1.0}

    def __init__(self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10, centered=False):
        super().__init__(learning_rate)
        self.decay, self.momentum = _number(decay, "decay"), _number(momentum, "momentum")
        self.epsilon, self.centered = _number(epsilon, "epsilon"), bool(centered)

    def _update(self, var, grad, slots):
        kernels.rmsprop_step(var, grad, *slots, self.learning_rate, self.decay, self.momentum,
                             self.epsilon, self.centered)

    def kernel_call(self, var, grad, slots, step):
        return (f"srk.rmsprop_step({var}, {grad}, {', '.join(slots)}, lr, decay, momentum, epsilon, "
                "centered)")

    def hyperparameters(self):
        return {"lr": self.learning_rate, "decay": self.decay, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class AdamOptimizer(Optimizer):
    """Adam with TensorFlow's bias-corrected step size
    ``lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)`` at step t (one step per apply_gradients)."""

    slot_names = ("m", "v")

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-08):
        super().__init__(learning_rate)
        self.beta1, self.beta2 = _number(beta1, "beta1"), _number(beta2, "beta2")
        self.epsilon = _number(epsilon, "epsilon")

    def _update(self, var, grad, slots):
        kernels.adam_step(var, grad, slots[0], slots[1], self.iterations, self.learning_rate,
                          self.beta1, self.beta2, self.epsilon)

    def kernel_call(self, var, grad, slots, step):
        return f"srk.adam_step({var}, {grad}, {slots[0]}, {slots[1]}, {step}, lr, beta1, beta2, epsilon)"

    def hyperparameters(self):
        return {"lr": self.learning_rate, "beta1": self.beta1, "beta2": self.beta2,
                "epsilon": self.epsilon}


SGD, Momentum, Adagrad, RMSProp, Adam = (GradientDescentOptimizer, MomentumOptimizer, AdagradOptimizer,
                                         RMSPropOptimizer, AdamOptimizer)


def create_global_step():
    """A step counter for ``global_step=``: a 0-d int64 array the optimizers increment in place."""
    return np.zeros((), dtype=np.int64)


def _number(value, name):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise SrcgradError(f"{name} must be a number, got {type(value).__name__}")
    return float(value)


def _check_pair(grad, var):
    if not isinstance(var, np.ndarray) or var.dtype.kind != "f":
        raise ArgumentError(f"a variable must be a NumPy float array (updated in place), got "
                            f"{type(var).__name__}{'' if not isinstance(var, np.ndarray) else ' of ' + str(var.dtype)}")
    if not var.flags.c_contiguous or not var.flags.writeable:
        raise ArgumentError("a variable must be a writeable C-contiguous array (np.ascontiguousarray)")
    if np.shape(grad) != var.shape:
        raise ArgumentError(f"gradient of shape {np.shape(grad)} for a variable of shape {var.shape}")


def _increment(global_step):
    if global_step is None:
        return
    if not isinstance(global_step, np.ndarray) or global_step.dtype.kind not in "iu" \
            or global_step.size != 1:
        raise ArgumentError("global_step must be a one-element NumPy integer array (see "
                            "srcgrad.train.create_global_step) so it can be incremented in place")
    global_step += 1
