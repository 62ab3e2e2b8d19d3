"""Gradients of activations and losses, single- and multi-output perceptrons, and an MLP by backprop.

Reproduces seed 001 (TensorFlow 2 ``tf.GradientTape`` notes, "课时65/66" and the backprop
section):

* In [11]  chain rule: ``y1 = x*w1 + b1``, ``y2 = y1*w2 + b2``; ``dy2/dy1 * dy1/dw1 == dy2/dw1 == 2``.
* In [2]   second derivative of ``y = x*w + b``: ``dy/dw = 3``, ``dy/db = 1``, ``d2y/dw2`` is
           TensorFlow's ``None`` (srcgrad gives 0.0: ``w`` has no path to ``dy/dw``).
* In [4]/[5] gradients of sigmoid on ``linspace(-10, 10, 10)`` and of relu/leaky_relu
           (seed 002, In [37]/[42], does the same with tanh and on ``linspace(-10, 10, 10)``).
* In [9]   MSE of a softmax layer (``w = b = ones``): b's gradient ``[0.25, -0.25]``.
* In [12]  single-output perceptron, ``sigmoid(x@w + b)`` with MSE: b's gradient -0.15517864.
* In [14]  multi-output perceptron, ``softmax(x@w + b)`` with MSE against one-hot labels ``[2, 0]``:
           b's gradient ``[-0.03703704, 0.07407407, -0.03703704]``.
* The backprop formulas for a multi-layer perceptron (``delta_k = (O_k - t_k) O_k (1 - O_k)``, ...),
  checked against ``srcgrad.grad`` and then used to train a 2-4-1 sigmoid MLP on XOR with
  ``srcgrad.value_and_grad``.

The seed drew ``x`` with ``tf.random.normal``. Because ``w`` is all ones, the weight gradients it
printed are linear in ``x``, so the ``x`` it drew can be read back from them; with that ``x`` every
gradient the seed printed is reproduced (to float32 precision).

Run with:  python examples/seed_perceptrons_mlp.py
"""

import numpy as np

import srcgrad
from srcgrad import nn


# -- In [11]: the chain rule ------------------------------------------------------------------------------
def chain(x, w1, b1, w2, b2):
    y1 = x * w1 + b1
    y2 = y1 * w2 + b2
    return y2


def layer(x, w1, b1):
    return x * w1 + b1


# -- In [2]: second derivative -------------------------------------------------------------------------------
def affine(w, b, x):
    return x * w + b


# -- In [4]/[5]: activations (an array output's gradient is the gradient of its sum) --------------------------
def act_sigmoid(a):
    return nn.sigmoid(a)


def act_tanh(a):
    return nn.tanh(a)


def act_relu(a):
    return nn.relu(a)


def act_leaky_relu(a):
    return nn.leaky_relu(a)


# -- In [9], [12], [14]: perceptrons with an MSE loss ----------------------------------------------------------
def softmax_mse(w, b, x, y_onehot):
    """``tf.reduce_mean(tf.losses.MSE(y, tf.nn.softmax(x@w + b, axis=1)))``."""
    return np.mean(nn.mse(y_onehot, nn.softmax(x @ w + b)))


def sigmoid_mse(w, b, x, y):
    """``tf.reduce_mean(tf.losses.MSE(y, tf.sigmoid(x@w + b)))``."""
    return np.mean(nn.mse(y, nn.sigmoid(x @ w + b)))


# -- the multi-layer perceptron ------------------------------------------------------------------------------
def mlp_loss(W1, b1, W2, b2, X, T):
    """``E = 1/2 sum (O - t)^2`` for a two-layer sigmoid network."""
    H = nn.sigmoid(X @ W1 + b1)
    O = nn.sigmoid(H @ W2 + b2)
    return 0.5 * np.sum((O - T) ** 2)


def mlp_backprop(W1, b1, W2, b2, X, T):
    """The seed's formulas, by hand: delta_k = (O_k - t_k) O_k (1 - O_k), dE/dW_jk = delta_k O_j,
    dE/dW_ij = O_j (1 - O_j) O_i sum_k delta_k W_jk."""
    H = 1.0 / (1.0 + np.exp(-(X @ W1 + b1)))
    O = 1.0 / (1.0 + np.exp(-(H @ W2 + b2)))
    delta_k = (O - T) * O * (1.0 - O)
    delta_j = H * (1.0 - H) * (delta_k @ W2.T)
    return X.T @ delta_j, delta_j.sum(axis=0), H.T @ delta_k, delta_k.sum(axis=0)


