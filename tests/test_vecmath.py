"""srcgrad's math runtime against mpmath: error in units in the last place, and the special values.

The reference is the exact value at 80 bits, so the error of a result ``y`` is ``|y - ref|`` over
the spacing of the result type at ``ref``: 0.5 is a correctly rounded result. Each function is swept
densely over its working range, the tails and the points where its formula changes (the edges of
the reductions, subnormal arguments and results, values near overflow), in float64 and float32.
"""
import math

import mpmath as mp
import numpy as np
import pytest
from numba import njit

from srcgrad.runtime import vecmath as vm

mp.mp.prec = 80

F64_LIMIT = 2.0
F32_LIMIT = 1.0


def _softplus(x):
    return mp.log1p(mp.exp(x))


def _log1p(x):
    if x == -1:
        return mp.ninf
    return mp.log1p(x) if x > -1 else mp.nan


REFERENCES = {
    "exp": mp.exp,
    "expm1": mp.expm1,
    "log": lambda x: mp.log(x) if x > 0 else (mp.ninf if x == 0 else mp.nan),
    "log1p": _log1p,
    "tanh": mp.tanh,
    "sigmoid": lambda x: 1 / (1 + mp.exp(-x)),
    "softplus": _softplus,
    "tanh_slope": lambda x: 1 / mp.cosh(x) ** 2,
    "sigmoid_slope": lambda x: mp.exp(-abs(x)) / (1 + mp.exp(-abs(x))) ** 2,
}

# each ufunc called from compiled code, where a float32 argument gets the float32 kernel
_CALL = {name: njit(eval("lambda x: u(x)", {"u": getattr(vm, name)})) for name in REFERENCES}


def _sweep(name, dtype):
    rng = np.random.default_rng(sum(map(ord, name)) + np.dtype(dtype).itemsize)
    f64 = dtype == np.float64
    top = 709.9 if f64 else 89.0          # past the overflow of exp
    low = -746.0 if f64 else -104.0       # past its underflow (subnormal results in between)
    tiny = 1e-310 if f64 else 1e-40
    parts = [rng.uniform(-1, 1, 4000), rng.uniform(-0.36, 0.36, 1000), rng.uniform(-40, 40, 3000),
             rng.uniform(low, top, 3000), rng.uniform(-1e-5, 1e-5, 500),
             np.exp(rng.uniform(math.log(tiny), 3, 2000)) * rng.choice([-1, 1], 2000),
             np.arange(-30, 31) * math.log(2) / 2]            # reduction interval edges
    if name == "tanh_slope" and f64:       # 4 e^(-2|x|) is subnormal here: rounded once, not 4 times
        parts.append(rng.uniform(352.0, 373.0, 1000) * rng.choice([-1, 1], 1000))
    if name in ("log", "log1p"):
        top = 709.0 if f64 else 88.0
        positive = [np.exp(rng.uniform(math.log(tiny), top, 4000)), rng.uniform(0.5, 2, 2000),
                    rng.uniform(0.999, 1.001, 1000), rng.uniform(0, tiny, 200)]
        parts = positive if name == "log" else parts + [rng.uniform(-1, -0.5, 1500)] + positive
    x = np.concatenate(parts)
    with np.errstate(over="ignore"):
        return x.astype(dtype)


