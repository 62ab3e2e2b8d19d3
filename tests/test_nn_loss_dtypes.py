"""srcgrad.nn losses with labels and predictions of different dtypes (issue 19, defect 16).

Integer labels with float predictions, float64 ``one_hot`` rows with float32 logits, float32 targets
with float64 predictions: every loss, from Python, inside a user's ``@njit`` code, and inside
differentiated code in reverse (``grad``, which replaces the loss by its stand-in, and
``value_and_grad``, which calls it) and forward mode (``jvp``). The expected dtype of a value is what
NumPy gives for the loss's formula written out in NumPy on the same mixed arrays; values and
derivatives are checked against that formula in float64 (central finite differences). Each
gradient must have its own argument's dtype.
"""
import numpy as np
import pytest
from numba import njit
from scipy import special

import srcgrad
from srcgrad import nn
from conftest import assert_close, numeric_grad

EPS = 1e-7


# -- the losses written out in NumPy (Keras/TensorFlow meanings), and srcgrad's -----------------------
def _clip(p):
    return np.clip(p, EPS, 1 - EPS)


def mse_ref(t, p):
    return np.mean((p - t) ** 2, axis=-1)


def mae_ref(t, p):
    return np.mean(np.abs(p - t), axis=-1)


def huber_ref(t, p):
    e = np.abs(p - t)
    return np.mean(np.where(e <= 0.5, 0.5 * e * e, 0.5 * e - 0.5 * 0.5 * 0.5), axis=-1)


def bce_ref(t, p):
    # Keras's (1 - t): with 1.0 NumPy would widen int8 labels' float32 loss to float64
    return -np.mean(t * np.log(_clip(p) + EPS) + (1 - t) * np.log(1 - _clip(p) + EPS), axis=-1)


def sigmoid_xent_ref(t, x):
    return np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))


def bce_logits_ref(t, x):
    return np.mean(sigmoid_xent_ref(t, x), axis=-1)


def cce_ref(t, p):
    return -np.sum(t * np.log(_clip(p / np.sum(p, axis=-1, keepdims=True))), axis=-1)


def softmax_xent_ref(t, x):
    return -np.sum(t * special.log_softmax(x, axis=-1), axis=-1)


def huber(t, p):
    return nn.huber(t, p, 0.5)


def bce_logits(t, p):
    return nn.binary_crossentropy(t, p, True)


def cce_logits(t, p):
    return nn.categorical_crossentropy(t, p, True)


# name -> (srcgrad loss, NumPy formula, predictions are probabilities)
DENSE = {
    "mse": (nn.mse, mse_ref, False),
    "mae": (nn.mae, mae_ref, False),
    "huber": (huber, huber_ref, False),
    "binary_crossentropy": (nn.binary_crossentropy, bce_ref, True),
    "binary_crossentropy_logits": (bce_logits, bce_logits_ref, False),
    "categorical_crossentropy": (nn.categorical_crossentropy, cce_ref, True),
    "categorical_crossentropy_logits": (cce_logits, softmax_xent_ref, False),
    "softmax_cross_entropy_with_logits": (nn.softmax_cross_entropy_with_logits, softmax_xent_ref, False),
    "sigmoid_cross_entropy_with_logits": (nn.sigmoid_cross_entropy_with_logits, sigmoid_xent_ref, False),
}

# (labels, predictions): integer classes, int8 (which keeps float32 float32), float64 one_hot rows
# with float32 predictions, soft float32 targets with float64 predictions, int32 with float64
COMBOS = [("int64", "float32"), ("int8", "float32"), ("float64", "float32"), ("float32", "float64"),
          ("int32", "float64")]


def _data(name, labels_dtype, pred_dtype, seed=3):
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, 4, size=3)
    if labels_dtype == "float32":
        t = rng.uniform(0.0, 1.0, size=(3, 4)).astype(np.float32)         # soft targets
    elif labels_dtype == "float64":
        t = nn.one_hot(classes, 4)                                       # float64, as one_hot gives
    else:
        t = np.eye(4, dtype=labels_dtype)[classes]
    if DENSE[name][2]:
        p = rng.uniform(0.05, 0.95, size=(3, 4))
    else:
        p = rng.normal(size=(3, 4)) * 2.0
        e = p - t
        p = np.where(np.abs(e) < 0.1, p + 0.3, p)                        # away from the kinks of
        p = np.where(np.abs(np.abs(p - t) - 0.5) < 0.1, p + 0.3, p)      # mae and huber
    return t, p.astype(pred_dtype)


def _expected_dtype(name, t, p):
    """What NumPy gives for the formula on these very arrays."""
    return DENSE[name][1](t, p).dtype


def _tolerance(*arrays):
    """float32 inputs are computed in float32 (as NumPy would, whatever the result's dtype)."""
    return 2e-6 if any(np.asarray(a).dtype == np.float32 for a in arrays) else 1e-12


