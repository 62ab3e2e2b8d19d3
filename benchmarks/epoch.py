"""Workload 5: one epoch of minibatch SGD for softmax regression on MNIST-shaped random data.

60000 x 784 inputs (6000 rows when quick), 10 classes, batches of 100 in order (no shuffle), learning
rate 0.1, starting from the same weights. Each system runs its idiomatic training loop:

- srcgrad: ``srcgrad.train.fit`` (the whole epoch is one generated, compiled function);
- hand Numba: one ``@njit`` epoch loop around a hand-written gradient;
- NumPy: a Python loop over batches with a hand-written gradient;
- JAX: the epoch as ``jax.lax.fori_loop`` over batches (``lax.dynamic_slice``) under one ``jax.jit``;
- PyTorch: a Python loop with ``torch.optim.SGD`` and ``loss.backward()``;
- autograd: a Python loop around ``autograd.grad``.

The check compares the weights after the epoch with the hand-written Numba ones.
"""
import numpy as np
from numba import njit

import peers  # first: it imports harness, which puts this checkout of srcgrad on sys.path
from harness import Case, as_tuple, plain
from models import _add_rows, column_sums, numpy_xent_grad_rows, one_hot_labels, peer_xent, \
    xent_grad_rows

import srcgrad.nn as nn  # noqa: E402

LR = 0.1
BATCH = 100


def softmax_regression_loss(W, b, X, labels):
    return np.mean(nn.softmax_cross_entropy_with_logits(labels, X @ W + b))


def peer_loss(ops, W, b, X, labels):
    return peer_xent(ops, X @ W + b, labels)


@njit(cache=True)
def hand_epoch(W, b, X, labels, lr, batch):
    """One epoch in place on ``W``, ``b``."""
    for start in range(0, X.shape[0], batch):
        xb = X[start:start + batch]
        g = xent_grad_rows(_add_rows(xb @ W, b), labels[start:start + batch], 1.0 / xb.shape[0])
        W -= lr * (xb.T @ g)
        b -= lr * column_sums(g)
    return W, b


def numpy_epoch(W, b, X, labels, lr, batch):
    for start in range(0, X.shape[0], batch):
        xb = X[start:start + batch]
        g = numpy_xent_grad_rows(xb @ W + b, labels[start:start + batch], 1.0 / xb.shape[0])
        W -= lr * (xb.T @ g)
        b -= lr * g.sum(axis=0)
    return W, b


def fresh(epoch, W0, b0, *data):
    """``run`` for an epoch function that updates copies of the starting weights in place."""
    return lambda: epoch(W0.copy(), b0.copy(), *data)


def srcgrad_builder(W0, b0, X, labels):
    def build():
        from srcgrad import train

        def epoch(W, b):
            train.fit(softmax_regression_loss, [W, b], X, labels,
                      optimizer=train.GradientDescentOptimizer(LR), epochs=1, batch_size=BATCH,
                      shuffle=False, verbose=False)
            return W, b
        return fresh(epoch, W0, b0), as_tuple
    return build


def jax_builder(W0, b0, X, labels):
    def build():
        jx = peers.load("JAX")
        jax, lax = jx.jax, jx.lax
        grad = jax.grad(lambda *a: peer_loss(jx.ops, *a), argnums=(0, 1))

        @jax.jit
        def epoch(W, b, X, labels):
            def step(i, params):
                xb = lax.dynamic_slice_in_dim(X, i * BATCH, BATCH)
                yb = lax.dynamic_slice_in_dim(labels, i * BATCH, BATCH)
                gW, gb = grad(*params, xb, yb)
                return params[0] - LR * gW, params[1] - LR * gb
            return lax.fori_loop(0, X.shape[0] // BATCH, step, (W, b))
        args = [jx.array(a) for a in (W0, b0, X, labels)]
        return (lambda: jax.block_until_ready(epoch(*args))), as_tuple
    return build


def torch_builder(W0, b0, X, labels):
    def build():
        tp = peers.load("PyTorch")
        torch = tp.torch
        tX, tlabels = tp.array(X), tp.array(labels)
        W, b = tp.array(W0.copy(), requires_grad=True), tp.array(b0.copy(), requires_grad=True)

        def epoch():
            with torch.no_grad():
                W.copy_(torch.from_numpy(W0))
                b.copy_(torch.from_numpy(b0))
            opt = torch.optim.SGD([W, b], lr=LR)
            for start in range(0, X.shape[0], BATCH):
                opt.zero_grad()
                loss = peer_loss(tp.ops, W, b, tX[start:start + BATCH], tlabels[start:start + BATCH])
                loss.backward()
                opt.step()
            return W, b
        return epoch, tp.to_numpy
    return build


def autograd_builder(W0, b0, X, labels):
    def build():
        ag = peers.load("autograd")
        grad = ag.autograd.grad(lambda *a: peer_loss(ag.ops, *a), argnum=(0, 1))

        def epoch():
            W, b = W0, b0
            for start in range(0, X.shape[0], BATCH):
                gW, gb = grad(W, b, X[start:start + BATCH], labels[start:start + BATCH])
                W, b = W - LR * gW, b - LR * gb
            return W, b
        return epoch, as_tuple
    return build


def cases(settings):
    rows = 6_000 if settings.quick else 60_000
    rng = np.random.default_rng(5)
    X = rng.random(size=(rows, 784))
    labels = one_hot_labels(rng, rows, 10)
    W0, b0 = rng.normal(scale=0.01, size=(784, 10)), np.zeros(10)
    hand = fresh(hand_epoch, W0, b0, X, labels, LR, BATCH)
    systems = {
        "hand Numba": lambda: (hand, as_tuple),
        "srcgrad": srcgrad_builder(W0, b0, X, labels),
        "NumPy": lambda: plain(fresh(numpy_epoch, W0, b0, X, labels, LR, BATCH)),
        "JAX": jax_builder(W0, b0, X, labels),
        "PyTorch": torch_builder(W0, b0, X, labels),
        "autograd": autograd_builder(W0, b0, X, labels),
    }
    return [Case("5 SGD epoch", f"softmax regression, {rows} x 784, batch {BATCH}", reference=hand,
                 systems=systems, repeats=3 if settings.quick else 5, params={"rows": rows},
                 notes=["srcgrad: train.fit (one compiled function); hand Numba: one @njit loop; "
                        "NumPy, PyTorch (torch.optim.SGD), autograd: Python loop over batches; "
                        "JAX: lax.fori_loop over batches inside one jax.jit"])]
