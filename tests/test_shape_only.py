"""Forward work a gradient reads only for its type and shape is skipped (transform/shape_only.py).

Each case checks two things: what the generated source calls (the skipped primal must be gone, a
primal whose value is needed must stay), and that the gradient still matches finite differences or
a closed form, so skipping can never change an answer.
"""
import re

import numpy as np
import pytest
from scipy import special

import srcgrad
from srcgrad import nn
from conftest import assert_close, build_grad, build_value_and_grad, numeric_grad


def _calls(g, function):
    """How often the generated source calls ``function``'s compiled primal."""
    key = function.__srcgrad_rule__.key
    return len(re.findall(rf"sgc\.{key}\(", srcgrad.source(g)))


def sum_relu(x):
    return np.sum(nn.relu(x))


def sum_sigmoid(x):
    return np.sum(nn.sigmoid(x))


def mean_xent(logits, labels):
    return np.mean(nn.softmax_cross_entropy_with_logits(labels, logits))


def sum_sin_cols(x):
    return np.sum(np.mean(np.sin(x), axis=0))


def sparse_xent(logits, labels):
    return np.sum(nn.sparse_softmax_cross_entropy_with_logits(labels, logits))


def test_grad_of_sum_relu_skips_the_forward_relu():
    g = build_grad(sum_relu)
    assert _calls(g, nn.relu) == 0
    x = np.array([-2.0, -0.5, 0.0, 0.25, 3.0])
    assert_close(g(x), (x > 0).astype(float), rtol=0)


def test_value_and_grad_keeps_the_forward_it_returns():
    vg = build_value_and_grad(sum_relu)
    assert _calls(vg, nn.relu) == 1
    x = np.array([-2.0, 0.5, 3.0])
    value, grad = vg(x)
    assert_close(value, 3.5, rtol=1e-15)
    assert_close(grad, [0.0, 1.0, 1.0], rtol=0)


def weighted_sigmoid(x, w):
    return np.sum(nn.sigmoid(x) * w)


def sum_tanh(x):
    return np.sum(np.tanh(x))


def test_a_rule_that_reads_the_output_recomputes_when_nothing_else_needs_it():
    # sigmoid's rule reads ans; with ans needed by nothing else, the rule's recompute form runs
    # instead (one fused loop) and the forward call goes
    g = build_grad(sum_sigmoid)
    assert _calls(g, nn.sigmoid) == 0 and "sgc.sigmoid_slope(x)" in srcgrad.source(g)
    x = np.linspace(-4.0, 4.0, 9)
    s = special.expit(x)
    assert_close(g(x), s * (1 - s), rtol=1e-14)
    gt = build_grad(sum_tanh)
    code = "\n".join(line for line in srcgrad.source(gt).splitlines() if not line.strip().startswith("#"))
    assert "= srt.tanh(" not in code and "= np.tanh(" not in code and "srt.tanh_slope(x)" in code
    assert_close(gt(x), 1 - np.tanh(x) ** 2, rtol=1e-14)


def test_a_rule_keeps_reading_the_output_when_it_is_needed_anyway():
    g = build_grad(weighted_sigmoid, wrt=(0, 1))
    assert _calls(g, nn.sigmoid) == 1 and "sigmoid_slope" not in srcgrad.source(g)
    x, w = np.linspace(-3.0, 3.0, 7), np.linspace(0.5, 2.0, 7)
    s = special.expit(x)
    gx, gw = g(x, w)
    assert_close(gx, w * s * (1 - s), rtol=1e-14)
    assert_close(gw, s, rtol=1e-15)
    value, _ = build_value_and_grad(sum_sigmoid)(x)
    assert_close(value, np.sum(s), rtol=1e-14)
    assert _calls(build_value_and_grad(sum_sigmoid), nn.sigmoid) == 1


def test_mean_cross_entropy_gradient_skips_the_loss_and_is_right():
    g = build_grad(mean_xent)
    assert _calls(g, nn.softmax_cross_entropy_with_logits) == 0
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(6, 4)), np.eye(4)[rng.integers(0, 4, 6)]
    closed = (special.softmax(logits, axis=1) - labels) / 6
    assert_close(g(logits, labels), closed, rtol=1e-13)
    assert_close(g(logits, labels), numeric_grad(mean_xent, (logits, labels)), rtol=1e-6)


