"""Hostile input to the front end: odd callables and random functions mixing supported and
unsupported Python. The contract: srcgrad either refuses with a ``SrcgradError`` (naming the line),
or gives a gradient that runs, raises what the plain function raises, or raises a ``SrcgradError``;
and a gradient that runs agrees with finite differences wherever those are stable. Never an
internal exception, never a hang."""
import functools
import re
import signal

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

import srcgrad
from conftest import load_source
from srcgrad import SrcgradError


# -- callables that are not plain functions with source ----------------------------------------------
def _generator(x):
    yield x


async def _coroutine(x):
    return x


def _star_args(*args):
    return args[0] * 2.0


def _keyword_only(x, *, scale=2.0):
    return x * scale


class _Callable:
    def __call__(self, x):
        return x * 2.0

    def method(self, x):
        return x * 3.0


def _recursive(x, n):
    return x if n == 0 else _recursive(x * 2.0, n - 1)


def _decorated(f):
    @functools.wraps(f)
    def wrapper(*args):
        return f(*args)
    return wrapper


@_decorated
def _wrapped(x):
    return x * 2.0


_namespace = {}
exec("def _from_exec(x):\n    return x * 2.0\n", _namespace)

ODD_CALLABLES = {
    "lambda": lambda x: x * 2.0,
    "builtin": abs,
    "ufunc": np.sin,
    "partial": functools.partial(_keyword_only, scale=3.0),
    "instance": _Callable(),
    "class": _Callable,
    "bound method": _Callable().method,
    "generator": _generator,
    "coroutine": _coroutine,
    "star args": _star_args,
    "recursive": _recursive,
    "exec": _namespace["_from_exec"],
    "string": "x * 2",
    "none": None,
}


@pytest.mark.parametrize("name", list(ODD_CALLABLES))
def test_odd_callables_are_refused_or_differentiated_correctly(name):
    f = ODD_CALLABLES[name]
    try:
        g = srcgrad.grad(f)
        got = g(1.5)       # (grad(None) is the decorator form: it then refuses 1.5)
    except SrcgradError as exc:
        assert str(exc)
        return
    # accepted: it must then be right
    assert got == pytest.approx(2.0 if name != "bound method" else 3.0)


def test_wrapped_functions_and_njit_dispatchers_are_differentiated_from_their_source():
    assert srcgrad.grad(_wrapped)(1.5) == pytest.approx(2.0)
    jitted = numba.njit(_recursive_free)
    assert srcgrad.grad(jitted)(1.5) == pytest.approx(2 * 1.5)


def _recursive_free(x):
    return x * x


# -- random functions: statements good and bad ----------------------------------------------------------
EXPRESSIONS = ["a", "b", "x[0]", "x[2]", "1.5", "a * b", "np.tanh(a)", "math.exp(-b * b)",
               "np.sum(x)", "(a if b > 0.0 else b)", "abs(a)", "max(a, b)", "a ** 2", "x[-1]"]

STATEMENTS = [
    # supported
    "a = {e}", "b = {e} + b", "a += {e}", "x[1] = {e}", "x[0] += {e}", "a, b = b, a",
    "y = x * {e}\na = a + np.sum(y)", "x = x + {e}",
    "if {e} > 0.0:\n    a = {e}\nelse:\n    b = {e}",
    "for i in range(3):\n    a = a + x[i] * {e}",
    "for i in range(3):\n    if x[i] > 0.0:\n        break\n    a = a + x[i]",
    "for i in range(3):\n    if x[i] > 0.0:\n        continue\n    b = b + x[i] * a",
    "while a < 3.0:\n    a = a + 1.0",
    "a = np.dot(x, x) * {e}", "a = x @ x + {e}", "a = np.sum(x[1:]) * {e}", "a = np.max(x) + {e}",
    "a = math.sqrt(abs({e}) + 1.0)", "a = x.shape[0] * {e}", "a = np.sum(np.where(x > 0.0, x, 0.0))",
    "a = 1.0 / (1.0 + {e} * {e})", "s = 0.0\nfor v in x:\n    s = s + v * {e}\na = s",
    "a = float(a)", "assert a > -1e9", "print(a)", "c = a > b\na = c * a",
    "if a > 5.0:\n    return {e}",
    # not supported: each must be refused with a SrcgradError naming the line
    "try:\n    a = {e}\nexcept Exception:\n    a = 0.0", "d = {{'k': a}}\na = d['k']",
    "l = [a, b]\na = l[0]", "f2 = lambda t: t * 2.0\na = f2(a)", "s = 'text'", "del b",
    "global G\nG = a", "a = undefined_function(a)", "a = np.linalg.svd(x)", "a = x.undefined_method()",
    "with np.errstate():\n    a = {e}", "a = sum(v for v in x)", "a = [v for v in x][0]",
    "raise ValueError('no')", "yield a", "a = b = {e}", "x.sort()", "a = {{a, b}}", "nonlocal_name = 1\na = a",
    "import os\na = a", "a = x", "x[0:2] = a", "a = np.linalg.norm(x)", "a = f'{{a}}'",
]

