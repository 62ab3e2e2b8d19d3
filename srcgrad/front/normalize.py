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
from collections import defaultdict

from ..errors import UnsupportedError, located
from ..rules import lookup_binop
from . import fence
from .expressions import Expressions, _copy, _is_atom, _mark, _shallow_copy, _truth
from .inline import Inlining, local_names, user_names
from .ir import assign, names_in, write
from .parse import FunctionSource
from .structure import Structurer


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
        self.array_views = set()   # names now holding a slice or transpose of another array


def normalize(fn):
    """Normalise ``fn``: returns (FunctionSource, params, body, results, context)."""
    ctx = Context()
    fsrc = FunctionSource(fn)
    fence.check(fsrc)
    norm = Normalizer(fsrc, ctx, {}, prefix="")
    params = [norm.rename[p].id for p in fsrc.params()]
    body, results = norm.run()
    if results is None:
        raise UnsupportedError(located(f"{fsrc.name!r} returns nothing", fsrc.origin(fsrc.node),
                                       "return the value to differentiate"))
    return fsrc, params, body, results, ctx


class _Scope:
    """A block being normalised: its block-local names (None at the function's own level, where
    every reassignment starts a version), and those it has assigned so far."""

    def __init__(self, local):
        self.local = local or set()
        self.assigned = set()


