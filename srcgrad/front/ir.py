"""The normalised form every later stage reads: plain ``ast`` nodes with a few ``sg_*`` attributes.

After normalisation a function body holds only these statements:

* ``v = value`` (``ast.Assign`` to a Name) with ``sg_kind``:
  ``"op"`` a primitive applied to atoms (``sg_rule``, ``sg_args``: parameter -> atom or expression),
  ``"copy"`` a single atom (a name, a constant or ``a[index]``), ``"nondiff"`` any expression with no
  derivative (comparisons, shapes, constructors such as ``np.zeros``);
* ``a[index] = atom`` (an element write, ``sg_kind == "write"``);
* ``if flag:`` on a name; ``for i in range(...)``; ``while test:``;
* ``if flags: break`` at the end of a loop body (``sg_exit``), left by the structuring pass.

An *atom* is a Name, a Constant, or ``name[index]`` where the index has no derivative. Each statement
carries ``sg_origin``, the user line it came from.
"""
import ast

# the runtime helpers that write into their first argument (every other call in generated or
# normalised code leaves its arguments as they are)
WRITES_FIRST_ARGUMENT = frozenset({"srt.zero", "srt.add_at", "srt.put", "srt.accumulate"})


def callee(node):
    """The dotted name ``node`` calls (``"srt.zero"`` for ``srt.zero(x)``, generated code's
    ``Name("srt.zero")`` or the user's ``np.sum``), or None: read from the tree, not by printing it."""
    return dotted(node.func) if isinstance(node, ast.Call) else None


def dotted(node):
    """``a.b.c`` for a Name or a chain of attributes on one, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def same(a, b):
    """Whether two trees are the same code (positions aside)."""
    return ast.dump(a) == ast.dump(b)


def assign(target, value, origin, kind, rule=None, args=None):
    node = ast.Assign(targets=[ast.Name(target, ast.Store())], value=value, lineno=0)
    node.sg_kind, node.sg_rule, node.sg_args, node.sg_origin = kind, rule, args, origin
    return node


def write(base, index, value, origin):
    node = ast.Assign(targets=[ast.Subscript(ast.Name(base, ast.Load()), index, ast.Store())],
                      value=value, lineno=0)
    node.sg_kind, node.sg_rule, node.sg_args, node.sg_origin = "write", None, None, origin
    return node


def mark_exit(test, origin):
    node = ast.If(test=test, body=[ast.Break()], orelse=[])
    node.sg_exit, node.sg_origin = True, origin
    return node


def is_exit(stmt):
    return getattr(stmt, "sg_exit", False)


def target_name(stmt):
    """The variable an Assign defines (for element writes: the array written)."""
    t = stmt.targets[0]
    return t.id if isinstance(t, ast.Name) else t.value.id


def atom_base(atom):
    """The variable an atom reads (``x`` for ``x`` and ``x[i]``), or None for a constant."""
    if isinstance(atom, ast.Name):
        return atom.id
    if isinstance(atom, ast.Subscript) and isinstance(atom.value, ast.Name):
        return atom.value.id
    return None


def operands(stmt):
    """(parameter, atom) pairs of a differentiable assignment, in order."""
    if stmt.sg_kind == "copy":
        return [("x", stmt.value)]
    if stmt.sg_kind == "op":
        return [(p, a) for p, a in stmt.sg_args.items() if p in stmt.sg_rule.adjoints]
    if stmt.sg_kind == "write":
        return [("x", stmt.value)]
    return []


def statements(stmts):
    """Every statement of a normalised body in text order, at any depth (a compound statement
    before the statements inside it)."""
    return (s for s, _ in nested(stmts))


def nested(stmts, loops=0):
    """(statement, how many loops of ``stmts`` are around it) for every statement, as
    :func:`statements` orders them: the one walker of statement lists."""
    for s in stmts:
        yield s, loops
        inner = loops + isinstance(s, (ast.For, ast.While))
        for field in ("body", "orelse"):
            yield from nested(getattr(s, field, []) or [], inner)


def leaves(stmts):
    """The statements of ``stmts`` that hold no others, in text order."""
    return (s for s in statements(stmts) if not isinstance(s, (ast.If, ast.For, ast.While)))


def iter_assigns(stmts):
    """Every assignment of a normalised body, in text order, at any depth."""
    return (s for s in statements(stmts) if isinstance(s, ast.Assign))


def names_in(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
