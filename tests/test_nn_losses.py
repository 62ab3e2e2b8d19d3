"""srcgrad.nn losses and regularizers against NumPy/SciPy formulas with Keras/TensorFlow meanings;
their gradients against central finite differences of those formulas; use inside ``@njit``."""
import numpy as np
import pytest
from numba import njit
from scipy import special

import srcgrad
from srcgrad import nn
from conftest import assert_close, numeric_grad

RNG = np.random.default_rng(11)
EPS = 1e-7


def _bce(t, p):
    c = np.clip(p, EPS, 1 - EPS)
    return -np.mean(t * np.log(c + EPS) + (1 - t) * np.log(1 - c + EPS), axis=-1)


def _sigmoid_xent(t, x):
    return t * np.logaddexp(0.0, -x) + (1 - t) * np.logaddexp(0.0, x)


def _cce(t, p):
    c = np.clip(p / p.sum(axis=-1, keepdims=True), EPS, 1 - EPS)
    return -np.sum(t * np.log(c), axis=-1)


def _huber(t, p, delta=1.0):
    e = np.abs(p - t)
    return np.mean(np.where(e <= delta, 0.5 * e * e, delta * e - 0.5 * delta * delta), axis=-1)


def bce_logits(t, p):
    return nn.binary_crossentropy(t, p, True)


def bce_logits_ref(t, x):
    return np.mean(_sigmoid_xent(t, x), axis=-1)


def cce_logits(t, p):
    return nn.categorical_crossentropy(t, p, from_logits=True)


def softmax_xent_ref(t, x):
    return -np.sum(t * special.log_softmax(x, axis=-1), axis=-1)


def mse_ref(t, p):
    return np.mean((p - t) ** 2, axis=-1)


def mae_ref(t, p):
    return np.mean(np.abs(p - t), axis=-1)


# name -> (srcgrad function of (labels, predictions), reference, kind of predictions)
DENSE = {
    "mse": (nn.mse, mse_ref, "real"),
    "mae": (nn.mae, mae_ref, "real"),
    "huber": (nn.huber, _huber, "real"),
    "binary_crossentropy": (nn.binary_crossentropy, _bce, "prob"),
    "binary_crossentropy_logits": (bce_logits, bce_logits_ref, "real"),
    "categorical_crossentropy": (nn.categorical_crossentropy, _cce, "prob"),
    "categorical_crossentropy_logits": (cce_logits, softmax_xent_ref, "real"),
    "softmax_cross_entropy_with_logits": (nn.softmax_cross_entropy_with_logits, softmax_xent_ref,
                                          "real"),
}


def _data(shape, kind):
    t = RNG.uniform(0.0, 1.0, size=shape)
    if kind == "prob":
        p = RNG.uniform(0.05, 0.95, size=shape)
    else:
        p = RNG.normal(size=shape) * 2.0
        p = np.where(np.abs(p - t) < 0.05, p + 0.3, p)     # away from the kinks of mae and huber
        p = np.where(np.abs(np.abs(p - t) - 1.0) < 0.05, p + 0.3, p)
    return t, p


def _weighted(loss):
    def f(t, p, w):
        return np.sum(loss(t, p) * w)
    return f


_GRADS = {}


@pytest.mark.parametrize("name", sorted(DENSE))
@pytest.mark.parametrize("shape", [(5,), (3, 4)])
def test_dense_loss_values_and_gradients(name, shape):
    loss, ref, kind = DENSE[name]
    t, p = _data(shape, kind)
    value = loss(t, p)
    np.testing.assert_allclose(value, ref(t, p), rtol=1e-12)
    assert np.shape(value) == shape[:-1]
    w = RNG.normal(size=shape[:-1]) if len(shape) > 1 else 0.7
    if name not in _GRADS:
        _GRADS[name] = srcgrad.grad(_weighted(loss), wrt=(0, 1))
    got = _GRADS[name](t, p, w)
    expected = numeric_grad(_weighted(ref), [t, p, w], wrt=(0, 1))
    assert_close(got, expected, rtol=1e-6, atol=1e-7)


