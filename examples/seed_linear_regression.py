"""Linear regression y = 3x + 2 trained with an optimizer.

Reproduces seed 003 (the ``tf.gradients()`` tutorial), section "基础实践" (basic practice):
``w = tf.Variable(2.0)``, ``b = tf.Variable(1.0)``, ``y = x_input * w + b``,
``loss_op = tf.reduce_sum(tf.pow(y_input - y, 2)) / (2 * 32)`` and
``tf.train.GradientDescentOptimizer(0.01).minimize(loss_op)``, run on 20 single examples of a
noisy 32-point data set while printing the loss and ``tf.gradients(loss_op, w)``.

1. The seed's loop: 20 ``minimize`` steps, one example each, printing the loss and the gradient
   with respect to ``w`` (``srcgrad.gradients(loss_op, "w")``, ``tf.gradients``'s counterpart).
   As in the seed, ``w`` reaches about 3 within 20 steps while ``b`` hardly moves: x runs up to
   100, so the slope's gradient is ~100 times the intercept's.
2. The same loss trained on all 32 points by ``srcgrad.train.fit`` (one compiled native loop) with
   ``AdamOptimizer``, which reaches the least-squares solution w = 3, b = 2.

The data are drawn with a fixed seed, so the output is the same on every run.

Run with:  python examples/seed_linear_regression.py
"""

import numpy as np

import srcgrad


def loss_op(w, b, x_input, y_input):
    """The seed's loss: sum of squared errors over 2 * 32."""
    y = x_input * w + b
    return np.sum((y_input - y) ** 2) / (2 * 32)


def make_data(seed=0):
    """The seed's data set: 32 integers in [-10, 100) with a little noise on x and on y."""
    rng = np.random.RandomState(seed)
    x_pure = rng.randint(-10, 100, 32)
    x_train = x_pure + rng.randn(32) / 10
    y_train = 3 * x_pure + 2 + rng.randn(32) / 10
    return x_train, y_train


def seed_loop(x_train, y_train):
    print("== 1. the seed's loop: GradientDescentOptimizer(0.01), one example per step ==")
    w = np.array(2.0)           # tf.Variable(2.0): a 0-d array, updated in place
    b = np.array(1.0)
    optimizer = srcgrad.train.GradientDescentOptimizer(0.01)
    gradients_node = srcgrad.gradients(loss_op, "w")        # tf.gradients(loss_op, w)
    for i in range(20):
        x_i, y_i = x_train[i:i + 1], y_train[i:i + 1]
        (gradient,) = gradients_node(w, b, x_i, y_i)
        loss = optimizer.minimize(loss_op, [w, b], x_i, y_i)
        print(f"epoch: {i:2d} \t loss: {float(loss):12.6f} \t gradients: [{float(gradient):10.4f}]")
    print(f"after 20 steps: w = {float(w):.4f}, b = {float(b):.4f}   (b has barely moved from 1)")
    return w, b


def full_training(x_train, y_train):
    print("== 2. srcgrad.train.fit: AdamOptimizer(0.1), all 32 points per step, 1500 epochs ==")
    w = np.array([2.0])
    b = np.array([1.0])
    history = srcgrad.train.fit(loss_op, [w, b], x_train, y_train,
                                optimizer=srcgrad.train.AdamOptimizer(0.1),
                                epochs=1500, batch_size=32, shuffle=False, verbose=False)
    print(f"loss: epoch 1 {history[0]:.4f}, epoch 1500 {history[-1]:.6f}")
    slope, intercept = np.polyfit(x_train, y_train, 1)
    print(f"least squares (np.polyfit): w = {slope:.4f}, b = {intercept:.4f}")
    return w, b


def main():
    x_train, y_train = make_data()
    seed_loop(x_train, y_train)
    print()
    w, b = full_training(x_train, y_train)
    print(f"learned w = {w[0]:.4f}")
    print(f"learned b = {b[0]:.4f}")


if __name__ == "__main__":
    main()
