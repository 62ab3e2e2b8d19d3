"""Expressions in normalised form: atoms for what carries a derivative, whole expressions for what
does not.

A differentiable expression is split into one primitive per statement over *atoms* (names, constants,
``name[index]``); the parts that carry no derivative (indices, conditions, shapes, constructors) stay
whole so generated code reads like the user's. Names are resolved here too: locals are renamed,
numeric globals become constants, and calls are matched to their rules.
"""
import ast
import builtins
import types as pytypes

import numpy as np

from ..errors import UnsupportedError, located
from ..rules import RULES, lookup, lookup_binop, lookup_unaryop
from .ir import assign

_SHAPE_ATTRS = {"shape", "size", "ndim", "dtype"}
# array method -> the rule of the NumPy function it means (receiver becomes the first argument)
_METHODS = {"sum": "np.sum", "mean": "np.mean", "max": "np.max", "min": "np.min", "dot": "np.dot",
            "copy": "np.copy", "reshape": "np.reshape", "transpose": "np.transpose",
            "ravel": "np.ravel", "flatten": "np.ravel", "clip": "np.clip"}
_NONDIFF_METHODS = {"argmax": "np.argmax", "argmin": "np.argmin", "any": "np.any", "all": "np.all"}


class Expressions:
    """Expression handling for :class:`~srcgrad.front.normalize.Normalizer` (a mixin)."""

    def fail(self, message, node=None, hint=None):
        origin = self.fsrc.origin(node) if node is not None and hasattr(node, "lineno") else self.origin
        raise UnsupportedError(located(message, origin, hint))

    # -- names -----------------------------------------------------------------------------------------
    def local(self, name):
        node = self.rename.get(name)
        if not isinstance(node, ast.Name):
            self.fail(f"cannot assign to {name!r} here", None)
        return node.id

    def load(self, node):
        if node.id in self.locals:
            return _copy(self.rename[node.id])
        try:
            obj = self.fsrc.lookup(node.id)
        except KeyError:
            self.fail(f"name {node.id!r} is not defined", node)
        return self.global_constant(obj, node)

    def global_constant(self, obj, node):
        if isinstance(obj, (bool, int, float, np.bool_, np.integer, np.floating)):
            return ast.Constant(obj.item() if isinstance(obj, np.generic) else obj)
        if obj is None:
            return ast.Constant(None)
        self.fail(f"{ast.unparse(node)!r} is a global {type(obj).__name__}; only numbers can be "
                  "read from globals", node, "pass arrays and other values as arguments")

    def resolves_to(self, node, obj):
        try:
            return self.resolve(node) is obj
        except KeyError:
            return False

    def resolve(self, node):
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and root.id in self.locals:
            raise KeyError(root.id)
        return self.fsrc.resolve(node)

    def is_local_rooted(self, node):
        root = node
        while isinstance(root, (ast.Attribute, ast.Subscript)):
            root = root.value
        return not (isinstance(root, ast.Name) and root.id not in self.locals)

    # -- expressions -----------------------------------------------------------------------------------
    def atom(self, e):
        """An atom (name, constant or name[index]) holding the value of ``e``."""
        if _is_atom(e):      # already normalised (e.g. from an inlined helper)
            return e
        if isinstance(e, ast.Name):
            return _mark(self.load(e))
        if isinstance(e, ast.Subscript) and not self.nondiff_rooted(e):
            return _mark(ast.Subscript(self.atom_name(e.value), self.compound(e.slice), ast.Load()))
        if isinstance(e, ast.Call) and self.is_helper_call(e):
            result = self.inline_call(e)
            if isinstance(result, list):
                self.fail("a helper returning several values must be unpacked", e)
            return result
        kind, value, rule, args = self.rhs(e)
        if kind == "copy":
            return value
        tmp = self.namer.fresh("t")
        self.emit(assign(tmp, value, self.origin, kind, rule, args))
        return _mark(ast.Name(tmp, ast.Load()))

    def atom_name(self, e):
        a = self.atom(e)
        if isinstance(a, ast.Name):
            return a
        if isinstance(a, ast.Constant):
            self.fail(f"{ast.unparse(e)!r} is a constant where an array is needed", e)
        return self.temp_copy(a)

    def rhs(self, e):
        """Describe ``e`` as (kind, value expression, rule, operands) for one assignment."""
        if _is_atom(e) or isinstance(e, (ast.Constant, ast.Name)):
            return "copy", self.atom(e), None, None
        if self.nondiff_rooted(e):
            return "nondiff", self.compound(e), None, None
        if isinstance(e, ast.Subscript):
            return "copy", self.atom(e), None, None
        if isinstance(e, ast.BinOp):
            rule = lookup_binop(e.op)
            if rule is None:
                self.fail(f"the operator {type(e.op).__name__} is not supported", e)
            a, b = self.atom(e.left), self.atom(e.right)
            return "op", ast.BinOp(a, e.op, b), rule, {"a": a, "b": b}
        if isinstance(e, ast.UnaryOp):
            rule = lookup_unaryop(e.op)
            if rule is None:
                self.fail(f"the operator {type(e.op).__name__} is not supported", e)
            a = self.atom(e.operand)
            return "op", ast.UnaryOp(e.op, a), rule, {"a": a}
        if isinstance(e, ast.IfExp):
            return "copy", self.ifexp(e), None, None
        if isinstance(e, ast.Attribute):
            if e.attr == "T" and self.is_local_rooted(e):
                return self.rule_call(RULES["np.transpose"], [e.value], [], e)
            if self.is_local_rooted(e):
                self.fail(f"the attribute .{e.attr} is not supported", e)
            return "copy", self.global_constant(self.resolve(e), e), None, None
        if isinstance(e, ast.Call):
            return self.call(e)
        if isinstance(e, ast.Tuple):
            self.fail("tuples are supported in return statements and unpacking only", e)
        self.fail(f"the expression {type(e).__name__} is not supported", e)

    def ifexp(self, e):
        flag, tmp = self.namer.fresh("f"), self.namer.fresh("t")
        self.emit(assign(flag, _truth(self.compound(e.test)), self.origin, kind="nondiff"))
        branches = []
        for part in (e.body, e.orelse):
            saved, self.out = self.out, []
            self.assign_to(tmp, part)
            branches.append(self.out)
            self.out = saved
        self.emit(ast.If(test=ast.Name(flag, ast.Load()), body=branches[0], orelse=branches[1]))
        return _mark(ast.Name(tmp, ast.Load()))

    def call(self, e):
        func = e.func
        if isinstance(func, ast.Attribute) and self.is_local_rooted(func.value):
            return self.method_call(e)
        try:
            obj = self.resolve(func)
        except KeyError:
            self.fail(f"cannot call {ast.unparse(func)!r}", e)
        if obj is builtins.max or obj is builtins.min:
            return self.minmax(e, "max" if obj is builtins.max else "min")
        if obj is builtins.pow:
            return self.rhs(ast.copy_location(ast.BinOp(e.args[0], ast.Pow(), e.args[1]), e))
        if obj is builtins.range:
            self.fail("range() is supported as the iterable of a for loop only", e)
        expand = getattr(obj, "__srcgrad_expand__", None)
        if expand is not None:      # a library function that is a shorthand (apply_regularization)
            return self.rhs(expand(e, self.fail))
        rule = lookup(obj)
        if rule is None:
            if _is_helper(obj):
                return "copy", self.atom(e), None, None
            if getattr(obj, "__srcgrad_factory__", False):
                self.fail(f"{ast.unparse(func)!r} builds a function, which differentiated code cannot "
                          "keep in a variable", e, "build it at module level, or call it in place: "
                          f"{ast.unparse(e)}(w)")
            why = getattr(obj, "__srcgrad_no_rule__", None)
            self.fail(why or f"{ast.unparse(func)!r} ({_describe(obj)}) has no derivative rule in "
                      "srcgrad", e, None if why else "use the supported NumPy/math functions, write "
                      "it as a helper function, or give it a rule with srcgrad.custom_vjp")
        return self.rule_call(rule, e.args, e.keywords, e)

    def method_call(self, e):
        name = e.func.attr
        receiver = e.func.value
        if name in _NONDIFF_METHODS:
            return "nondiff", self.compound(e), None, None
        if name not in _METHODS:
            self.fail(f"the array method .{name}() is not supported", e)
        args = list(e.args)
        if name == "reshape" and len(args) > 1:
            args = [ast.Tuple(args, ast.Load())]
        return self.rule_call(RULES[_METHODS[name]], [receiver] + args, e.keywords, e)

    def minmax(self, e, which):
        if e.keywords:
            self.fail(f"{which}() with keyword arguments is not supported", e)
        if len(e.args) == 1:
            return self.rule_call(RULES[f"np.{which}"], e.args, [], e)
        rule = RULES[f"{which}2"]
        acc = self.atom(e.args[0])
        for k, arg in enumerate(e.args[1:]):
            b = self.atom(arg)
            value = ast.Call(ast.Name(which, ast.Load()), [acc, b], [])
            if k == len(e.args) - 2:
                return "op", value, rule, {"a": acc, "b": b}
            tmp = self.namer.fresh("t")
            self.emit(assign(tmp, value, self.origin, "op", rule, {"a": acc, "b": b}))
            acc = ast.Name(tmp, ast.Load())

    def rule_call(self, rule, args, keywords, e):
        if not rule.differentiable:
            return "nondiff", self.compound(e), None, None
        bound = self.bind(rule, args, keywords, e)
        operands = {}
        for p in rule.params:
            if p in bound:
                operands[p] = self.atom(bound[p]) if p in rule.adjoints else self.compound(bound[p])
        return "op", emit_call(rule, operands), rule, operands

    def bind(self, rule, args, keywords, e):
        if len(args) > len(rule.params):
            self.fail(f"too many arguments for {rule.key}", e)
        bound = dict(zip(rule.params, args))
        for kw in keywords:
            if kw.arg not in rule.params or kw.arg in bound:
                self.fail(f"the argument {kw.arg}= of {rule.key} is not supported", e)
            bound[kw.arg] = kw.value
        for p in rule.params:
            if p not in bound and p not in rule.defaults:
                self.fail(f"{rule.key} is missing its argument {p!r}", e)
        return bound

    # -- expressions without derivative ----------------------------------------------------------------
    def nondiff_rooted(self, e):
        """Whether ``e``'s value can never carry a derivative (so it may stay a whole expression)."""
        if isinstance(e, (ast.Compare, ast.BoolOp)):
            return True
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.Not):
            return True
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.FloorDiv):
            return True
        if isinstance(e, ast.Attribute) and e.attr in _SHAPE_ATTRS and self.is_local_rooted(e):
            return True
        if isinstance(e, ast.Subscript):
            return self.nondiff_rooted(e.value)
        if isinstance(e, ast.Call):
            func = e.func
            if isinstance(func, ast.Attribute) and self.is_local_rooted(func.value):
                return func.attr in _NONDIFF_METHODS
            try:
                rule = lookup(self.resolve(func))
            except KeyError:
                return False
            return rule is not None and not rule.differentiable
        return False

    def compound(self, e):
        """``e`` rewritten for generated code, kept whole (it has no derivative)."""
        if isinstance(e, ast.Constant):
            return e
        if isinstance(e, ast.Name):
            return self.load(e)
        if isinstance(e, ast.Attribute):
            if self.is_local_rooted(e):
                if e.attr == "T":
                    return ast.Call(ast.Name("np.transpose", ast.Load()), [self.compound(e.value)], [])
                return ast.Attribute(self.compound(e.value), e.attr, ast.Load())
            return self.global_constant(self.resolve(e), e)
        if isinstance(e, ast.Call):
            return self.compound_call(e)
        if isinstance(e, (ast.Subscript, ast.Slice, ast.Tuple, ast.BinOp, ast.UnaryOp, ast.Compare,
                          ast.BoolOp, ast.IfExp)):
            node = _shallow_copy(e)
            for field, value in ast.iter_fields(node):
                if isinstance(value, ast.expr):
                    setattr(node, field, self.compound(value))
                elif isinstance(value, list):
                    setattr(node, field, [self.compound(v) if isinstance(v, ast.expr) else v
                                          for v in value])
            if isinstance(node, (ast.Subscript, ast.Tuple)):
                node.ctx = ast.Load()
            return node
        self.fail(f"the expression {type(e).__name__} is not supported here", e)

    def compound_call(self, e):
        func = e.func
        if isinstance(func, ast.Attribute) and self.is_local_rooted(func.value):
            name = func.attr
            key = _METHODS.get(name) or _NONDIFF_METHODS.get(name)
            if key is None:
                self.fail(f"the array method .{name}() is not supported", e)
            args = [func.value] + list(e.args)
            if name == "reshape" and len(e.args) > 1:
                args = [func.value, ast.Tuple(list(e.args), ast.Load())]
            rule = RULES.get(key)
            if rule is None or not rule.params:
                return ast.Call(ast.Name(key, ast.Load()), [self.compound(a) for a in args], [])
            bound = self.bind(rule, args, e.keywords, e)
            return emit_call(rule, {p: self.compound(v) for p, v in bound.items()})
        try:
            obj = self.resolve(func)
        except KeyError:
            self.fail(f"cannot call {ast.unparse(func)!r}", e)
        if _is_helper(obj):
            if self.no_hoist:
                self.fail("calling your own function inside a while condition is not supported", e,
                          "compute the condition into a variable at the end of the loop body")
            return self.atom(e)
        if obj in (builtins.max, builtins.min, builtins.range, builtins.abs, builtins.float,
                   builtins.pow):
            name = obj.__name__
        else:
            rule = lookup(obj)
            if rule is None:
                self.fail(f"{ast.unparse(func)!r} ({_describe(obj)}) has no derivative rule in "
                          "srcgrad", e)
            if rule.params:
                bound = self.bind(rule, e.args, e.keywords, e)
                return emit_call(rule, {p: self.compound(v) for p, v in bound.items()})
            name = rule.emit
        keywords = [ast.keyword(k.arg, self.compound(k.value)) for k in e.keywords]
        return ast.Call(ast.Name(name, ast.Load()), [self.compound(a) for a in e.args], keywords)


