"""Shared helpers for the srcgrad test suite.

* ``numeric_grad``: float64 central finite differences of the *plain Python*
  function, the reference every gradient is checked against.
* ``build_grad`` / ``build_value_and_grad`` / ``build_vjp``: build each srcgrad
  transform once per test session (Numba compiles are the expensive part of
  this suite), while keeping a failing build local to the tests that use it.
* ``check_grad``: call a gradient on copies of the inputs, check it did not
  mutate them, check shapes/dtypes, and compare against finite differences.
* ``load_source``: import generated test source from a real file (srcgrad
  reads a function's source with ``inspect``, which needs one).
"""

import atexit
import functools
import importlib.util
import inspect
import itertools
import os
import shutil
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

# Keep srcgrad's cache for the tests inside the repository (``.srcgrad_cache``,
# git-ignored) unless SRCGRAD_CACHE_DIR says otherwise.  srcgrad transforms
# and regenerates every function on each run; the cache is content-addressed
# (the user's source, srcgrad's own sources and version), so what a second
# run reuses is only Numba's native code for byte-identical generated modules.
# A fresh checkout (as in CI) starts cold.  Set before any test module
# imports srcgrad.
if not os.environ.get("SRCGRAD_CACHE_DIR"):
    os.environ["SRCGRAD_CACHE_DIR"] = str(
        Path(__file__).resolve().parent.parent / ".srcgrad_cache"
    )

import srcgrad  # noqa: E402

RTOL = 1e-6
ATOL = 1e-8


# --------------------------------------------------------------------------
# Finite differences
# --------------------------------------------------------------------------


def _copy_arg(a):
    if isinstance(a, np.ndarray):
        return a.copy()
    return a


def _to_f64(a):
    if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating):
        return a.astype(np.float64)
    if isinstance(a, (float, np.floating)):
        return float(a)
    return a


def _scalar_out(f, args):
    """f(*copies of args), summed to a Python float if it is an array."""
    out = f(*[_copy_arg(a) for a in args])
    return float(np.sum(out))


def numeric_grad(f, args, wrt=0):
    """Central finite-difference gradient of ``sum(f(*args))``.

    ``wrt`` is an argument position or a tuple of positions; the result is one
    gradient or a tuple of them, each with its argument's shape (a float for a
    scalar argument).  Inputs are promoted to float64 and every evaluation
    gets fresh copies of the arguments, so an ``f`` that writes into its
    arguments is handled.  The step is ``1e-6 * max(1, |x|)``.
    """
    args = [_to_f64(a) for a in args]
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    grads = []
    for p in positions:
        a = args[p]
        if isinstance(a, np.ndarray):
            g = np.zeros(a.shape, dtype=np.float64)
            for idx in np.ndindex(*a.shape):
                x0 = a[idx]
                h = 1e-6 * max(1.0, abs(x0))
                plus = a.copy()
                plus[idx] = x0 + h
                minus = a.copy()
                minus[idx] = x0 - h
                args_p = list(args)
                args_p[p] = plus
                args_m = list(args)
                args_m[p] = minus
                g[idx] = (_scalar_out(f, args_p) - _scalar_out(f, args_m)) / (2.0 * h)
            grads.append(g)
        else:
            x0 = float(a)
            h = 1e-6 * max(1.0, abs(x0))
            args_p = list(args)
            args_p[p] = x0 + h
            args_m = list(args)
            args_m[p] = x0 - h
            grads.append((_scalar_out(f, args_p) - _scalar_out(f, args_m)) / (2.0 * h))
    return tuple(grads) if isinstance(wrt, tuple) else grads[0]


# --------------------------------------------------------------------------
# Building srcgrad transforms once per session
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def build_grad(f, wrt=0):
    return srcgrad.grad(f, wrt=wrt)


@functools.lru_cache(maxsize=None)
def build_value_and_grad(f, wrt=0):
    return srcgrad.value_and_grad(f, wrt=wrt)


@functools.lru_cache(maxsize=None)
def build_vjp(f, wrt=0):
    return srcgrad.vjp(f, wrt=wrt)


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------


def assert_same_structure(got, args, wrt):
    """One gradient for an int/name ``wrt``, a tuple for a tuple ``wrt``;
    each with its argument's shape and floating dtype."""
    if isinstance(wrt, tuple):
        assert isinstance(got, tuple), f"expected a tuple of gradients, got {type(got)}"
        assert len(got) == len(wrt)
        pairs = zip(got, wrt)
    else:
        assert not isinstance(got, tuple), f"expected a single gradient, got a tuple {got!r}"
        pairs = [(got, wrt)]
    for g, p in pairs:
        a = args[p]
        if isinstance(a, np.ndarray):
            assert isinstance(g, np.ndarray), f"gradient for array arg {p} is {type(g)}"
            assert g.shape == a.shape, f"gradient shape {g.shape} != argument shape {a.shape}"
            assert np.issubdtype(g.dtype, np.floating)
        else:
            assert np.ndim(g) == 0, f"gradient for scalar arg {p} has shape {np.shape(g)}"
            assert isinstance(g, (float, np.floating)), f"gradient for scalar arg {p} is {type(g)}"