def test_float32_keeps_its_dtype_when_the_forward_is_skipped():
    g = build_grad(mean_xent)
    logits = np.random.default_rng(1).normal(size=(3, 5)).astype(np.float32)
    labels = np.eye(5, dtype=np.float32)[[0, 2, 4]]
    out = g(logits, labels)
    assert out.dtype == np.float32
    assert_close(out, (special.softmax(logits.astype(float), axis=1) - labels) / 3, rtol=1e-5)


def test_shape_errors_still_raise_when_the_forward_is_skipped():
    g = build_grad(mean_xent)
    with pytest.raises(srcgrad.ShapeError, match="predictions' shape"):
        g(np.ones((3, 4)), np.ones((2, 4)))
    gs = build_grad(sparse_xent)
    assert _calls(gs, nn.sparse_softmax_cross_entropy_with_logits) == 0
    with pytest.raises(srcgrad.ShapeError, match="class label"):
        gs(np.ones((2, 3)), np.array([0, 3]))


def test_a_reduction_along_an_axis_is_still_computed_and_right():
    g = build_grad(sum_sin_cols)
    x = np.random.default_rng(2).normal(size=(4, 3))
    assert_close(g(x), np.cos(x) / 4, rtol=1e-14)


@pytest.mark.parametrize("x", [0.7, -1.2])
def test_scalars(x):
    assert_close(build_grad(sum_relu)(x), float(x > 0), rtol=0)
    assert_close(build_grad(sum_sin_scalar)(x), np.cos(x), rtol=1e-15)


def sum_sin_scalar(x):
    return np.sum(np.sin(x))


def softplus_total(x):
    return np.sum(nn.softplus(x))


def test_second_derivatives_through_skipped_forward_values_and_recompute_forms():
    # the inner gradients' forwards are stand-ins and their rules the recompute forms
    x = np.array([-1.5, 0.0, 2.0])
    s, t = special.expit(x), np.tanh(x)
    assert_close(srcgrad.hessian(softplus_total)(x), np.diag(s * (1 - s)), rtol=1e-12)
    assert_close(srcgrad.hessian(sum_sigmoid)(x), np.diag(s * (1 - s) * (1 - 2 * s)), rtol=1e-12,
                 atol=1e-15)
    assert_close(srcgrad.hessian(sum_tanh)(x), np.diag(-2 * t * (1 - t * t)), rtol=1e-12, atol=1e-15)


def tanh_then_rebind(x):
    y = np.tanh(x)
    x = 2.0 * x                     # the parameter is bound a second time: a new version
    return np.sum(y), np.sum(x)


def tanh_then_rebind_in_loop(x):
    y = np.tanh(x)
    for _ in range(2):
        x = 2.0 * x                 # rebound in a loop: one variable, 4x by the reverse sweep
    return np.sum(y), np.sum(x)


def test_a_recompute_form_never_reads_a_rebound_name():
    x = np.array([0.3, -1.2, 2.0])
    # a straight-line rebinding is a new variable, so tanh's recompute form may read x itself
    g = build_grad(tanh_then_rebind)
    assert "srt.tanh_slope(x)" in srcgrad.source(g)
    assert_close(g(x), 1 - np.tanh(x) ** 2 + 2, rtol=1e-14)
    assert_close(g(x), numeric_grad(lambda v: sum(tanh_then_rebind(v)), (x,)), rtol=1e-6)
    # in a loop, x by the reverse sweep holds 4x: the form must keep y instead
    g = build_grad(tanh_then_rebind_in_loop)
    assert "srt.tanh_slope(x)" not in srcgrad.source(g)
    assert_close(g(x), 1 - np.tanh(x) ** 2 + 4, rtol=1e-14)
    assert_close(g(x), numeric_grad(lambda v: sum(tanh_then_rebind_in_loop(v)), (x,)), rtol=1e-6)
