"""Hypothesis-generated programs: loops with element writes, branches on computed values, helper
calls and reductions over an array argument, and the shapes of code users write that srcgrad once
got wrong (``USER_SHAPES``: integer-started accumulators, views followed by writes, writes through
views, gathers with repeated indices, names generated code uses, a loop index reused as a float,
shapes that change between iterations, numbers written into rows, decorated helpers, values the
reverse sweep evaluates again instead of taping, arrays filled once and their near misses), written to a
real module, differentiated in both modes and checked against float64 finite differences of the
same plain Python function. A smaller set is checked to second order with ``check_grads``. Shrunk
failures become the regression cases at the bottom of this file."""
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

import srcgrad
from conftest import load_source, numeric_grad

# smooth and finite on the whole real line; {a} and {b} are scalar expressions
UNARY = ["math.tanh({a})", "math.sin({a})", "math.exp(-({a}) * ({a}))", "(0.5 * ({a}))",
         "math.log(1.0 + ({a}) * ({a}))", "(-({a}))", "math.atan({a})", "math.cos({a})",
         "math.sqrt(1.0 + ({a}) * ({a}))", "(({a}) ** 2)"]
BINARY = ["({a} + {b})", "({a} - {b})", "({a} * {b})", "({a} / (1.5 + math.cos({b})))"]


def scalar_tree(leaves):
    return st.recursive(
        leaves,
        lambda sub: st.one_of(
            st.tuples(st.sampled_from(UNARY), sub).map(lambda t: t[0].format(a=t[1])),
            st.tuples(st.sampled_from(BINARY), sub, sub).map(lambda t: t[0].format(a=t[1], b=t[2]))),
        max_leaves=4)


constants = st.sampled_from(["0.5", "1.5", "-0.75", "2.0"])
# inside the loop: the element, the running scalar, the previous element written
loop_expr = scalar_tree(st.one_of(st.sampled_from(["x[i]", "s", "y[i - 1]", "w"]), constants))
# outside loops: the running scalar, a fixed element, the second argument
outer_expr = scalar_tree(st.one_of(st.sampled_from(["s", "x[0]", "x[2]", "w"]), constants))
# NumPy's smooth elementwise primitives, each on a domain where it is finite and differentiable
ARRAY_FORMS = ["np.tanh(y)", "y * x", "np.sin(x) * y", "np.exp(-y * y)", "y / (2.0 + np.cos(x))",
               "np.log1p(y * y)", "np.sqrt(1.0 + y * y)", "np.arctan(y) * x", "np.sinh(0.5 * np.tanh(y))",
               "np.cosh(0.5 * x) * y", "np.expm1(0.3 * np.tanh(y))", "np.square(y - x)",
               "np.log(2.0 + np.sin(y))", "np.arcsinh(y) * x", "np.power(1.5 + np.cos(y), 1.5)",
               "np.divide(y, 2.0 + x * x)", "np.tan(0.3 * np.tanh(y))", "np.arcsin(0.5 * np.tanh(y))",
               "np.arccos(0.5 * np.tanh(x)) * y", "np.log2(1.0 + y * y)", "np.log10(1.0 + x * x) * y",
               "np.mean(y) * x", "np.sum(y * x) * y", "np.exp(0.5 * np.cos(y))"]


