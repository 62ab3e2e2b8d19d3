"""The compiled pieces of user-defined rules, as attributes generated code can name.

Generated files call a custom function ``f`` as ``sgc.<key>(...)`` and its rules as
``sgc.<key>_vjp(...)`` / ``sgc.<key>_jvp0(...)``, where ``sgc`` is this module and ``<key>`` is
the function's name plus a digest of its sources. :mod:`srcgrad.rules.custom` fills the attributes
in when a rule is defined, so the names resolve whenever a file that uses them is compiled, and the
digest in every name means a changed rule gives a new generated file (never stale cached code).
It also holds :func:`one_result`, through which generated code reads a rule's one result.
"""
import hashlib

from numba.core import types
from numba.core.errors import TypingError
from numba.extending import overload

RULE_NAMES = {}     # number -> description of a rule, for one_result's message


def publish(name, fn):
    """Make ``fn`` callable from generated code as ``sgc.<name>``; returns that name (a rule's
    ``emit``)."""
    globals()[name] = fn
    return f"sgc.{name}"


def rule_number(description):
    """A number standing for ``description`` in generated code (which may hold no strings), the same
    in every process so that generated text, and so the cache, does not depend on the order of
    definitions."""
    number = int(hashlib.sha256(description.encode()).hexdigest()[:12], 16)
    RULE_NAMES[number] = description
    return number


def one_result(value, rule):
    """The one value a rule returns for one argument: ``value`` itself, or the element of a 1-tuple
    (JAX's ``return (g * 2.0,)``). Generated code wraps each per-argument rule call in it, so both
    spellings work; a tuple of another length is an error naming the rule (``rule``: its
    :func:`rule_number`)."""
    if isinstance(value, tuple):
        if len(value) != 1:
            raise TypeError(_too_many(RULE_NAMES.get(rule, "a custom rule"), len(value)))
        return value[0]
    return value


def _too_many(description, n):
    return (f"srcgrad: {description} returns a tuple of {n} values where one is expected "
            "(return the value itself, or a 1-tuple)")


@overload(one_result, prefer_literal=True)
def _ov_one_result(value, rule):
    if isinstance(value, types.BaseTuple):
        if len(value) != 1:
            description = RULE_NAMES.get(getattr(rule, "literal_value", None), "a custom rule")
            raise TypingError(_too_many(description, len(value)))
        return lambda value, rule: value[0]
    return lambda value, rule: value
