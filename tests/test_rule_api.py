"""The rule registry refuses rules that would give wrong derivatives silently, and the math and NumPy
elementwise rules come from one table (srcgrad/rules/registry.py, srcgrad/rules/elementwise.py)."""
import ast
import math

import numpy as np
import pytest

import srcgrad
from srcgrad.rules import RULES, registry
from srcgrad.rules.elementwise import BINARY, UNARY


@pytest.fixture
def scratch_key():
    """A rule key that is removed from the registry again after the test."""
    key = "test.scratch_rule"
    yield key
    RULES.pop(key, None)


def test_a_rule_without_forward_templates_must_be_declared_elementwise(scratch_key):
    with pytest.raises(registry.RuleError, match="no forward one"):
        registry.defrule(scratch_key, ("x", "axis"), x="srt.sum_adjoint(g, like_x, axis)")
    assert scratch_key not in RULES
    with pytest.raises(registry.RuleError, match="'b' has a reverse template but no forward"):
        registry.defrule(scratch_key, ("a", "b"), tangents={"a": "t @ b"}, a="g", b="g")
    rule = registry.defrule(scratch_key, ("x",), elementwise=True, x="srt.unbroadcast(g * 2.0, like_x)")
    assert ast.unparse(rule.tangent("x")) == "t * 2.0"
    rule = registry.defrule(scratch_key, ("x",), tangents={"x": "np.cumsum(t)"}, x="g[::-1]")
    assert ast.unparse(rule.tangent("x")) == "np.cumsum(t)"


def test_parameters_may_not_take_the_template_names(scratch_key):
    for special in ("g", "y", "t"):
        with pytest.raises(registry.RuleError, match=f"parameter '{special}' has the name"):
            registry.defrule(scratch_key, ("x", special), elementwise=True, x="g")
    with pytest.raises(registry.RuleError, match="not a parameter"):
        registry.defrule(scratch_key, ("x",), elementwise=True, z="g")


def test_every_registered_rule_has_a_forward_template():
    for key, rule in RULES.items():
        for param in rule.adjoints:
            assert isinstance(rule.tangent(param), ast.expr), key
        assert rule.elementwise or set(rule.adjoints) <= set(rule.tangents), key


def _text(rule, param):
    return ast.unparse(rule.adjoints[param])


def test_math_and_numpy_share_one_derivative_per_function():
    shared = 0
    for name, numpy_names, _, _ in UNARY:
        if name and numpy_names:
            math_rule, numpy_rule = RULES[f"math.{name}"], RULES[f"np.{numpy_names[0]}"]
            assert _text(math_rule, "x") == _text(numpy_rule, "x").replace("np.", "math."), name
            assert srcgrad.rules.lookup(getattr(math, name)) is math_rule
            assert all(srcgrad.rules.lookup(getattr(np, n)) is numpy_rule for n in numpy_names)
            shared += 1
    for op, key, name, numpy_names, _, _ in BINARY:
        if name and numpy_names:
            math_rule, numpy_rule = RULES[f"math.{name}"], RULES[f"np.{numpy_names[0]}"]
            for p in math_rule.adjoints:
                unbroadcast = f"srt.unbroadcast({_text(math_rule, p).replace('math.', 'np.')}, like_{p})"
                assert ast.unparse(ast.parse(unbroadcast)) == _text(numpy_rule, p), (name, p)
            shared += 1
        if op is not None and numpy_names:
            assert _text(RULES[key], "a") == _text(RULES[f"np.{numpy_names[0]}"], "a"), key
    assert shared >= 20
