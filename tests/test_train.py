"""srcgrad.train against reference numbers from TensorFlow 1.x's documented update rules.

The references below are written from the formulas in TensorFlow's ``training_ops`` documentation
(one NumPy line each), independently of srcgrad's kernels, and run for several steps with fixed
gradients so slot state (accumulators, moments, Adam's step count) is exercised.
"""
import math

import numpy as np
import pytest
from numba import njit

import srcgrad
from srcgrad import nn, train
from conftest import assert_close

RNG = np.random.default_rng(5)
GRADS = [RNG.normal(size=(2, 3)) for _ in range(4)]
START = RNG.normal(size=(2, 3))


def _reference(name, **h):
    var, state = START.copy(), {}
    for t, g in enumerate(GRADS, start=1):
        if name == "sgd":
            var = var - h["lr"] * g
        elif name == "momentum":
            a = state.get("a", 0.0) * h["momentum"] + g
            state["a"] = a
            var = var - (h["lr"] * g + h["lr"] * h["momentum"] * a if h["nesterov"] else h["lr"] * a)
        elif name == "adagrad":
            a = state.get("a", 0.1) + g * g
            state["a"] = a
            var = var - h["lr"] * g / np.sqrt(a)
        elif name == "rmsprop":
            ms = h["decay"] * state.get("ms", 1.0) + (1 - h["decay"]) * g * g
            mg = h["decay"] * state.get("mg", 0.0) + (1 - h["decay"]) * g
            denominator = ms - mg * mg if h["centered"] else ms
            mom = h["momentum"] * state.get("mom", 0.0) + h["lr"] * g / np.sqrt(denominator + h["eps"])
            state.update(ms=ms, mg=mg, mom=mom)
            var = var - mom
        elif name == "adam":
            m = h["b1"] * state.get("m", 0.0) + (1 - h["b1"]) * g
            v = h["b2"] * state.get("v", 0.0) + (1 - h["b2"]) * g * g
            state.update(m=m, v=v)
            lr_t = h["lr"] * math.sqrt(1 - h["b2"] ** t) / (1 - h["b1"] ** t)
            var = var - lr_t * m / (np.sqrt(v) + h["eps"])
    return var


CASES = [
    (lambda: train.GradientDescentOptimizer(0.1), "sgd", dict(lr=0.1)),
    (lambda: train.MomentumOptimizer(0.1, 0.9), "momentum", dict(lr=0.1, momentum=0.9, nesterov=False)),
    (lambda: train.Momentum(0.1, 0.9, use_nesterov=True), "momentum",
     dict(lr=0.1, momentum=0.9, nesterov=True)),
    (lambda: train.AdagradOptimizer(0.3), "adagrad", dict(lr=0.3)),
    (lambda: train.RMSPropOptimizer(0.01), "rmsprop",
     dict(lr=0.01, decay=0.9, momentum=0.0, eps=1e-10, centered=False)),
    (lambda: train.RMSProp(0.01, decay=0.8, momentum=0.5, epsilon=1e-6, centered=True), "rmsprop",
     dict(lr=0.01, decay=0.8, momentum=0.5, eps=1e-6, centered=True)),
    (lambda: train.AdamOptimizer(0.05), "adam", dict(lr=0.05, b1=0.9, b2=0.999, eps=1e-8)),
    (lambda: train.Adam(0.01, beta1=0.5, beta2=0.9, epsilon=1e-4), "adam",
     dict(lr=0.01, b1=0.5, b2=0.9, eps=1e-4)),
]


@pytest.mark.parametrize("make, name, h", CASES)
def test_optimizer_steps_match_tensorflow_formulas(make, name, h):
    opt, var = make(), START.copy()
    step = train.create_global_step()
    for g in GRADS:
        opt.apply_gradients([(g.copy(), var)], global_step=step)
    assert_close(var, _reference(name, **h), rtol=1e-12, atol=1e-14)
    assert int(step) == len(GRADS)


def test_rmsprop_mean_square_starts_at_ones_and_adagrad_at_point_one():
    var = np.zeros(3)
    assert np.all(train.RMSPropOptimizer(0.1).get_slot(var, "rms") == 1.0)
    assert np.all(train.AdagradOptimizer(0.1).get_slot(var, "accumulator") == 0.1)


def quadratic(x, target):
    return np.sum((x - target) ** 2)


def test_compute_apply_minimize_update_in_place():
    x, target = np.array([0.0, 1.0]), np.array([3.0, -1.0])
    opt = train.GradientDescentOptimizer(0.18)
    pairs = opt.compute_gradients(quadratic, [x], target)
    assert pairs[0][1] is x
    assert_close(pairs[0][0], 2 * (x - target), rtol=1e-15)
    opt.apply_gradients(pairs)
    assert_close(x, [0.0 + 0.18 * 6.0, 1.0 - 0.18 * 4.0], rtol=1e-15)
    before = quadratic(x, target)
    assert_close(opt.minimize(quadratic, [x], target), before, rtol=1e-15)
    assert quadratic(x, target) < before


