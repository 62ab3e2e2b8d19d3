"""Unsupported constructs and bad arguments raise srcgrad.SrcgradError with a
message naming the construct, the function, this file and the offending line."""

import inspect
import math  # noqa: F401  (used by functions below)
import os
import re

import numpy as np
import pytest

import srcgrad

FILE = os.path.basename(__file__)

_COUNTER = 0.0


def line_of(f, marker="# ERR"):
    """Absolute line numbers (in this file) of the lines of f carrying marker."""
    lines, start = inspect.getsourcelines(f)
    found = [start + k for k, text in enumerate(lines) if marker in text]
    assert found, f"no {marker!r} line in {f.__name__}"
    return found


def assert_good_message(exc, f, construct, lines):
    msg = str(exc)
    assert FILE in msg, msg
    assert any(re.search(rf"(?<!\d){n}(?!\d)", msg) for n in lines), (lines, msg)
    assert f.__name__ in msg, msg
    # The construct must be named in the explanation itself, not only inside
    # the function's name (e_try), the file name or the quoted source line.
    rest = msg.replace(f.__name__, "").replace(FILE, "")
    for text in inspect.getsourcelines(f)[0]:
        if text.strip():
            rest = rest.replace(text.strip(), "")
    assert re.search(construct, rest, re.IGNORECASE), (construct, msg)


# --------------------------------------------------------------------------
# Unsupported constructs
# --------------------------------------------------------------------------


def e_try(x):
    y = x * 2.0
    try:  # ERR
        y = y * x
    except ZeroDivisionError:
        y = x
    return y


def e_try_finally(x):
    y = x * 2.0
    try:  # ERR
        y = y * x
    finally:
        y = y + 1.0
    return y


def e_with(x):
    y = x * 3.0
    with open(os.devnull) as fh:  # ERR
        y = y * x
    return y


def e_yield(x):
    s = x * x
    yield s  # ERR


def e_lambda(x):
    sq = lambda t: t * t  # ERR  # noqa: E731
    return sq(x) + x


def e_class(x):
    class Box:  # ERR
        pass

    return x * x


def e_dict(x):
    d = {0: x, 1: x * x}  # ERR
    return d[0] + d[1]


def e_str(x):
    label = "x=" + str(x)  # ERR
    return x * len(label)


def e_global_write(x):
    global _COUNTER  # ERR
    _COUNTER = x  # ERR
    return x * 2.0


def e_svd(A):
    u, s, vt = np.linalg.svd(A)  # ERR
    return np.sum(s)


def e_fft(x):
    y = np.abs(np.fft.fft(x))  # ERR
    return np.sum(y)


def e_helper_with_try(x):
    try:  # ERR
        return x * x
    except ValueError:
        return x


def e_calls_bad_helper(x):
    return e_helper_with_try(x) + x


X_SCALAR = (1.5,)
X_VECTOR = (np.array([0.5, -1.0, 2.0, 0.25]),)
X_MATRIX = (np.array([[1.0, 2.0], [0.5, -1.0], [0.3, 0.7]]),)

CASES = [
    (e_try, X_SCALAR, "try"),
    (e_try_finally, X_SCALAR, "try"),
    (e_with, X_SCALAR, "with"),
    (e_yield, X_SCALAR, "yield"),
    (e_lambda, X_SCALAR, "lambda"),
    (e_class, X_SCALAR, "class"),
    (e_dict, X_SCALAR, "dict"),
    (e_str, X_SCALAR, "str"),
    (e_global_write, X_SCALAR, "global"),
    (e_svd, X_MATRIX, "svd"),
    (e_fft, X_VECTOR, "fft"),
]


@pytest.mark.parametrize("f,args,construct", CASES, ids=[c[0].__name__ for c in CASES])
def test_unsupported_construct(f, args, construct):
    with pytest.raises(srcgrad.SrcgradError, match=re.escape(FILE)) as info:
        g = srcgrad.grad(f)
        g(*args)
    assert_good_message(info.value, f, construct, line_of(f))


def test_error_in_helper_cites_helper_line():
    with pytest.raises(srcgrad.SrcgradError, match=re.escape(FILE)) as info:
        srcgrad.grad(e_calls_bad_helper)(*X_SCALAR)
    assert_good_message(info.value, e_helper_with_try, "try", line_of(e_helper_with_try))


