"""Derivative rules, one registry per family of primitives. Importing this package loads them all."""
from .registry import lookup, lookup_binop, lookup_unaryop, Rule, RULES  # noqa: F401
from . import scalar, elementwise, arrays, reductions, linalg, runtime  # noqa: F401  (registers the rules)
