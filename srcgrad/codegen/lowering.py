"""How Numba lowers the array expressions of generated functions: broadcasting without branches.

Why: in Numba's loop over an array expression (``numba.np.npyimpl``), each operand's index along
each axis is updated under a branch, ``if shape[axis] > 1`` (a length-1 axis is broadcast and keeps
index 0). The condition does not change inside the loop, so LLVM unswitches it: one copy of the loop
per combination of conditions, each vectorized, with its own checks and remainder loops (for two
2-D operands, up to 16). An MLP gradient's four array expressions were about 1.3 s of its 2 s
compile. Written as a select (``index if shape[axis] > 1 else 0``), the loop is not copied per
combination: LLVM's time on that gradient went from 1.2 to 0.8 s, and the code runs as fast or
faster. The result is the same, element for element.

Numba's lowering is shared by all compiled code, so the select form is swapped in only while a
generated function compiles (under Numba's compiler lock, which every compile holds). It relies on
the shape of a Numba internal; a Numba whose helper looks different keeps its own lowering.
"""
import contextlib

from llvmlite import ir
from numba.core import types
from numba.np import npyimpl

_HELPER = getattr(npyimpl, "_ArrayIndexingHelper", None)
_KNOWN = (getattr(_HELPER, "_fields", None) == ("array", "indices")
          and hasattr(_HELPER, "update_indices")
          and {"builder", "context", "shape"}
          <= set(getattr(getattr(npyimpl, "_ArrayHelper", None), "_fields", ())))


def _update_indices_by_select(self, loop_indices, name):
    """``_ArrayIndexingHelper.update_indices`` with a select instead of a branch per axis."""
    builder = self.array.builder
    intp = self.array.context.get_value_type(types.intp)
    one, zero = ir.Constant(intp, 1), ir.Constant(intp, 0)
    # the operand's axes are the loop's innermost ones (outer axes are broadcast), as in Numba's
    indices = loop_indices[len(loop_indices) - len(self.indices):]
    for index, slot, length in zip(indices, self.indices, self.array.shape):
        builder.store(builder.select(builder.icmp_unsigned(">", length, one), index, zero), slot)


@contextlib.contextmanager
def branch_free_broadcasting():
    """Within this block (holding Numba's compiler lock), array expressions broadcast by selects."""
    if not _KNOWN:
        yield
        return
    branching = _HELPER.update_indices
    _HELPER.update_indices = _update_indices_by_select
    try:
        yield
    finally:
        _HELPER.update_indices = branching
