"""Adjoints that share memory the way their primal values do (see :mod:`srcgrad.analysis.aliasing`).

``b = a[i]`` is a view of ``a``'s memory when ``a`` has more dimensions than ``i`` has integers,
and a number (a copy) otherwise; with an index array it is a new array (a gather). Only Numba's
types tell which, so generated code asks these helpers, which are constants once typed:

- ``view_adjoint(_ba, i, _bb)``: ``_ba[i]`` (the same view of ``a``'s adjoint, so cotangents added
  to ``b`` land in ``a``'s) when ``a[i]`` is a view, else ``b``'s own adjoint ``_bb``; with an
  empty index, the view of the adjoint given (``b = a``, ``b = a.T``);
- ``is_copy(_ba, i)``: whether ``a[i]`` is a copy, whose cotangent is added to ``_ba[i]`` where it
  was read (for a view there is nothing to add: it is already there);
- ``refuse_view(a, i, message)``: stops the compile with ``message`` when ``a[i]`` is a view that
  srcgrad cannot follow; nothing happens for a number or a copy.
"""
import numpy as np
from numba.core import types
from numba.core.errors import TypingError
from numba.extending import overload

from .scatter import _numba_kinds, _python_kinds


def view_adjoint(base, index, own):
    if index == () and isinstance(base, np.ndarray):
        return base
    return base[index] if _is_view_py(base, index) else own


view_adjoint.__srcgrad_no_rule__ = (
    "a derivative of a derivative through a view that is read after its memory is written "
    "(an adjoint shared with the view's base) is not supported; make a copy of the view in the "
    "differentiated function")


def is_copy(base, index):
    return not _is_view_py(base, index)


def refuse_view(base, index, message):
    if _is_view_py(base, index):
        raise TypeError(message)


def _is_view_py(base, index):
    if not isinstance(base, np.ndarray):
        return False
    kinds, _ = _python_kinds(index)
    return "array" not in kinds and "mask" not in kinds and kinds.count("int") < base.ndim


def _is_view(base, index):
    """Whether ``base[index]`` is a view of ``base`` (from Numba types)."""
    if not isinstance(base, types.Array):
        return False
    kinds, _ = _numba_kinds(index)
    return "array" not in kinds and "mask" not in kinds and kinds.count("int") < base.ndim


@overload(view_adjoint)
def _ov_view_adjoint(base, index, own):
    if isinstance(index, types.BaseTuple) and not index.types and isinstance(base, types.Array):
        return lambda base, index, own: base            # b = a, b = a.T: the view itself
    if _is_view(base, index):
        return lambda base, index, own: base[index]
    return lambda base, index, own: own


@overload(is_copy)
def _ov_is_copy(base, index):
    answer = not _is_view(base, index)
    return lambda base, index: answer


@overload(refuse_view, prefer_literal=True)
def _ov_refuse_view(base, index, message):
    if _is_view(base, index):
        raise TypingError("srcgrad-unsupported: " + getattr(message, "literal_value", str(message)))
    return lambda base, index, message: None