def sparse_losses(labels, logits, probs, w):
    return (np.sum(nn.sparse_softmax_cross_entropy_with_logits(labels, logits) * w)
            + np.sum(nn.sparse_categorical_crossentropy(labels, probs) * w * w)
            + np.sum(nn.sparse_categorical_crossentropy(labels, logits, from_logits=True)))


def sparse_losses_ref(labels, logits, probs, w):
    rows = np.arange(labels.size)
    a = -special.log_softmax(logits, axis=-1)[rows, labels]
    c = np.clip(probs, EPS, 1 - EPS)
    b = -np.log(c[rows, labels] / c.sum(axis=-1))
    return np.sum(a * w) + np.sum(b * w * w) + np.sum(a)


def test_sparse_losses():
    labels = np.array([2, 0, 3])
    logits, probs = RNG.normal(size=(3, 4)), RNG.uniform(0.05, 0.95, size=(3, 4))
    w = RNG.normal(size=3)
    assert_close(sparse_losses(labels, logits, probs, w), sparse_losses_ref(labels, logits, probs, w),
                 rtol=1e-12)
    got = srcgrad.grad(sparse_losses, wrt=(1, 2))(labels, logits, probs, w)
    expected = numeric_grad(sparse_losses_ref, [labels, logits, probs, w], wrt=(1, 2))
    assert_close(got, expected, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="class label"):
        nn.sparse_softmax_cross_entropy_with_logits(np.array([0, 4, 1]), logits)


def test_fused_softmax_cross_entropy_gradient_is_softmax_minus_labels():
    logits = RNG.normal(size=(6, 5))
    labels = nn.one_hot(RNG.integers(0, 5, size=6), 5)

    def mean_loss(logits, labels):
        return np.mean(nn.softmax_cross_entropy_with_logits(labels, logits))
    got = srcgrad.grad(mean_loss)(logits, labels)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    assert_close(got, (e / e.sum(axis=1, keepdims=True) - labels) / 6, rtol=1e-12, atol=1e-15)


def logistic(w, X, y, lam):
    logits = X @ w
    return (np.sum(nn.sigmoid_cross_entropy_with_logits(y, logits))
            + nn.apply_regularization(nn.l2_regularizer(1.0), [w]) * lam)


def test_logistic_regression_hessian_through_losses_and_regularizers():
    X, y = RNG.normal(size=(20, 3)), (RNG.uniform(size=20) > 0.5).astype(np.float64)
    w, lam = RNG.normal(size=3), 0.3
    s = special.expit(X @ w)
    grad_ref = X.T @ (s - y) + lam * w
    hess_ref = X.T @ (X * (s * (1 - s))[:, None]) + lam * np.eye(3)
    assert_close(srcgrad.grad(logistic)(w, X, y, lam), grad_ref, rtol=1e-10, atol=1e-12)
    assert_close(srcgrad.hessian(logistic)(w, X, y, lam), hess_ref, rtol=1e-10, atol=1e-12)


L1L2 = nn.l1_l2_regularizer(0.01, 0.5)


def regularized(w1, w2):
    return (nn.l2_loss(w1) + nn.l1_regularizer(0.1)(w2)
            + nn.apply_regularization(L1L2, (w1, w2)))


def keeps_a_regularizer(w):
    reg = nn.l2_regularizer(0.1)
    return reg(w)


def regularized_ref(w1, w2):
    both = np.concatenate([w1.ravel(), w2.ravel()])
    return (np.sum(w1 ** 2) / 2 + 0.1 * np.sum(np.abs(w2))
            + 0.01 * np.sum(np.abs(both)) + 0.5 * np.sum(both ** 2) / 2)


