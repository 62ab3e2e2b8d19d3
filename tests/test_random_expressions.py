"""Hypothesis-generated scalar expression trees over x and y, written to a real
module file (so inspect.getsource works), differentiated by srcgrad and
checked against central finite differences of the same plain Python function."""

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import srcgrad
from conftest import assert_close, assert_same_structure, load_source, numeric_grad

# Every unary form is smooth and finite for any finite real argument of
# moderate size.
UNARY = [
    "math.exp(-({a}) * ({a}))",
    "math.exp(0.5 * math.sin({a}))",
    "math.tanh({a})",
    "math.sin({a})",
    "math.cos({a})",
    "math.log(1.0 + ({a}) * ({a}))",
    "math.sqrt(1.0 + ({a}) * ({a}))",
    "math.atan({a})",
    "(-({a}))",
    "(({a}) ** 2)",
]
BINARY = [
    "({a} + {b})",
    "({a} - {b})",
    "({a} * {b})",
    "({a} / (1.0 + ({b}) * ({b})))",
    "({a} / (2.0 + math.cos({b})))",
]

constants = st.sampled_from(["0.5", "1.5", "2.0", "-0.75", "3"])


def tree(leaves):
    return st.recursive(
        leaves,
        lambda sub: st.one_of(
            st.tuples(st.sampled_from(UNARY), sub).map(lambda t: t[0].format(a=t[1])),
            st.tuples(st.sampled_from(BINARY), sub, sub).map(lambda t: t[0].format(a=t[1], b=t[2])),
        ),
        max_leaves=7,
    )


first_expr = tree(st.one_of(st.sampled_from(["x", "y"]), constants))
second_expr = tree(st.one_of(st.sampled_from(["x", "y", "t", "t"]), constants))
coordinate = st.floats(min_value=-1.5, max_value=1.5, allow_nan=False).map(
    lambda v: round(v, 3) + 0.0
)

def load(source):
    return load_source(source, "random_expr").f


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(e1=first_expr, e2=second_expr, x=coordinate, y=coordinate)
def test_random_expression(e1, e2, x, y):
    source = (
        "import math\n"
        "\n"
        "\n"
        "def f(x, y):\n"
        f"    t = {e1}\n"
        f"    return {e2} + 0.0 * t\n"
    )
    f = load(source)
    value = f(x, y)
    assert np.isfinite(value)
    g = srcgrad.grad(f, wrt=(0, 1))
    got = g(x, y)
    assert_same_structure(got, (x, y), (0, 1))
    expected = numeric_grad(f, (x, y), (0, 1))
    try:
        assert_close(got, expected, rtol=1e-5, atol=1e-7, fscale=value)
    except AssertionError as e:
        raise AssertionError(f"{e}\nx={x!r} y={y!r}\n{source}") from None
