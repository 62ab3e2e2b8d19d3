"""A whole training loop written by hand in ``@numba.njit``: srcgrad's gradient and optimizer
kernels are ordinary native functions, so forward, backward and update compile into one function.

Logistic regression on synthetic data, trained with Adam for 300 full-batch steps.
Run with:  python examples/njit_training_loop.py
"""
import time

import numpy as np
from numba import njit

import srcgrad
from srcgrad import nn, train


def loss(w, b, X, y):
    return np.mean(nn.sigmoid_cross_entropy_with_logits(y, X @ w + b))


loss_and_grad = srcgrad.value_and_grad(loss, wrt=(0, 1))


@njit
def train_loop(w, b, X, y, steps, lr):
    m_w, v_w = np.zeros_like(w), np.zeros_like(w)
    m_b, v_b = np.zeros_like(b), np.zeros_like(b)
    history = np.empty(steps)
    for t in range(1, steps + 1):
        value, (g_w, g_b) = loss_and_grad(w, b, X, y)
        train.kernels.adam_step(w, g_w, m_w, v_w, t, lr, 0.9, 0.999, 1e-8)
        train.kernels.adam_step(b, g_b, m_b, v_b, t, lr, 0.9, 0.999, 1e-8)
        history[t - 1] = value
    return history


def main():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 5))
    true_w = np.array([1.5, -2.0, 0.0, 0.5, 1.0])
    y = (X @ true_w + 0.3 + 0.5 * rng.normal(size=1000) > 0).astype(np.float64)
    w, b = np.zeros(5), np.zeros(1)
    train_loop(w.copy(), b.copy(), X, y, 1, 0.05)          # compile once
    start = time.perf_counter()
    history = train_loop(w, b, X, y, 300, 0.05)
    seconds = time.perf_counter() - start
    accuracy = np.mean(((X @ w + b) > 0) == (y > 0.5))
    print(f"loss {history[0]:.4f} -> {history[-1]:.4f} in 300 Adam steps ({seconds * 1e3:.1f} ms, "
          "one native call)")
    print(f"learned w = {np.round(w, 2)}, b = {np.round(b, 2)}; training accuracy {accuracy:.3f}")
    print(f"direction of the true weights recovered: cosine "
          f"{w @ true_w / np.linalg.norm(w) / np.linalg.norm(true_w):.3f}")


if __name__ == "__main__":
    main()