# -- from Python and from a user's @njit code ---------------------------------------------------------
@njit
def _in_njit(t, p):
    return (nn.mse(t, p), nn.mae(t, p), nn.huber(t, p, 0.5), nn.binary_crossentropy(t, p, True),
            nn.categorical_crossentropy(t, p, True), nn.softmax_cross_entropy_with_logits(t, p),
            nn.sigmoid_cross_entropy_with_logits(t, p))


@njit
def _probabilities_in_njit(t, p):
    return nn.binary_crossentropy(t, p), nn.categorical_crossentropy(t, p)


_NJIT_ORDER = ["mse", "mae", "huber", "binary_crossentropy_logits", "categorical_crossentropy_logits",
               "softmax_cross_entropy_with_logits", "sigmoid_cross_entropy_with_logits"]


@pytest.mark.parametrize("labels_dtype, pred_dtype", COMBOS)
@pytest.mark.parametrize("name", sorted(DENSE))
def test_mixed_dtype_values_from_python(name, labels_dtype, pred_dtype):
    loss, ref, _ = DENSE[name]
    t, p = _data(name, labels_dtype, pred_dtype)
    value = loss(t, p)
    dtype = _expected_dtype(name, t, p)
    assert value.dtype == dtype, (value.dtype, dtype)
    assert_close(value, ref(t.astype(np.float64), p.astype(np.float64)), rtol=_tolerance(t, p), atol=0)


@pytest.mark.parametrize("labels_dtype, pred_dtype", COMBOS)
def test_mixed_dtype_values_inside_user_njit_code(labels_dtype, pred_dtype):
    t, p = _data("mse", labels_dtype, pred_dtype)
    t_, probs = _data("binary_crossentropy", labels_dtype, pred_dtype)
    for name, (labels, x), value in zip(
            _NJIT_ORDER + ["binary_crossentropy", "categorical_crossentropy"],
            [(t, p)] * len(_NJIT_ORDER) + [(t_, probs)] * 2,
            _in_njit(t, p) + _probabilities_in_njit(t_, probs)):
        dtype = _expected_dtype(name, labels, x)
        assert value.dtype == dtype, (name, value.dtype, dtype)
        assert_close(value, DENSE[name][1](labels.astype(np.float64), x.astype(np.float64)),
                     rtol=_tolerance(labels, x), atol=0)


# -- inside differentiated code --------------------------------------------------------------------------
def _weighted(loss):
    """``loss(t, p) * w`` with float32 weights: the value keeps the loss's dtype (float32 weights
    widen nothing; an array, since a compiled function returns a float32 number as a Python float),
    and per-example weights make the cotangent of each example differ (``grad`` sums the array)."""
    def weighted(t, p, w):
        return loss(t, p) * w
    weighted.__name__ = f"weighted_{getattr(loss, '__name__', 'loss')}"
    return weighted


_WEIGHTED = {name: (_weighted(loss), _weighted(ref)) for name, (loss, ref, _) in DENSE.items()}
_BUILT = {}


def _built(kind, name, wrt):
    key = (kind, name, wrt)
    if key not in _BUILT:
        _BUILT[key] = getattr(srcgrad, kind)(_WEIGHTED[name][0], wrt=wrt)
    return _BUILT[key]


def _weights(name):
    shape = (3, 4) if name == "sigmoid_cross_entropy_with_logits" else (3,)
    return np.random.default_rng(8).uniform(0.5, 1.5, size=shape).astype(np.float32)


@pytest.mark.parametrize("labels_dtype, pred_dtype", COMBOS)
@pytest.mark.parametrize("name", sorted(DENSE))
def test_mixed_dtype_gradients(name, labels_dtype, pred_dtype):
    t, p = _data(name, labels_dtype, pred_dtype)
    w, reference = _weights(name), _WEIGHTED[name][1]
    float_labels = t.dtype.kind == "f"
    wrt = (0, 1) if float_labels else 1
    t0, p0 = t.copy(), p.copy()
    expected = numeric_grad(reference, [t, p, w], wrt=wrt)
    for kind in ("grad", "value_and_grad"):
        got = _built(kind, name, wrt)(t, p, w)
        if kind == "value_and_grad":
            value, got = got
            dtype = _expected_dtype(name, t, p)
            assert np.asarray(value).dtype == dtype, (np.asarray(value).dtype, dtype)
            assert_close(value, reference(t.astype(np.float64), p.astype(np.float64), w),
                         rtol=_tolerance(t, p) * 10, atol=0)
        grads = got if float_labels else (got,)
        for g, arg in zip(grads, (t, p) if float_labels else (p,)):
            assert g.dtype == arg.dtype and g.shape == arg.shape, (kind, g.dtype, arg.dtype)
        assert_close(got, expected, rtol=2e-5 if np.float32 in (t.dtype, p.dtype) else 1e-6,
                     atol=1e-6)
    assert np.array_equal(t, t0) and np.array_equal(p, p0)


