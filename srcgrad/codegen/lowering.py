"""How Numba lowers and vectorizes generated functions: broadcasting without branches, wide vectors.

**Broadcasting.** In Numba's loop over an array expression (``numba.np.npyimpl``), each operand's
index along each axis is updated under a branch, ``if shape[axis] > 1`` (a length-1 axis is
broadcast and keeps index 0). The condition does not change inside the loop, so LLVM unswitches it:
one copy of the loop per combination of conditions, each vectorized, with its own checks and
remainder loops (for two 2-D operands, up to 16). An MLP gradient's four array expressions were
about 1.3 s of its 2 s compile. Written as a select (``index if shape[axis] > 1 else 0``), the loop
is not copied per combination: LLVM's time on that gradient went from 1.2 to 0.8 s, and the code
runs as fast or faster. The result is the same, element for element.

Numba's lowering is shared by all compiled code, so the select form is swapped in only while a
generated function compiles (under Numba's compiler lock, which every compile holds). It relies on
the shape of a Numba internal; a Numba whose helper looks different keeps its own lowering.

**Vector width.** LLVM vectorizes for 256-bit registers on x86 CPUs that have 512-bit ones (its
tuning for the clock drops of early AVX-512 chips). srcgrad's loops are dense arithmetic (its math
runtime is range reduction and polynomials), which 512-bit registers do in half the instructions:
on a 2-core AVX-512 Xeon, the tanh gradient at n = 1e6 took 0.69 ms instead of 0.84, the sigmoid's
0.61 instead of 0.77, softmax cross-entropy 1024x1000 0.85 instead of 0.99 (medians). The functions
compiled for a generated one ask LLVM for ``SRCGRAD_VECTOR_WIDTH`` bits (512 unless set; 0 keeps
LLVM's choice). The width changes no result: nothing is reassociated, each element is computed
alone, so a wide loop gives the bits of a narrow one. On a CPU without AVX-512 it changes nothing.
"""
import contextlib
import os

from llvmlite import ir
from numba.core import types
from numba.core.codegen import CPUCodeLibrary
from numba.np import npyimpl

from ..errors import SrcgradError

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


VECTOR_WIDTH = os.environ.get("SRCGRAD_VECTOR_WIDTH", "512").strip() or "0"


@contextlib.contextmanager
def wide_vectors():
    """Within this block (holding Numba's compiler lock), each function Numba compiles asks LLVM's
    vectorizer for ``VECTOR_WIDTH``-bit vectors (a function attribute, as clang's
    ``-mprefer-vector-width`` sets it)."""
    if not VECTOR_WIDTH.isdigit():
        raise SrcgradError(
            f"SRCGRAD_VECTOR_WIDTH must be a number of bits (or 0), not {VECTOR_WIDTH!r}")
    if VECTOR_WIDTH == "0":
        yield
        return
    attribute = f'"prefer-vector-width"="{VECTOR_WIDTH}"'
    add_ir_module = CPUCodeLibrary.add_ir_module

    def add_wide_ir_module(library, module):
        for function in module.functions:
            if not function.is_declaration:
                set.add(function.attributes, attribute)   # llvmlite checks names; LLVM takes this
        return add_ir_module(library, module)

    CPUCodeLibrary.add_ir_module = add_wide_ir_module
    try:
        yield
    finally:
        CPUCodeLibrary.add_ir_module = add_ir_module