class Normalizer(Expressions, Inlining):
    def __init__(self, fsrc, ctx, rename, prefix):
        self.fsrc, self.ctx, self.namer = fsrc, ctx, ctx.namer
        self.prefix = prefix
        self.locals = local_names(fsrc)
        self.rename = dict(rename)
        names = user_names(self.locals)
        for name in self.locals - set(self.rename):
            self.rename[name] = ast.Name(prefix + names[name], ast.Load())
        self.out = []
        self.origin = fsrc.origin(fsrc.node)
        self.no_hoist = False
        # straight-line versions: see redefines()
        self.depth = -1             # 0 while normalising the function's own top-level statements
        self.assigned = set(fsrc.params())
        self.scope = None           # the block being normalised: its block-local names
        ctx.sources.append(fsrc)

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
        self.depth += 1
        outer, self.scope = self.scope, _Scope(self.block_locals(stmts) if self.depth else None)
        kept = {name: self.rename[name] for name in self.scope.local}
        for s in stmts:
            previous = self.origin
            self.origin = self.fsrc.origin(s)
            self.stmt(s)
            self.origin = previous
        self.rename.update(kept)            # block-local versions end with their block
        self.scope = outer
        self.depth -= 1
        out, self.out = self.out, saved
        return out

    def block_locals(self, stmts):
        """The names local to a nested block: read nowhere outside it, and first mentioned in it
        by an assignment at its own level that does not read them (so no value flows in from
        before the block, from an earlier iteration, or out of it)."""
        inside = {id(n) for s in stmts for n in ast.walk(s) if isinstance(n, ast.Name)}
        everywhere = defaultdict(list)
        for n in ast.walk(self.fsrc.node):
            if isinstance(n, ast.Name):
                everywhere[n.id].append(id(n))
        seen, candidates = set(self.fsrc.params()), set()
        for s in stmts:
            if (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
                    and s.targets[0].id not in seen and s.targets[0].id not in names_in(s.value)):
                candidates.add(s.targets[0].id)
            seen |= {n.id for n in ast.walk(s) if isinstance(n, ast.Name)}
        return {v for v in candidates if all(i in inside for i in everywhere[v])}

    def emit(self, node):
        if not hasattr(node, "sg_origin"):
            node.sg_origin = self.origin
        self.out.append(node)
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if _array_view(node):
                self.ctx.array_views.add(name)
            else:
                self.ctx.array_views.discard(name)
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
            if self.nondiff_rooted(s.value):      # a check without result (srt.refuse_view)
                self.emit(assign(self.namer.fresh("t"), self.compound(s.value), self.origin,
                                 kind="nondiff"))
                return
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
            self.assign_name(target.id, value)
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
                self.emit(assign(self.new_version(n.id), a, self.origin, kind="nondiff"))
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
        if isinstance(s.target, ast.Name) and self.local(s.target.id) in self.ctx.array_views:
            # a slice or a transpose is always a view: ``col *= 2`` writes into its base, as NumPy
            # does, so it is the element write ``col[:] = col[:] * 2``
            target = ast.copy_location(ast.Subscript(_as_load(s.target), ast.Slice(),
                                                     ast.Store()), s.target)
            self.augassign(ast.copy_location(ast.AugAssign(target, s.op, s.value), s))
        elif isinstance(s.target, ast.Name):
            before = self.local(s.target.id)
            self.assign_name(s.target.id, expr)
            # ``y += e`` writes into y's memory when y is an array: analysis/aliasing.py checks
            # that no other name shares that memory
            self.out[-1].sg_inplace = before
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

    def assign_name(self, user, expr):
        """Assign ``expr`` to the user's variable ``user`` (read with its current version)."""
        self.local(user)                    # (fails for names that cannot be assigned here)
        if not self.redefines(user):
            self.note_assigned(user)
            self.assign_to(self.local(user), expr)
            return
        name = self.namer.fresh(self.local(user) + "_")
        self.assign_to(name, expr)          # the right side still reads the previous version
        self.rename[user] = ast.Name(name, ast.Load())

    def new_version(self, user):
        """The generated name to assign ``user`` to, switching to a new version if this is a
        straight-line redefinition (the value to assign must be computed already)."""
        if self.redefines(user):
            self.rename[user] = ast.Name(self.namer.fresh(self.local(user) + "_"), ast.Load())
        self.note_assigned(user)
        return self.local(user)

    def note_assigned(self, user):
        self.assigned.add(user)
        if self.scope is not None:
            self.scope.assigned.add(user)

    def redefines(self, user):
        """Whether assigning ``user`` here starts a new version of it: a straight-line
        reassignment, at the function's own level (or a helper's), or in a loop or branch body
        that the name never leaves (see block_locals). Each version is its own variable, with its
        own adjoint of its own type and shape, so ``s = w; t = 3 * s; s = x * 2`` keeps the scalar
        ``s`` and the array ``s`` apart (one adjoint for both would give w the sum of t's
        cotangent over x's elements)."""
        if self.depth == 0:
            return user in self.assigned
        return user in self.scope.local and user in self.scope.assigned

    def assign_to(self, name, expr):
        if _is_atom(expr) and not (isinstance(expr, ast.Subscript) and name in names_in(expr)):
            if not (isinstance(expr, ast.Name) and expr.id == name):
                self.emit(assign(name, expr, self.origin, kind="copy"))
            return
        kind, value, rule, args = self.rhs(expr) if not _is_atom(expr) else ("copy", expr, None, None)
        if kind == "copy" and isinstance(value, ast.Name) and value.id == name:
            return      # ``s = s`` does nothing (and its adjoint, read naively, would zero _bs)
        reads_itself = name in (names_in(ast.Tuple(list(args.values()), ast.Load())) if kind == "op"
                                else names_in(value) if kind == "copy" else set())
        if reads_itself:        # h = h[::-1]: the new value is computed, then it replaces h
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
        # a later straight-line assignment of the loop's name starts a version of its own: the
        # integer index and, say, ``c = n * math.log(g)`` after the loop are different variables
        if isinstance(s.target, ast.Name) and s.target.id in self.locals:
            self.note_assigned(s.target.id)

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


def _array_view(stmt):
    """Whether the normalised assignment ``stmt`` makes a view that is an array whatever the types:
    a subscript with a slice in it, or a transpose."""
    if stmt.sg_kind == "copy" and isinstance(stmt.value, ast.Subscript):
        return any(isinstance(n, ast.Slice) for n in ast.walk(stmt.value.slice))
    return stmt.sg_kind == "op" and stmt.sg_rule is not None and stmt.sg_rule.key == "np.transpose"


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
