"""srcgrad.nn: activations checked against closed forms, gradients against finite differences.

Every function is used in the three places it promises: on arrays from Python, inside functions
srcgrad differentiates (reverse and forward mode), and inside a user's ``@njit`` code. The reference
formulas here are written directly in NumPy/SciPy, independently of srcgrad's kernels.
"""
import warnings

import numpy as np
import pytest
from numba import njit
from scipy import special

import srcgrad
from srcgrad import nn
from conftest import assert_close, numeric_grad

RNG = np.random.default_rng(7)
SHAPES = [(), (7,), (3, 4)]


def _sigmoid(x):
    return special.expit(x)


ACTIVATIONS = {
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "relu6": lambda x: np.minimum(np.maximum(x, 0.0), 6.0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0))),
    "gelu": lambda x: 0.5 * x * (1.0 + special.erf(x / np.sqrt(2.0))),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "silu": lambda x: x * _sigmoid(x),
}


def _points(shape):
    # away from the kinks at 0 and 6, where finite differences straddle two pieces
    x = RNG.uniform(-4.0, 8.0, size=shape)
    x = np.where(np.abs(x) < 0.05, 0.3, x)
    return np.where(np.abs(x - 6.0) < 0.05, 5.5, x)


def _weighted(f):
    def loss(x, w):
        return np.sum(f(x) * w)
    return loss


_GRADS, _JVPS = {}, {}


def _compiled(name):
    if name not in _GRADS:
        loss = _weighted(getattr(nn, name))
        _GRADS[name] = srcgrad.grad(loss)
        _JVPS[name] = srcgrad.jvp(loss)
    return _GRADS[name], _JVPS[name]


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_values_match_closed_forms(name):
    f, ref = getattr(nn, name), ACTIVATIONS[name]
    for shape in SHAPES:
        x = _points(shape)
        np.testing.assert_allclose(f(x), ref(x), rtol=1e-12, atol=1e-14)
    x32 = _points((5,)).astype(np.float32)
    assert f(x32).dtype == np.float32
    np.testing.assert_allclose(f(x32), ref(x32.astype(np.float64)), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradients_match_finite_differences(name):
    g, fj = _compiled(name)
    loss = _weighted(ACTIVATIONS[name])
    # every shape for a smooth and a piecewise function; one shape for the rest (compile time)
    for shape in SHAPES if name in ("sigmoid", "relu") else [(3, 4)]:
        x, w = _points(shape), RNG.normal(size=shape)
        expected = numeric_grad(loss, [x, w])
        assert_close(g(x, w), expected, rtol=1e-6, atol=1e-7)
        direction = RNG.normal(size=shape)
        _, tangent = fj(x, w, direction)
        assert_close(tangent, np.sum(expected * direction), rtol=1e-6, atol=1e-7)


def test_seed_activation_gradients():
    s = np.linspace(-10.0, 10.0, 10)
    sig = 1.0 / (1.0 + np.exp(-s))
    assert_close(_compiled("sigmoid")[0](s, np.ones(10)), sig * (1 - sig), rtol=1e-12, atol=1e-15)
    # the values TensorFlow printed in float32 (seed 002)
    np.testing.assert_allclose(_compiled("sigmoid")[0](s, np.ones(10))[4], 1.8632649e-01, rtol=1e-6)
    assert_close(_compiled("tanh")[0](s, np.ones(10)), 1 - np.tanh(s) ** 2, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(_compiled("relu")[0](s, np.ones(10)), [0.] * 5 + [1.] * 5)
    np.testing.assert_allclose(_compiled("leaky_relu")[0](s, np.ones(10)), [0.2] * 5 + [1.] * 5)


def test_relu_derivative_at_zero_is_zero_like_tensorflow():
    g = _compiled("relu")[0]
    np.testing.assert_array_equal(g(np.array([-1.0, 0.0, 1.0]), np.ones(3)), [0.0, 0.0, 1.0])


def test_leaky_relu_alpha_and_gelu_approximate():
    x = np.array([-2.0, -0.5, 0.5, 2.0])
    np.testing.assert_allclose(nn.leaky_relu(x, 0.1), np.where(x > 0, x, 0.1 * x))
    c = np.sqrt(2 / np.pi)
    approx = 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(nn.gelu(x, True), approx, rtol=1e-12)

    def f(x):
        return np.sum(nn.leaky_relu(x, 0.1) + nn.gelu(x, approximate=True))

    def ref(x):
        return np.sum(np.where(x > 0, x, 0.1 * x) + 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x ** 3))))
    assert_close(srcgrad.grad(f)(x), numeric_grad(ref, [x]), rtol=1e-6, atol=1e-8)


