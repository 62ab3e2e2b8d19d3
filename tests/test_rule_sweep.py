"""Every registered derivative rule, in forward and reverse mode, orders 1 and 2, float64 and float32,
over scalar, vector, matrix, 3-D and broadcast operands, every axis and keepdims (in float32: every
rule, through half the terms), against float64 finite differences (autograd's ``combo_check`` for srcgrad's registry; tests/sweep.py has the
machinery and says how each order is run).

``test_every_rule_is_swept`` fails when a rule is registered that no case uses (and no exclusion
below explains): a new rule cannot be added without being swept. srcgrad's own ``srt.*`` helper
rules are swept through order 2, which differentiates the code order 1 generated: each must be
called by that code for some case (or by a case directly).
"""
import numpy as np
import pytest

from srcgrad.rules import RULES
from conftest import load_source
from sweep import (case_source, check, chunks, generated_rules, operand_values, pack, rules_called,
                   term_rules)

# -- operands: (shape, domain) or (shape, fixed values) ------------------------------------------------
SCALARS = {"s": ((), "real"), "t": ((), "real"), "p": ((), "pos"), "q": ((), "pos"),
           "u": ((), "unit"), "ma": ((), [1.37]), "mb": ((), [0.53])}
SHAPED = {"s": ((), "real"), "v": ((3,), "real"), "m": ((2, 3), "real"), "r": ((1, 3), "real"),
          "c": ((2, 1), "real"), "ps": ((), "pos"), "pv": ((3,), "pos"), "pm": ((2, 3), "pos"),
          "pr": ((1, 3), "pos"), "pc": ((2, 1), "pos"), "us": ((), "unit"), "uv": ((3,), "unit"),
          "um": ((2, 3), "unit")}
MOD = {"am": ((2, 3), [1.37, -0.83, 2.31, 0.45, -1.9, 0.77]), "bm": ((1, 3), [0.53, 0.61, -0.7]),
       "lo": ((1, 3), [-0.5, -1.0, 0.0]), "hi": ((2, 1), [0.5, 1.0])}
STACKS = {"s": ((), "real"), "v3": ((3,), "real"), "v4": ((4,), "real"), "m23": ((2, 3), "real"),
          "m34": ((3, 4), "real"), "m43": ((4, 3), "real"), "t234": ((2, 3, 4), "real"),
          "t243": ((2, 4, 3), "real"), "b143": ((1, 4, 3), "real")}
ARRAYS = {"s": ((), "real"), "p": ((), "pos"), "v": ((4,), "real"), "m": ((2, 3), "real"),
          "t": ((2, 3, 4), "real"), "r": ((1, 3), "real"), "a0": ((), [0.31]), "st": ((), [0.47])}
REDUCED = {"v": ((4,), "real"), "m": ((3, 4), "real"), "t": ((2, 3, 4), "real")}

# -- terms ---------------------------------------------------------------------------------------------
MATH = [f"math.{f}(s)" for f in ("exp", "expm1", "sin", "cos", "tan", "sinh", "cosh", "tanh",
                                   "atan", "asinh", "erf", "erfc", "fabs")]
MATH += [f"math.{f}(p)" for f in ("log", "log1p", "log2", "log10", "sqrt")]
MATH += ["math.asin(u)", "math.acos(u)", "math.pow(p, s)", "math.pow(p, 3.0)", "math.atan2(s, t)",
         "math.hypot(s, t)", "math.copysign(s, t)", "math.floor(s) * t", "math.ceil(s) * t",
         "math.trunc(s) * t", "(1.0 + math.isfinite(s) + math.isnan(s) + math.isinf(s)) * t",
         # builtins and operators on numbers
         "abs(s)", "float(s) * t", "max(s, t)", "min(s, t)", "max(s, t, p)", "int(s) * t",
         "round(s) * t", "bool(s > 0.0) * t", "pow(p, 3)", "s + t", "s - t", "s * t", "s / p",
         "p ** t", "p ** 2", "q ** 0.5", "-s", "+s", "ma % mb", "(ma // mb) * t", "len((s, t)) * s"]

