"""Arrays filled once: element writes whose overwritten value nothing reads.

The reverse sweep normally saves each element an element write overwrites and gives it back (a tape
per write site), and clears the element's adjoint after the write's own contribution. Both serve a
read of the *old* value. The loop code Numba users write to fill an array has none::

    y = np.zeros_like(x)
    y[0] = x[0]
    for i in range(1, n):
        y[i] = a * y[i - 1] + x[i]

Each element is written once, and every read sees an element already written (or the allocation's
constant, which has no derivative). This pass proves that for the simple, common shape, and the
reverse transform then writes neither tape nor clear, as an expert does. The proof, for an array
``y`` allocated once at the top level (``np.zeros``, ``np.empty``, ... ; no other name shares its
memory):

- before one top-level ``for i in range(start, stop)`` loop with constant ``start`` and step 1:
  writes ``y[c] = ...`` with distinct constants ``0 <= c < start + a``, and reads ``y[c]`` of
  constants written already;
- in that loop (its ifs included, no nested loop touching ``y``, ``i`` never assigned): writes
  ``y[i + a] = ...``, one per iteration (several only on opposite sides of an ``if``), and reads ``y[i + b]`` with ``b < a`` and ``start + b >= 0`` (so no read wraps
  around to the end, and none sees an element the loop writes later);
- after the loop: only reads (operands of arithmetic, subscripts, arguments of NumPy functions and
  runtime helpers that do not write into them).

Anything else and the array keeps its tapes (correct, only slower).
"""
import ast

from ..front.ir import WRITES_FIRST_ARGUMENT, callee, statements

ALLOCATIONS = {f"np.{name}" for name in ("zeros", "empty", "ones", "full", "zeros_like",
                                         "empty_like", "ones_like", "full_like")}


def filled_once(body, members):
    """The element-write statements of a normalised ``body`` (by ``id``) that overwrite nothing
    any read sees; ``members(name)``: the names that may share memory with ``name``."""
    sites = set()
    assigned = _assigned_counts(body)
    for k, s in enumerate(body):
        if (isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
                and callee(s.value) in ALLOCATIONS):
            name = s.targets[0].id
            if assigned.get(name) == 1 and members(name) == {name}:
                sites |= _fill_sites(name, body[k + 1:])
    return sites


def _assigned_counts(body):
    counts = {}
    for s in statements(body):
        targets = s.targets if isinstance(s, ast.Assign) else \
            [s.target] if isinstance(s, (ast.AugAssign, ast.For)) else []
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    counts[n.id] = counts.get(n.id, 0) + 1
    return counts


def _fill_sites(name, rest):
    written, sites, loop_seen = set(), set(), False
    for s in rest:
        if not _mentions(s, name):
            continue
        if loop_seen:
            if not _only_reads(s, name):
                return set()
            continue
        c = _constant_write(s, name)
        if c is not None and c not in written:
            written.add(c)
            sites.add(id(s))
            continue
        if not isinstance(s, (ast.For, ast.While, ast.If)) and _reads_written(s, name, written):
            continue
        loop = _loop_fill(s, name, written)
        if loop is None:
            if not _only_reads(s, name):
                return set()
        else:
            sites |= {id(w) for w in loop}
        loop_seen = True
    return sites


def _loop_fill(loop, name, written):
    """The writes of ``loop`` that fill ``name`` (one per iteration), or None."""
    if not (isinstance(loop, ast.For) and isinstance(loop.target, ast.Name)
            and callee(loop.iter) == "range" and 1 <= len(loop.iter.args) <= 2
            and not loop.orelse):
        return None
    i = loop.target.id
    start = loop.iter.args[0] if len(loop.iter.args) == 2 else ast.Constant(0)
    if not (isinstance(start, ast.Constant) and type(start.value) is int):
        return None
    writes, reads = [], []
    for s, branches in _with_branches(loop.body):
        if isinstance(s, (ast.For, ast.While)) and _mentions(s, name):
            return None
        if isinstance(s, (ast.Assign, ast.AugAssign, ast.For)) and _stores(s, i):
            return None
        head = s.test if isinstance(s, (ast.If, ast.While)) else s.iter if isinstance(s, ast.For) \
            else s                                  # (a compound statement's body comes later)
        if _bare_uses(head, name):
            return None
        for node in ast.walk(head):
            if isinstance(node, ast.Subscript) and _is(node.value, name):
                offset = _offset(node.slice, i)
                if offset is None:
                    return None
                (writes if isinstance(node.ctx, ast.Store) else reads).append((offset, s, branches))
    offsets = {a for a, _, _ in writes}
    if len(offsets) != 1 or not all(isinstance(s, ast.Assign) for _, s, _ in writes):
        return None
    if not all(_exclusive(p, q) for k, (_, _, p) in enumerate(writes) for _, _, q in writes[k + 1:]):
        return None                     # one iteration may write its element twice
    a = offsets.pop()
    first = start.value + a
    if first < 0 or any(c >= first for c in written):
        return None
    if any(b >= a or start.value + b < 0 for b, _, _ in reads):
        return None
    return [s for _, s, _ in writes]


