"""Normalise a function to one operation per statement, inlining the user's helper functions.

``y = np.tanh(a * h + x[i])`` becomes ``_t1 = a * h`` / ``_t2 = _t1 + x[i]`` / ``y = np.tanh(_t2)``:
each differentiable statement applies one registered primitive to *atoms*, so the reverse transform
needs one rule per primitive and nothing else. Parts of an expression that carry no derivative
(indices, loop bounds, conditions, shapes) stay whole, so generated code stays close to the user's.
Sugar is removed here too: augmented assignment, conditional expressions, tuple unpacking, array
methods (``x.sum()`` is ``np.sum(x)``), ``for v in array``/``enumerate``/``zip``/``reversed``.
Calls to the user's own functions are inlined with renamed locals, recursively; early exits are then
removed by :mod:`structure`.
"""
import ast
import builtins
import types as pytypes
from collections import defaultdict

import numpy as np

from ..errors import UnsupportedError, located
from ..rules import RULES, lookup, lookup_binop, lookup_unaryop
from . import fence
from .ir import assign, names_in, write
from .parse import FunctionSource
from .structure import Structurer

_SHAPE_ATTRS = {"shape", "size", "ndim", "dtype"}
# array method -> the rule of the NumPy function it means (receiver becomes the first argument)
_METHODS = {"sum": "np.sum", "mean": "np.mean", "max": "np.max", "min": "np.min", "dot": "np.dot",
            "copy": "np.copy", "reshape": "np.reshape", "transpose": "np.transpose",
            "ravel": "np.ravel", "flatten": "np.ravel", "clip": "np.clip"}
_NONDIFF_METHODS = {"argmax": "np.argmax", "argmin": "np.argmin", "any": "np.any", "all": "np.all"}


class Namer:
    """Deterministic fresh names: ``_t1, _t2, ...`` per prefix, so generated text is stable."""

    def __init__(self):
        self.counts = defaultdict(int)

    def fresh(self, prefix):
        self.counts[prefix] += 1
        return f"_{prefix}{self.counts[prefix]}"


class Context:
    """State shared by the main function and every helper inlined into it."""

    def __init__(self):
        self.namer = Namer()
        self.inlined = defaultdict(int)
        self.stack = []
        self.sources = []          # every FunctionSource involved (their text goes into the hash)


def normalize(fn):
    """Normalise ``fn``: returns (FunctionSource, params, body, results, context)."""
    ctx = Context()
    fsrc = FunctionSource(fn)
    fence.check(fsrc)
    params = [_user_name(p) for p in fsrc.params()]
    rename = {p: ast.Name(q, ast.Load()) for p, q in zip(fsrc.params(), params)}
    norm = Normalizer(fsrc, ctx, rename, prefix="")
    body, results = norm.run()
    if results is None:
        raise UnsupportedError(located(f"{fsrc.name!r} returns nothing", fsrc.origin(fsrc.node),
                                       "return the value to differentiate"))
    return fsrc, params, body, results, ctx


def _user_name(name):
    # generated names all start with "_"; user names that do are renamed so they never collide
    return "u" + name if name.startswith("_") else name