# The shapes of code users write that srcgrad once got wrong (issue 19): {e} is an outer scalar
# expression, {l} a loop expression, {k} the statement's number
USER_SHAPES = {
    # accumulators started as integers
    "int_product": ["p{k} = 1", "for i in range(x.shape[0]):",
                    "    p{k} = p{k} * (1.0 + 0.3 * math.tanh({l}))", "s = s + p{k}"],
    "int_recurrence": ["a{k} = 0", "for i in range(x.shape[0]):", "    a{k} = np.sin(a{k}) + 0.5 * x[i]",
                       "s = s + a{k} * ({e})"],
    # a view, then a write into its base; a write through a view; a transposed view
    "row_view": ["m{k} = np.zeros((2, 4)) + x", "r{k} = m{k}[0]", "m{k}[0] = m{k}[1] * ({e})",
                 "s = s + np.sum(r{k} * m{k}[1])"],
    "row_write": ["m{k} = np.zeros((2, 4)) + x", "o{k} = m{k}[1]", "o{k}[2] = {e}",
                  "s = s + np.sum(m{k} * m{k}) * 0.25"],
    "transposed": ["m{k} = np.zeros((4, 2)) + x.reshape(4, 1)", "t{k} = m{k}.T",
                   "m{k}[1, 0] = {e}", "s = s + np.sum(t{k} * t{k}) * 0.25"],
    "slice_view": ["y{k} = x * 1.0", "b{k} = y{k}[1:]", "y{k}[1] = {e}",
                   "s = s + np.sum(b{k} * y{k}[:3])"],
    # gathers with repeated indices
    "gather": ["idx{k} = (np.arange(6) * 3) % 4", "s = s + np.sum(np.tanh(x[idx{k}] * ({e})))"],
    # names generated code uses, and a loop index that later holds a float
    "names": ["srt = s * 0.5", "sgc = np.tanh(x * srt)", "s = s + np.sum(sgc)"],
    "index_then_float": ["for c in range(2):", "    s = s + x[c] * w", "c = s * 0.5", "s = s + c * c"],
    # shapes that change between iterations; a number written into a row
    "prefix": ["for i in range(1, 4):", "    s = s + np.sum(np.tanh(x[:i] * ({e})))"],
    "rows": ["h{k} = np.zeros((4, 2))", "for i in range(4):", "    h{k}[i] = {l}",
             "s = s + np.sum(h{k} * h{k}) * 0.1"],
    # a decorated helper
    "decorated": ["s = scaled_helper({e}, x[1]) + s"],
    # what the reverse sweep evaluates again instead of taping (analysis/recompute.py): an operand
    # made of the loop index and a parameter, inside a recurrence; a branch flag inside a loop
    "recomputed_operand": ["h{k} = 0.5", "for i in range(x.shape[0]):",
                           "    for j in range(i % 3 + 1):", "        h{k} = math.cos(h{k} + j * w)",
                           "    h{k} = h{k} * 0.5 + x[i]", "s = s + h{k} * ({e})"],
    # arrays filled once (analysis/fills.py: no tape) and the near misses that keep their tapes: a
    # read that wraps around to the last element, a read ahead, a second write
    "fill": ["z{k} = np.empty(6)", "z{k}[0] = {e}", "z{k}[1] = x[0]", "for i in range(2, 6):",
             "    z{k}[i] = 0.5 * z{k}[i - 1] + math.sin(z{k}[i - 2]) * x[i - 2]",
             "s = s + np.sum(z{k} * z{k}) * 0.1"],
    "fill_wraps": ["z{k} = np.zeros(4)", "for i in range(4):",
                   "    z{k}[i] = x[i] * ({e}) + 0.5 * z{k}[i - 1]", "s = s + np.sum(z{k} * z{k})"],
    "fill_reads_ahead": ["z{k} = np.ones(5)", "for i in range(4):",
                         "    z{k}[i] = x[i] * z{k}[i + 1] + {e}", "s = s + np.sum(z{k} * z{k})"],
    "fill_twice": ["z{k} = np.zeros(4)", "for i in range(4):", "    z{k}[i] = x[i] * ({e})",
                   "z{k}[2] = z{k}[1] * z{k}[3]", "s = s + np.sum(z{k} * z{k})"],
    # (x[i] has three decimals: the flag never flips within a finite-difference step)
    "loop_flag": ["for i in range(x.shape[0]):", "    v{k} = x[i] + 0.0005", "    if v{k} > 0.25:",
                  "        s = s + v{k} * ({l})", "    else:", "        s = s * 0.5 + v{k}"],
}


@st.composite
def programs(draw):
    """The source of ``f(x, w)``, x an array of 4, w a float."""
    lines = ["s = w * 0.5"]
    for k in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["loop", "branch", "helper", "reduce", *USER_SHAPES]))
        if kind in USER_SHAPES:
            for line in USER_SHAPES[kind]:
                text = line.replace("{k}", str(k))
                if "{e}" in text:
                    text = text.replace("{e}", draw(outer_expr))
                if "{l}" in text:
                    text = text.replace("{l}", draw(loop_expr).replace("y[i - 1]", "x[i]"))
                lines.append(text)
            continue
        if kind == "loop":
            lines += ["y = np.zeros_like(x)", "for i in range(1, x.shape[0]):",
                      f"    y[i] = {draw(loop_expr)}", f"s = s + np.sum({draw(st.sampled_from(ARRAY_FORMS))})"]
        elif kind == "branch":
            lines += [f"c{k} = {draw(outer_expr)}", f"if c{k} > 0.0:", f"    s = {draw(outer_expr)}",
                      "else:", f"    s = {draw(outer_expr)}"]
        elif kind == "helper":
            lines.append(f"s = helper({draw(outer_expr)}, x[1]) + s")
        else:
            lines.append(f"s = s + np.sum(np.tanh(x * ({draw(outer_expr)})))")
    lines.append("return s")
    body = "\n".join("    " + line for line in lines)
    source = ("import functools\nimport math\n\nimport numpy as np\n\n\n"
              "def helper(a, b):\n    return a * math.tanh(b) + math.sin(a * b)\n\n\n"
              "def scale(fn):\n    @functools.wraps(fn)\n    def wrapper(*args):\n"
              "        return 1.5 * fn(*args)\n    return wrapper\n\n\n"
              "@scale\ndef scaled_helper(a, b):\n    return math.sin(a) * b\n\n\n"
              f"def f(x, w):\n{body}\n")
    return source


