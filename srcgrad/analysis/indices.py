"""Which subscripts are basic: integers and slices, never an index array.

The adjoint of a read ``x[index]`` adds the read's cotangent back into ``_bx[index]``. With basic
indices that is ``_bx[index] += g``. With an index array that can repeat an index (a gather such as
``table[ids]``), ``+=`` in NumPy and Numba does *not* accumulate the repeats (the last one wins), so
the adjoint must scatter-add instead (:func:`srcgrad.runtime.scatter.add_at`). Whether a name holds
an integer or an array is only known when Numba types the code, so this pass proves what it can:
a name is an integer if every definition of it is an integer expression (loop indices, ``len``,
``.shape[k]``, arithmetic of integers); anything else may be an array, and its subscripts go
through the scatter helper, which picks plain ``+=`` at typing time when the index is basic after all.
"""
import ast

from ..front.ir import callee, statements

_INT_OPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)
_INT_CALLS = {"len", "int", "srt.trip"}


def integer_names(body):
    """The names of a normalised ``body`` that certainly hold Python/NumPy integers."""
    definitions = []                                # (name, value expression or None for range)
    for s in statements(body):
        if isinstance(s, ast.For) and isinstance(s.target, ast.Name):
            definitions.append((s.target.id, None))
        elif isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
            definitions.append((s.targets[0].id, s.value))
    ints = {name for name, _ in definitions}
    changed = True
    while changed:                  # optimistic start, so ``k = 0; ... k = k + 1`` is an integer
        changed = False
        for name, value in definitions:
            if name in ints and value is not None and not is_integer(value, ints):
                ints.discard(name)
                changed = True
    return ints


def is_integer(node, ints):
    """Whether the expression ``node`` is an integer, given the integer names ``ints``."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    if isinstance(node, ast.Name):
        return node.id in ints
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, _INT_OPS) and is_integer(node.left, ints) \
            and is_integer(node.right, ints)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.USub, ast.UAdd)) and is_integer(node.operand, ints)
    if isinstance(node, ast.IfExp):
        return is_integer(node.body, ints) and is_integer(node.orelse, ints)
    if isinstance(node, ast.Attribute):
        return node.attr in ("size", "ndim")
    if isinstance(node, ast.Subscript):         # x.shape[k]
        return isinstance(node.value, ast.Attribute) and node.value.attr == "shape"
    if isinstance(node, ast.Call):
        name = callee(node)
        if name in _INT_CALLS:
            return True
        if name in ("min", "max") and not node.keywords:
            return all(is_integer(a, ints) for a in node.args)
    return False


def is_basic(index, ints):
    """Whether a subscript's ``index`` holds only integers, slices, None and Ellipsis."""
    if isinstance(index, ast.Tuple):
        return all(is_basic(e, ints) for e in index.elts)
    if isinstance(index, ast.Slice):
        return True
    if isinstance(index, ast.Constant) and (index.value is None or index.value is Ellipsis):
        return True
    return is_integer(index, ints)


def as_value(index):
    """``index`` as an expression that can be passed to a function (slices as ``slice(...)``)."""
    if isinstance(index, ast.Tuple):
        return ast.Tuple([as_value(e) for e in index.elts], ast.Load())
    if isinstance(index, ast.Slice):
        parts = [p if p is not None else ast.Constant(None)
                 for p in (index.lower, index.upper, index.step)]
        return ast.Call(ast.Name("slice", ast.Load()), parts, [])
    return index
