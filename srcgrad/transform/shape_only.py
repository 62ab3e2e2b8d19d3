"""Skip forward work whose result the gradient reads only for its type and shape.

``grad(f)`` returns no value of ``f``, yet the forward sweep as first built computes all of it: for
``sum(relu(x))`` the relu array and its sum, for a mean cross-entropy every example's loss (an ``exp``
per element, which the loss's gradient computes again). What the reverse sweep takes from these
values is only what the adjoints are shaped like: ``first_adjoint(.., like, ..)``,
``spread_sum(c, like)``, the seed ``ones_like(y)``, and the ``ans`` of a rule that never reads it.

This pass finds forward assignments ``v = call(...)`` whose every read is in such a position (or in a
rule that can recompute what it needs instead) and whose rule names a stand-in (``like=``): the call
is replaced by the stand-in, which has the same type and shape and costs at most one small
allocation (:mod:`srcgrad.runtime.like`). Replacing one value
can leave its operands read only for their shape too, so the pass repeats until nothing changes.
A value read anywhere else (returned by ``value_and_grad``, saved on a tape, used by a rule) keeps its
call, so the pass never changes a result.
"""
import ast
import dis
from collections import Counter

from ..front.ir import callee
from ..rules.registry import called
from ..runtime import custom as namespace
from .reverse import fold, substitute


def skip_unread_results(forward, everything, params):
    """Replace, in place, the calls of ``forward`` (top-level forward statements) whose results
    ``everything`` (the whole function, whose parameters are ``params``) reads only for their type
    and shape.

    A rule that reads the result ``y`` may also have a form that recomputes from the inputs
    (``sg_alternative`` on its expression, see ``Rule.recompute_template``). When such rules are the
    only readers of ``y``, they switch to that form and the call is skipped: the work moves into the
    rule's fused loop, and the forward result's array is never made."""
    while True:
        reads, definitions, mutated = Counter(), Counter(params), set()   # a parameter is bound once
        for stmt in everything:                                          # on entry
            _count(stmt, False, reads, definitions, mutated)
        alternatives = [n for stmt in everything for n in ast.walk(stmt) if hasattr(n, "sg_alternative")]
        changed = False
        for stmt in forward:
            rule = getattr(stmt, "sg_rule", None)
            if (getattr(stmt, "sg_kind", None) != "op" or rule is None or rule.like is None
                    or not isinstance(stmt, ast.Assign) or not isinstance(stmt.targets[0], ast.Name)
                    or getattr(stmt, "sg_stand_in", False)):
                continue
            name = stmt.targets[0].id
            if definitions[name] != 1:
                continue
            if reads[name]:
                swaps = [n for n in alternatives if _reads(n)[name]]
                if not swaps or sum(_reads(n)[name] for n in swaps) != reads[name] or not all(
                        _recomputable(n, name, definitions, mutated) for n in swaps):
                    continue
                _swap(everything, {id(n) for n in swaps})
            stmt.value = fold(substitute(rule.like, rule.bindings(stmt.sg_args, None, None)))
            stmt.sg_stand_in = True
            changed = True
            if reads[name]:
                break           # the expressions changed: count again
        if not changed:
            return


def _reads(node):
    counts = Counter()
    _count(node, False, counts, Counter(), set())
    return counts


def _recomputable(node, name, definitions, mutated):
    """Whether ``node``'s recompute form can replace it: it does not read ``name``, and every name
    it reads that ``node`` did not is a forward value (not an adjoint) with one value throughout
    (defined once, never written in place), so it means the same where the rule stands."""
    before = _reads(node)
    after = _reads(node.sg_alternative)
    return not after[name] and all(
        definitions[n] <= 1 and n not in mutated and not n.startswith("_b")
        for n in after if n not in before)


def _swap(statements, ids):
    class Swap(ast.NodeTransformer):
        def generic_visit(self, node):
            super().generic_visit(node)
            return node.sg_alternative if id(node) in ids else node
    swap = Swap()
    for stmt in statements:
        swap.visit(stmt)


def _count(node, shape, reads, definitions, mutated):
    """Count reads of each name outside type-and-shape positions, each name's bindings, and the
    names written in place."""
    if isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load):
            if not shape:
                reads[node.id] += 1
        else:
            definitions[node.id] += 1
        return
    if isinstance(node, (ast.Subscript, ast.AugAssign)):
        target = node if isinstance(node, ast.Subscript) else node.target
        if isinstance(target.ctx, ast.Store):
            while isinstance(target, ast.Subscript):
                target = target.value
            if isinstance(target, ast.Name):
                mutated.add(target.id)
    if isinstance(node, ast.Call):
        positions, names = shape_positions(node)
        _count(node.func, shape, reads, definitions, mutated)
        for k, arg in enumerate(node.args):
            _count(arg, shape or k in positions, reads, definitions, mutated)
        for kw in node.keywords:
            _count(kw.value, shape or kw.arg in names, reads, definitions, mutated)
        return
    for child in ast.iter_child_nodes(node):
        _count(child, shape, reads, definitions, mutated)


def value_reads(node):
    """Names ``node`` reads for their values, not only for a type and shape (``x += e`` reads x)."""
    found = set()

    def visit(n, shape):
        if isinstance(n, ast.Name):
            if isinstance(n.ctx, ast.Load) and not shape:
                found.add(n.id)
            return
        if isinstance(n, ast.Call):
            positions, names = shape_positions(n)
            visit(n.func, shape)
            for k, arg in enumerate(n.args):
                visit(arg, shape or k in positions)
            for kw in n.keywords:
                visit(kw.value, shape or kw.arg in names)
            return
        if isinstance(n, ast.AugAssign):
            visit(n.value, shape)
            target = n.target
            while isinstance(target, ast.Subscript):      # x[i] += e reads x (and i)
                visit(target.slice, shape)
                target = target.value
            if isinstance(target, ast.Name) and not shape:
                found.add(target.id)
            return
        for child in ast.iter_child_nodes(n):
            visit(child, shape)
    visit(node, False)
    return found


def shape_positions(call):
    """Argument positions (and keyword names) of ``call`` whose values are never read."""
    name = callee(call) or ""
    rule = called(name)
    if rule is not None and rule.shape_only:
        return set(rule.shape_only), set()
    if name.startswith("sgc."):
        fn = getattr(getattr(namespace, name[4:], None), "py_func", None)
        if fn is not None:
            unread = _unread_parameters(fn)
            params = fn.__code__.co_varnames[:fn.__code__.co_argcount]
            return {k for k, p in enumerate(params) if p in unread}, unread
    return set(), set()


def _unread_parameters(fn):
    """Parameters of a compiled rule function that its code never mentions (``ans`` of a rule
    that recomputes what it needs), read from the bytecode."""
    code = fn.__code__
    params = set(code.co_varnames[:code.co_argcount])
    mentioned = set()
    for ins in dis.get_instructions(code):
        if ins.opname.startswith(("LOAD_FAST", "STORE_FAST", "DELETE_FAST", "LOAD_DEREF",
                                  "LOAD_CLOSURE", "MAKE_CELL")):
            mentioned.update(ins.argval if isinstance(ins.argval, tuple) else (ins.argval,))
    return params - mentioned - set(code.co_cellvars)
