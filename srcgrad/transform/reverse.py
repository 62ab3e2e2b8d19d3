"""The reverse-mode transform: normalised primal code in, forward sweep and reverse sweep out.

The forward sweep is the primal plus what replaying it backwards needs: each loop's trip count and
each branch's flag (plain variables). The reverse sweep visits statements in reverse order and, for
every active assignment, adds each active operand's cotangent from the primitive's rule template.

Values the reverse sweep reads but the forward sweep overwrote are *not* handled here: this pass
leaves markers where a variable is defined (``def``) and where the reverse sweep must give it back its
earlier value (``restore``); :mod:`tape` decides which markers become native saves, because only when
both sweeps exist is it known which values the reverse sweep reads.
"""
import ast
import copy

from ..analysis.indices import as_value, is_basic
from ..errors import at_line
from ..front.ir import (atom_base, callee, is_exit, iter_assigns, names_in, operands, same,
                        target_name)

def adjoint_name(name):
    return "_b" + name


def marker(kind, name, **info):
    node = ast.Expr(value=ast.Constant(None))
    node.sg_marker = (kind, name, info)
    return node


class Reverse:
    """Builds (forward, reverse) statement lists for one normalised body."""

    def __init__(self, active, namer, captured=None, ints=frozenset(), aliases=None,
                 unstable=frozenset(), recomputed=None, fills=frozenset()):
        self.active = active
        self.fills = fills              # element writes that overwrite nothing read (by id)
        self.ints = ints                # names that certainly hold integers (analysis/indices.py)
        self.shared = aliases.shared if aliases else {}    # views whose adjoints share memory
        self.aliases = aliases
        self.unstable = unstable        # may change shape between iterations (analysis/shapes.py)
        # values evaluated again where the reverse sweep reads them, instead of saved on tapes
        # (analysis/recompute.py): name -> definition
        self.recomputed = {n: s for n, s in (recomputed or {}).items() if n not in unstable}
        self.captured = captured or {}  # variable -> name that keeps its adjoint (gradients' wrt)
        self.namer = namer
        self.adjoints = set()           # adjoint variable names used
        self.reverse_indices = set()    # loop variables introduced by the reverse sweep
        self.reverse_if = {}            # id(primal if) -> its reverse if

    def run(self, body, recomputable):
        """``recomputable``: loop variables defined only by their ``for`` (recomputed, never saved)."""
        self.recomputable = recomputable
        self.lists = {s.targets[0].id for s in iter_assigns(body) if isinstance(s.targets[0], ast.Name)
                      and callee(s.value) in ("srt.new_tape", "srt.extend_tape")}
        return self.block(body, [])

    def block(self, stmts, loops):
        fwd, rev = [], []
        for s in stmts:
            f, r = self.stmt(s, loops)
            fwd.extend(f)
            rev[:0] = r
        return fwd, rev

    # -- statements ------------------------------------------------------------------------------------
    def stmt(self, s, loops):
        if isinstance(s, ast.Assign):
            return self.assignment(s, loops)
        if isinstance(s, ast.If):
            if is_exit(s):
                return [s], []
            body_f, body_r = self.block(s.body, loops)
            else_f, else_r = self.block(s.orelse, loops)
            fwd = _located(ast.If(test=s.test, body=body_f, orelse=else_f), s)
            rev = _located(ast.If(test=copy.deepcopy(s.test), body=body_r, orelse=else_r), s)
            self.reverse_if[id(s)] = rev
            return [fwd], self.recompute(s, [rev], reads=ast.Expr(rev.test))
        if isinstance(s, ast.For):
            return self.for_loop(s, loops)
        if isinstance(s, ast.While):
            return self.while_loop(s, loops)
        raise AssertionError(f"unexpected statement {ast.dump(s)}")

    def assignment(self, s, loops):
        fwd, rev = self.plain_assignment(s, loops)
        check = self.aliases.check(s) if self.aliases else None
        if check is not None:           # what srcgrad cannot follow is refused when typed
            fwd.insert(0, _at(check, s.sg_origin))
        return fwd, self.recompute(s, self.share_adjoints(s, rev))

    def recompute(self, s, rev, reads=None):
        """Before reverse statements that read a recomputed value (or before ``reads``: an if's
        test), evaluate it again (what it is computed from holds the values it had where it was
        read: analysis/recompute.py)."""
        where = [reads] if reads is not None else [r for r in rev if not hasattr(r, "sg_marker")]
        read = {n.id for r in where for n in ast.walk(r)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        order, seen = [], set()         # recomputed operands first

        def visit(name):
            if name not in seen:
                seen.add(name)
                for operand in sorted(names_in(self.recomputed[name].value)):
                    if operand in self.recomputed and operand != name:
                        visit(operand)
                order.append(name)
        for name in self.recomputed:
            if name in read:
                visit(name)
        again = [_at(_assign(name, copy.deepcopy(self.recomputed[name].value)), s.sg_origin)
                 for name in order]
        return again + rev

    def share_adjoints(self, s, rev):
        """Route the cotangents of views whose adjoints share their base's memory: before a
        statement that uses a view's adjoint, the adjoint is (re)bound to the same view of the
        base's adjoint; the view's own definition adds nothing when it is a view."""
        view = self.shared.get(target_name(s)) if s.sg_kind != "write" else None
        out = []
        if view is not None and target_name(s) in self.active:
            always = not isinstance(view.stmt.value, ast.Subscript)    # a = b, .T: always views
            body = [r for r in rev if not (hasattr(r, "sg_marker") and r.sg_marker[0] == "restore")]
            rest = [r for r in rev if r not in body]
            if always:                  # nothing to add, and nothing to reset: it is shared
                body = [r for r in body if not (isinstance(r, ast.AugAssign)
                                                or hasattr(r, "sg_marker"))]
                return body + rest
            test = _call("srt.is_copy", [ast.Name(adjoint_name(view.base), ast.Load()),
                                         as_value(view.stmt.value.slice)])
            guarded = _at(ast.If(test=test, body=body, orelse=[]), s.sg_origin) if body else None
            return self.rebinds(view.base, s.sg_origin) + ([guarded] if guarded else []) + rest
        mentioned = {n.id for r in rev for n in ast.walk(r) if isinstance(n, ast.Name)}
        for name in self.shared:
            if adjoint_name(name) in mentioned and name in self.active:
                texts = {ast.unparse(r) for r in out}
                out += [r for r in self.rebinds(name, s.sg_origin) if ast.unparse(r) not in texts]
        return out + rev

    def rebinds(self, name, origin):
        """Statements binding the adjoints of the shared view ``name`` (and of the views it is a
        view of) to the views of their bases' adjoints."""
        view = self.shared.get(name)
        if view is None:
            return []
        out = self.rebinds(view.base, origin)
        own = adjoint_name(name)
        if isinstance(view.stmt.value, ast.Subscript):
            base, index = ast.Name(adjoint_name(view.base), ast.Load()), as_value(view.stmt.value.slice)
        else:                           # a = b, b.T: always a view (an empty index)
            base, index = view.adjoint(adjoint_name(view.base)), ast.Tuple([], ast.Load())
        value = _call("srt.view_adjoint", [base, index, ast.Name(own, ast.Load())])
        self.adjoints.add(own)
        return out + [_at(_assign(own, value), origin)]

    def plain_assignment(self, s, loops):
        origin = s.sg_origin
        if s.sg_kind == "write":
            base = target_name(s)
            index = s.targets[0].slice
            filled = id(s) in self.fills      # (analysis/fills.py): no tape, no clear
            site = self.namer.fresh("w")[1:]   # one tape per write site: its values share a type
            fwd = [s] if filled else [marker("save_element", base, index=index, loops=list(loops),
                                             origin=origin, site=site), s]
            rev = []
            if base in self.active:
                g = ast.Subscript(ast.Name(adjoint_name(base), ast.Load()), copy.deepcopy(index),
                                  ast.Load())
                # with a repeated index, only the last write at a position reaches anything
                read = g if is_basic(index, self.ints) else _call(
                    "srt.take_written", [ast.Name(adjoint_name(base), ast.Load()), as_value(index)])
                rev += self.contributions(s, read, None, origin)
                # (a tape of whole arrays, when generated code is differentiated again, holds
                # arrays: its entry's adjoint is zeroed in place)
                zero = _call("srt.zero", [copy.deepcopy(g)]) if base in self.lists \
                    else ast.Constant(0.0)
                clear = _at(ast.Assign(targets=[_store(g)], value=zero), origin)
                clear.sg_clear = True
                rev += [] if filled else [clear]
            if not filled:
                rev.append(marker("restore_element", base, index=index, origin=origin, site=site))
            return fwd, rev
        name = target_name(s)
        fwd = [s, marker("def", name, loops=list(loops), origin=origin)]
        rev = []
        if name in self.captured:
            # the total derivative with respect to this value is complete here
            rev.append(_at(ast.parse(f"{self.captured[name]} = srt.snapshot({adjoint_name(name)})")
                           .body[0], origin))
        if name in self.active:
            if s.sg_kind in ("op", "copy"):
                g = ast.Name(adjoint_name(name), ast.Load())
                rev += self.contributions(s, g, ast.Name(name, ast.Load()), origin)
            # the value before this definition is another value: its adjoint starts from zero,
            # whatever the definition was (a constant such as np.zeros(...) included); shaped like
            # that value, once restored, when the shape may change between iterations
            if name not in self.unstable:
                rev.append(marker("reset", name, origin=origin))
        rev.append(marker("restore", name, origin=origin))
        if name in self.active and name in self.unstable:
            rev.append(marker("reset", name, origin=origin, reshape=True))
        return fwd, rev

    def contributions(self, s, g, y, origin):
        """``_bx += template(...)`` for each active operand of ``s``."""
        out = []
        rule = s.sg_rule if s.sg_kind == "op" else None
        args = s.sg_args if rule else {}
        for param, atom in operands(s):
            base = atom_base(atom)
            if base is None or base not in self.active:
                continue
            target = ast.Name(adjoint_name(base), ast.Load())
            self.adjoints.add(target.id)
            if isinstance(atom, ast.Subscript):
                target = ast.Subscript(target, copy.deepcopy(atom.slice), ast.Load())
            if rule is None and s.sg_kind == "write":
                # the value written may be broadcast over the element (``h[t] = x[t]`` into a row)
                value = _call("srt.unbroadcast", [copy.deepcopy(g), copy.deepcopy(target)])
            elif rule is None:
                value = copy.deepcopy(g)
            else:
                with at_line(origin):
                    template = rule.template(param)
                # ``like_x`` only supplies a shape: the adjoint being accumulated has it, and using
                # it spares the reverse sweep from needing (and so saving) the operand's value.
                mapping = rule.bindings(args, param, target, g=g, y=y)
                value = fold(substitute(template, mapping))
                again = rule.recompute_template(param) if y is not None else None
                if again is not None:       # chosen later if nothing else needs y (shape_only.py)
                    value.sg_alternative = fold(substitute(again, mapping))
            stmt = _at(self.accumulate(target, value), origin)
            stmt.sg_source = next(n.id for n in ast.walk(g) if isinstance(n, ast.Name)
                                  and n.id.startswith("_b"))        # (transform/zeros.py)
            twin = next((o for o in out if _same_contribution(o, stmt)), None)
            if twin is not None:        # ``v * v``: one contribution of twice the value
                twin.value = ast.BinOp(ast.Constant(2.0), ast.Mult(), twin.value)
                continue
            out.append(stmt)
        return out

    def accumulate(self, target, value):
        """``target += value``; into a subscript whose index may hold an array (a gather such as
        ``table[ids]``, which can repeat an index), a scatter-add that sums the repeats."""
        if isinstance(target, ast.Subscript) and not is_basic(target.slice, self.ints):
            call = _call("srt.add_at", [target.value, as_value(target.slice), value])
            return _assign(target.value.id, call)       # (a plain assignment can be differentiated)
        if isinstance(target, ast.Name) and target.id[2:] in self.lists:
            # the adjoint of a tape of whole arrays (generated code differentiated again)
            return _assign(target.id, _call("srt.accumulate", [copy.deepcopy(target), value]))
        return ast.AugAssign(target=_store(target), op=ast.Add(), value=value)

    # -- loops -----------------------------------------------------------------------------------------
    def for_loop(self, s, loops):
        origin = s.sg_origin
        k = self.namer.fresh("n")[2:]          # loop number shared by this loop's names
        bounds = list(s.iter.args)
        start, stop, step = ({1: lambda b: (ast.Constant(0), b[0], ast.Constant(1)),
                              2: lambda b: (b[0], b[1], ast.Constant(1)),
                              3: lambda b: tuple(b)}[len(bounds)])(bounds)
        start, step = _literal(start), _literal(step)
        pre_f, pre_r = [], []
        if not isinstance(start, ast.Constant):
            start = self.hoist(f"_s{k}", start, loops, origin, pre_f, pre_r)
        if not isinstance(step, ast.Constant):
            step = self.hoist(f"_d{k}", step, loops, origin, pre_f, pre_r)
        trip = self.hoist(f"_n{k}", _call("srt.trip", [copy.deepcopy(start), stop,
                                                       copy.deepcopy(step)]), loops, origin,
                          pre_f, pre_r)
        target = s.target.id
        inner = loops + [trip.id]
        body_f, body_r = self.block(s.body, inner)
        has_exit = any(is_exit(b) for b in s.body)
        count = trip
        post_f, post_r = [], []
        if has_exit:
            counter = f"_c{k}"
            pre_f.append(_at(_assign(counter, ast.Constant(0)), origin))
            body_f.insert(0, _at(ast.AugAssign(_store(ast.Name(counter)), ast.Add(),
                                               ast.Constant(1)), origin))
            count = self.hoist(f"_m{k}", ast.Name(counter, ast.Load()), loops, origin,
                               post_f, post_r)
        rev_range = _call("range", [ast.BinOp(copy.deepcopy(count), ast.Sub(), ast.Constant(1)),
                                    ast.Constant(-1), ast.Constant(-1)])
        if target in self.recomputable and _int_constant(start, zero=True) and _int_constant(step):
            # constant bounds: the reverse loop runs i itself, from its last value back to start
            rev_index, first, by = target, start.value, step.value
            last = _offset(ast.BinOp(copy.deepcopy(count), ast.Sub(), ast.Constant(1)), by, first)
            rev_range = _call("range", [last, ast.Constant(first - by), ast.Constant(-by)])
        elif target in self.recomputable:
            rev_index = f"_r{k}"
            index_value = fold(ast.BinOp(copy.deepcopy(start), ast.Add(),
                                         ast.BinOp(ast.Name(rev_index, ast.Load()), ast.Mult(),
                                                   copy.deepcopy(step))))
            body_r.insert(0, _at(_assign(target, index_value), origin))
        else:
            rev_index = f"_r{k}"
            body_f.insert(0, marker("def", target, loops=inner, origin=origin))
            body_r.append(marker("restore", target, origin=origin))
        self.reverse_indices.add(rev_index)
        fwd_loop = _located(ast.For(target=s.target, iter=_call("range", [copy.deepcopy(start),
                                                                           copy.deepcopy(stop),
                                                                           copy.deepcopy(step)]),
                                    body=body_f, orelse=[], lineno=0), s)
        rev_loop = _located(ast.For(target=ast.Name(rev_index, ast.Store()), iter=rev_range,
                                    body=body_r, orelse=[], lineno=0), s)
        # The count is defined after the loop but read by the reverse loop, so it is given back
        # (restored to the enclosing iteration's value) only once the reverse loop is done.
        return pre_f + [fwd_loop] + post_f, [rev_loop] + post_r + pre_r

    def while_loop(self, s, loops):
        origin = s.sg_origin
        k = self.namer.fresh("n")[2:]
        counter = f"_c{k}"
        body_f, body_r = self.block(s.body, loops + [None])
        body_f.insert(0, _at(ast.AugAssign(_store(ast.Name(counter)), ast.Add(), ast.Constant(1)),
                             origin))
        pre = [_at(_assign(counter, ast.Constant(0)), origin)]
        post_f, post_r = [], []
        count = self.hoist(f"_m{k}", ast.Name(counter, ast.Load()), loops, origin, post_f, post_r)
        rev_index = f"_r{k}"
        self.reverse_indices.add(rev_index)
        fwd_loop = _located(ast.While(test=s.test, body=body_f, orelse=[]), s)
        rev_loop = _located(ast.For(target=ast.Name(rev_index, ast.Store()),
                                    iter=_call("range", [copy.deepcopy(count)]), body=body_r,
                                    orelse=[], lineno=0), s)
        return pre + [fwd_loop] + post_f, [rev_loop] + post_r

    def hoist(self, name, value, loops, origin, fwd, rev):
        """Compute ``value`` into ``name`` in the forward sweep (saved like any variable)."""
        fwd.append(_at(_assign(name, value), origin))
        fwd.append(marker("def", name, loops=list(loops), origin=origin))
        rev.insert(0, marker("restore", name, origin=origin))
        return ast.Name(name, ast.Load())


def _same_contribution(a, b):
    return (isinstance(a, ast.AugAssign) and isinstance(b, ast.AugAssign)
            and same(a.target, b.target) and same(a.value, b.value)
            and not hasattr(a.value, "sg_alternative") and not hasattr(b.value, "sg_alternative"))


# -- template instantiation ------------------------------------------------------------------------------
def substitute(template, mapping):
    """A copy of ``template`` with each Name in ``mapping`` replaced by (a copy of) its node."""
    class Sub(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in mapping and mapping[node.id] is not None:
                return copy.deepcopy(mapping[node.id])
            return node
    return Sub().visit(copy.deepcopy(template))


def fold(node):
    """Fold constant arithmetic left by templates (``x ** (2 - 1)`` becomes ``x``)."""
    class Fold(ast.NodeTransformer):
        def visit_BinOp(self, n):
            self.generic_visit(n)
            left, right = n.left, n.right
            if isinstance(left, ast.Constant) and isinstance(right, ast.Constant):
                try:
                    expr = ast.fix_missing_locations(ast.Expression(ast.BinOp(left, n.op, right)))
                    value = eval(compile(expr, "<fold>", "eval"))
                except Exception:
                    return n
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    return ast.Constant(value)
            if isinstance(n.op, ast.Pow) and isinstance(right, ast.Constant) and right.value == 1:
                return left
            if isinstance(n.op, ast.Mult) and isinstance(left, ast.Constant) and left.value == 0 \
                    and not isinstance(left.value, bool):
                return n
            if isinstance(n.op, ast.Add) and isinstance(left, ast.Constant) and left.value == 0 \
                    and not isinstance(left.value, bool):
                return right
            if isinstance(n.op, ast.Mult) and isinstance(right, ast.Constant) and right.value == 1 \
                    and not isinstance(right.value, bool):
                return left
            return n
    return ast.fix_missing_locations(Fold().visit(node))


def _literal(node):
    """``-3`` (a minus and a constant) as the constant -3; other nodes as they are."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
            and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, int):
        return ast.Constant(-node.operand.value)
    return node


def _int_constant(node, zero=False):
    return (isinstance(node, ast.Constant) and isinstance(node.value, int)
            and not isinstance(node.value, bool) and (zero or node.value != 0))


def _offset(r, step, start):
    """``start + step * r`` for the integers ``step`` and ``start``, as simply as it can be written
    (``_n1 - 1 + 1`` is ``_n1``; ``7 + -2 * r`` is ``7 - 2 * r``)."""
    if step == 1 and isinstance(r, ast.BinOp) and isinstance(r.op, ast.Sub) \
            and _int_constant(r.right):
        start, r = start - r.right.value, r.left
    if step not in (1, -1) or (step == -1 and start == 0):
        r = ast.BinOp(ast.Constant(abs(step) if start else step), ast.Mult(), r)
    if start == 0:
        return r
    if step > 0:
        return ast.BinOp(r, ast.Add() if start > 0 else ast.Sub(), ast.Constant(abs(start)))
    return ast.BinOp(ast.Constant(start), ast.Sub(), r)


# -- small AST builders ----------------------------------------------------------------------------------
def _call(name, args):
    return ast.Call(ast.Name(name, ast.Load()), args, [])


def _assign(name, value):
    return ast.Assign(targets=[ast.Name(name, ast.Store())], value=value, lineno=0)


def _store(node):
    node = copy.deepcopy(node)
    node.ctx = ast.Store()
    return node


def _at(node, origin):
    node.sg_origin = origin
    return node


def _located(node, like):
    node.sg_origin = like.sg_origin
    return node
