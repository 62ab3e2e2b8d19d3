"""Which variables defined in a loop may change shape from one iteration to the next.

The reverse sweep gives each variable one adjoint, reset to zero where the reverse sweep passes the
variable's definition; in a loop, the next contributions are for the previous iteration's value.
If that value had another shape (``v = x[:i] * 2.0``), the adjoint must take that shape: for these
variables the reset makes a new zero adjoint shaped like the previous value, which the reverse sweep
then restores (so it is saved on a tape). Proving a shape stable spares everything else that cost.

A variable assigned in a loop may change shape if one of its definitions slices with bounds that
change in the loop (``x[:i]``), slices or reshapes a value that changes in the loop (``h = h[1:]``),
indexes with something that may be an array changing in the loop, builds an array whose size
changes (``np.zeros(i)``), or reads another variable that may change shape.
"""
import ast

from ..front.ir import callee, iter_assigns, names_in, statements
from .indices import is_integer

# constructors whose arguments give a shape (or a size)
_SIZED = {"np.zeros", "np.ones", "np.empty", "np.full", "np.arange", "np.linspace", "np.eye",
          "np.identity", "srt.reshape", "np.reshape", "np.tile", "np.repeat", "np.broadcast_to"}


def unstable_names(body, ints):
    """Names assigned in loops of ``body`` whose shape may differ between iterations; ``ints``:
    the names that certainly hold integers."""
    unstable = set()
    for loop in (s for s in statements(body) if isinstance(s, (ast.For, ast.While))):
        varying = _assigned(loop.body) | ({loop.target.id} if isinstance(loop, ast.For) else set())
        defs = list(iter_assigns(loop.body))
        changed = True
        while changed:
            changed = False
            for s in defs:
                name = s.targets[0].id if isinstance(s.targets[0], ast.Name) else None
                if name is None or name in unstable:
                    continue
                if _may_change(s.value, varying, unstable, ints):
                    unstable.add(name)
                    changed = True
    return unstable


def _may_change(value, varying, unstable, ints):
    """Whether ``value``'s shape may change between iterations of a loop assigning ``varying``."""
    if _reduces_fully(value):
        return False                # a number, whatever it reduces
    if names_in(value) & unstable:
        return True
    for node in ast.walk(value):
        if isinstance(node, ast.Subscript):
            base = node.value
            parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            for part in parts:
                if isinstance(part, ast.Slice):
                    if names_in(part) & varying or names_in(base) & varying:
                        return True
                elif names_in(part) & varying and not is_integer(part, ints):
                    return True     # may be an index array whose length changes
        name = callee(node)
        if name in _SIZED:
            if any(names_in(a) & varying for a in node.args[1 if "reshape" in name else 0:]):
                return True
            if "reshape" in name and names_in(node.args[0]) & varying:
                return True
    return False


def _reduces_fully(value):
    """Whether ``value`` is a reduction over all axes (``np.sum(x)``, ``np.max(x, None)``)."""
    if not isinstance(value, ast.Call) or len(value.args) != 2:
        return isinstance(value, ast.Call) and len(value.args) == 1 and callee(value) in (
            "np.sum", "np.mean", "srt.mean", "srt.amax", "srt.amin", "np.max", "np.min",
            "np.linalg.norm", "float")
    axis = value.args[1]
    return (callee(value) in ("np.sum", "np.mean", "srt.mean", "srt.amax", "srt.amin")
            and isinstance(axis, ast.Constant) and axis.value is None)


def _assigned(stmts):
    """Names bound anew in ``stmts`` (element writes change values, not shapes)."""
    return {s.targets[0].id for s in iter_assigns(stmts) if isinstance(s.targets[0], ast.Name)}