line_of = st.builds(lambda template, es: template.format(e=es[0]).replace("{e}", es[1]),
                    st.sampled_from(STATEMENTS), st.tuples(st.sampled_from(EXPRESSIONS),
                                                           st.sampled_from(EXPRESSIONS)))

G = 0.0


def _load(body):
    source = ("import math\n\nimport numpy as np\n\nG = 0.0\n\n\ndef f(x, a, b):\n"
              + "\n".join("    " + line for line in body.splitlines()) + "\n    return a + b + np.sum(x)\n")
    try:
        return load_source(source, "hostile").f, source
    except SyntaxError:
        return None, source


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang()


def _plain(f, args):
    try:
        return f(*[a.copy() if isinstance(a, np.ndarray) else a for a in args]), None
    except Exception as exc:   # noqa: BLE001 - compared with the gradient's behaviour
        return None, type(exc)


def _differences(f, args, h):
    """Central differences of ``sum(f(*args))`` (grad differentiates the sum of an array output)."""
    f = _summed(f)
    out = []
    for p in range(3):
        if p == 0:
            g = np.zeros(3)
            for i in range(3):
                up, down = args[0].copy(), args[0].copy()
                up[i] += h
                down[i] -= h
                g[i] = (f(up, *args[1:]) - f(down, *args[1:])) / (2 * h)
            out.append(g)
        else:
            up, down = list(args), list(args)
            up[p] += h
            down[p] -= h
            out.append((f(*[u.copy() if isinstance(u, np.ndarray) else u for u in up])
                        - f(*[d.copy() if isinstance(d, np.ndarray) else d for d in down])) / (2 * h))
    return out


def _summed(f):
    return lambda *args: float(np.sum(f(*args)))


@settings(max_examples=40, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(lines=st.lists(line_of, min_size=1, max_size=4))
def test_random_functions_are_refused_cleanly_or_differentiated_correctly(lines):
    f, source = _load("\n".join(lines))
    assume(f is not None)
    args = (np.array([0.3, -0.8, 1.1]), 0.7, -0.4)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(120)
    try:
        try:
            g = srcgrad.grad(f, wrt=(0, 1, 2))
        except SrcgradError as exc:     # a refusal names a line of f, in its file
            cited = re.search(r"hostile[^:\s]*\.py:(\d+) \(in f\)", str(exc))
            assert cited and 8 < int(cited.group(1)) <= source.count("\n"), (str(exc), source)
            return
        value, plain_error = _plain(f, args)
        try:
            got = g(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
        except SrcgradError:
            return
        except Exception as exc:   # noqa: BLE001
            assert plain_error is not None and isinstance(exc, plain_error), (repr(exc), source)
            return
    except _Hang:
        pytest.fail(f"srcgrad hung on:\n{source}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    if plain_error is not None or not np.all(np.isfinite(value)):
        return
    # where finite differences are stable (no kink or branch within the steps), they must agree
    with np.errstate(all="ignore"):
        coarse, fine = _differences(f, args, 1e-4), _differences(f, args, 1e-6)
    for c, d, gg in zip(coarse, fine, got):
        c, d, gg = np.atleast_1d(c), np.atleast_1d(d), np.atleast_1d(gg)
        stable = np.isfinite(c) & np.isfinite(d) & (np.abs(c - d) <= 1e-5 * (1 + np.abs(d)))
        np.testing.assert_allclose(gg[stable], d[stable], rtol=1e-4, atol=1e-6, err_msg=source)
