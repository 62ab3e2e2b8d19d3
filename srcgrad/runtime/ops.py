"""Functions with a special meaning for differentiation, usable everywhere.

``stop_gradient(x)`` is the identity on values with a zero derivative (``tf.stop_gradient``). It
works on NumPy values from Python, inside functions srcgrad differentiates (its rule says it has no
derivative), and inside a user's ``@njit`` code.
"""
from numba.extending import overload


def stop_gradient(x):
    """``x`` itself, treated as a constant by differentiation."""
    return x


@overload(stop_gradient)
def _stop_gradient(x):
    return lambda x: x