def assert_close(got, expected, rtol=RTOL, atol=ATOL, fscale=1.0):
    """assert_allclose on one gradient or a tuple of them.  The absolute
    tolerance grows with the size of the expected gradient and with
    ``fscale`` (pass ``|f|``): central differences lose about
    ``eps/h * |f|`` absolute accuracy."""
    if isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_close(g, e, rtol=rtol, atol=atol, fscale=fscale)
        return
    e = np.asarray(expected, dtype=np.float64)
    emax = float(np.max(np.abs(e))) if e.size else 0.0
    a = atol * max(1.0, emax, abs(fscale))
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), e, rtol=rtol, atol=a)


def check_grad(f, args, wrt=0, rtol=RTOL, atol=ATOL, g=None):
    """Build (or reuse) ``srcgrad.grad(f, wrt)``, call it on copies of
    ``args``, check the copies were not mutated, check the structure of the
    result and compare it with central finite differences of ``f``."""
    if g is None:
        g = build_grad(f, wrt)
    call_args = [_copy_arg(a) for a in args]
    got = g(*call_args)
    for before, after in zip(args, call_args):
        if isinstance(before, np.ndarray):
            np.testing.assert_array_equal(after, before, err_msg="gradient mutated an input array")
    assert_same_structure(got, args, wrt)
    expected = numeric_grad(f, args, wrt)
    fscale = _scalar_out(f, [_to_f64(a) for a in args])
    assert_close(got, expected, rtol=rtol, atol=atol, fscale=fscale)
    return got


# --------------------------------------------------------------------------
# Generated test functions
# --------------------------------------------------------------------------

_SOURCES = Path(tempfile.mkdtemp(prefix="srcgrad-test-sources-"))
atexit.register(shutil.rmtree, _SOURCES, ignore_errors=True)
_SOURCE_COUNTER = itertools.count()


def load_source(source, prefix="generated"):
    """Write ``source`` to a new module file, import it and return the module."""
    name = f"srcgrad_{prefix}_{next(_SOURCE_COUNTER)}"
    path = _SOURCES / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def check_jvp(f, args, wrt=0, seed=0, rtol=1e-6, atol=1e-7):
    """``srcgrad.jvp(f, wrt)`` along a random direction against the central finite difference of
    ``f`` along it, on copies of the inputs (which must not change)."""
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    rng = np.random.default_rng(seed)
    v = [rng.normal(size=np.shape(args[p])) if np.ndim(args[p]) else float(rng.normal())
         for p in positions]
    call_args = [_copy_arg(a) for a in args]
    value, tangent = srcgrad.jvp(f, wrt=wrt)(*call_args, tuple(v) if isinstance(wrt, tuple) else v[0])
    for before, after in zip(args, call_args):
        if isinstance(before, np.ndarray):
            np.testing.assert_array_equal(after, before, err_msg="jvp mutated an input array")

    def shifted(sign, h=1e-6):
        a = [_to_f64(_copy_arg(x)) for x in args]
        for p, d in zip(positions, v):
            a[p] = a[p] + sign * h * d
        return np.asarray(f(*a), dtype=float)
    expected = (shifted(1) - shifted(-1)) / 2e-6
    np.testing.assert_allclose(value, f(*[_copy_arg(a) for a in args]), rtol=1e-12, atol=1e-12)
    scale = max(1.0, float(np.max(np.abs(expected))) if np.size(expected) else 1.0)
    np.testing.assert_allclose(tangent, expected, rtol=rtol, atol=atol * scale)


def check_both_modes(f, args, wrt=0, rtol=RTOL, atol=ATOL):
    """Reverse mode (``grad``) and forward mode (``jvp``) of ``f`` against finite differences."""
    check_grad(f, args, wrt, rtol=rtol, atol=atol)
    check_jvp(f, args, wrt)


# --------------------------------------------------------------------------
# Markers: what the fast subset leaves out (tests/README.md, "The fast loop")
# --------------------------------------------------------------------------


def pytest_collection_modifyitems(items):
    """Mark ``hypothesis`` tests and ``subprocess`` tests (a test, a helper of its module or a
    fixture it uses runs another Python); ``slow`` is marked by hand where a test is declared."""
    for item in items:
        fn = getattr(item, "function", None)
        if fn is None:
            continue
        if getattr(fn, "is_hypothesis_test", False):
            item.add_marker("hypothesis")
        fixtures = [d.func for defs in item._fixtureinfo.name2fixturedefs.values() for d in defs]
        if any(_runs_processes(f) for f in [fn, *fixtures]):
            item.add_marker("subprocess")


def _runs_processes(fn, seen=None):
    """Whether ``fn`` (or a function it defines, or one of its own module that it calls) uses
    ``subprocess``."""
    seen = set() if seen is None else seen
    code = getattr(inspect.unwrap(fn), "__code__", None)
    if code is None or code in seen:
        return False
    seen.add(code)
    codes = [code, *(c for c in code.co_consts if isinstance(c, types.CodeType))]
    names = {n for c in codes for n in c.co_names}
    if "subprocess" in names:
        return True
    module = sys.modules.get(getattr(fn, "__module__", None))
    called = (getattr(module, n, None) for n in names)
    return any(_runs_processes(f, seen) for f in called
               if callable(f) and getattr(f, "__module__", None) == fn.__module__)