def test_bad_variables_and_steps_are_clear_errors():
    opt = train.SGD(0.1)
    with pytest.raises(srcgrad.ArgumentError, match="float array"):
        opt.apply_gradients([(np.ones(2), [1.0, 2.0])])
    with pytest.raises(srcgrad.ArgumentError, match="shape"):
        opt.apply_gradients([(np.ones(3), np.ones(2))])
    with pytest.raises(srcgrad.ArgumentError, match="global_step"):
        opt.apply_gradients([(np.ones(2), np.ones(2))], global_step=3)
    with pytest.raises(srcgrad.SrcgradError, match="learning_rate"):
        train.SGD("fast")


def test_clipping():
    t = np.array([3.0, 4.0])
    assert_close(srcgrad.clip_by_value(t, 3.5, 10.0), [3.5, 4.0], rtol=0)
    assert_close(srcgrad.clip_by_norm(t, 2.5), t / 2, rtol=1e-15)
    assert_close(srcgrad.clip_by_norm(t, 10.0), t, rtol=1e-15)
    a, b = np.array([3.0, 0.0]), np.array([[0.0], [4.0]])
    (ca, cb), norm = srcgrad.clip_by_global_norm([a, b], 1.0)
    assert norm == pytest.approx(5.0)
    assert_close(ca, a / 5, rtol=1e-15)
    assert_close(cb, b / 5, rtol=1e-15)
    (same, none), _ = srcgrad.clip_by_global_norm([a, None], 100.0)
    assert none is None and np.array_equal(same, a)
    (nan,), _ = srcgrad.clip_by_global_norm([np.array([np.inf])], 1.0)
    assert np.isnan(nan).all()


def test_exponential_moving_average():
    var = np.array([1.0, 2.0])
    ema = train.ExponentialMovingAverage(0.9)
    ema.apply([var])
    assert_close(ema.average(var), [1.0, 2.0], rtol=0)
    var += 10.0
    ema.apply([var])
    assert_close(ema.average(var), [1.0 + 0.1 * 10, 2.0 + 0.1 * 10], rtol=1e-15)
    step = train.create_global_step()
    fast = train.ExponentialMovingAverage(0.999, num_updates=step)
    assert fast.effective_decay() == pytest.approx(0.1)      # (1 + 0) / (10 + 0)


@njit
def _kernels_in_user_loop(var, m, v, grad, steps):
    for t in range(1, steps + 1):
        train.kernels.adam_step(var, grad, m, v, t, 0.05, 0.9, 0.999, 1e-8)
    return var


def test_optimizer_kernels_inside_user_njit_loop():
    var = START.copy()
    _kernels_in_user_loop(var, np.zeros_like(var), np.zeros_like(var), GRADS[0], 3)
    opt, expected = train.Adam(0.05), START.copy()
    for _ in range(3):
        opt.apply_gradients([(GRADS[0], expected)])
    assert_close(var, expected, rtol=1e-14, atol=1e-15)


def softmax_regression(W, b, X, labels):
    return np.mean(nn.sparse_softmax_cross_entropy_with_logits(labels, X @ W + b))


def test_fit_runs_one_compiled_loop_and_matches_minimize():
    X = RNG.normal(size=(60, 4))
    labels = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    W1, b1 = np.zeros((4, 2)), np.zeros(2)
    history = train.fit(softmax_regression, [W1, b1], X, labels, optimizer=train.Momentum(0.5, 0.9),
                        epochs=3, batch_size=20, shuffle=False, verbose=False)
    # the same steps by hand, batch by batch
    W2, b2, opt = np.zeros((4, 2)), np.zeros(2), train.Momentum(0.5, 0.9)
    losses = []
    for _ in range(3):
        losses.append(np.mean([opt.minimize(softmax_regression, [W2, b2], X[s:s + 20], labels[s:s + 20])
                               for s in range(0, 60, 20)]))
    assert_close(W1, W2, rtol=1e-12, atol=1e-14)
    assert_close(b1, b2, rtol=1e-12, atol=1e-14)
    assert_close(history, losses, rtol=1e-12)
    assert "def fit_softmax_regression" in srcgrad.source(
        train.compile_fit(softmax_regression, 2, 2, train.Momentum(0.5, 0.9)))


def test_fit_reaches_high_accuracy_on_handwritten_digits():
    from sklearn.datasets import load_digits        # scikit-learn is in the test extra
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    X, y = X[order], y[order]
    train_x, train_y, test_x, test_y = X[:1400], y[:1400], X[1400:], y[1400:]
    W, b = np.zeros((64, 10)), np.zeros(10)
    train.fit(softmax_regression, [W, b], train_x, train_y, optimizer=train.Adam(0.01),
              epochs=30, batch_size=32, seed=0, verbose=False)
    accuracy = np.mean(np.argmax(test_x @ W + b, axis=1) == test_y)
    assert accuracy >= 0.93