class Normalizer:
    def __init__(self, fsrc, ctx, rename, prefix):
        self.fsrc, self.ctx, self.namer = fsrc, ctx, ctx.namer
        self.prefix = prefix
        self.locals = set(fsrc.params()) | _assigned_names(fsrc.node.body)
        self.rename = dict(rename)
        for name in self.locals - set(self.rename):
            self.rename[name] = ast.Name(prefix + _user_name(name) if prefix else _user_name(name),
                                         ast.Load())
        self.out = []
        self.origin = fsrc.origin(fsrc.node)
        self.no_hoist = False
        ctx.sources.append(fsrc)

    # -- errors ----------------------------------------------------------------------------------------
    def fail(self, message, node=None, hint=None):
        origin = self.fsrc.origin(node) if node is not None and hasattr(node, "lineno") else self.origin
        raise UnsupportedError(located(message, origin, hint))

    # -- driver ----------------------------------------------------------------------------------------
    def run(self):
        self.ctx.stack.append(self.fsrc.fn)
        body = self.block(self.fsrc.node.body)
        self.ctx.stack.pop()
        structurer = Structurer(self.namer, lambda n: getattr(n, "sg_origin", self.origin))
        try:
            return structurer.function(body)
        except ValueError:
            self.fail(f"{self.fsrc.name!r} returns tuples of different lengths on different paths")

    def block(self, stmts):
        saved, self.out = self.out, []
        for s in stmts:
            previous = self.origin
            self.origin = self.fsrc.origin(s)
            self.stmt(s)
            self.origin = previous
        out, self.out = self.out, saved
        return out

    def emit(self, node):
        if not hasattr(node, "sg_origin"):
            node.sg_origin = self.origin
        self.out.append(node)
        return node

    # -- statements ------------------------------------------------------------------------------------
    def stmt(self, s):
        if isinstance(s, ast.Assign):
            if len(s.targets) > 1:
                value = self.atom(s.value)
                for t in s.targets:
                    self.store(t, value, s)
            else:
                self.store(s.targets[0], s.value, s)
        elif isinstance(s, ast.AnnAssign):
            if s.value is not None:
                self.store(s.target, s.value, s)
        elif isinstance(s, ast.AugAssign):
            self.augassign(s)
        elif isinstance(s, ast.If):
            flag = self.namer.fresh("f")
            self.emit(assign(flag, _truth(self.compound(s.test)), self.origin, kind="nondiff"))
            node = ast.If(test=ast.Name(flag, ast.Load()), body=self.block(s.body),
                          orelse=self.block(s.orelse))
            self.emit(node)
        elif isinstance(s, ast.For):
            self.for_loop(s)
        elif isinstance(s, ast.While):
            self.no_hoist = True
            test = self.compound(s.test)
            self.no_hoist = False
            self.emit(ast.While(test=_truth(test), body=self.block(s.body), orelse=[]))
        elif isinstance(s, (ast.Break, ast.Continue)):
            self.emit(type(s)())
        elif isinstance(s, ast.Return):
            if s.value is None:
                self.fail("a bare return returns None; srcgrad differentiates numeric results", s)
            if isinstance(s.value, ast.Tuple):
                value = ast.Tuple([self.atom(e) for e in s.value.elts], ast.Load())
            else:
                value = self.atom(s.value)
            self.emit(ast.Return(value=value))
        elif isinstance(s, ast.Expr) and isinstance(s.value, ast.Call):
            if self.resolves_to(s.value.func, builtins.print):
                return            # printing has no effect on values: gradient code does not print
            if not self.is_helper_call(s.value):
                self.fail("a call for its side effect is not supported", s,
                          "only your own functions (which may fill arrays you pass) can be called "
                          "as statements")
            self.inline_call(s.value, result_needed=False)
        elif isinstance(s, (ast.Pass, ast.Expr, ast.Assert)):
            pass          # docstrings (others were fenced); asserts are not checked in gradient code
        else:
            self.fail(f"the statement {type(s).__name__} is not supported", s)

    def store(self, target, value, node):
        """Assign the expression (or ready atom) ``value`` to ``target``."""
        if isinstance(target, ast.Name):
            self.assign_to(self.local(target.id), value)
        elif isinstance(target, ast.Subscript):
            base = self.written_array(target, node)
            index = self.compound(target.slice)
            self.emit(write(base, index, self.atom(value), self.origin))
        elif isinstance(target, ast.Tuple):
            self.unpack(target, value, node)
        else:
            self.fail(f"assignment to {ast.unparse(target)!r} is not supported", node,
                      "assign to a variable or to an array element a[i]")

    def written_array(self, target, node):
        if not isinstance(target.value, ast.Name) or target.value.id not in self.locals:
            self.fail(f"writing into {ast.unparse(target)!r} is not supported", node,
                      "write elements of a local array directly, e.g. a[i, j] = v")
        return self.local(target.value.id)

    def unpack(self, target, value, node):
        names = target.elts
        if isinstance(value, ast.Tuple):
            if len(value.elts) != len(names):
                self.fail("tuple unpacking with mismatched lengths", node)
            atoms = [self.atom(e) for e in value.elts]
            if names_in(ast.Tuple(atoms, ast.Load())) & {self.local_name(n) for n in names}:
                atoms = [self.temp_copy(a) for a in atoms]
        elif isinstance(value, ast.Call) and self.is_helper_call(value):
            atoms = self.inline_call(value)
            if not isinstance(atoms, list) or len(atoms) != len(names):
                self.fail("the helper returns a different number of values", node)
        elif self.nondiff_rooted(value):
            tmp = self.namer.fresh("t")
            self.emit(assign(tmp, self.compound(value), self.origin, kind="nondiff"))
            atoms = [ast.Subscript(ast.Name(tmp, ast.Load()), ast.Constant(k), ast.Load())
                     for k in range(len(names))]
            for n, a in zip(names, atoms):
                if not isinstance(n, ast.Name):
                    self.fail("nested unpacking is not supported", node)
                self.emit(assign(self.local(n.id), a, self.origin, kind="nondiff"))
            return
        else:
            self.fail(f"cannot unpack {ast.unparse(value)!r}", node,
                      "unpack a tuple literal, x.shape, or the result of one of your functions")
        for n, a in zip(names, atoms):
            self.store(n, a, node)

    def local_name(self, n):
        return self.local(n.id) if isinstance(n, ast.Name) else None

    def temp_copy(self, atom):
        tmp = self.namer.fresh("t")
        self.emit(assign(tmp, atom, self.origin, kind="copy"))
        return _mark(ast.Name(tmp, ast.Load()))

    def augassign(self, s):
        expr = ast.BinOp(left=_as_load(s.target), op=s.op, right=s.value)
        ast.copy_location(expr, s)
        if isinstance(s.target, ast.Name):
            self.assign_to(self.local(s.target.id), expr)
        elif isinstance(s.target, ast.Subscript):
            base = self.written_array(s.target, s)
            index = self.compound(s.target.slice)
            current = ast.Subscript(ast.Name(base, ast.Load()), index, ast.Load())
            rule = lookup_binop(s.op)
            tmp = self.namer.fresh("t")
            right = self.atom(s.value)
            self.emit(assign(tmp, ast.BinOp(current, s.op, right), self.origin, kind="op",
                             rule=rule, args={"a": current, "b": right}))
            self.emit(write(base, _copy(index), ast.Name(tmp, ast.Load()), self.origin))
        else:
            self.fail(f"augmented assignment to {ast.unparse(s.target)!r} is not supported", s)

    def assign_to(self, name, expr):
        if _is_atom(expr):
            self.emit(assign(name, expr, self.origin, kind="copy"))
            return
        kind, value, rule, args = self.rhs(expr)
        if kind == "op" and name in names_in(ast.Tuple(list(args.values()), ast.Load())):
            tmp = self.namer.fresh("t")
            self.emit(assign(tmp, value, self.origin, kind, rule, args))
            self.emit(assign(name, ast.Name(tmp, ast.Load()), self.origin, kind="copy"))
        else:
            self.emit(assign(name, value, self.origin, kind, rule, args))

    def for_loop(self, s):
        if isinstance(s.iter, ast.Call) and self.resolves_to(s.iter.func, builtins.range):
            bounds = [self.compound(a) for a in s.iter.args]
            if not isinstance(s.target, ast.Name):
                self.fail("a range loop needs a single loop variable", s)
            target, prologue = self.local(s.target.id), []
        elif isinstance(s.iter, ast.Call) and self.resolves_to(s.iter.func, builtins.reversed):
            inner = s.iter.args[0] if len(s.iter.args) == 1 else None
            if not (isinstance(inner, ast.Call) and self.resolves_to(inner.func, builtins.range)):
                self.fail("reversed() is supported over range() only", s)
            bounds = _reversed_range([self.compound(a) for a in inner.args])
            target, prologue = self.local(s.target.id), []
        else:
            bounds, target, prologue = self.iteration(s)
        body = self.block(s.body)
        iter_ = ast.Call(ast.Name("range", ast.Load()), bounds, [])
        self.emit(ast.For(target=ast.Name(target, ast.Store()), iter=iter_, body=prologue + body,
                          orelse=[], lineno=0))

    def iteration(self, s):
        """``for v in X`` / ``enumerate(X)`` / ``zip(A, B)`` as a range loop plus element reads."""
        it, tgt = s.iter, s.target
        index = self.namer.fresh("i")
        idx = ast.Name(index, ast.Load())

        def read(seq, name_node):
            if not isinstance(name_node, ast.Name):
                self.fail("nested unpacking in a for target is not supported", s)
            return assign(self.local(name_node.id), ast.Subscript(seq, _copy(idx), ast.Load()),
                          self.origin, kind="copy")
        if isinstance(it, ast.Call) and self.resolves_to(it.func, builtins.enumerate):
            seq = self.atom_name(it.args[0])
            if not (isinstance(tgt, ast.Tuple) and len(tgt.elts) == 2):
                self.fail("use `for i, v in enumerate(x)`", s)
            pro = [assign(self.local(tgt.elts[0].id), _copy(idx), self.origin, kind="nondiff"),
                   read(seq, tgt.elts[1])]
            return [ast.Call(ast.Name("len", ast.Load()), [_copy(seq)], [])], index, pro
        if isinstance(it, ast.Call) and self.resolves_to(it.func, builtins.zip):
            seqs = [self.atom_name(a) for a in it.args]
            if not (isinstance(tgt, ast.Tuple) and len(tgt.elts) == len(seqs)):
                self.fail("zip() needs one loop variable per sequence", s)
            lens = [ast.Call(ast.Name("len", ast.Load()), [_copy(q)], []) for q in seqs]
            stop = lens[0] if len(lens) == 1 else ast.Call(ast.Name("min", ast.Load()), lens, [])
            return [stop], index, [read(q, t) for q, t in zip(seqs, tgt.elts)]
        seq = self.atom_name(it)
        return [ast.Call(ast.Name("len", ast.Load()), [_copy(seq)], [])], index, [read(seq, tgt)]

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
        rule = lookup(obj)
        if rule is None:
            if _is_helper(obj):
                return "copy", self.atom(e), None, None
            self.fail(f"{ast.unparse(func)!r} ({_describe(obj)}) has no derivative rule in srcgrad",
                      e, "use the supported NumPy/math functions, or write it as a helper function")
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

    # -- helper functions ------------------------------------------------------------------------------
    def is_helper_call(self, e):
        if isinstance(e.func, ast.Attribute) and self.is_local_rooted(e.func.value):
            return False
        try:
            return _is_helper(self.resolve(e.func))
        except KeyError:
            return False

    def inline_call(self, e, result_needed=True):
        """Inline a call to the user's own function; returns its result atom (or list of atoms)."""
        fn = getattr(self.resolve(e.func), "py_func", None) or self.resolve(e.func)
        if fn in self.ctx.stack:
            self.fail(f"recursive call to {fn.__name__!r} is not supported", e,
                      "write the recursion as a loop")
        callee = FunctionSource(fn)
        fence.check(callee)
        params = callee.params()
        if len(e.args) > len(params):
            self.fail(f"too many arguments in the call to {fn.__name__!r}", e)
        bound = dict(zip(params, e.args))
        for kw in e.keywords:
            if kw.arg not in params or kw.arg in bound:
                self.fail(f"unexpected argument {kw.arg}= in the call to {fn.__name__!r}", e)
            bound[kw.arg] = kw.value
        defaults = fn.__defaults__ or ()
        for p, d in zip(params[len(params) - len(defaults):], defaults):
            if p not in bound:
                bound[p] = self.global_constant(d, e)
        missing = [p for p in params if p not in bound]
        if missing:
            self.fail(f"the call to {fn.__name__!r} is missing {', '.join(missing)}", e)
        self.ctx.inlined[fn.__name__] += 1
        prefix = f"{fn.__name__.strip('_')}{self.ctx.inlined[fn.__name__]}_"
        reassigned = _assigned_names(callee.node.body)
        rename = {}
        for p in params:
            value = self.atom(bound[p])
            if p in reassigned:
                name = prefix + _user_name(p)
                self.emit(assign(name, value, self.origin, kind="copy"))
                rename[p] = ast.Name(name, ast.Load())
            elif isinstance(value, (ast.Name, ast.Constant)):
                rename[p] = value          # the caller's variable itself: no copy, no alias
            else:
                rename[p] = self.temp_copy(value)
        inner = Normalizer(callee, self.ctx, rename, prefix)
        body, results = inner.run()
        self.out.extend(body)
        if not result_needed:
            return None
        if results is None or any(isinstance(r, ast.Constant) and r.value is None for r in results):
            self.fail(f"{fn.__name__!r} returns nothing, but its result is used", e)
        results = [_mark(r) for r in results]
        return results if len(results) > 1 else results[0]


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
    fn = getattr(obj, "py_func", obj)
    return isinstance(fn, pytypes.FunctionType) and not fn.__module__.startswith(("numpy", "numba"))


