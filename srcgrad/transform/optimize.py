"""Clean-ups of the adjoint code, to a fixed point (Tangent's ``optimize``, for srcgrad's code).

After symbolic zeros (:mod:`zeros`) the reverse sweep still holds what its construction needed:
copies of one adjoint into another (``_b_t3 = srt.first_adjoint(_bs, _b_t3, False)``, the adjoint
of ``_t3 = s + h`` handed on), zeros written where nothing reads them any more, and adjoints that are
computed and never used. This pass

- **propagates copies**: reads of a copy are replaced by the original while neither changes, so the
  copy is left unread;
- **removes identities**: ``_bs = srt.first_adjoint(srt.unbroadcast(_bs, _bs), _bs, ...)``;
- **starts an adjoint without zeros** where its initialisation is followed, before any read, by an
  assignment (which then takes its type and shape from the initialisation's argument);
- **merges accumulations**: ``_bx[i] += A`` and a later ``_bx[i] += B`` from the same line,
  with nothing between them reading ``_bx`` or changing what ``A`` reads, become
  ``_bx[i] += A + B`` (``2.0 * A`` where ``B`` is ``A``: the adjoint of ``v * v``);
- **removes dead adjoint code**: an assignment to an adjoint that no later statement reads (by a
  liveness analysis that follows branches and loops), and a zero written into an adjoint that is
  only ever read for its shape afterwards.

Only adjoint variables (``_b...``) are touched; the forward values, tapes and loop bookkeeping are
left as the other passes made them.
"""
import ast
import copy

from ..front.ir import callee, same
from .shape_only import shape_positions, value_reads
from .zeros import _mutated, is_adjoint, is_zeros_init


def optimize(statements, returned):
    """Rewrite ``statements`` (the adjoint part of a generated function, in order) in place until
    nothing changes; ``returned``: the names the function returns. Returns the statements."""
    while True:
        changed = _propagate_copies(statements)
        changed |= _remove_identities(statements)
        changed |= _start_without_zeros(statements)
        changed |= _remove_dead(statements, returned)
        changed |= _merge_accumulations(statements)
        if not changed:
            return statements


# -- copies ------------------------------------------------------------------------------------------
def _copy_source(s):
    """For ``X = Y`` or ``X = srt.first_adjoint(Y, like, fresh)`` with adjoints X, Y: (X, Y)."""
    if not (isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
            and is_adjoint(s.targets[0].id)):
        return None
    value = s.value
    if callee(value) == "srt.first_adjoint":
        value = value.args[0]
    if isinstance(value, ast.Name) and is_adjoint(value.id) and value.id != s.targets[0].id:
        return s.targets[0].id, value.id
    return None


def _propagate_copies(stmts):
    changed = False
    for k, s in enumerate(stmts):
        pair = _copy_source(s)
        if pair is not None:
            changed |= _substitute_after(stmts[k + 1:], *pair)
        for field in ("body", "orelse"):
            inner = getattr(s, field, None)
            if inner:
                changed |= _propagate_copies(inner)
    return changed


def _substitute_after(stmts, copy_name, original):
    """Replace value reads of ``copy_name`` by ``original`` in ``stmts`` while neither is assigned
    or written into; returns whether anything changed."""
    changed = False
    touched = {copy_name, original}
    for s in stmts:
        simple = isinstance(s, (ast.Assign, ast.AugAssign))
        changes = _assigned_names([s]) | _mutated([s])
        if not simple and changes & touched:
            return changed
        if simple:
            changed |= _replace_reads(s.value, copy_name, original)
        else:
            changed |= _replace_reads(s, copy_name, original)
        if changes & touched:
            return changed
    return changed


