"""What a function's source looks like around its numbers: decorators, and names that are also
the names generated code uses (issue 19, defects 2 and 9).

Gradients are checked against float64 central finite differences or closed forms."""
import functools
import math

import numpy as np
import pytest

import srcgrad
from conftest import check_both_modes, numeric_grad


# -- decorators ---------------------------------------------------------------------------------
def twice(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return 2.0 * fn(*args, **kwargs)
    return wrapper


def shifted(c):
    def decorate(fn):
        @functools.wraps(fn)
        def inner(x, *rest):
            return fn(x + c, *rest)
        return inner
    return decorate


def indexing_wrapper(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        return fn(args[0], args[1] * 3.0) - len(args)
    return wrapper


@twice
def cube(x):
    return x ** 3


@twice
@shifted(1.0)
def stacked(x, y):
    return x ** 3 * y


@indexing_wrapper
def by_position(x, y):
    return x * y


@functools.lru_cache(maxsize=None)
def cached(x):
    return math.sin(x) * x


def calls_decorated(x, w):
    return cube(x) * w + np.sum(np.tanh(w * stacked(x, 2.0)))


def test_a_decorator_that_changes_the_value_is_differentiated():
    assert srcgrad.grad(cube)(2.0) == pytest.approx(24.0, rel=1e-14)       # 2 * 3x^2
    assert srcgrad.jvp(cube)(2.0, 1.0) == (pytest.approx(16.0), pytest.approx(24.0))


@pytest.mark.parametrize("f, args, wrt", [
    (stacked, (0.5, 3.0), (0, 1)), (by_position, (0.7, -1.2), (0, 1)), (cached, (0.8,), 0),
    (calls_decorated, (0.3, np.array([0.5, -1.0])), (0, 1))], ids=lambda v: getattr(v, "__name__", ""))
def test_decorated_functions_in_both_modes(f, args, wrt):
    check_both_modes(f, args, wrt)


def test_decorated_names_keep_the_wrapped_function_parameters():
    # stacked(x, y) = 2 (x + 1)^3 y
    assert srcgrad.grad(stacked, wrt="y")(0.5, 3.0) == pytest.approx(2 * 1.5 ** 3, rel=1e-14)
    srcgrad.check_grads(stacked, (0.5, 3.0), wrt=(0, 1), order=2)


def plain_star(fn):
    def wrapper(*args):         # no functools.wraps: its parameters are unknown
        return fn(*args) * 3.0
    return wrapper


@plain_star
def unknown_parameters(x):
    return x * x


def test_a_wrapper_without_functools_wraps_is_refused_at_its_line():
    with pytest.raises(srcgrad.UnsupportedError, match=r"test_source_forms.py:\d+.*\*args"):
        srcgrad.grad(unknown_parameters)


# -- names generated code uses ------------------------------------------------------------------
def module_names(x):
    srt = x * 2.0
    np_ = srt + 1.0
    sgc = np_ * x
    njit = sgc - x
    return njit * srt + np.sum(np.tanh(x))


def builtin_names(x):
    len = x * 3.0               # shadows len: generated code calls the real one
    total = 0.0
    for v in np.arange(1.0, 3.0) * x:
        total = total + v * len
    return total


def generated_style_names(x, dy):
    _t1 = x * 2.0
    _bx = _t1 * _t1
    _tape_s = _bx + dy
    return math.sin(_tape_s) * x


def math_as_a_variable(x):
    math = x * 2.0
    return math * x


@pytest.mark.parametrize("f, args, wrt", [
    (module_names, (0.7,), 0), (builtin_names, (0.4,), 0), (generated_style_names, (0.3, 0.5), (0, 1)),
    (math_as_a_variable, (0.9,), 0)], ids=lambda v: getattr(v, "__name__", ""))
def test_user_names_never_clash_with_generated_ones(f, args, wrt):
    check_both_modes(f, args, wrt)
    value, grads = srcgrad.value_and_grad(f, wrt=wrt)(*args)
    assert value == pytest.approx(f(*args), rel=1e-14)
    expected = numeric_grad(f, args, wrt)
    np.testing.assert_allclose(grads, expected, rtol=1e-6)
