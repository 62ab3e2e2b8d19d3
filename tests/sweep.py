"""Machinery of the rule sweep (tests/test_rule_sweep.py): operands, generated case functions, the
check, and which rules a piece of source calls.

A *case* is a list of *terms*, each a Python expression using one or more registered primitives on
named operands (``m`` a 2x3 matrix, ``s`` a scalar, ...). A case is one generated function ``f(w)``:
it cuts every operand from one flat float vector ``w``, adds up the terms (each array term
contracted with unequal weights) and returns ``exp`` of a multiple of the total, whose curvature
makes order 2 exercise the rules of the code order 1 generated, linear primitives' included.
:func:`check` is ``srcgrad.check_grads``'s dot-product test (forward and reverse mode against
float64 central differences in a random direction of ``w``, orders 1 and 2), with one difference
in how the code is run:

- order 1 runs the generated ``vjp`` and ``jvp`` compiled by Numba, as users run them, so every
  rule's runtime helpers are checked in the real backend;
- order 2 transforms those two functions again (in both modes), and runs the code srcgrad writes
  for them as Python over NumPy (each generated function's ``py_func``; every runtime helper has a
  NumPy version). The second-order *rules* are what is checked there; compiling that code, ten times
  the size of order 1's, would take Numba minutes per case (tests/test_rule_regressions.py and
  test_higher_order.py compile second derivatives of each kind).

A wrong derivative of any one term shows; when a case fails, each term is checked alone to name it.

Operand values sit on a grid with margin: no two entries of a case are equal (no ties in max, min,
sort), every magnitude is at least 0.2 (no kink of abs or sign in reach), and every value is at
least 0.007 from a multiple of 0.5 (floor, round, int). The finite-difference steps (1.5e-3 times
a direction entry) stay inside those margins.
"""
import ast
import builtins
import math

import numpy as np

import srcgrad
from srcgrad import nn
from srcgrad import runtime as srt
from srcgrad.runtime import custom as sgc
from srcgrad.rules import lookup, lookup_binop, lookup_unaryop

# magnitudes 0.207, 0.227, ..., 1.487: apart by 0.02, and 0.007 or more from a multiple of 0.5
GRID = 0.207 + 0.02 * np.arange(65)
DOMAINS = {
    "real": (GRID, True),                 # either sign
    "pos": (GRID, False),                 # positive (log, sqrt, a ** b)
    "unit": (GRID[GRID < 0.9], True),     # |x| < 0.9 (arcsin, arccos)
}
NAMESPACE = {"np": np, "math": math, "nn": nn, "srt": srt, "builtins": builtins}


def operand_values(operands, seed):
    """Values for ``operands`` ({name: (shape, domain) or (shape, fixed values)}): no two entries
    equal across the case."""
    rng = np.random.default_rng(seed)
    free = {d: list(rng.permutation(np.concatenate([grid, -grid] if signed else [grid])))
            for d, (grid, signed) in DOMAINS.items()}
    used, values = set(), {}
    for name, (shape, domain) in operands.items():
        if not isinstance(domain, str):
            values[name] = np.asarray(domain, np.float64).reshape(shape)
            continue
        out = []
        for _ in range(int(np.prod(shape))):
            v = free[domain].pop()
            while round(v, 6) in used:
                v = free[domain].pop()
            used.add(round(v, 6))
            out.append(v)
        values[name] = np.array(out).reshape(shape)
    return values


def pack(values):
    """One flat vector of every operand, and the statements cutting them out of ``w``."""
    lines, start = [], 0
    for name, v in values.items():
        stop = start + v.size
        if v.ndim == 0:
            lines.append(f"{name} = w[{start}]")
        elif v.ndim == 1:
            lines.append(f"{name} = w[{start}:{stop}]")
        else:
            lines.append(f"{name} = w[{start}:{stop}].reshape({v.shape})")
        start = stop
    return np.concatenate([np.ravel(v) for v in values.values()]), lines


def weighted(term, values):
    """The term as a number: an array term contracted with fixed, unequal weights (a cotangent that
    is the same everywhere could not tell a wrong permutation or broadcast from the right one)."""
    scope = {k: (v[()] if v.ndim == 0 else v) for k, v in values.items()}
    size = np.size(eval(term, dict(NAMESPACE), scope))
    if np.ndim(eval(term, dict(NAMESPACE), scope)) == 0:
        return term
    return f"np.dot(np.ravel({term}), np.linspace(0.5, 1.7, {size}))"


def case_source(name, terms, values):
    """The source of ``name(w)``: the operands cut from ``w``, the sum of the weighted terms, and
    ``exp`` of a multiple of it (whose slope is nowhere zero and whose curvature makes order 2 of
    every term's rule count, linear ones included)."""
    _, cuts = pack(values)
    body = cuts + ["total = 0.0"] + [f"total = total + {weighted(t, values)}" for t in terms]
    return ("import builtins\nimport math\n\nimport numpy as np\n\nfrom srcgrad import nn\n"
            "from srcgrad import runtime as srt\n\n\n"
            f"def {name}(w):\n" + "".join(f"    {line}\n" for line in body)
            + "    return np.exp(0.05 * total)\n")


# -- the check -------------------------------------------------------------------------------------------
class Mismatch(AssertionError):
    """A derivative disagreed with finite differences."""


