"""Matrix products in generated code call srcgrad's cached kernel (``srt.matmul``, ``srt.dot``).

Written inline, ``a @ b`` makes Numba compile NumPy's matrix product again inside every new
generated function (about 0.5 s of an MLP gradient's compile). srcgrad's twins send float arrays
of one dtype to one ``@njit(cache=True)`` kernel (:mod:`srcgrad.runtime.linalg`), compiled once per
signature on a machine and loaded from Numba's disk cache after that; anything else is the plain
product. The renamed calls are ordinary calls, so parallel mode leaves them serial too.
"""
import ast

from .rename import rename_calls

FUNCTIONS = {"np.dot": "srt.dot", "numpy.dot": "srt.dot", "np.matmul": "srt.matmul",
             "numpy.matmul": "srt.matmul"}
OPERATORS = {ast.MatMult: "srt.matmul"}


def substitute(sections):
    """The generated ``sections`` with two-operand products renamed to srcgrad's twins."""
    return rename_calls(sections, FUNCTIONS, arity=2, operators=OPERATORS)