@pytest.mark.parametrize("labels_dtype, pred_dtype", COMBOS)
@pytest.mark.parametrize("name", sorted(DENSE))
def test_mixed_dtype_forward_mode(name, labels_dtype, pred_dtype):
    t, p = _data(name, labels_dtype, pred_dtype)
    w, reference = _weights(name), _WEIGHTED[name][1]
    v = np.random.default_rng(9).normal(size=p.shape).astype(p.dtype)
    value, tangent = _built("jvp", name, 1)(t, p, w, v)
    dtype = _expected_dtype(name, t, p)
    assert value.dtype == tangent.dtype == dtype, (value.dtype, tangent.dtype, dtype)
    # J v of every output, by central differences of the float64 formula along v
    t64, p64, v64, h = t.astype(np.float64), p.astype(np.float64), v.astype(np.float64), 1e-6
    expected = (reference(t64, p64 + h * v64, w) - reference(t64, p64 - h * v64, w)) / (2 * h)
    assert_close(tangent, expected, rtol=2e-5 if np.float32 in (t.dtype, p.dtype) else 1e-6, atol=1e-6)


# -- integer class labels of any width; float labels are refused -------------------------------------------
def sparse_losses(labels, logits, probs):
    return (nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
            + nn.sparse_categorical_crossentropy(labels, probs)
            + nn.sparse_categorical_crossentropy(labels, logits, True))


def sparse_losses_ref(labels, logits, probs):
    rows = np.arange(labels.size)
    a = -special.log_softmax(logits, axis=-1)[rows, labels]
    c = _clip(probs)
    b = -np.log(c[rows, labels] / c.sum(axis=-1))
    return a + b + a


@pytest.mark.parametrize("labels_dtype", ["int8", "uint8", "int32", "int64"])
@pytest.mark.parametrize("pred_dtype", ["float32", "float64"])
def test_sparse_losses_take_integer_labels_of_any_width(labels_dtype, pred_dtype):
    rng = np.random.default_rng(4)
    labels = np.array([2, 0, 3], dtype=labels_dtype)
    logits = (rng.normal(size=(3, 4)) * 2).astype(pred_dtype)
    probs = rng.uniform(0.05, 0.95, size=(3, 4)).astype(pred_dtype)
    for loss, x in ((nn.sparse_softmax_cross_entropy_with_logits, logits),
                    (nn.sparse_categorical_crossentropy, probs)):
        assert loss(labels, x).dtype == x.dtype          # labels are indices: NumPy keeps x's dtype
    value, got = srcgrad.value_and_grad(sparse_losses, wrt=(1, 2))(labels, logits, probs)
    assert np.asarray(value).dtype == logits.dtype
    assert [g.dtype for g in got] == [logits.dtype, probs.dtype]
    assert_close(value, sparse_losses_ref(labels, logits.astype(float), probs.astype(float)),
                 rtol=_tolerance(logits) * 10, atol=0)
    expected = numeric_grad(sparse_losses_ref, [labels, logits, probs], wrt=(1, 2))
    assert_close(got, expected, rtol=2e-5 if pred_dtype == "float32" else 1e-6, atol=1e-6)


@njit
def _sparse_in_njit(labels, logits, probs):
    return (nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
            + nn.sparse_categorical_crossentropy(labels, probs)
            + nn.sparse_categorical_crossentropy(labels, logits, True))


@pytest.mark.parametrize("labels_dtype", ["int8", "int32"])
def test_sparse_losses_inside_user_njit_code(labels_dtype):
    rng = np.random.default_rng(5)
    labels = np.array([1, 3, 0], dtype=labels_dtype)
    logits = (rng.normal(size=(3, 4)) * 2).astype(np.float32)
    probs = rng.uniform(0.05, 0.95, size=(3, 4)).astype(np.float32)
    value = _sparse_in_njit(labels, logits, probs)
    assert value.dtype == np.float32
    assert_close(value, sparse_losses_ref(labels, logits.astype(float), probs.astype(float)),
                 rtol=2e-5, atol=0)


def test_sparse_losses_refuse_float_labels_clearly():
    logits = np.zeros((3, 4))
    labels = np.array([2.0, 0.0, 3.0])
    with pytest.raises(srcgrad.ArgumentError, match="integer class indices, got float64"):
        nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
    with pytest.raises(srcgrad.ArgumentError, match="integer class indices, got float64"):
        srcgrad.grad(sparse_losses, wrt=1)(labels, logits, logits + 0.5)


# -- labels given as a number: a Python scalar, which does not widen (NEP 50) --------------------------
def test_scalar_labels_keep_the_predictions_dtype():
    p = np.linspace(0.1, 0.9, 8).reshape(2, 4).astype(np.float32)
    for name in ("mse", "binary_crossentropy", "sigmoid_cross_entropy_with_logits"):
        loss, ref, _ = DENSE[name]
        for label in (1, 0.25):
            value = loss(label, p)
            assert value.dtype == ref(label, p).dtype == np.float32
            assert_close(value, ref(label, p.astype(np.float64)), rtol=2e-6, atol=0)