@pytest.mark.parametrize("api", ["value_and_grad", "vjp"])
def test_other_entry_points_report_unsupported(api):
    with pytest.raises(srcgrad.SrcgradError, match=re.escape(FILE)) as info:
        built = getattr(srcgrad, api)(e_lambda)
        if api == "vjp":
            built(1.5, 1.0)
        else:
            built(1.5)
    assert_good_message(info.value, e_lambda, "lambda", line_of(e_lambda))


def test_errors_share_base_class():
    assert issubclass(srcgrad.SrcgradError, Exception)
    caught = []
    for f, args, _ in CASES:
        try:
            srcgrad.grad(f)(*args)
        except srcgrad.SrcgradError as e:
            caught.append(type(e))
    assert len(caught) == len(CASES)
    assert all(issubclass(t, srcgrad.SrcgradError) for t in caught)


# --------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------


def ok_square(x):
    return x * x


def ok_sum(x):
    return np.sum(x * x)


def ok_power(x, n):
    return x ** n


@pytest.mark.parametrize("bad", ["abc", ["a", "b"]], ids=["str", "list_of_str"])
def test_string_arguments_rejected(bad):
    with pytest.raises(srcgrad.SrcgradError):
        srcgrad.grad(ok_square)(bad)


def test_string_argument_in_non_wrt_position_rejected():
    with pytest.raises(srcgrad.SrcgradError):
        srcgrad.grad(ok_power, wrt=0)(2.0, "3")


def test_wrt_integer_argument_rejected():
    with pytest.raises(srcgrad.SrcgradError):
        srcgrad.grad(ok_power, wrt=1)(2.0, 3)
    with pytest.raises(srcgrad.SrcgradError):
        srcgrad.grad(ok_power, wrt=(0, 1))(2.0, 3)
    with pytest.raises(srcgrad.SrcgradError):
        srcgrad.grad(ok_square)(3)


def test_wrt_integer_array_rejected():
    with pytest.raises(srcgrad.SrcgradError):
        srcgrad.grad(ok_sum)(np.arange(4))


def test_integer_call_after_float_call_still_rejected():
    # A gradient already compiled for floats must still refuse ints.
    g = srcgrad.grad(ok_power, wrt=1)
    np.testing.assert_allclose(g(2.0, 3.0), 8.0 * math.log(2.0), rtol=1e-12, atol=1e-12)
    with pytest.raises(srcgrad.SrcgradError):
        g(2.0, 3)


# --------------------------------------------------------------------------
# Misuse of the API
# --------------------------------------------------------------------------


def ok_two(x, y):
    return x * y + x


def ok_vector_out(x):
    return x * x


def test_wrt_unknown_name_rejected():
    with pytest.raises(srcgrad.SrcgradError, match="z"):
        srcgrad.grad(ok_two, wrt="z")(1.0, 2.0)


def test_wrt_out_of_range_rejected():
    with pytest.raises(srcgrad.SrcgradError):
        srcgrad.grad(ok_two, wrt=5)(1.0, 2.0)


@pytest.mark.parametrize("bad", [1.0 + 2.0j, None, True], ids=["complex", "none", "bool"])
def test_non_real_arguments_rejected(bad):
    with pytest.raises(srcgrad.SrcgradError):
        srcgrad.grad(ok_two)(bad, 2.0)


def test_not_a_python_function_rejected():
    with pytest.raises(srcgrad.SrcgradError):
        srcgrad.grad(math.sin)(1.0)
    with pytest.raises(srcgrad.SrcgradError):
        srcgrad.grad(lambda t: t * t)(1.0)


def test_source_of_foreign_function_rejected():
    with pytest.raises(srcgrad.SrcgradError):
        srcgrad.source(ok_two)


@pytest.mark.parametrize(
    "f,args,dy",
    [
        (ok_two, (1.0, 2.0), np.ones(3)),
        (ok_vector_out, (np.ones(4),), np.ones(7)),
    ],
    ids=["scalar_out", "vector_out"],
)
def test_vjp_seed_of_wrong_shape_rejected(f, args, dy):
    with pytest.raises(srcgrad.SrcgradError):
        srcgrad.vjp(f)(*args, dy)