def emit_call(rule, operands):
    """The call expression generated code makes for ``rule`` with the given operands."""
    present = [k for k, p in enumerate(rule.params) if p in operands or p in rule.always_pass]
    last = max(present) if present else -1
    args = []
    for p in rule.params[:last + 1]:
        args.append(operands[p] if p in operands else ast.Constant(rule.defaults.get(p)))
    return ast.Call(ast.Name(rule.emit, ast.Load()), args, [])


def _is_atom(e):
    """Whether ``e`` is already a normalised atom (user names must still go through ``load``)."""
    return isinstance(e, ast.Constant) or getattr(e, "sg_norm", False)


def _mark(node):
    node.sg_norm = True
    return node


def _truth(test):
    """Wrap a user condition so Numba cannot prune its branch at compile time.

    Numba folds conditions it can prove constant (``while j < 0`` after ``j = 0``, ``if DEBUG``)
    and deletes the dead branch; a variable defined only there would then have no definition at all
    in the reverse sweep, which reads it. An opaque call keeps the branch (LLVM still folds it later).
    """
    return ast.Call(ast.Name("srt.truth", ast.Load()), [test], [])


def _is_helper(obj):
    """Whether ``obj`` is the user's own function (to inline), not a primitive with a rule."""
    fn = getattr(obj, "py_func", obj)
    if getattr(obj, "__srcgrad_inline__", False):
        return True           # library code meant to be inlined (a custom rule's VJP, clip_by_norm)
    return (isinstance(fn, pytypes.FunctionType) and lookup(obj) is None
            and not fn.__module__.startswith(("numpy", "numba", "srcgrad.")))


def _describe(obj):
    module = getattr(obj, "__module__", None) or type(obj).__module__
    return f"{type(obj).__name__} from {module}"


def _shallow_copy(node):
    new = type(node)(**{f: getattr(node, f) for f in node._fields if hasattr(node, f)})
    return ast.copy_location(new, node)


def _copy(node):
    import copy
    return copy.deepcopy(node)
