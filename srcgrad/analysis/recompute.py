"""Values the reverse sweep evaluates again where it reads them, instead of saving them on tapes.

A value that is overwritten (defined in a loop, or more than once) would be saved on a tape at each
definition. If its definition reads only values that still hold where the reverse sweep needs it
(none of them redefined or written into between the definition and any read), it can be computed
again there instead: views (:mod:`aliasing` finds them), branch flags (``_f1 = srt.truth(x[i] >
0.0)``), integers (``j = i + 1``) and arithmetic (``xc = x[i] - mu``). For a number that costs what
a tape costs; for an array it costs a pass over it, where a tape keeps every iteration's array
alive until the reverse sweep (the memory of a loop over points, in ADBench's GMM). Values
defined once are left alone: they are still there.
"""
import ast

from ..front.ir import callee, iter_assigns, names_in, statements


def recomputed(body, aliases, ints):
    """name -> its one definition (an Assign), for every value the reverse sweep recomputes."""
    out = {name: view.stmt for name, view in aliases.recomputed.items()}
    placed = aliases.placed
    definitions = {}
    for s in iter_assigns(body):
        if s.sg_kind != "write":
            definitions.setdefault(s.targets[0].id, []).append(s)
    loop_targets = {loop.target.id for loop in placed.loops}
    for name, defs in definitions.items():
        if name in out or name in loop_targets or not _cheap(defs[0], ints):
            continue
        if len(defs) == 1 and not placed._loops(defs[0]):
            continue                    # defined once: the value is still there
        if any(ast.unparse(d.value) != ast.unparse(defs[0].value) for d in defs):
            continue
        if _holds(placed, defs, names_in(defs[0].value)) and _flag_holds(body, name, defs[0]):
            out[name] = (defs, defs[0])
    # A recomputed value's recomputed operands are evaluated again just before it (reverse.py), so
    # what they read must hold where it is read too. Dropping a value only helps the others: it
    # then holds its taped value there.
    while True:
        dropped = [name for name, entry in out.items() if isinstance(entry, tuple)
                   and not _holds(placed, entry[0], closure(name, out))]
        if not dropped:
            return {name: entry[1] if isinstance(entry, tuple) else entry
                    for name, entry in out.items()}
        for name in dropped:
            del out[name]


def closure(name, recomputed):
    """The names evaluating ``name`` again reads, through the recomputed values it reads."""
    seen, todo = set(), [name]
    while todo:
        entry = recomputed[todo.pop()]
        stmt = entry[1] if isinstance(entry, tuple) else entry
        for n in names_in(stmt.value) - seen:
            seen.add(n)
            if n in recomputed and n != name:
                todo.append(n)
    return seen


def _flag_holds(body, name, definition):
    """The reverse sweep reads a branch's flag where the branch ends: what it tests must not change
    inside the branch."""
    operands = names_in(definition.value)
    for s in statements(body):
        if isinstance(s, ast.If) and name in names_in(s.test):
            inside = list(statements(s.body + s.orelse))
            if any(isinstance(x, ast.Assign) and _changes(x, operands)
                   or isinstance(x, ast.For) and x.target.id in operands for x in inside):
                return False
    return True


def _holds(placed, defs, operands):
    """Whether nothing rebinds or writes into ``operands`` between ``defs`` and a read of their
    target."""
    reads = placed.reads(defs[0].targets[0].id)
    changing = [s for s in placed.assigns if _changes(s, operands)]
    changing += [loop for loop in placed.loops if loop.target.id in operands]
    # (a read that itself rebinds an operand, h = math.cos(h + t), is reversed before h's restore)
    return not any(placed.between(defs, c, r) or c is r for c in changing for r in reads)


_ARITHMETIC = {"add", "sub", "mul", "neg", "pos"}


def _cheap(s, ints):
    """A branch flag, an integer, or one arithmetic operation on values."""
    value = s.value
    if s.sg_kind == "op":
        return s.sg_rule.key in _ARITHMETIC
    if s.sg_kind == "copy":
        return False                    # (views: aliasing.py; a copy of a name is the name)
    if callee(value) == "srt.truth":
        return True
    return s.targets[0].id in ints and all(
        callee(n) in ("len", "int", "min", "max")
        for n in ast.walk(value) if isinstance(n, ast.Call))


def _changes(s, operands):
    """Whether ``s`` rebinds one of ``operands`` or writes into one's memory."""
    target = s.targets[0]
    while isinstance(target, ast.Subscript):
        target = target.value
    return isinstance(target, ast.Name) and target.id in operands
