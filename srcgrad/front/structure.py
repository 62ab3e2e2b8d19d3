"""Remove early exits: ``return``, ``break`` and ``continue`` become flags and guarded blocks.

The reverse sweep replays the forward sweep's control flow backwards from recorded branch flags and
trip counts. A jump out of the middle of a block would break that replay, so here every jump sets a
flag, the statements after it run under ``if not flag``, and each loop ends with one trailing
``if flag: break`` (marked ``sg_exit``; it has no adjoint). What remains is structured code whose
every block runs from top to bottom.
"""
import ast

from .ir import assign, mark_exit, statements


class Structurer:
    def __init__(self, namer, origin_of):
        self.namer = namer
        self.origin_of = origin_of      # node -> Origin, for the statements this pass creates
        self.done = None                # flag set by `return`
        self.results = None             # names the returned values are written to
        self.loops = []                 # stack of {"brk": name|None, "cnt": name|None}

    def function(self, body):
        """Structure a function body; returns (body, results) where results are the returned atoms."""
        returns = [n for n in statements(body) if isinstance(n, ast.Return)]
        last = body[-1] if body else None
        if not returns or (len(returns) == 1 and returns[0] is last):
            new_body, _ = self.block(body[:-1] if returns else body)
            return new_body, (_values(last) if returns else None)
        arity = {len(_values(r)) for r in returns}
        if len(arity) != 1:
            raise ValueError("returns of different arity")
        self.done = self.namer.fresh("done")
        self.results = [self.namer.fresh("ret") for _ in range(arity.pop())]
        origin = self.origin_of(body[0])
        new_body, _ = self.block(body)
        init = assign(self.done, ast.Constant(False), origin, kind="nondiff")
        return [init] + new_body, [ast.Name(r, ast.Load()) for r in self.results]

    def block(self, stmts):
        out = []
        for index, stmt in enumerate(stmts):
            new, flags = self.stmt(stmt)
            out.extend(new)
            if flags:
                rest, rest_flags = self.block(stmts[index + 1:])
                if rest:
                    out.extend(self._guard(flags, rest, stmts[index + 1]))
                return out, flags | rest_flags
        return out, set()

    def _guard(self, flags, rest, first):
        origin = self.origin_of(first)
        name = self.namer.fresh("ok")
        test = ast.UnaryOp(ast.Not(), _any(flags))
        flag_stmt = assign(name, test, origin, kind="nondiff")
        guard = ast.If(test=ast.Name(name, ast.Load()), body=rest, orelse=[])
        guard.sg_origin = origin
        return [flag_stmt, guard]

    def stmt(self, stmt):
        origin = self.origin_of(stmt)
        if isinstance(stmt, ast.Return):
            out = [assign(r, v, origin, kind="copy") for r, v in zip(self.results, _values(stmt))]
            out.append(assign(self.done, ast.Constant(True), origin, kind="nondiff"))
            return out, {self.done}
        if isinstance(stmt, (ast.Break, ast.Continue)):
            loop = self.loops[-1]
            key = "stop" if isinstance(stmt, ast.Break) else "skip"
            if loop[key] is None:
                loop[key] = self.namer.fresh(key)
            return [assign(loop[key], ast.Constant(True), origin, kind="nondiff")], {loop[key]}
        if isinstance(stmt, ast.If):
            stmt.body, f1 = self.block(stmt.body)
            stmt.orelse, f2 = self.block(stmt.orelse)
            return [stmt], f1 | f2
        if isinstance(stmt, (ast.For, ast.While)):
            return self.loop(stmt, origin)
        return [stmt], set()

    def loop(self, stmt, origin):
        self.loops.append({"stop": None, "skip": None})
        body, flags = self.block(stmt.body)
        loop = self.loops.pop()
        before = []
        if loop["skip"]:
            body.insert(0, assign(loop["skip"], ast.Constant(False), origin, kind="nondiff"))
        exits = [f for f in (loop["stop"], self.done) if f and f in flags]
        if loop["stop"]:
            before.append(assign(loop["stop"], ast.Constant(False), origin, kind="nondiff"))
        if exits:
            body.append(mark_exit(_any(set(exits)), origin))
        stmt.body = body
        outer = {self.done} & flags if self.done else set()
        return before + [stmt], outer


def _values(ret):
    v = ret.value
    if v is None:
        return [ast.Constant(None)]
    return list(v.elts) if isinstance(v, ast.Tuple) else [v]


def _any(flags):
    names = [ast.Name(f, ast.Load()) for f in sorted(flags)]
    return names[0] if len(names) == 1 else ast.BoolOp(ast.Or(), names)