def check(name, got, expected, rtol=1e-4, atol=1e-7):
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=name)


def chain_rule():
    print("== In [11] chain rule: y1 = x*w1 + b1, y2 = y1*w2 + b2 at x=1, w1=2, b1=1, w2=2, b2=1 ==")
    args = (1.0, 2.0, 1.0, 2.0, 1.0)
    dy2_dy1, dy2_dw1 = srcgrad.gradients(chain, ("y1", "w1"))(*args)
    dy1_dw1 = srcgrad.grad(layer, wrt="w1")(*args[:3])
    print("dy2/dy1 * dy1/dw1 =", dy2_dy1 * dy1_dw1)
    print("dy2/dw1           =", dy2_dw1)
    check("chain rule", [dy2_dy1 * dy1_dw1, dy2_dw1], [2.0, 2.0])


def second_order():
    print("== In [2] y = x*w + b at w=1, b=2, x=3: first and second derivatives ==")
    dy_dw, dy_db = srcgrad.grad(affine, wrt=(0, 1))(1.0, 2.0, 3.0)
    d2y_dw2 = srcgrad.grad(srcgrad.grad(affine, wrt=0), wrt=0)(1.0, 2.0, 3.0)
    print("dy/dw =", dy_dw, " dy/db =", dy_db, " d2y/dw2 =", d2y_dw2, "(TensorFlow: None)")
    check("second order", [dy_dw, dy_db, d2y_dw2], [3.0, 1.0, 0.0])