def _softmax_ref(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_loss(x, w):
    return np.sum(nn.softmax(x, axis=0) * w) + np.sum(nn.log_softmax(x) * w * w)


def softmax_loss_ref(x, w):
    return np.sum(_softmax_ref(x, 0) * w) + np.sum(np.log(_softmax_ref(x, -1)) * w * w)


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
def test_softmax_and_log_softmax(shape):
    x, w = RNG.normal(size=shape) * 3, RNG.normal(size=shape)
    for axis in range(-len(shape), len(shape)):
        np.testing.assert_allclose(nn.softmax(x, axis), _softmax_ref(x, axis), rtol=1e-12)
        np.testing.assert_allclose(nn.log_softmax(x, axis=axis), np.log(_softmax_ref(x, axis)),
                                   rtol=1e-12, atol=1e-14)
    expected = numeric_grad(softmax_loss_ref, [x, w])
    assert_close(srcgrad.grad(softmax_loss)(x, w), expected, rtol=1e-6, atol=1e-8)
    direction = RNG.normal(size=shape)
    _, tangent = srcgrad.jvp(softmax_loss)(x, w, direction)
    assert_close(tangent, np.sum(expected * direction), rtol=1e-6, atol=1e-8)


def test_extreme_logits_stay_finite_without_warnings():
    x = np.array([[-1000.0, 0.0, 1000.0], [1000.0, 1000.0, -1000.0]])
    labels = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])

    def f(x, labels):
        return (np.sum(nn.softmax_cross_entropy_with_logits(labels, x))
                + np.sum(nn.sigmoid_cross_entropy_with_logits(labels, x))
                + np.sum(nn.log_softmax(x)) + np.sum(nn.softplus(x)) + np.sum(nn.sigmoid(x)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grad = srcgrad.value_and_grad(f)(x, labels)
        for fn in (nn.sigmoid, nn.softplus, nn.softmax, nn.log_softmax, nn.tanh, nn.elu, nn.selu,
                   nn.gelu, nn.silu, nn.softsign):
            assert np.all(np.isfinite(fn(x)))
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(nn.softmax_cross_entropy_with_logits(labels, x), [1000.0, np.log(2)],
                               atol=1e-9)
    np.testing.assert_allclose(nn.sigmoid_cross_entropy_with_logits(labels, x)[0], [0.0, np.log(2), 1000.0])
    np.testing.assert_allclose(nn.sigmoid(np.array([-1000.0, 1000.0])), [0.0, 1.0])


def test_seed_softmax_cross_entropy_value():
    logits = np.random.RandomState(1).rand(1, 10)
    y = np.array([0.0, 1.0, 0, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(nn.softmax_cross_entropy_with_logits(y, logits), [1.91865955], rtol=1e-8)
    np.testing.assert_allclose(nn.sparse_softmax_cross_entropy_with_logits(np.array([1]), logits),
                               [1.91865955], rtol=1e-8)


def test_float32_gradients_stay_float32():
    x = _points((3, 4)).astype(np.float32)
    w = np.ones((3, 4), np.float32)
    for name in ("sigmoid", "leaky_relu"):
        got = _compiled(name)[0](x, w)
        assert got.dtype == np.float32
        expected = numeric_grad(_weighted(ACTIVATIONS[name]), [x.astype(np.float64), w.astype(np.float64)])
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_bad_arguments_from_python_are_one_clear_error():
    with pytest.raises(srcgrad.ArgumentError, match="softmax cannot be called with"):
        nn.softmax(3.0)
    with pytest.raises(srcgrad.ArgumentError, match="relu cannot be called with"):
        nn.relu("x")