_UNARY = [("exp", "real"), ("expm1", "real"), ("log", "pos"), ("log1p", "pos"), ("log2", "pos"),
          ("log10", "pos"), ("sqrt", "pos"), ("square", "real"), ("abs", "real"),
          ("absolute", "real"), ("fabs", "real"), ("negative", "real"), ("tanh", "real"),
          ("sin", "real"), ("cos", "real"), ("tan", "real"), ("sinh", "real"), ("cosh", "real"),
          ("arctan", "real"), ("arcsin", "unit"), ("arccos", "unit"), ("arcsinh", "real")]
_PREFIX = {"real": "", "pos": "p", "unit": "u"}
# each function once, the shapes taking turns (an elementwise rule does not depend on the shape)
UNARY = [f"np.{f}({_PREFIX[d]}{'svm'[k % 3]})" for k, (f, d) in enumerate(_UNARY)]
UNARY += ["abs(m)", "srt.tanh_slope(m)"]      # tanh's slope from x (a rule's form for unread results)

# each function once, the broadcasting patterns taking turns (unbroadcast is one shared helper)
_PAIRS = [("m", "r"), ("c", "r"), ("v", "m"), ("s", "m"), ("m", "s"), ("r", "c")]
_POSITIVE = {"m": "pm", "r": "pr", "c": "pc", "v": "pv", "s": "ps"}
BINARY = [f"{f}({a}, {b})" if f.startswith("np.") else f"{a} {f} {b}"
          for k, f in enumerate(("np.add", "np.subtract", "np.multiply", "np.maximum", "np.minimum",
                                 "np.fmax", "np.fmin", "np.arctan2", "np.hypot", "np.copysign",
                                 "+", "-", "*"))
          for a, b in [_PAIRS[k % len(_PAIRS)]]]
BINARY += [f"{f}({a}, {_POSITIVE[b]})" if f.startswith("np.") else f"{a} {f} {_POSITIVE[b]}"
           for k, f in enumerate(("np.divide", "/", "np.true_divide")) for a, b in [_PAIRS[k + 1]]]
BINARY += [f"{f}({_POSITIVE[a]}, {b})" if f.startswith("np.") else f"{_POSITIVE[a]} {f} {b}"
           for k, f in enumerate(("np.power", "**")) for a, b in [_PAIRS[k + 3]]]
BINARY += ["pm ** 2", "pm ** 3.0", "np.power(pm, 2)", "am % bm", "(am // bm) * am",
           "np.where(m > 0.0, m, r)", "np.where(c > 0.0, s, m)", "np.clip(m, -0.5, 0.5)",
           "np.clip(m, lo, hi)", "np.clip(s, lo, hi)"]

# every axis (negative ones too), tuple of axes and keepdims of a 1-D, 2-D and 3-D operand
REDUCTIONS = {}
for _name in ("sum", "mean", "max", "min"):
    _terms = []
    for _x, _axes in (("v", (None, 0, -1)), ("m", (None, 0, 1, -1, (0, 1))),
                      ("t", (None, 0, 1, 2, -1, (0, 1), (0, 2), (1, 2), (-1, 0), (0, 1, 2)))):
        for _axis in _axes:
            _terms.append(f"np.{_name}({_x}" + ("" if _axis is None else f", axis={_axis}") + ")")
            _terms.append(f"np.{_name}({_x}, axis={_axis}, keepdims=True)")
    REDUCTIONS[_name] = _terms + [f"m.{_name}(axis=1)", f"t.{_name}(axis=(0, 2), keepdims=True)",
                                  f"np.{_name}(m, axis=0, keepdims=False)"]
REDUCTIONS["sum"] += ["sum(v)", "np.sum(m, 0)", "np.sum(np.exp(t))"]     # (the last: a whole sum's
REDUCTIONS["mean"] += ["np.mean(np.exp(t))"]                            # adjoint, only read)
REDUCTIONS["max"] += ["np.amax(m, axis=0)", "max(v)", "np.max(m, 1)"]
REDUCTIONS["min"] += ["np.amin(t, axis=(1, 2))", "min(v)"]