def ulp_error(y, ref, dtype):
    """Error of ``y`` in units in the last place of ``dtype`` at the exact value ``ref``."""
    if mp.isnan(ref):
        return 0.0 if np.isnan(y) else math.inf
    with np.errstate(over="ignore"):
        nearest = dtype(float(ref))
    if np.isinf(nearest):
        return 0.0 if y == nearest else math.inf
    if np.isnan(y) or np.isinf(y):
        return math.inf
    spacing = np.spacing(abs(nearest)) if nearest != 0 else np.spacing(dtype(0))
    return float(abs(mp.mpf(float(y)) - ref) / mp.mpf(float(spacing)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(REFERENCES))
def test_accuracy_in_ulp(name, dtype):
    x = _sweep(name, dtype)
    y = _CALL[name](x)
    assert y.dtype == dtype
    reference = REFERENCES[name]
    worst, where = 0.0, None
    for xi, yi in zip(x.tolist(), y.tolist()):
        err = ulp_error(dtype(yi), reference(mp.mpf(xi)), dtype)
        if err > worst:
            worst, where = err, xi
    limit = F64_LIMIT if dtype == np.float64 else F32_LIMIT
    assert worst <= limit, f"{name} {dtype.__name__}: {worst:.3f} ulp at x = {where!r}"


INF, NAN = math.inf, math.nan

# (function, argument, expected): exact special values (signed zeros compared with their sign)
SPECIAL = [
    ("exp", INF, INF), ("exp", -INF, 0.0), ("exp", 0.0, 1.0), ("exp", -0.0, 1.0),
    ("exp", 709.79, INF), ("exp", -746.0, 0.0), ("exp", -745.13, 5e-324), ("exp", 1e-300, 1.0),
    ("expm1", INF, INF), ("expm1", -INF, -1.0), ("expm1", -0.0, -0.0), ("expm1", 5e-324, 5e-324),
    ("expm1", 709.79, INF),
    ("log", 0.0, -INF), ("log", -0.0, -INF), ("log", -1.0, NAN), ("log", INF, INF), ("log", 1.0, 0.0),
    ("log", -INF, NAN),
    ("log1p", -1.0, -INF), ("log1p", -2.0, NAN), ("log1p", INF, INF), ("log1p", -0.0, -0.0),
    ("log1p", 5e-324, 5e-324),
    ("tanh", INF, 1.0), ("tanh", -INF, -1.0), ("tanh", -0.0, -0.0), ("tanh", 1e-300, 1e-300),
    ("tanh", 5e-324, 5e-324), ("tanh", 25.0, 1.0),
    ("sigmoid", INF, 1.0), ("sigmoid", -INF, 0.0), ("sigmoid", 0.0, 0.5), ("sigmoid", 800.0, 1.0),
    ("softplus", INF, INF), ("softplus", -INF, 0.0), ("softplus", 800.0, 800.0),
    ("tanh_slope", INF, 0.0), ("tanh_slope", -INF, 0.0), ("tanh_slope", 0.0, 1.0),
    ("tanh_slope", 400.0, 0.0), ("sigmoid_slope", -INF, 0.0),
    ("sigmoid_slope", 0.0, 0.25),
]


@pytest.mark.parametrize("name,x,expected", SPECIAL)
def test_special_values(name, x, expected):
    for dtype in (np.float64, np.float32):
        if dtype == np.float32 and 0 < abs(x) < 1e-40 or abs(x) in (709.79, 745.13, 800.0):
            continue                      # not float32 values; the sweep covers their range
        y = _CALL[name](np.array([x], dtype))[0]
        want = dtype(expected)
        if np.isnan(want):
            assert np.isnan(y), (name, x, dtype)
        else:
            assert y == want and np.signbit(y) == np.signbit(want), (name, x, dtype, y)


@pytest.mark.parametrize("name", list(REFERENCES))
def test_nan_propagates_and_scalars_work(name):
    assert np.isnan(_CALL[name](np.array([NAN]))[0])
    assert np.isnan(_CALL[name](np.array([NAN], np.float32))[0])
    scalar = _CALL[name](0.75)                         # a scalar in, a scalar out, as np.exp does
    assert np.ndim(scalar) == 0
    assert ulp_error(np.float64(scalar), REFERENCES[name](mp.mpf(0.75)), np.float64) <= F64_LIMIT


def test_integer_arguments_compute_in_float64():
    y = _CALL["exp"](np.arange(-3, 4))
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, np.exp(np.arange(-3, 4)), rtol=2e-16)
