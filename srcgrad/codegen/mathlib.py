"""Which math library generated code calls: srcgrad's vectorizable one (the default) or libm.

The rules and the user's code name NumPy and ``math`` functions (``np.exp``, ``math.tanh``). Inside
Numba those are scalar libm calls, which LLVM cannot vectorize; srcgrad's own versions
(:mod:`srcgrad.runtime.vecmath`) are arithmetic that it can, within the accuracy documented there.
Just before printing, this stage renames the calls in the generated statements, so one table
decides, and ``set_math("libm")`` (or ``SRCGRAD_MATH=libm``) turns it off. The choice is part of
the generated text, so each setting has its own cached native code; it applies to functions
transformed after the call.
"""
import os

from ..errors import SrcgradError
from ..runtime.vecmath import REPLACES
from .rename import rename_calls

# a one-argument call as printed -> srcgrad's function (srcgrad.runtime is imported as srt)
SUBSTITUTES = {f"{module}.{name}": f"srt.{name}" for module in ("np", "math") for name in REPLACES}

LIBRARIES = ("srcgrad", "libm")
_current = os.environ.get("SRCGRAD_MATH", "srcgrad")


def set_math(library):
    """Choose the math library for functions transformed from now on: ``"srcgrad"`` (vectorizable
    exp, expm1, log, log1p and tanh, the default) or ``"libm"`` (the C library's, via Numba).
    Returns the previous choice."""
    global _current
    if library not in LIBRARIES:
        raise SrcgradError(f"set_math takes one of {LIBRARIES}, not {library!r}")
    previous, _current = _current, library
    return previous


def substitute(sections):
    """The generated ``sections`` ([(title, statements)]) with libm calls renamed to srcgrad's, or
    unchanged under ``set_math("libm")``. Statements are copied, never changed in place."""
    if _current not in LIBRARIES:
        raise SrcgradError(f"SRCGRAD_MATH must be one of {LIBRARIES}, not {_current!r}")
    if _current == "libm":
        return sections
    return rename_calls(sections, SUBSTITUTES, arity=1)
