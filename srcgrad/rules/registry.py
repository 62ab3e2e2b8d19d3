"""The one place where each primitive's derivative rule lives.

A rule says how to call the primitive in generated code and, for each differentiable parameter, a
*template*: a short Python expression for that parameter's cotangent, written with the parameter
names, ``g`` (the cotangent of the output) and ``y`` (the output itself, so tanh can reuse
``1 - y*y``). ``like_x`` stands for "something shaped like x" (the adjoint being accumulated): rules
that need only an operand's shape, such as ``unbroadcast``, use it so the reverse sweep never has to
keep that operand's value. ``like=`` names a cheap stand-in with the result's type and shape (see
:mod:`srcgrad.runtime.like`), used when a gradient reads the result only for those. Templates are
parsed once and spliced into generated code with names substituted, so a rule reads like the math
(Tangent's idea) and adding an op is one ``defrule`` call.

Forward mode needs a *tangent* template per parameter (``t``: the parameter's tangent). Only an
elementwise primitive, whose Jacobian is diagonal, can take it from its reverse template (read ``g``
as ``t``, drop ``unbroadcast``); any other rule must give ``tangents=``, and one that declares
neither is refused when it is registered (:class:`RuleError`), because a derived forward rule for a
product, a reduction or a permutation would be silently wrong.
"""
import ast
import copy
from dataclasses import dataclass, field

from ..errors import SrcgradError
from ..front.ir import callee

# names a template gives a meaning of its own: a parameter with one of them could not be read
SPECIAL_NAMES = ("g", "y", "t")


class RuleError(SrcgradError):
    """A derivative rule was registered in a form that could give wrong derivatives."""


@dataclass
class Rule:
    key: str                       # canonical name, e.g. "np.tanh"
    emit: str                      # what generated code calls, e.g. "np.tanh" or "srt.amax"
    params: tuple                  # parameter names in call order
    defaults: dict = field(default_factory=dict)   # parameter -> default (python value)
    adjoints: dict = field(default_factory=dict)   # parameter -> template AST (expression)
    differentiable: bool = True    # False: output never carries a derivative (shape, argmax, ...)
    always_pass: tuple = ()        # parameters emitted even when left at their default
    tangents: dict = field(default_factory=dict)   # parameter -> forward-mode template (in ``t``)
    like: object = None            # template of a stand-in with the result's type and shape, or None
    recompute: dict = field(default_factory=dict)  # parameter -> template that does not read ``y``
    elementwise: bool = False      # declared: diagonal Jacobian, so tangents may come from adjoints
    allocates: bool = False        # returns a new array no variable refers to (an adjoint may own it)
    shape_only: frozenset = frozenset()   # argument positions read only for their type and shape

    aliases = {}                   # template name -> parameter (custom rules name arguments by position)

    def template(self, param):
        return self.adjoints.get(param)

    def recompute_template(self, param):
        """A template for ``param`` that recomputes what it needs from the inputs instead of reading
        the output ``y``: used when nothing else needs ``y``, so the forward call can be skipped."""
        return self.recompute.get(param)

    def bindings(self, args, param, like, **specials):
        """What each name in a template of ``param`` stands for: the call's arguments (defaults filled
        in), ``like_<p>`` for shapes (``like`` for ``param`` itself: the adjoint being accumulated,
        whose shape it has), and last the special names ``g``/``y``/``t``, which win any clash."""
        mapping = {}
        for p in self.params:
            mapping[p] = args.get(p, ast.Constant(self.defaults.get(p)))
            mapping[f"like_{p}"] = mapping[p]
        if like is not None:
            mapping[f"like_{param}"] = like
        for alias, p in self.aliases.items():
            mapping[alias], mapping[f"like_{alias}"] = mapping[p], mapping[f"like_{p}"]
        mapping.update(specials)
        return mapping

    def tangent(self, param):
        """The forward-mode term of ``param``: its tangent ``t`` pushed through the primitive.

        For a primitive declared elementwise the Jacobian is diagonal, so the term may be the
        cotangent template with ``g`` read as ``t`` and without ``unbroadcast`` (broadcasting
        happens forward). Other primitives (products, reductions, shape changes) give theirs
        explicitly; registration refuses a rule that does neither.
        """
        if param in self.tangents:
            return self.tangents[param]
        if not self.elementwise:
            raise RuleError(f"rule {self.key}: no forward-mode template for {param!r}")
        return _elementwise_tangent(self.adjoints[param])


RULES = {}          # key -> Rule
HELPERS = {}        # key -> Rule without derivative, for runtime helpers' properties (defhelper)
_BY_OBJECT = {}     # id(python object) -> Rule
_OBJECTS = []       # keeps the objects alive so ids stay unique
_BINOPS = {}        # ast operator class -> Rule
_UNARYOPS = {}