PRODUCTS = ["np.dot(v3, v3)", "np.dot(m34, v4)", "np.dot(v3, m34)", "np.dot(m34, m43)",
            "np.dot(s, m34)", "np.dot(m34, s)", "np.dot(t234, v4)", "np.dot(t234, m43)",
            "np.dot(v4, t243)", "np.dot(t234, t243)", "m34.dot(v4)",
            "m34 @ m43", "m23 @ v3", "v3 @ m34", "t234 @ m43", "m34 @ t243", "t234 @ t243",
            "b143 @ t234", "t234 @ v4", "v3 @ t234", "np.matmul(t234, t243)", "np.matmul(m23, v3)",
            "np.outer(v3, v4)", "np.outer(m23, v4)", "np.transpose(m34)", "m34.T", "t234.T",
            "np.reshape(m34, (4, 3))", "m34.reshape(2, 6)", "np.ravel(t234)", "t234.flatten()",
            "np.linalg.norm(v3)", "np.linalg.norm(m34)", "np.cumsum(v4)", "np.cumsum(m23)",
            "np.copy(m23)", "m23.copy()", "np.asarray(v3)", "np.float64(m23)", "np.float64(s)"]
FLOAT32_ONLY = ["np.float32(m23)", "np.float32(s)"]     # float64 differences see float32 rounding
FLOAT64_ONLY = ["math.trunc(s) * t"]     # NumPy's float32 has no __trunc__, so order 2 (Python) can't

ARRAY_TERMS = [
    # sorting, and constructors linear in their values
    "np.sort(v)", "np.sort(m)", "np.sort(m, axis=0)", "np.sort(m, axis=None)", "np.sort(t, 1)",
    "np.linspace(s, p, 5)", "np.linspace(p, s, 1)", "np.linspace(s, p)", "np.arange(a0, 3.0, st)",
    "np.arange(a0, 3.0)", "np.arange(st) * st", "np.full((2, 3), s)", "np.full(3, s)",
    "np.full_like(m, s)", "np.full_like(np.int64(m), s) * m", "np.full_like(m > 0.0, s) * m",
    # no derivative: shapes, indices, truth values, rounding, casts to integers
    "np.zeros(4) + v", "np.ones((2, 3)) * m", "np.empty(3).size * s", "np.zeros_like(m) + m",
    "np.ones_like(v) * v", "np.empty_like(m).shape[0] * s", "np.eye(3) @ m.T",
    "np.identity(4) @ v", "np.shape(m)[1] * s", "np.size(t) * s", "np.ndim(t) * s",
    "np.argmax(m) * s", "np.argmin(v) * s", "np.argsort(v) * v", "np.sign(m) * m",
    "np.floor(m) * m", "np.ceil(m) * m", "np.trunc(m) * m", "np.rint(m) * m", "np.round(m) * m",
    "np.isnan(m) + np.isinf(m) + np.isfinite(m) * m", "np.greater(m, r) * m", "np.less(m, r) * m",
    "np.equal(m, r) + m", "np.not_equal(m, r) * m", "np.greater_equal(m, r) * m",
    "np.less_equal(m, r) * m", "np.logical_and(m > 0.0, r < 0.0) * m",
    "np.logical_or(m > 0.0, r < 0.0) * m", "np.logical_not(m > 0.0) * m",
    "(1.0 * np.any(m > 1.0) + np.all(m > -2.0)) * s", "np.count_nonzero(m > 0.0) * s",
    "len(np.nonzero(v > 0.0)[0]) * s", "np.searchsorted(np.sort(v), s) * s",
    "np.int64(m) * m", "np.int32(v) * v", "np.bool_(m > 0.0) * m",
    "nn.one_hot(np.argmax(m, axis=1), 3) * m",
    # a gather whose index repeats (v[0] four times): cotangents add up (srt.add_at at order 2)
    "v[np.int64(v * 0.0)] * v", "v[np.argsort(v)] * v",
    # srcgrad's helpers that order-1 code never calls (their rules appear only at order 2)
    "srt.broadcast_like(r, m)", "srt.snapshot(m)", "srt.first_adjoint(v, v, False)",
    "srt.seed(m, m)", "srt.pow_lower(p)", "nn.sigmoid(m)", "nn.kernels.sigmoid_slope(m)"]

# Cases of at most about 30 terms: Numba's compile time grows faster than a function's length (the
# 42 sums in one function took 37 s to compile both modes, in two 27 s)
CASES = {"math": (SCALARS, MATH)}
CASES["unary"] = (SHAPED, UNARY)
CASES.update({f"binary{k}": (dict(SHAPED, **MOD), part) for k, part in enumerate(chunks(BINARY, 2))})
for _name, _terms in REDUCTIONS.items():
    CASES.update({f"reduce_{_name}{k}": (REDUCED, part) for k, part in enumerate(chunks(_terms, 2))})
