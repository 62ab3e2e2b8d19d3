"""Training with an L2 penalty: ``nn.l2_regularizer`` and ``nn.apply_regularization`` in the loss.

Follows the "Regularization" cells at the end of seed 000 (``tf.contrib.layers.l2_regularizer``,
``tf.contrib.layers.apply_regularization(regularizer, weights_list)``, ``sum_regularizer``): the
regularizer is built once at module level, ``REG = nn.l2_regularizer(SCALE)``, and the loss adds
``nn.apply_regularization(REG, [w1, w2])`` (the weights as a list literal) to the data term.

The model is a linear regression with 30 features and only 24 training points, so without a penalty
it fits the noise. Its two weight blocks ``w1``, ``w2`` are penalised, the bias is not. We check:

* the penalty's value is ``SCALE * (l2_loss(w1) + l2_loss(w2))`` = ``SCALE * sum(w**2) / 2``, and
  ``sum_regularizer([l2_regularizer(s1), l2_regularizer(s2)])`` is ``l2_regularizer(s1 + s2)``;
* its gradient adds exactly ``SCALE * w`` to the data gradient;
* ``srcgrad.train.fit`` with momentum gradient descent reaches the closed-form ridge solution;
* the penalised model has smaller weights and a lower test error than the unpenalised one.

Run with:  python examples/regularized_training.py
"""

import numpy as np

import srcgrad
from srcgrad import nn

SCALE = 0.2
REG = nn.l2_regularizer(SCALE)     # regularizers are built at module level, outside the loss


def data_loss(w1, w2, b, X1, X2, y):
    """Mean squared error / 2 of the linear model X1 @ w1 + X2 @ w2 + b."""
    pred = X1 @ w1 + X2 @ w2 + b
    return 0.5 * np.mean((pred - y) ** 2)


def regularized_loss(w1, w2, b, X1, X2, y):
    """The data term plus the L2 penalty on both weight blocks (not on the bias)."""
    pred = X1 @ w1 + X2 @ w2 + b
    return 0.5 * np.mean((pred - y) ** 2) + nn.apply_regularization(REG, [w1, w2])


# the true model: 5 of the 30 features matter, bias 1
W_TRUE = np.concatenate([np.array([1.5, -2.0, 1.0, 0.5, -1.0]), np.zeros(25)])


def make_data(rng, n):
    """n noisy points of the true model, the features split into two blocks of 15."""
    X = rng.randn(n, 30)
    y = X @ W_TRUE + 1.0 + 0.5 * rng.randn(n)
    return X[:, :15].copy(), X[:, 15:].copy(), y


def ridge_closed_form(X1, X2, y, scale):
    """argmin of 0.5 * mean((X w + b - y)^2) + scale * sum(w**2) / 2, bias not penalised."""
    X = np.hstack([X1, X2])
    n, p = X.shape
    A = np.hstack([X, np.ones((n, 1))])
    penalty = scale * np.eye(p + 1)
    penalty[p, p] = 0.0
    solution = np.linalg.solve(A.T @ A / n + penalty, A.T @ y / n)
    return solution[:p], solution[p]


def train(loss, X1, X2, y, epochs):
    w1, w2, b = np.zeros(15), np.zeros(15), np.zeros(1)
    history = srcgrad.train.fit(loss, [w1, w2, b], X1, X2, y,
                                optimizer=srcgrad.train.MomentumOptimizer(0.05, 0.9),
                                epochs=epochs, batch_size=len(y), shuffle=False, verbose=False)
    return w1, w2, b, history


def test_error(w1, w2, b, X1, X2, y):
    return float(np.mean((X1 @ w1 + X2 @ w2 + b - y) ** 2))


def main():
    rng = np.random.RandomState(0)
    X1, X2, y = make_data(rng, 24)
    X1_test, X2_test, y_test = make_data(rng, 1000)

    print(f"== the penalty: REG = nn.l2_regularizer({SCALE}) ==")
    w1, w2 = rng.randn(15), rng.randn(15)
    penalty = nn.apply_regularization(REG, [w1, w2])
    by_hand = SCALE * (nn.l2_loss(w1) + nn.l2_loss(w2))
    print(f"apply_regularization(REG, [w1, w2]) = {penalty:.10f}")
    print(f"SCALE * (l2_loss(w1) + l2_loss(w2)) = {by_hand:.10f}")
    summed = nn.sum_regularizer([nn.l2_regularizer(0.05), nn.l2_regularizer(0.15)])
    print(f"sum_regularizer([l2(0.05), l2(0.15)])(w1) = {summed(w1):.10f}, REG(w1) = {REG(w1):.10f}")
    if abs(penalty - by_hand) > 1e-12 or abs(summed(w1) - REG(w1)) > 1e-12:
        raise SystemExit("regularizer values disagree")

    b = np.array([0.3])
    g_data = srcgrad.grad(data_loss, wrt=(0, 1, 2))(w1, w2, b, X1, X2, y)
    g_reg = srcgrad.grad(regularized_loss, wrt=(0, 1, 2))(w1, w2, b, X1, X2, y)
    extra = [gr - gd for gr, gd in zip(g_reg, g_data)]
    err = max(np.max(np.abs(extra[0] - SCALE * w1)), np.max(np.abs(extra[1] - SCALE * w2)),
              np.max(np.abs(extra[2])))
    print(f"gradient of the penalty = SCALE * w for w1 and w2, 0 for b: max error {err:.1e}")
    if err > 1e-12:
        raise SystemExit("the penalty's gradient is not SCALE * w")
    print()

    print("== fit: MomentumOptimizer(0.05, 0.9), full batch of 24 points, 30 features ==")
    results = {}
    for name, loss, epochs in (("no penalty", data_loss, 3000), ("L2 penalty", regularized_loss, 3000)):
        w1, w2, b, history = train(loss, X1, X2, y, epochs)
        weights = np.concatenate([w1, w2])
        train_mse = test_error(w1, w2, b, X1, X2, y)
        test_mse = test_error(w1, w2, b, X1_test, X2_test, y_test)
        results[name] = (weights, b, train_mse, test_mse)
        print(f"{name}: final loss {history[-1]:.6f}   |w| = {np.linalg.norm(weights):.4f}   "
              f"train MSE {train_mse:.4f}   test MSE {test_mse:.4f}")

    w_ridge, b_ridge = ridge_closed_form(X1, X2, y, SCALE)
    weights, b, _, _ = results["L2 penalty"]
    gap = max(np.max(np.abs(weights - w_ridge)), abs(b[0] - b_ridge))
    print(f"closed-form ridge solution: |w| = {np.linalg.norm(w_ridge):.4f}, b = {b_ridge:.4f}")
    print(f"max |fit - closed form| = {gap:.2e}")
    print(f"test MSE without penalty: {results['no penalty'][3]:.4f}")
    print(f"test MSE with penalty:    {results['L2 penalty'][3]:.4f}")


if __name__ == "__main__":
    main()