def activations():
    print("== In [4]/[5] gradients of activations on linspace(-10, 10, 10) ==")
    a = np.linspace(-10.0, 10.0, 10)
    g_sigmoid = srcgrad.grad(act_sigmoid)(a)
    g_tanh = srcgrad.grad(act_tanh)(a)
    g_relu = srcgrad.grad(act_relu)(a)
    g_leaky = srcgrad.grad(act_leaky_relu)(a)
    with np.printoptions(precision=7):
        print("sigmoid'    ", g_sigmoid)
        print("tanh'       ", g_tanh)
        print("relu'       ", g_relu)
        print("leaky_relu' ", g_leaky)
    # the seed's float32 values (seed 001 In [4]; tanh and relu: seed 002 In [37]/[42])
    check("sigmoid", g_sigmoid, [4.5395806e-05, 4.1859140e-04, 3.8362024e-03, 3.3258736e-02,
                                 1.8632649e-01, 1.8632638e-01, 3.3258699e-02, 3.8362255e-03,
                                 4.1860685e-04, 4.5416677e-05], rtol=1e-3)
    check("tanh", g_tanh, [0.0, 7.1525562e-07, 5.9722963e-05, 5.0775758e-03, 3.5285267e-01,
                           3.5285220e-01, 5.0775758e-03, 5.9722963e-05, 7.1525562e-07, 0.0],
          rtol=1e-3, atol=1e-6)
    check("relu", g_relu, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    check("leaky_relu", g_leaky, [0.2, 0.2, 0.2, 0.2, 0.2, 1, 1, 1, 1, 1])


def softmax_mse_cell():
    print("== In [9] softmax layer + MSE, x: [1, 3], w = ones([3, 2]), b = ones([2]), y = [0, 1] ==")
    # The seed printed w grad = x.T * [0.25, -0.25], so its x was w_grad[:, 0] / 0.25.
    seed_w_grad = np.array([[-0.02904284, 0.02904284], [-0.02101646, 0.02101646],
                            [0.19016582, -0.19016582]])
    x = (seed_w_grad[:, 0] / 0.25).reshape(1, 3)
    w, b = np.ones((3, 2)), np.ones(2)
    y = np.array([[0.0, 1.0]])
    w_grad, b_grad = srcgrad.grad(softmax_mse, wrt=(0, 1))(w, b, x, y)
    print("w grad:\n", w_grad)
    print("b grad:", b_grad)
    check("In [9] w", w_grad, seed_w_grad)
    check("In [9] b", b_grad, [0.25, -0.25])


def single_output():
    print("== In [12] single-output perceptron: sigmoid(x@w + b), MSE against y = [1] ==")
    seed_w_grad = np.array([[-0.0684463], [0.26229477], [0.3117205]])
    seed_b_grad = np.array([-0.15517864])
    # dE/dw_j0 = (O_0 - t) O_0 (1 - O_0) x_j = b_grad * x_j: the seed's x is w_grad / b_grad.
    x = (seed_w_grad[:, 0] / seed_b_grad[0]).reshape(1, 3)
    w, b = np.ones((3, 1)), np.ones(1)
    y = np.array([[1.0]])
    w_grad, b_grad = srcgrad.grad(sigmoid_mse, wrt=(0, 1))(w, b, x, y)
    # the seed's formula: dE/dw_j0 = 2 (O_0 - t) O_0 (1 - O_0) x_j  (MSE over one output: (O - t)^2)
    O = 1.0 / (1.0 + np.exp(-(x @ w + b)))
    formula = 2.0 * (O - y) * O * (1.0 - O) * x.T
    print("x =", x)
    print("w grad:", w_grad.ravel(), " formula:", formula.ravel())
    print("b grad:", b_grad, " (seed: [-0.15517864])")
    check("In [12] w", w_grad, seed_w_grad)
    check("In [12] formula", w_grad, formula, rtol=1e-10)
    check("In [12] b", b_grad, seed_b_grad)


def multi_output():
    print("== In [14] multi-output perceptron: softmax(x@w + b), x: [2, 4], labels [2, 0] ==")
    seed_w_grad = np.array([[-0.06555234, 0.04063531, 0.02491703],
                            [0.03510559, 0.01809573, -0.05320131],
                            [0.18592252, -0.09184361, -0.09407891],
                            [-0.03733121, -0.02389582, 0.06122703]])
    # With w = ones the softmax is uniform: the logits' gradient is [1, 1, -2]/27 for row 0
    # (label 2) and [-2, 1, 1]/27 for row 1 (label 0); solve the first two columns for x.
    x1 = 9.0 * (seed_w_grad[:, 1] - seed_w_grad[:, 0])
    x0 = 27.0 * seed_w_grad[:, 1] - x1
    x = np.stack([x0, x1])
    w, b = np.ones((4, 3)), np.ones(3)
    y = nn.one_hot(np.array([2, 0]), 3)
    w_grad, b_grad = srcgrad.grad(softmax_mse, wrt=(0, 1))(w, b, x, y)
    print("w grad:\n", w_grad)
    print("b grad:", b_grad)
    check("In [14] w (all three columns)", w_grad, seed_w_grad)
    check("In [14] b", b_grad, [-0.03703704, 0.07407407, -0.03703704])


def mlp():
    print("== multi-layer perceptron: srcgrad.grad vs the seed's backprop formulas ==")
    rng = np.random.RandomState(0)
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    T = np.array([[0.0], [1.0], [1.0], [0.0]])          # XOR
    params = [rng.randn(2, 4), np.zeros(4), rng.randn(4, 1), np.zeros(1)]
    auto = srcgrad.grad(mlp_loss, wrt=(0, 1, 2, 3))(*params, X, T)
    manual = mlp_backprop(*params, X, T)
    err = max(np.max(np.abs(a - m)) for a, m in zip(auto, manual))
    print(f"max |srcgrad - backprop formula| over W1, b1, W2, b2: {err:.2e}")
    if err > 1e-12:
        raise SystemExit("srcgrad's MLP gradient does not match backprop")

    print("== training the 2-4-1 MLP on XOR: 3000 steps of gradient descent, lr 2.0 ==")
    value_and_grad = srcgrad.value_and_grad(mlp_loss, wrt=(0, 1, 2, 3))
    for step in range(3001):
        loss, grads = value_and_grad(*params, X, T)
        if step % 1000 == 0:
            print(f"step {step:4d}: E = {loss:.6f}")
        if step < 3000:
            for p, g in zip(params, grads):
                p -= 2.0 * g
    W1, b1, W2, b2 = params
    out = nn.sigmoid(nn.sigmoid(X @ W1 + b1) @ W2 + b2).ravel()
    print("XOR outputs for inputs 00, 01, 10, 11:", np.round(out, 3))
    print(f"final MLP loss: {loss:.6f}")


def main():
    chain_rule()
    second_order()
    activations()
    softmax_mse_cell()
    single_output()
    multi_output()
    mlp()
    print("all seed gradients reproduced")


if __name__ == "__main__":
    main()
