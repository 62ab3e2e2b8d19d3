"""Softmax regression trained three ways: minimize, hand-applied gradients, and global-norm clipping.

Reproduces seed 004 (Tensorflow学习笔记08 - Gradient), section 1, on scikit-learn's bundled 8x8
handwritten digits instead of MNIST (no download, and fast):

* 1.1  ``tf.train.GradientDescentOptimizer(lr).minimize(cost)`` with
       ``cost = mean(-sum(y * log(softmax(x@W + b)), axis=1))``, printing
       ``Epoch: 0001 cost= ...`` per epoch and the test accuracy;
* 1.2  the same with the gradients computed and applied by hand:
       ``opt.compute_gradients(cost, [W, b])`` then ``opt.apply_gradients(...)``, which gives
       exactly the same weights as ``minimize``;
* 1.3  gradient clipping: ``tf.clip_by_global_norm(gradients, max_gradient_norm)`` between
       ``compute_gradients`` and ``apply_gradients``.

It starts with seed 000, In [31]: ``tf.nn.softmax_cross_entropy_with_logits_v2`` of
``RandomState(1).rand(1, 10)`` against the one-hot label 1 equals ``-sum(y * log(softmax))``,
``1.91865955``.

W and b start at zeros (``tf.zeros``); minibatches of 100 come in a fixed shuffled order, so every
run prints the same numbers.

Run with:  python examples/seed_softmax_regression.py
"""

import numpy as np
from sklearn.datasets import load_digits

import srcgrad
from srcgrad import nn

LEARNING_RATE = 0.5
EPOCHS = 10
BATCH_SIZE = 100
CLIP_NORM = 0.5


def cost(W, b, x, y):
    """Mean softmax cross-entropy of ``x @ W + b`` against one-hot ``y``."""
    return np.mean(nn.softmax_cross_entropy_with_logits(y, x @ W + b))


def load():
    digits = load_digits()
    x = digits.data / 16.0
    y = nn.one_hot(digits.target, 10)
    order = np.random.RandomState(0).permutation(len(x))
    train, test = order[:1497], order[1497:]
    return x[train], y[train], x[test], y[test]


def accuracy(W, b, x, y):
    return float(np.mean(np.argmax(x @ W + b, axis=1) == np.argmax(y, axis=1)))


def train(x, y, how):
    """Train from zeros; ``how`` is "minimize", "compute/apply" or "clip"."""
    W = np.zeros((64, 10))
    b = np.zeros(10)
    optimizer = srcgrad.train.GradientDescentOptimizer(LEARNING_RATE)
    rng = np.random.RandomState(1)
    total_batch = int(np.ceil(len(x) / BATCH_SIZE))
    clipped_steps, norms = 0, []
    for epoch in range(EPOCHS):
        order = rng.permutation(len(x))
        avg_cost = 0.0
        for i in range(total_batch):
            batch = order[i * BATCH_SIZE:(i + 1) * BATCH_SIZE]
            batch_xs, batch_ys = x[batch], y[batch]
            if how == "minimize":
                c = optimizer.minimize(cost, [W, b], batch_xs, batch_ys)
            else:
                c = cost(W, b, batch_xs, batch_ys)
                grads_and_vars = optimizer.compute_gradients(cost, [W, b], batch_xs, batch_ys)
                if how == "clip":
                    grads = [g for g, v in grads_and_vars]
                    clipped, norm = srcgrad.clip_by_global_norm(grads, CLIP_NORM)
                    after = np.sqrt(sum(np.sum(g * g) for g in clipped))
                    if abs(after - min(norm, CLIP_NORM)) > 1e-12:
                        raise SystemExit(f"clipped global norm {after} for norm {norm}")
                    norms.append(norm)
                    clipped_steps += norm > CLIP_NORM
                    grads_and_vars = list(zip(clipped, [v for g, v in grads_and_vars]))
                optimizer.apply_gradients(grads_and_vars)
            avg_cost += c / total_batch
        print("Epoch:", "%04d" % (epoch + 1), "cost=", "{:.9f}".format(avg_cost))
    if how == "clip":
        print(f"global gradient norm: first step {norms[0]:.4f}, last step {norms[-1]:.4f}; "
              f"clipped to {CLIP_NORM} in {clipped_steps} of {len(norms)} steps")
    return W, b, avg_cost


def main():
    print("== seed 000 In [31]: softmax cross-entropy of RandomState(1).rand(1, 10), label 1 ==")
    logits = np.random.RandomState(1).rand(1, 10)
    y = np.array([0.0, 1.0, 0, 0, 0, 0, 0, 0, 0, 0])
    fused = nn.softmax_cross_entropy_with_logits(y, logits)
    by_hand = -np.sum(y * np.log(nn.softmax(logits)))
    print("calc with softmax_cross_entropy_with_logits\n\t", fused)
    print("calc with softmax & cross_entropy\n\t", by_hand)
    np.testing.assert_allclose([fused[0], by_hand], [1.91865955, 1.91865955], rtol=1e-8)
    print()

    x_train, y_train, x_test, y_test = load()
    print(f"digits: {len(x_train)} training and {len(x_test)} test images of 8x8 pixels, 10 classes")
    print(f"gradient descent, learning rate {LEARNING_RATE}, {EPOCHS} epochs, batches of {BATCH_SIZE}")
    results = {}
    for how, title in (("minimize", "1.1 optimizer.minimize(cost, [W, b], x, y)"),
                       ("compute/apply", "1.2 compute_gradients, then apply_gradients"),
                       ("clip", f"1.3 compute_gradients, clip_by_global_norm(grads, {CLIP_NORM}), "
                                "apply_gradients")):
        print(f"== {title} ==")
        W, b, final_cost = train(x_train, y_train, how)
        results[how] = (W, b)
        print("Optimization Finished!")
        print("Accuracy:", accuracy(W, b, x_test, y_test))
    same = max(np.max(np.abs(results["minimize"][k] - results["compute/apply"][k])) for k in (0, 1))
    print(f"max |minimize - compute/apply| over W and b: {same:.1e}")
    if same > 1e-12:
        raise SystemExit("minimize and compute_gradients/apply_gradients disagree")


if __name__ == "__main__":
    main()