def check(f, w, seed=0):
    """Forward and reverse mode of ``f`` at ``w`` against finite differences: order 1 compiled,
    order 2 (both modes, over both order-1 functions) run as Python. Raises :class:`Mismatch`."""
    rng = np.random.default_rng(seed)
    tol = 1e-6 if w.dtype == np.float64 else 2e-3
    vjp_f, jvp_f = srcgrad.vjp(f), srcgrad.jvp(f)
    u = _level("order 1", f, vjp_f, jvp_f, (w,), lambda d: d, rng, tol)
    cotangent = vjp_f(w.copy(), u)
    if cotangent.dtype != w.dtype or cotangent.shape != w.shape:
        raise Mismatch(f"the gradient is {cotangent.dtype}{cotangent.shape}, not {w.dtype}{w.shape}")
    interpreted = (lambda d: d.py_func)
    for name, g, extra in (("vjp", vjp_f, u), ("jvp", jvp_f, _random_like(w, rng))):
        _level(f"order 2 ({name})", g.py_func, srcgrad.vjp(g, wrt=0), srcgrad.jvp(g, wrt=0),
               (w, extra), interpreted, rng, tol)


def _level(label, values, vjp_f, jvp_f, args, run, rng, tol):
    """One dot-product test of ``values``' derivative in ``args[0]``; returns the output weight."""
    y = values(*_copies(args, np.float64))
    u, v = _random_like(y, rng, args[0].dtype), _random_like(args[0], rng)
    expected, scale = _differences(values, args, v, u)
    seed = tuple(u) if isinstance(u, list) else u
    reverse = _dot(run(vjp_f)(*_copies(args), seed), v)
    _, tangent = run(jvp_f)(*_copies(args), v.copy())
    for mode, got in (("rev", reverse), ("fwd", _dot(u, tangent))):
        if not np.isfinite(got) or not abs(got - expected) <= tol + tol * scale:
            raise Mismatch(f"{mode}-mode {label}: <u, J v> = {got!r}, finite differences give "
                           f"{expected!r} (difference {abs(got - expected):.3g})")
    return u


def _differences(values, args, v, u):
    """``<u, J v>`` by central differences with a Richardson step in float64, and its scale."""
    x = np.asarray(args[0], np.float64)
    h = 1e-3 * max(1.0, float(np.max(np.abs(x))))

    def at(t):
        moved = (x + t * v,) + tuple(_copies(args[1:], np.float64))
        return _flat_values(values(*moved))
    up, down, half_up, half_down = at(h), at(-h), at(h / 2), at(-h / 2)
    slope = (4 * (half_up - half_down) / h - (up - down) / (2 * h)) / 3
    weights = _flat_values(u)
    noise = 1e-14 * float(np.sum(np.abs(weights * up))) / h
    return float(weights @ slope), float(np.linalg.norm(weights) * np.linalg.norm(slope)) + noise


def _copies(args, dtype=None):
    out = []
    for a in args:
        if isinstance(a, (list, tuple)):
            out.append(type(a)(_copies(a, dtype)))
        elif isinstance(a, np.ndarray):
            out.append(a.astype(dtype or a.dtype))
        else:
            out.append(float(a) if dtype else a)
    return tuple(out)


def _random_like(value, rng, dtype=None):
    """Random numbers shaped like ``value`` (a list for a tuple), of its float type or ``dtype``."""
    if isinstance(value, tuple):
        return [_random_like(v, rng, dtype) for v in value]
    a = np.asarray(value)
    r = rng.uniform(-1.0, 1.0, a.shape).astype(dtype or (a.dtype if a.dtype.kind == "f" else np.float64))
    return r if isinstance(value, np.ndarray) else float(r)


def _flat_values(value):
    parts = value if isinstance(value, (list, tuple)) else (value,)
    return np.concatenate([np.asarray(a, np.float64).ravel() for a in parts])


def _dot(u, y):
    return float(_flat_values(u) @ _flat_values(y))


# -- which rules a piece of code calls ----------------------------------------------------------------
def rules_called(source, namespace=NAMESPACE):
    """Keys of the rules that the calls and operators of ``source`` resolve to."""
    keys = set()
    for node in ast.walk(ast.parse(source)):
        rule = None
        if isinstance(node, ast.BinOp):
            rule = lookup_binop(node.op)
        elif isinstance(node, ast.UnaryOp):
            rule = lookup_unaryop(node.op)
        elif isinstance(node, ast.Call):
            obj = _resolve(node.func, namespace)
            if obj in (builtins.max, builtins.min) and len(node.args) == 2:
                keys.add(f"{obj.__name__}2")
                continue
            rule = lookup(obj) if obj is not None else None
        if rule is not None:
            keys.add(rule.key)
    return keys


def _resolve(func, namespace):
    try:
        return eval(compile(ast.Expression(func), "<call>", "eval"), dict(namespace),
                    vars(builtins))
    except Exception:
        return None


def generated_rules(f):
    """Rules called by the code srcgrad generates for ``f``'s ``vjp`` and ``jvp`` (what order 2
    differentiates), srcgrad's own helpers included."""
    namespace = dict(NAMESPACE, sgc=sgc)
    keys = set()
    for transform in (srcgrad.vjp, srcgrad.jvp):
        keys |= rules_called(srcgrad.source(transform(f)), namespace)
    return keys


def term_rules(terms):
    """Rules the terms call."""
    keys = set()
    for term in terms:
        keys |= rules_called(term)
    return keys


def chunks(items, n):
    """``items`` in ``n`` interleaved parts (so each part mixes the kinds of term)."""
    return [items[k::n] for k in range(n)]