def _replace_reads(node, old, new):
    """Replace value reads (not type-and-shape reads) of ``old`` by ``new`` inside ``node``."""
    changed = False

    def visit(n, shape):
        nonlocal changed
        if isinstance(n, ast.Call):
            positions, names = shape_positions(n)
            for k, arg in enumerate(n.args):
                if isinstance(arg, ast.Name) and arg.id == old and not (shape or k in positions):
                    n.args[k] = ast.Name(new, ast.Load())
                    changed = True
                else:
                    visit(arg, shape or k in positions)
            for kw in n.keywords:
                visit(kw.value, shape or kw.arg in names)
            return
        for field, value in ast.iter_fields(n):
            if isinstance(value, ast.Name) and value.id == old and isinstance(value.ctx, ast.Load) \
                    and not shape:
                setattr(n, field, ast.Name(new, ast.Load()))
                changed = True
            elif isinstance(value, ast.AST):
                visit(value, shape)
            elif isinstance(value, list):
                for k, item in enumerate(value):
                    if isinstance(item, ast.Name) and item.id == old and \
                            isinstance(item.ctx, ast.Load) and not shape:
                        value[k] = ast.Name(new, ast.Load())
                        changed = True
                    elif isinstance(item, ast.AST):
                        visit(item, shape)
    visit(node, False)
    return changed


# -- accumulations ---------------------------------------------------------------------------------
def _merge_accumulations(stmts):
    return _each_block(stmts, _merge_in_block)


def _merge_in_block(stmts):
    changed = False
    k = 0
    while k < len(stmts):
        later = _next_accumulation(stmts, k)
        if later is None:
            k += 1
            continue
        first, second = stmts[k], stmts[later]
        second.value = (ast.BinOp(ast.Constant(2.0), ast.Mult(), first.value)
                        if same(first.value, second.value)
                        else ast.BinOp(first.value, ast.Add(), second.value))
        del stmts[k]
        changed = True
    return changed


def _each_block(stmts, rewrite):
    """``rewrite(block)`` on ``stmts`` and on every statement list inside it, inner ones first;
    whether any changed."""
    changed = False
    for s in stmts:
        for field in ("body", "orelse"):
            inner = getattr(s, field, None)
            if inner:
                changed |= _each_block(inner, rewrite)
    return rewrite(stmts) or changed


def _next_accumulation(stmts, k):
    """The position of the next ``+=`` into the target of ``stmts[k]`` (itself a ``+=`` into an
    adjoint) that ``stmts[k]``'s value can move down to, or None."""
    first = stmts[k]
    if not _accumulates(first):
        return None
    target = first.target
    base = target.value.id if isinstance(target, ast.Subscript) else target.id
    reads = _names(first.value) | _names(target)
    for j in range(k + 1, len(stmts)):
        s = stmts[j]
        if _accumulates(s) and same(s.target, target) \
                and getattr(s, "sg_origin", None) == getattr(first, "sg_origin", None):
            return j
        if not isinstance(s, (ast.Assign, ast.AugAssign)) or base in _names(s) \
                or _stored_names(s) & (reads | {base}):
            return None
    return None


def _accumulates(s):
    """``X += value`` or ``X[index] += value`` into an adjoint ``X``."""
    if not (isinstance(s, ast.AugAssign) and isinstance(s.op, ast.Add)):
        return False
    target = s.target.value if isinstance(s.target, ast.Subscript) else s.target
    return isinstance(target, ast.Name) and is_adjoint(target.id)


def _stored_names(s):
    """The names ``s`` assigns or writes into."""
    targets = s.targets if isinstance(s, ast.Assign) else [s.target]
    return {t.id for t in targets if isinstance(t, ast.Name)} | _mutated([s])


# -- identities ------------------------------------------------------------------------------------
def _remove_identities(stmts):
    return _each_block(stmts, _drop_identities)


def _drop_identities(stmts):
    kept = [s for s in stmts if not _identity(s)]
    changed = len(kept) != len(stmts)
    stmts[:] = kept
    return changed


def _identity(s):
    """``X = X``, possibly through ``srt.unbroadcast(X, X)`` and ``srt.first_adjoint(.., X, ..)``."""
    if not (isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)):
        return False
    name, value = s.targets[0].id, s.value
    while callee(value) in ("srt.first_adjoint", "srt.unbroadcast"):
        like = value.args[1]
        if not (isinstance(like, ast.Name) and like.id == name):
            return False
        value = value.args[0]
    return isinstance(value, ast.Name) and value.id == name and s.value is not value


# -- initialisations followed by an assignment -------------------------------------------------------
def _start_without_zeros(stmts):
    """``X = srt.zeros_like(v)`` followed (before any other mention of X) by
    ``X = srt.first_adjoint(E, X, f)`` where E reads X only for its shape: drop the zeros, and
    take the type and shape from ``v``. (Between the two, ``v`` can only be evaluated again or
    restored to the same version: a version's restore comes after its adjoint's contributions.)"""
    return _each_block(stmts, _start_in_block)


