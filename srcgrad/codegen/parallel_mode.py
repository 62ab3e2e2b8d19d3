"""Parallel mode (``grad(f, parallel=True)``): the generated function compiled with Numba's
``parallel=True``, so each array expression runs as a multi-threaded, vectorized loop.

The gradient's bits do not depend on the thread count: elementwise work is per element, and every
order-sensitive reduction is renamed to its serial twin (:mod:`srcgrad.runtime.serial_twins`), which the
parallel pass leaves alone. Loops the user wrote stay serial, like everything inside runtime
helpers and ``srcgrad.nn`` kernels (which choose their own threading).
"""
from ..runtime.serial_twins import ORDER_SENSITIVE
from .cache import NUMBA_CACHE
from .rename import rename_calls

DECORATOR = f"@njit(cache={NUMBA_CACHE}, error_model='numpy', parallel=True)"

FUNCTIONS = {f"{module}.{name}": f"srt.serial_{name}" for module in ("np", "numpy")
             for name in ORDER_SENSITIVE}
FUNCTIONS.update({"srt.spread_sum": "srt.spread_sum_dense", "srt.spread_mean": "srt.spread_mean_dense"})
METHODS = {name: f"srt.serial_{name}" for name in ORDER_SENSITIVE}


def substitute(sections):
    """The generated ``sections`` with order-sensitive reductions and broadcast cotangents renamed
    to their parallel-mode twins."""
    return rename_calls(sections, FUNCTIONS, METHODS)
