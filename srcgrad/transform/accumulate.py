"""Start each adjoint with its first contribution instead of zeros followed by ``+=``.

The reverse sweep as first built gives every adjoint ``_bx = zeros_like(x)`` up front and then adds
each contribution. For an adjoint whose first use (in program order) is a contribution
``_bx += E`` at the top level of the sweep, this pass deletes the zeros and writes
``_bx = srt.first_adjoint(E, x, fresh)``: one allocation and one pass over memory fewer.

Two adjoints must not share memory while either can still change (a later ``+=`` on one would
change the other), so ``E`` is used as it is only when it is known to be a new array (arithmetic, or
a runtime helper that always allocates), or when it is another adjoint that, like the new one, is
never written in place afterwards and is not returned. Anything else (a user rule's result, ``dy``)
is copied.

The adjoint of a full ``sum``/``mean`` is one number at every position. When nothing changes the
adjoint afterwards (no ``+=``, no new binding, not returned), it becomes a read-only broadcast view of
that number (``srt.spread_sum``) instead of a filled array.
"""
import ast
import copy

from ..runtime import custom as namespace

_ALLOCATING = {"srt.sum_adjoint", "srt.mean_adjoint", "srt.dot_adjoint_a", "srt.dot_adjoint_b",
               "srt.matmul_adjoint_a", "srt.matmul_adjoint_b",
               "srt.outer_adjoint_a", "srt.outer_adjoint_b", "np.dot", "srt.ones_like", "srt.seed",
               "srt.seed_at"}
_PASSING = {"srt.unbroadcast"}      # its first argument when shapes match, else a new array


def fresh(node):
    """Whether ``node`` evaluates to a value no variable refers to."""
    if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Constant)):
        return True
    if isinstance(node, ast.Call):
        name = ast.unparse(node.func)
        if name in _ALLOCATING:
            return True
        if name in _PASSING:
            return fresh(node.args[0])
        if name.startswith("sgc."):
            return getattr(getattr(namespace, name[4:], None), "__srcgrad_fresh__", False)
    return False


def first_contributions(init, sweep, returned):
    """Rewrite ``init`` (the adjoint initialisations) and ``sweep`` (the statements after them) in
    place; ``returned``: the names the function returns."""
    starts = {}
    for s in init:
        if (isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
                and s.targets[0].id.startswith("_b") and isinstance(s.value, ast.Call)
                and ast.unparse(s.value.func) == "srt.zeros_like"):
            starts[s.targets[0].id] = s
    for k, stmt in enumerate(sweep):
        for name in _names(stmt) & set(starts):
            start = starts.pop(name)
            if not (isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add)
                    and isinstance(stmt.target, ast.Name) and stmt.target.id == name):
                continue
            like = start.value.args[0]
            value = _replace(stmt.value, name, like)
            later = sweep[k + 1:]
            read_only = not {name} & (_mutated(later) | _assigned(later) | returned)
            shared = _adjoint_name(stmt.value)
            if read_only and _full_reduction(value):
                # only read from here on: the value everywhere, as a broadcast view (no memory)
                spread = "srt.spread_sum" if ast.unparse(value.func) == "srt.sum_adjoint" \
                    else "srt.spread_mean"
                call = ast.Call(ast.Name(spread, ast.Load()), value.args[:2], [])
            else:
                unshared = fresh(stmt.value) or (
                    shared is not None and read_only and shared not in _mutated(later) | returned)
                call = ast.Call(ast.Name("srt.first_adjoint", ast.Load()),
                                [value, copy.deepcopy(like), ast.Constant(unshared)], [])
            new = ast.Assign(targets=[ast.Name(name, ast.Store())], value=call, lineno=0)
            if hasattr(stmt, "sg_origin"):
                new.sg_origin = stmt.sg_origin
            sweep[k] = new
            init.remove(start)


def _full_reduction(node):
    """Whether ``node`` is the adjoint of ``sum``/``mean`` over all elements (a number spread out)."""
    return (isinstance(node, ast.Call) and ast.unparse(node.func) in ("srt.sum_adjoint", "srt.mean_adjoint")
            and len(node.args) == 3 and isinstance(node.args[2], ast.Constant)
            and node.args[2].value is None)


def _assigned(stmts):
    """Names ``stmts`` bind anew (a read-only view must not meet a writable array in one variable)."""
    return {t.id for node in ast.walk(ast.Module(body=list(stmts), type_ignores=[]))
            if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)}


def _adjoint_name(node):
    """The adjoint ``node`` evaluates to (possibly through ``unbroadcast``), or None."""
    while isinstance(node, ast.Call) and ast.unparse(node.func) in _PASSING:
        node = node.args[0]
    return node.id if isinstance(node, ast.Name) and node.id.startswith("_b") else None


_WRITES_FIRST_ARGUMENT = ("srt.zero", "srt.add_at")      # calls that write into their argument


def _mutated(stmts):
    """Names whose arrays ``stmts`` may write in place: ``+=`` and element-write targets, adjoints
    reset to zero in place (``srt.zero``), and adjoints a shared view is made of."""
    names = set()
    for node in ast.walk(ast.Module(body=list(stmts), type_ignores=[])):
        targets = []
        if isinstance(node, ast.AugAssign):
            targets = [node.target]
        elif isinstance(node, ast.Assign):
            targets = [t for t in node.targets if isinstance(t, ast.Subscript)]
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in _WRITES_FIRST_ARGUMENT:
            targets = node.args[:1]
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id.startswith("_b")):
            targets += _viewed(node.value)
        for t in targets:
            while isinstance(t, ast.Subscript):
                t = t.value
            if isinstance(t, ast.Name):
                names.add(t.id)
    return names


def _viewed(value):
    """The adjoint an adjoint is made a view of (``_bb = _ba``, ``np.transpose(_ba)``,
    ``srt.view_adjoint(_ba, i, _bb)``: analysis/aliasing.py), which writes into it reach."""
    if isinstance(value, ast.Call) and ast.unparse(value.func) in ("np.transpose",
                                                                   "srt.view_adjoint"):
        value = value.args[0]
    return [value] if isinstance(value, ast.Name) and value.id.startswith("_b") else []


def _names(stmt):
    return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}


def _replace(node, name, like):
    """``node`` with uses of the adjoint ``name`` (shape-only ``like`` arguments) replaced."""
    class Replace(ast.NodeTransformer):
        def visit_Name(self, n):
            return copy.deepcopy(like) if n.id == name else n

        def generic_visit(self, n):     # a rule's recompute form (shape_only.py) too
            n = super().generic_visit(n)
            if hasattr(n, "sg_alternative"):
                n.sg_alternative = self.visit(n.sg_alternative)
            return n
    return Replace().visit(copy.deepcopy(node))