def _start_in_block(stmts):
    changed = False
    k = 0
    while k < len(stmts):
        s = stmts[k]
        if is_zeros_init(s):
            name, like = s.targets[0].id, s.value.args[0]
            nxt = next((j for j in range(k + 1, len(stmts)) if name in _names(stmts[j])
                        or name in _assigned_names([stmts[j]])), None)
            # (the argument may be evaluated again in between, or restored from a tape: its type
            # and shape are those it has at the initialisation, the only things read of it)
            if nxt is not None and _first_value(stmts[nxt], name):
                stmts[nxt].value = _replace_shape_reads(stmts[nxt].value, name, like)
                del stmts[k]
                changed = True
                continue
        k += 1
    return changed


def _first_value(s, name):
    return (isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
            and s.targets[0].id == name and name not in value_reads(s.value))


def _replace_shape_reads(node, name, like):
    class Replace(ast.NodeTransformer):
        def visit_Name(self, n):
            return copy.deepcopy(like) if n.id == name and isinstance(n.ctx, ast.Load) else n
    return Replace().visit(node)


# -- dead code -----------------------------------------------------------------------------------------
# Liveness is a pair of sets: adjoints whose *values* are read later, and adjoints read at all later
# (a type-and-shape read needs the variable to exist, not its values).
def _remove_dead(stmts, returned):
    dead = []
    _live_in(stmts, (set(returned), set(returned)), dead)
    if not dead:
        return False
    _drop(stmts, {id(s) for s in dead})
    return True


def _drop(stmts, ids):
    stmts[:] = [s for s in stmts if id(s) not in ids]
    for s in stmts:
        for field in ("body", "orelse"):
            inner = getattr(s, field, None)
            if inner is not None:
                _drop(inner, ids)
                if field == "body" and not inner:
                    inner.append(ast.Pass())


def _live_in(stmts, live, dead):
    """(value-live, live) before ``stmts`` given them after; collects dead adjoint assignments."""
    for s in reversed(stmts):
        live = _live_before(s, live, dead)
    return live


def _union(a, b):
    return a[0] | b[0], a[1] | b[1]


def _live_before(s, live, dead):
    if isinstance(s, ast.If):
        reads = _names(ast.Expr(s.test))
        return _union(_union(_live_in(s.body, live, dead), _live_in(s.orelse, live, dead)),
                      (reads, reads))
    if isinstance(s, (ast.For, ast.While)):
        head = live
        while True:                         # live at the head: after the loop, or in the body
            inner = _union(_live_in(s.body, head, []), head)
            if inner[0] <= head[0] and inner[1] <= head[1]:
                break
            head = inner
        _live_in(s.body, head, dead)
        reads = _names(ast.Expr(s.iter if isinstance(s, ast.For) else s.test))
        return _union(head, (reads, reads))
    value_live, any_live = live
    if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name) \
            and s.target.id.startswith(_COUNTERS) and s.target.id not in any_live:
        dead.append(s)                  # a tape's position that nothing reads any more
        return live
    if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name) \
            and not is_adjoint(s.targets[0].id) and s.targets[0].id not in any_live \
            and not _mutated([s]) - {s.targets[0].id}:
        dead.append(s)                  # a value restored from a tape that nothing reads any more
        return live
    if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name) \
            and is_adjoint(s.targets[0].id):
        name = s.targets[0].id
        if _zeroing(s):                 # zeros written into the memory it has: kept for values
            if name not in value_live:
                dead.append(s)
                return live
            return value_live - {name}, any_live | {name}
        if name not in any_live:
            dead.append(s)
            return live
        values = value_reads(s.value)
        return (value_live - {name}) | values, (any_live - {name}) | _names(s.value)
    reads = _names(s)
    return value_live | reads, any_live | reads


_COUNTERS = ("_top_", "_etop_")


def _zeroing(s):
    return callee(s.value) == "srt.zero"


def _names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _assigned_names(stmts):
    return {t.id for node in ast.walk(ast.Module(body=list(stmts), type_ignores=[]))
            if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)}
