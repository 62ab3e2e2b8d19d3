"""srcgrad's main job: train on real handwritten digits with compiled training loops.

Softmax regression and a one-hidden-layer MLP learn scikit-learn's bundled 8x8 handwritten digits
(1797 images, no download). Each model trains with ``srcgrad.train.fit``: srcgrad differentiates the
loss below from its source and compiles the whole run (epochs, shuffled minibatches, forward,
backward, Adam update) into one native function, printing a progress bar per epoch.

Run with:  pip install ".[examples]" && python examples/train_digits.py
Prints the test accuracy and the time per epoch of each model and writes digits_loss.png.
"""
import sys
import time

import numpy as np
from sklearn.datasets import load_digits

import srcgrad
from srcgrad import nn, train

REGULARIZER = nn.l2_regularizer(1e-4)


def softmax_regression(W, b, X, labels):
    logits = X @ W + b
    return np.mean(nn.sparse_softmax_cross_entropy_with_logits(labels, logits))


def mlp(W1, b1, W2, b2, X, labels):
    hidden = nn.relu(X @ W1 + b1)
    logits = hidden @ W2 + b2
    data = np.mean(nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
    return data + nn.apply_regularization(REGULARIZER, [W1, W2])


def split(seed=0, test_fraction=0.25):
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    cut = int(len(y) * (1 - test_fraction))
    return X[order[:cut]], y[order[:cut]], X[order[cut:]], y[order[cut:]]


def run(name, loss, params, predict, data, epochs, optimizer):
    train_x, train_y, test_x, test_y = data
    print(f"\n== {name}: {sum(p.size for p in params)} parameters, {len(train_y)} training images ==")
    start = time.perf_counter()
    history = train.fit(loss, params, train_x, train_y, optimizer=optimizer, epochs=epochs,
                        batch_size=32, seed=0)
    total = time.perf_counter() - start
    per_epoch = np.median(train.progress.epoch_seconds())
    accuracy = np.mean(np.argmax(predict(test_x), axis=1) == test_y)
    print(f"test accuracy {accuracy:.4f} | {per_epoch * 1e3:.2f} ms per epoch | "
          f"{total:.1f} s in all, compilation included")
    return history, accuracy


def main():
    data = split()
    rng = np.random.default_rng(1)

    W, b = np.zeros((64, 10)), np.zeros(10)
    softmax_history, softmax_accuracy = run(
        "softmax regression", softmax_regression, [W, b], lambda X: X @ W + b, data, 30,
        train.AdamOptimizer(0.01))

    W1 = rng.normal(scale=np.sqrt(2 / 64), size=(64, 64))
    b1 = np.zeros(64)
    W2 = rng.normal(scale=np.sqrt(1 / 64), size=(64, 10))
    b2 = np.zeros(10)
    mlp_history, mlp_accuracy = run(
        "MLP 64-64-10 (relu)", mlp, [W1, b1, W2, b2],
        lambda X: np.maximum(X @ W1 + b1, 0) @ W2 + b2, data, 40, train.AdamOptimizer(0.005))

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(np.arange(1, len(softmax_history) + 1), softmax_history,
                label=f"softmax regression (test acc. {softmax_accuracy:.3f})")
        ax.plot(np.arange(1, len(mlp_history) + 1), mlp_history,
                label=f"MLP (test acc. {mlp_accuracy:.3f})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("mean training loss")
        ax.set_yscale("log")
        ax.set_title("srcgrad.train.fit on scikit-learn's 8x8 digits")
        ax.legend()
        fig.tight_layout()
        fig.savefig("digits_loss.png", dpi=120)
        print("\nloss curves written to digits_loss.png")
    except ImportError:
        print("\n(matplotlib is not installed: no loss-curve PNG; pip install '.[examples]')")

    print("\nThe compiled training loop srcgrad generated for the MLP:")
    print(srcgrad.source(train.compile_fit(mlp, 4, 2, train.AdamOptimizer(0.005))).split("\n\n\n", 1)[1])
    if mlp_accuracy < 0.95:
        sys.exit(f"MLP test accuracy {mlp_accuracy:.4f} is below 0.95")


if __name__ == "__main__":
    main()