CASES.update({f"products{k}": (STACKS, part) for k, part in enumerate(chunks(PRODUCTS, 2))})
CASES.update({f"arrays{k}": (ARRAYS, part) for k, part in enumerate(chunks(ARRAY_TERMS, 2))})

# Registered rules no case calls, and why.
EXCLUDED = {
    "stop_gradient": "zero derivative by definition, so finite differences disagree "
                     "(test_tf_gradients checks it against closed forms)",
    "range": "only a for loop's iterable (test_control_flow and test_higher_order differentiate "
             "such loops, to order 2)",
    # srcgrad's bookkeeping: loop tapes, and values that stand in for others' types and shapes
    "srt.extend_tape": "grows a loop's tape (test_higher_order differentiates loops to order 2)",
    "srt.new_tape": "an empty loop tape", "srt.trip": "a loop's trip count",
    "srt.truth": "a branch condition", "srt.zero": "resets an adjoint to zero in a loop",
    "srt.sum_like": "stands in for a sum that a gradient reads only for its type and shape",
    "srt.mean_like": "stands in for a mean, likewise",
    "srt.example_like": "stands in for an nn loss per example, likewise",
    "nn.loss_like": "stands in for an nn loss, likewise",
    "srt.new_exact_tape": "a loop's tape of flags and counters",
    "srt.cast_like": "gives a taped number back in its variable's type (test_loop_variables "
                     "differentiates integer-started accumulators to order 2)",
    "srt.accumulate": "adds list adjoints entry by entry at order 2 (test_higher_order)",
    "srt.take_written": "element writes with repeated indices (test_memory, both modes and order 2)",
    "srt.is_copy": "tells a view from a copy where only types tell (test_memory)",
    "srt.refuse_view": "refuses what srcgrad cannot follow through a view (test_memory)",
}


def _float32_terms(terms):
    """Every other term, and each other one that calls a rule those do not: every rule is checked
    in float32 (that it keeps float32, and its values at float32's precision) at half the compile
    time, while float64 checks every shape, axis and keepdims."""
    kept = [t for t in terms[::2] if t not in FLOAT64_ONLY]
    covered = term_rules(kept)
    for t in terms[1::2]:
        if t not in FLOAT64_ONLY and not rules_called(t) <= covered:
            kept.append(t)
            covered |= rules_called(t)
    return kept


def _case(name, dtype):
    operands, terms = CASES[name]
    if dtype == np.float32:
        terms = _float32_terms(terms) + (FLOAT32_ONLY if name == "products0" else [])
    values = operand_values(operands, seed=sum(map(ord, name)))
    w, _ = pack(values)
    return terms, values, w.astype(dtype)


def _function(name, terms, values):
    return getattr(load_source(case_source(f"sweep_{name}", terms, values), "sweep"), f"sweep_{name}")


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_rules_against_finite_differences(name, dtype):
    terms, values, w = _case(name, dtype)
    try:
        check(_function(name, terms, values), w)
    except Exception as exc:      # name the terms that fail alone
        culprits = []
        for k, term in enumerate(terms):
            try:
                check(_function(f"{name}_{k}", [term], values), w)
            except Exception as one:
                culprits.append(f"{term}: {type(one).__name__}: {str(one)[:300]}")
        pytest.fail(f"case {name} ({np.dtype(dtype).name}): {type(exc).__name__}: {str(exc)[:300]}"
                    "\n" + "\n".join(culprits or ["(no term fails alone)"]))


def test_every_rule_is_swept():
    """Each registered rule is called by a case (``srt.*`` helpers: by the code order 1 generates
    for a case, which order 2 differentiates), or excluded above with a reason."""
    called = set()
    for name, (operands, terms) in CASES.items():
        called |= term_rules(terms + FLOAT32_ONLY)
    generated = set()
    for name in CASES:
        terms, values, _ = _case(name, np.float64)
        generated |= generated_rules(_function(name, terms, values))
    helpers = {k for k in RULES if k.startswith(("srt.", "sgc."))}     # generated code's own
    user = set(RULES) - helpers
    missing = sorted((user - called - set(EXCLUDED)) | (helpers - generated - called - set(EXCLUDED)))
    assert not missing, f"registered rules that no sweep case exercises: {missing}"
    stale = sorted(k for k in EXCLUDED if k not in RULES or k in called | generated)
    assert not stale, f"exclusions that name no rule, or a rule the sweep exercises: {stale}"