# -- fit with one, two and three variables against the same training in plain NumPy -------------------
# Each loss has its gradient written out in closed form below; the reference loop applies TensorFlow's
# update formulas (as _reference above) batch by batch, so fit's generated loop is checked against
# nothing srcgrad computed. One variable used to crash inside Numba (issue 19, defect 15): the 1-tuple
# of gradients reached the update kernel.

def fit_one(w, X, y):
    return np.mean((X @ w - y) ** 2)


def fit_two(w, b, X, y):
    return np.mean((X @ w + b - y) ** 2)


def fit_three(W1, w2, b, X, y):
    return np.mean((np.tanh(X @ W1) @ w2 + b - y) ** 2)


def _fit_one_grads(w, X, y):
    r = X @ w - y
    return np.mean(r ** 2), [2.0 / len(y) * X.T @ r]


def _fit_two_grads(w, b, X, y):
    r = X @ w + b - y
    return np.mean(r ** 2), [2.0 / len(y) * X.T @ r, np.array([2.0 / len(y) * np.sum(r)])]


def _fit_three_grads(W1, w2, b, X, y):
    a = np.tanh(X @ W1)
    dp = 2.0 / len(y) * (a @ w2 + b - y)
    dz = np.outer(dp, w2) * (1.0 - a * a)
    return np.mean((a @ w2 + b - y) ** 2), [X.T @ dz, a.T @ dp, np.array([np.sum(dp)])]


def _numpy_step(name, h, t, var, g, state):
    """One TensorFlow 1.x update of ``var`` (a new array) with the slot ``state`` dict updated."""
    if name == "sgd":
        return var - h["lr"] * g
    if name == "momentum":
        state["a"] = state.get("a", 0.0) * h["momentum"] + g
        return var - h["lr"] * state["a"]
    if name == "adagrad":
        state["a"] = state.get("a", 0.1) + g * g
        return var - h["lr"] * g / np.sqrt(state["a"])
    if name == "adam":
        state["m"] = h["b1"] * state.get("m", 0.0) + (1 - h["b1"]) * g
        state["v"] = h["b2"] * state.get("v", 0.0) + (1 - h["b2"]) * g * g
        lr_t = h["lr"] * math.sqrt(1 - h["b2"] ** t) / (1 - h["b1"] ** t)
        return var - lr_t * state["m"] / (np.sqrt(state["v"]) + h["eps"])
    raise AssertionError(name)


FIT_LOSSES = {1: (fit_one, _fit_one_grads), 2: (fit_two, _fit_two_grads),
              3: (fit_three, _fit_three_grads)}
FIT_OPTIMIZERS = [
    (lambda: train.SGD(0.05), "sgd", dict(lr=0.05)),
    (lambda: train.Momentum(0.05, 0.9), "momentum", dict(lr=0.05, momentum=0.9)),
    (lambda: train.Adagrad(0.1), "adagrad", dict(lr=0.1)),
    (lambda: train.Adam(0.02), "adam", dict(lr=0.02, b1=0.9, b2=0.999, eps=1e-8)),
]


def _fit_start(n_vars):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(50, 3))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1]
    if n_vars == 1:
        return [rng.normal(size=3)], X, y
    if n_vars == 2:
        return [rng.normal(size=3), np.array([0.3])], X, y
    return [rng.normal(size=(3, 4)), rng.normal(size=4), np.array([0.3])], X, y


@pytest.mark.parametrize("n_vars", [1, 2, 3])
@pytest.mark.parametrize("make, name, h", FIT_OPTIMIZERS)
def test_fit_with_one_two_and_three_variables_matches_numpy_training(n_vars, make, name, h):
    loss, closed_form = FIT_LOSSES[n_vars]
    variables, X, y = _fit_start(n_vars)
    expected = [v.copy() for v in variables]
    X_before, y_before = X.copy(), y.copy()
    opt = make()
    history = train.fit(loss, variables, X, y, optimizer=opt, epochs=3, batch_size=16, shuffle=False,
                        verbose=False)
    # the same training in NumPy: batches of 16, 16, 16 and 2 rows, in order
    states, t, losses = [{} for _ in expected], 0, []
    for _ in range(3):
        values = []
        for s in range(0, 50, 16):
            value, grads = closed_form(*expected, X[s:s + 16], y[s:s + 16])
            t += 1
            expected = [_numpy_step(name, h, t, v, g, st) for v, g, st in zip(expected, grads, states)]
            values.append(value)
        losses.append(np.mean(values))
    for got, want in zip(variables, expected):
        assert_close(got, want, rtol=1e-10, atol=1e-12)
    assert_close(history, losses, rtol=1e-10)
    assert opt.iterations == t == 12
    assert np.array_equal(X, X_before) and np.array_equal(y, y_before)
    assert history[-1] < history[0]