def _describe(obj):
    module = getattr(obj, "__module__", None) or type(obj).__module__
    return f"{type(obj).__name__} from {module}"


def _assigned_names(stmts):
    names = set()
    for node in ast.walk(ast.Module(body=list(stmts), type_ignores=[])):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _reversed_range(args):
    """Bounds of ``reversed(range(*args))`` as a forward range with a negative step."""
    if len(args) == 1:
        return [ast.BinOp(args[0], ast.Sub(), ast.Constant(1)), ast.Constant(-1), ast.Constant(-1)]
    if len(args) == 2:
        return [ast.BinOp(args[1], ast.Sub(), ast.Constant(1)),
                ast.BinOp(args[0], ast.Sub(), ast.Constant(1)), ast.Constant(-1)]
    a, b, s = args
    trips = ast.Call(ast.Name("len", ast.Load()), [ast.Call(ast.Name("range", ast.Load()),
                                                            [a, b, s], [])], [])
    last = ast.BinOp(a, ast.Add(), ast.BinOp(ast.BinOp(trips, ast.Sub(), ast.Constant(1)),
                                              ast.Mult(), s))
    return [last, ast.BinOp(a, ast.Sub(), s), ast.UnaryOp(ast.USub(), s)]


def _as_load(target):
    node = _shallow_copy(target)
    node.ctx = ast.Load()
    return node


def _shallow_copy(node):
    new = type(node)(**{f: getattr(node, f) for f in node._fields if hasattr(node, f)})
    return ast.copy_location(new, node)


def _copy(node):
    import copy
    return copy.deepcopy(node)
