"""``fit``: a whole training run as one generated, natively compiled function.

srcgrad writes a Python function that runs every epoch (shuffle, minibatch, forward, backward,
optimizer update) and compiles it with Numba, so no Python runs between steps; after each epoch it
reports progress through Numba's object mode. It calls the loss's generated ``value_and_grad`` and the
optimizer's kernels from :mod:`srcgrad.train.kernels`, like a loop a person would write by hand.
"""
import inspect
import os

import numpy as np

from .. import api
from ..codegen import compile as compile_
from ..codegen.cache import NUMBA_CACHE
from ..errors import ArgumentError
from ..pipeline import VERSION
from . import progress
from .optimizers import GradientDescentOptimizer, Optimizer

_IMPORTS = """import numpy as np
from numba import njit, objmode

import srcgrad.train.kernels as srk
import srcgrad.train.progress as progress
from {gradient_module} import {gradient_name} as value_and_grad
"""

_FIXED = {"epochs", "batch_size", "shuffle", "seed", "step", "n", "order", "history", "epoch", "total",
          "batches", "start", "stop", "value", "grads", "value_and_grad", "progress", "srk", "np",
          "njit", "objmode", "lr", "momentum", "use_nesterov", "decay", "epsilon", "centered",
          "beta1", "beta2"}

_CACHE = {}     # (loss, variables, data, optimizer class) -> compiled training function


def compile_fit(loss, n_vars, n_data, optimizer):
    """The compiled training function for ``loss`` with ``n_vars`` variables followed by ``n_data``
    data arguments, updated by ``optimizer``'s kind of update. ``srcgrad.source`` shows its code."""
    key = (loss, n_vars, n_data, type(optimizer), tuple(sorted(optimizer.hyperparameters())))
    if key in _CACHE:
        return _CACHE[key]
    params = list(inspect.signature(getattr(loss, "py_func", loss)).parameters)
    if len(params) != n_vars + n_data:
        raise ArgumentError(f"{getattr(loss, '__name__', 'loss')} takes {len(params)} arguments; "
                            f"fit was given {n_vars} variables and {n_data} data arrays")
    names = [p + "_" if p in _FIXED else p for p in params]
    variables, data = names[:n_vars], names[n_vars:]
    slots = [[f"{slot}_{v}" for slot in optimizer.slot_names] for v in variables]
    gradient = api.value_and_grad(loss, wrt=tuple(range(n_vars)))
    hyper = list(optimizer.hyperparameters())
    signature = variables + data + [s for group in slots for s in group] + \
        ["step", "epochs", "batch_size", "shuffle", "seed"] + hyper
    gathered = ", ".join(variables + [f"{d}[order[start:stop]]" for d in data])
    sliced = ", ".join(variables + [f"{d}[start:stop]" for d in data])
    # wrt is a tuple even for one variable, so grads is always a tuple (a 1-tuple for one variable)
    updates = "\n".join(
        "            " + optimizer.kernel_call(v, f"grads[{k}]", slots[k], "step[0]")
        for k, v in enumerate(variables))
    name = "fit_" + gradient.py_func.__name__.replace("_value_and_grad", "")
    body = f'''@njit(cache={NUMBA_CACHE})
def {name}({", ".join(signature)}):
    """Train {", ".join(variables)} on {", ".join(data) or "no data"}: shuffled minibatches of the first axis, one
    {type(optimizer).__name__} step per batch; returns the mean loss of each epoch."""
    with objmode():
        progress.begin()
    n = {data[0] + ".shape[0]" if data else "1"}
    order = np.arange(n)
    np.random.seed(seed)
    history = np.zeros(epochs)
    for epoch in range(epochs):
        if shuffle:
            np.random.shuffle(order)
        total = 0.0
        batches = 0
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            if shuffle:
                value, grads = value_and_grad({gathered})
            else:           # the rows in order: views, no copies
                value, grads = value_and_grad({sliced})
            step[0] += 1
{updates}
            total += value
            batches += 1
        history[epoch] = total / batches
        with objmode():
            progress.epoch_done(epoch, history[epoch])
    return history
'''
    fn = getattr(loss, "py_func", loss)
    where = f"{os.path.basename(fn.__code__.co_filename)}:{fn.__code__.co_firstlineno}"
    start = compile_.header(VERSION, f": a training loop for {fn.__module__}.{fn.__qualname__} "
                                     f"({where}) with {type(optimizer).__name__}",
                            "the loss, the optimizer's kernels or srcgrad changes",
                            _IMPORTS.format(gradient_module=gradient.__srcgrad__.path.stem,
                                            gradient_name=gradient.py_func.__name__))
    dispatcher = compile_.load_generated(name, start + body, signature, len(signature))
    _CACHE[key] = dispatcher
    return dispatcher


def fit(loss, var_list, *data, optimizer=None, epochs=1, batch_size=32, shuffle=True, seed=None,
        verbose=True):
    """Train the variables in ``var_list`` (NumPy float arrays, updated in place) to minimise
    ``loss(*var_list, *data)`` with one compiled native function.

    Minibatches of ``batch_size`` rows are taken along the first axis of every data array (reshuffled
    each epoch when ``shuffle``; ``seed`` makes the order reproducible). The optimizer defaults to
    gradient descent with learning rate 0.01; its slots and step count carry over, so ``fit`` and
    ``minimize`` can alternate. Returns the mean minibatch loss of each epoch.
    """
    optimizer = optimizer if optimizer is not None else GradientDescentOptimizer(0.01)
    if not isinstance(optimizer, Optimizer):
        raise ArgumentError(f"optimizer must be a srcgrad.train optimizer, got {type(optimizer).__name__}")
    var_list = list(var_list)
    for var in var_list:
        if not isinstance(var, np.ndarray) or var.dtype.kind != "f" or not var.flags.c_contiguous:
            raise ArgumentError("fit trains NumPy float arrays (C-contiguous), updated in place")
    lengths = {np.shape(d)[0] for d in data if np.ndim(d) > 0}
    if len(lengths) > 1:
        raise ArgumentError(f"the data arrays have different numbers of rows: {sorted(lengths)}")
    if int(epochs) < 0 or int(batch_size) < 1:
        raise ArgumentError("epochs must be >= 0 and batch_size >= 1")
    train = compile_fit(loss, len(var_list), len(data), optimizer)
    slots = [s for v in var_list for s in optimizer.slots(v)]
    step = np.array([optimizer.iterations], dtype=np.int64)
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1))
    progress.start(int(epochs), verbose)
    history = train(*var_list, *data, *slots, step, int(epochs), int(batch_size), bool(shuffle),
                    int(seed), *optimizer.hyperparameters().values())
    optimizer.iterations = int(step[0])
    return history