def _with_branches(stmts, branches=()):
    """(statement, the (if, side) pairs it lies under) for every statement of ``stmts``."""
    for s in stmts:
        yield s, branches
        if isinstance(s, ast.If):
            yield from _with_branches(s.body, branches + ((id(s), True),))
            yield from _with_branches(s.orelse, branches + ((id(s), False),))
        elif isinstance(s, (ast.For, ast.While)):
            yield from _with_branches(s.body + s.orelse, branches)


def _exclusive(p, q):
    """Whether statements under the branches ``p`` and ``q`` never both run: opposite sides of
    one ``if``."""
    sides = dict(p)
    return any(sides.get(test, side) != side for test, side in q)


def _offset(index, i):
    """``a`` for an index ``i``, ``i + a`` or ``i - a`` (``a`` an integer constant), else None."""
    if _is(index, i):
        return 0
    if (isinstance(index, ast.BinOp) and isinstance(index.op, (ast.Add, ast.Sub))
            and _is(index.left, i) and isinstance(index.right, ast.Constant)
            and type(index.right.value) is int):
        return index.right.value if isinstance(index.op, ast.Add) else -index.right.value
    return None


def _constant_write(s, name):
    """``c`` for ``name[c] = value`` (``c`` a constant integer >= 0, ``value`` not reading
    ``name``), else None."""
    if not (isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Subscript)
            and _is(s.targets[0].value, name) and not _mentions(s.value, name)):
        return None
    index = s.targets[0].slice
    if isinstance(index, ast.Constant) and type(index.value) is int and index.value >= 0:
        return index.value
    return None


def _reads_written(s, name, written):
    """Whether every mention of ``name`` in ``s`` reads an element ``name[c]`` already written."""
    subscripts = [n for n in ast.walk(s) if isinstance(n, ast.Subscript) and _is(n.value, name)]
    return (not _bare_uses(s, name)
            and all(isinstance(n.ctx, ast.Load) and isinstance(n.slice, ast.Constant)
                    and n.slice.value in written for n in subscripts))


def _only_reads(s, name):
    """Whether ``s`` mentions ``name`` only to read it: an operand of arithmetic or a comparison,
    a subscript read, an argument of a NumPy function or runtime helper that leaves it as it is
    (never a write, a user's function, or a new name for its memory)."""
    for node in ast.walk(s):
        if isinstance(node, ast.Subscript) and _is(node.value, name) \
                and not isinstance(node.ctx, ast.Load):
            return False
        if isinstance(node, ast.Call) and any(_is(arg, name) for arg in node.args) \
                and (callee(node) in WRITES_FIRST_ARGUMENT
                     or not (callee(node) or "").startswith(("np.", "srt.", "math."))):
            return False
        if isinstance(node, ast.Call) and any(_is(k.value, name) for k in node.keywords):
            return False
    return not _bare_uses(s, name, allowed=(ast.BinOp, ast.UnaryOp, ast.Compare, ast.Subscript,
                                            ast.Call))


def _bare_uses(s, name, allowed=(ast.Subscript,)):
    """Whether ``name`` appears in ``s`` other than as the array of a subscript (or, with
    ``allowed``, as an operand of those node types)."""
    for parent in ast.walk(s):
        for child in ast.iter_child_nodes(parent):
            if _is(child, name):
                if not isinstance(parent, allowed):
                    return True
                if isinstance(parent, ast.Subscript) and parent.value is not child:
                    return True         # used as an index
    return False


def _mentions(node, name):
    return any(_is(n, name) for n in ast.walk(node))


def _stores(s, name):
    targets = s.targets if isinstance(s, ast.Assign) else [s.target]
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
               for t in targets for n in ast.walk(t))


def _is(node, name):
    return isinstance(node, ast.Name) and node.id == name
