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
the shape of a Numba internal (``srcgrad/compat.py``); elsewhere Numba keeps its own lowering.

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

from .. import compat
from ..errors import SrcgradError


def branch_free_broadcasting():
    """Within this block (holding Numba's compiler lock), array expressions broadcast by selects."""
    return compat.broadcasting_by_select()


VECTOR_WIDTH = os.environ.get("SRCGRAD_VECTOR_WIDTH", "512").strip() or "0"


@contextlib.contextmanager
def wide_vectors():
    """Within this block (holding Numba's compiler lock), each function Numba compiles asks LLVM's
    vectorizer for ``VECTOR_WIDTH``-bit vectors (a function attribute, as clang's
    ``-mprefer-vector-width`` sets it)."""
    if not VECTOR_WIDTH.isdigit():
        raise SrcgradError(
            f"SRCGRAD_VECTOR_WIDTH must be a number of bits (or 0), not {VECTOR_WIDTH!r}")
    with compat.prefer_vector_width(int(VECTOR_WIDTH)):
        yield