def parse_template(text):
    return ast.parse(text, mode="eval").body


def _elementwise_tangent(template):
    class Swap(ast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            if callee(node) == "srt.unbroadcast":
                return node.args[0]
            return node

        def visit_Name(self, node):
            return ast.Name("t", ast.Load()) if node.id == "g" else node
    return Swap().visit(copy.deepcopy(template))


def defrule(key, params, objects=(), emit=None, defaults=None, always_pass=(), tangents=None,
            like=None, recompute=None, elementwise=False, allocates=False, **adjoints):
    """Register a differentiable primitive. ``adjoints`` maps parameter name -> template text;
    ``tangents`` maps parameter -> forward term, required for every parameter with an adjoint
    unless ``elementwise=True`` declares the Jacobian diagonal; ``like`` is the template of a
    stand-in with the result's type and shape; ``recompute`` maps parameter -> a template that does
    not read ``y`` (for adjoint templates that do); ``allocates``: the call returns a new array.
    A parameter named ``like`` is read only for its type and shape."""
    params = tuple(params)
    rule = Rule(key=key, emit=emit or key, params=params, defaults=dict(defaults or {}),
                adjoints=_parse_all(adjoints), always_pass=tuple(always_pass),
                tangents=_parse_all(tangents), like=parse_template(like) if like else None,
                recompute=_parse_all(recompute), elementwise=elementwise, allocates=allocates,
                shape_only=frozenset(k for k, p in enumerate(params) if p == "like"))
    return _register(rule, objects)


def defnondiff(key, objects=(), emit=None, allocates=False, shape_only=()):
    """Register a function whose result has no derivative: it must be constant almost everywhere
    in every argument (shapes, indices, comparisons, rounding), never merely hard to differentiate.
    ``shape_only``: the argument positions it reads only for their type and shape."""
    return _register(Rule(key=key, emit=emit or key, params=(), differentiable=False,
                          allocates=allocates, shape_only=frozenset(shape_only)), objects)


def defhelper(key, allocates=False, shape_only=()):
    """Declare the properties of a runtime helper that generated code calls but that has no
    derivative rule (a derivative of code calling it is refused, as for any unknown call)."""
    HELPERS[key] = Rule(key=key, emit=key, params=(), differentiable=False, allocates=allocates,
                        shape_only=frozenset(shape_only))


def bind(obj, rule):
    """Differentiate calls of the Python object ``obj`` with ``rule``."""
    _BY_OBJECT[id(obj)] = rule
    _OBJECTS.append(obj)


def alias(obj, key):
    """Differentiate calls of ``obj`` with the rule registered as ``key`` (a helper standing in
    for a NumPy function, a library function that is one)."""
    bind(obj, RULES[key])


def called(name):
    """The rule (or helper declaration) of a call that generated code writes as ``name``."""
    return RULES.get(name) or HELPERS.get(name)


def defbinop(op_class, key, tangents=None, elementwise=True, **adjoints):
    """Register a Python binary operator (elementwise unless ``tangents`` say otherwise)."""
    rule = Rule(key=key, emit=key, params=("a", "b"), adjoints=_parse_all(adjoints),
                tangents=_parse_all(tangents), elementwise=elementwise)
    _BINOPS[op_class] = _register(rule)
    return rule


def defunaryop(op_class, key, **adjoints):
    """Register a Python unary operator (elementwise)."""
    rule = Rule(key=key, emit=key, params=("a",), adjoints=_parse_all(adjoints), elementwise=True)
    _UNARYOPS[op_class] = _register(rule)
    return rule


def _parse_all(templates):
    return {p: parse_template(t) for p, t in (templates or {}).items()}


def _register(rule, objects=()):
    """Check ``rule`` for what would make its derivatives silently wrong, then make it known."""
    problems = [f"parameter {p!r} has the name templates use for the output's cotangent, the "
                "output or the tangent" for p in rule.params if p in SPECIAL_NAMES]
    problems += [f"template for {p!r}, which is not a parameter"
                 for p in (*rule.adjoints, *rule.tangents, *rule.recompute) if p not in rule.params]
    if not rule.elementwise:
        problems += [f"parameter {p!r} has a reverse template but no forward one: give tangents= "
                     "or declare elementwise=True" for p in rule.adjoints if p not in rule.tangents]
    if problems:
        raise RuleError(f"rule {rule.key}: " + "; ".join(problems))
    RULES[rule.key] = rule
    for obj in objects:
        bind(obj, rule)
    return rule


def lookup(obj):
    """The rule for a Python callable, or None."""
    return _BY_OBJECT.get(id(obj))


def lookup_binop(op):
    return _BINOPS.get(type(op))


def lookup_unaryop(op):
    return _UNARYOPS.get(type(op))
