"""Forward-mode helper: a tangent given the shape of the value it belongs to.

The tangent of ``x + Y`` when only ``x`` varies is ``_dx``, which has ``x``'s shape, not the
result's: an elementwise rule's term that does not involve the other operands keeps its own
operand's shape. ``expand_like(t, y)`` broadcasts it to ``y``'s shape, and is ``t`` itself (no
copy, decided when typed or by one shape comparison) when it has that shape already.
"""
import numpy as np
from numba.core import types
from numba.extending import overload


def expand_like(t, y):
    if np.shape(t) == np.shape(y):
        return t
    if not isinstance(y, np.ndarray):
        return np.sum(t)
    return np.broadcast_to(t, y.shape).copy()


@overload(expand_like)
def _ov_expand_like(t, y):
    t, y = types.unliteral(t), types.unliteral(y)
    if not isinstance(y, types.Array):
        return lambda t, y: t
    if not isinstance(t, types.Array):
        return lambda t, y: np.full(y.shape, t)
    if t.ndim == y.ndim and t.layout == "C":
        def impl_same(t, y):
            if t.shape == y.shape:
                return t
            return np.ascontiguousarray(np.broadcast_to(t, y.shape))
        return impl_same
    return lambda t, y: np.ascontiguousarray(np.broadcast_to(t, y.shape))