SETTINGS = dict(deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def load(source):
    return load_source(source, "random_program").f


points = st.tuples(
    st.lists(st.floats(-1.5, 1.5, allow_nan=False).map(lambda v: round(v, 3) + 0.0), min_size=4,
             max_size=4).map(np.array),
    st.floats(-1.5, 1.5, allow_nan=False).map(lambda v: round(v, 3) + 0.0))


def _away_from_branch_edges(f, x, w):
    """Finite differences are only a reference where no branch flips within their step."""
    taken = _branches(f, x, w)
    for k in range(x.size + 1):
        for h in (-1e-5, 1e-5):
            xs, ws = x.copy(), w
            if k < x.size:
                xs[k] += h
            else:
                ws += h
            assume(_branches(f, xs, ws) == taken)


def _branches(f, x, w):
    """The sign of each branch condition ``c<k>`` as ``f`` runs (recorded by a line tracer)."""
    signs = {}

    def trace(frame, event, arg):
        if frame.f_code is f.__code__ and event == "line":
            for name, value in frame.f_locals.items():
                if name[:1] == "c" and name[1:].isdigit():
                    signs[name] = value > 0.0
        return trace
    sys.settrace(trace)
    try:
        f(x.copy(), w)
    finally:
        sys.settrace(None)
    return signs


def _usable(f, x, w, bound):
    """(hypothesis) Only points with a moderate value and no branch flip within the steps."""
    value = f(x.copy(), w)
    assume(np.isfinite(value) and abs(value) < bound)
    _away_from_branch_edges(f, x, w)


def _check(f, x, w, g_rev, fwd, source):
    value = f(x.copy(), w)
    expected = numeric_grad(f, (x, w), (0, 1))
    scale = max(1.0, abs(value), float(np.max(np.abs(expected[0]))), abs(expected[1]))
    gx, gw = g_rev(x, w)
    message = f"\nx={x.tolist()!r} w={w!r}\n{source}"
    np.testing.assert_allclose(gx, expected[0], rtol=1e-5, atol=1e-6 * scale, err_msg=message)
    assert abs(gw - expected[1]) <= 1e-5 * abs(expected[1]) + 1e-6 * scale, message
    t = np.array([0.3, -0.7, 1.1, 0.2])
    _, tangent = fwd(x, w, (t, 0.5))
    slope = float(np.dot(expected[0], t) + 0.5 * expected[1])
    assert abs(tangent - slope) <= 1e-5 * abs(slope) + 1e-5 * scale, message


@settings(max_examples=40, **SETTINGS)
@given(program=programs(), point=points)
def test_random_program_in_both_modes(program, point):
    source = program
    f = load(source)
    x, w = point
    _usable(f, x, w, 1e6)
    _check(f, x, w, srcgrad.grad(f, wrt=(0, 1)), srcgrad.jvp(f, wrt=(0, 1)), source)


@settings(max_examples=12, **SETTINGS)
@given(program=programs(), point=points)
def test_random_program_to_second_order(program, point):
    source = program
    f = load(source)
    x, w = point
    _usable(f, x, w, 1e3)
    try:
        srcgrad.check_grads(f, (x, w), wrt=0, order=2, rtol=1e-4, atol=1e-6)
    except srcgrad.UnsupportedError as exc:
        # the one documented refusal: second order through a view read after its memory is
        # written (its first-order adjoint shares the base's memory)
        assert "derivative of a derivative through a view" in str(exc), source
        assert any(f"{v}{k}" in source for v in ("r", "o", "t", "b") for k in range(3)), source


# -- regression cases: shrunk programs that once failed ---------------------------------------------
REGRESSIONS = [
    # ``s = s`` in a branch: its adjoint zeroed the adjoint of s (gradient in w was 0, not 0.5)
    ("import math\n\nimport numpy as np\n\n\ndef helper(a, b):\n    return a * math.tanh(b) + "
     "math.sin(a * b)\n\n\ndef f(x, w):\n    s = w * 0.5\n    c0 = math.tanh(s)\n    if c0 > 0.0:\n"
     "        s = ((0.5 + 2.0) / (1.5 + math.cos(2.0)))\n    else:\n        s = s\n"
     "    s = helper(((0.5 + 2.0) / (1.5 + math.cos(2.0))), x[1]) + s\n    return s\n",
     [-0.469, 0.008, 1.233, -0.777], -0.124),
]


@pytest.mark.parametrize("source, x, w", REGRESSIONS)
def test_regressions(source, x, w):
    f = load(source)
    _check(f, np.array(x), w, srcgrad.grad(f, wrt=(0, 1)), srcgrad.jvp(f, wrt=(0, 1)), source)