def test_regularizers():
    w1, w2 = RNG.normal(size=(3, 2)), RNG.normal(size=4)
    assert_close(regularized(w1, w2), regularized_ref(w1, w2), rtol=1e-12)
    summed = nn.sum_regularizer([nn.l1_regularizer(0.25), nn.l2_regularizer(2.0)])
    assert_close(summed(w2), 0.25 * np.abs(w2).sum() + np.sum(w2 ** 2), rtol=1e-12)
    assert_close(nn.apply_regularization(summed, [w1, w2]), summed(w1) + summed(w2), rtol=1e-12)
    got = srcgrad.grad(regularized, wrt=(0, 1))(w1, w2)
    assert_close(got, numeric_grad(regularized_ref, [w1, w2], wrt=(0, 1)), rtol=1e-6, atol=1e-8)
    with pytest.raises(srcgrad.SrcgradError, match=">= 0"):
        nn.l2_regularizer(-1.0)
    with pytest.raises(srcgrad.UnsupportedError, match="test_nn_losses.py:.*builds a function"):
        srcgrad.grad(keeps_a_regularizer)


def test_one_hot():
    np.testing.assert_array_equal(nn.one_hot(np.array([0, 2, 5]), 3),
                                  [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
    assert nn.one_hot(np.array([[1], [0]]), 2).shape == (2, 1, 2)


def test_losses_inside_user_njit_code():
    X, labels = RNG.normal(size=(8, 3)), RNG.integers(0, 4, size=8)

    def loss(W, X, labels):
        return np.mean(nn.sparse_softmax_cross_entropy_with_logits(labels, nn.relu(X) @ W))
    dloss = srcgrad.grad(loss)
    reg = nn.l2_regularizer(0.1)

    @njit
    def train(W, X, labels, steps):
        for _ in range(steps):
            W -= 0.5 * (dloss(W, X, labels) + 0.1 * W)
        onehot = nn.one_hot(labels, 4)
        return (np.mean(nn.softmax_cross_entropy_with_logits(onehot, nn.relu(X) @ W))
                + nn.apply_regularization(reg, (W, W)))

    W = np.zeros((3, 4))
    final = train(W, X, labels, 50)
    logits = np.maximum(X, 0) @ W
    ref = np.mean(-special.log_softmax(logits, axis=1)[np.arange(8), labels]) + 0.1 * np.sum(W ** 2)
    assert_close(final, ref, rtol=1e-12)
    assert final < np.log(4)                     # it learned something from the zero start


def test_mismatched_labels_and_predictions_are_errors_not_garbage():
    with pytest.raises(ValueError, match="predictions. shape"):
        nn.mse(np.ones((3, 3)), np.ones((2, 2)))
    # fewer dimensions broadcast, as TensorFlow does with one label row (seed 000)
    assert_close(nn.mse(np.ones(2), np.zeros((3, 2))), np.ones(3), rtol=0)
    with pytest.raises(ValueError, match="predictions. shape"):
        nn.softmax_cross_entropy_with_logits(np.ones((2, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="one integer label per example"):
        nn.sparse_softmax_cross_entropy_with_logits(np.array([1]), np.ones((3, 3)))

    def loss(W, X, y):
        return np.sum(nn.mse(y, X @ W))
    with pytest.raises(srcgrad.ArgumentError, match="predictions. shape"):
        srcgrad.grad(loss)(np.ones((2, 3)), np.ones((4, 2)), np.ones((4, 2)))


def broadcast_labels_loss(labels, logits):
    return np.sum(nn.softmax_cross_entropy_with_logits(labels, logits) * np.arange(1.0, 4.0))


def broadcast_labels_ref(labels, logits):
    return np.sum(softmax_xent_ref(labels, logits) * np.arange(1.0, 4.0))


def test_broadcast_labels_get_reduced_gradients():
    labels, logits = RNG.uniform(size=4), RNG.normal(size=(3, 4))
    got = srcgrad.grad(broadcast_labels_loss, wrt=(0, 1))(labels, logits)
    expected = numeric_grad(broadcast_labels_ref, [labels, logits], wrt=(0, 1))
    assert got[0].shape == (4,)
    assert_close(got, expected, rtol=1e-6, atol=1e-8)
