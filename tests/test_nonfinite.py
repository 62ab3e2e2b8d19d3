"""inf and nan: they propagate as in NumPy by default, and ``debug_nans=True`` stops at the first
user line whose value, gradient or tangent is not finite, naming it."""
import numpy as np
import pytest

import srcgrad


def root_sum(x):
    a = np.sqrt(x)
    b = a * 2.0
    return np.sum(b)


def log_loop(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.log(x[i])
    return s


def test_without_debug_inf_and_nan_propagate_as_in_numpy():
    with np.errstate(divide="ignore"):
        g = srcgrad.grad(root_sum)(np.array([4.0, 0.0]))
    assert g[0] == pytest.approx(0.5) and g[1] == np.inf       # d/dx 2 sqrt(x) = 1/sqrt(x)
    assert np.isnan(srcgrad.grad(root_sum)(np.array([np.nan, 1.0]))[0])


def test_debug_names_the_line_whose_gradient_is_not_finite():
    g = srcgrad.grad(root_sum, debug_nans=True)
    np.testing.assert_allclose(g(np.array([4.0, 1.0])), [0.5, 1.0], rtol=1e-15)
    with pytest.raises(srcgrad.NonFiniteError, match=r"a gradient became nan or inf at .*"
                       r"test_nonfinite.py:\d+ \(in root_sum\): a = np.sqrt\(x\)"):
        g(np.array([4.0, 0.0]))


def test_debug_names_the_line_whose_value_is_not_finite():
    with pytest.raises(srcgrad.NonFiniteError, match=r"a value became .* \(in log_loop\): "
                       r"s = s \+ np.log\(x\[i\]\)"):
        srcgrad.grad(log_loop, debug_nans=True)(np.array([1.0, 0.0, 2.0]))


def test_debug_in_forward_mode_checks_tangents():
    f = srcgrad.jvp(root_sum, debug_nans=True)
    value, tangent = f(np.array([4.0, 1.0]), np.ones(2))
    assert value == pytest.approx(6.0) and tangent == pytest.approx(1.5)
    with pytest.raises(srcgrad.NonFiniteError, match="a tangent became"):
        f(np.array([4.0, 0.0]), np.ones(2))


def test_the_error_is_a_floating_point_error_and_the_flag_must_be_a_bool():
    assert issubclass(srcgrad.NonFiniteError, FloatingPointError)
    assert issubclass(srcgrad.NonFiniteError, srcgrad.SrcgradError)
    with pytest.raises(srcgrad.SrcgradError, match="debug_nans must be True or False"):
        srcgrad.grad(root_sum, debug_nans=1)
