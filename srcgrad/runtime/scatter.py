"""Adjoints of subscripts with an index array: scatter-add, and its use in element writes.

``x[idx]`` with ``idx = [0, 1, 0]`` reads ``x[0]`` twice, so the cotangent of ``x[0]`` is the sum of
both reads' cotangents. ``_bx[idx] += g`` does not give that: NumPy and Numba read ``_bx[idx]``,
add, and write back, so the last repeat wins. :func:`add_at` accumulates instead (``np.add.at``).

An element write ``h[idx] = v`` with a repeated index keeps only the last value written at that
position, so the earlier ones have no effect and no cotangent: :func:`take_written` gathers
``_bh[idx]`` with those entries zero.

Generated code calls these only where srcgrad cannot prove an index basic (integers and slices,
:mod:`srcgrad.analysis.indices`); they compile to plain ``+=`` and ``[]`` when the index turns out
basic after all. Index arrays follow NumPy's rules, which Numba's own indexing follows: one integer
array (any number of dimensions) among integers and slices; a boolean mask selects each position
once, so it needs nothing special.
"""
import numpy as np
from numba.core import types
from numba.core.errors import TypingError
from numba.extending import overload


def add_at(target, index, value):
    """``target[index] += value``, accumulating repeated indices; returns ``target``."""
    kinds, is_tuple = _python_kinds(index)
    if "array" not in kinds:
        target[index] += value
    else:
        _compiled("add_at", kinds, is_tuple, False, _array(index).ndim)(target, index, value)
    return target


def put(target, index, value):
    """``target[index] = value`` (where an index repeats, the last value stays); returns ``target``.
    It is the transpose of :func:`take_written`."""
    target[index] = value
    return target


def take_written(adjoint, index):
    """``adjoint[index]``, with 0 for each entry whose position a later entry of ``index`` also
    names (a write there was overwritten, so it reaches nothing)."""
    kinds, is_tuple = _python_kinds(index)
    if "array" not in kinds:
        return adjoint[index]
    cast = adjoint.dtype.kind != "f"
    return _compiled("take_written", kinds, is_tuple, cast, _array(index).ndim)(adjoint, index)


def _array(index):
    """The index array among ``index``'s components."""
    components = index if isinstance(index, tuple) else (index,)
    return next(c for c in components if isinstance(c, np.ndarray) and c.dtype.kind in "iu")


# -- the code, written per index layout: which component is the array, which are slices -----------
def _python_kinds(index):
    is_tuple = isinstance(index, tuple)
    kinds = [_python_kind(c) for c in (index if is_tuple else (index,))]
    return _checked(kinds), is_tuple


def _python_kind(c):
    if isinstance(c, slice):
        return "slice"
    if c is None:
        return "none"
    if isinstance(c, np.ndarray) and c.ndim > 0:
        return "array" if c.dtype.kind in "iu" else "mask" if c.dtype.kind == "b" else "bad"
    return "int"


def _numba_kinds(index):
    is_tuple = isinstance(index, types.BaseTuple)
    kinds = []
    for c in (index.types if is_tuple else (index,)):
        if isinstance(c, types.SliceType):
            kinds.append("slice")
        elif isinstance(c, (types.NoneType, types.Omitted)):
            kinds.append("none")
        elif isinstance(c, types.Array):
            kinds.append("array" if isinstance(c.dtype, types.Integer) else
                         "mask" if isinstance(c.dtype, types.Boolean) else "bad")
        else:
            kinds.append("int")
    return _checked(kinds, TypingError), is_tuple


def _checked(kinds, error=IndexError):
    if "bad" in kinds:
        raise error("srcgrad: index arrays must hold integers or booleans")
    if kinds.count("array") + kinds.count("mask") > 1:
        raise error("srcgrad: the gradient of a subscript with more than one index array is not "
                    "supported; index one axis with an array at a time")
    return kinds


def _first(kinds):
    """Where the index array's dimensions stand in the result. NumPy's rule (which Numba's indexing
    follows) for one array among integers and slices: at the first integer-or-array component if
    those are adjacent, else in front."""
    advanced = [k for k, kind in enumerate(kinds) if kind in ("int", "array")]
    if advanced != list(range(advanced[0], advanced[-1] + 1)):
        return 0
    return advanced[0]


def _source(name, kinds, is_tuple, ndim):
    """Source of the loop over the index array's entries, for one layout. For an index that is an
    array alone (``table[ids]``), the gathered shape is known without gathering."""
    p, first = kinds.index("array"), _first(kinds)
    end = first + ndim          # static, since Numba slices tuples with constant bounds only
    if is_tuple:
        basic = "(" + ", ".join("flat[k]" if k == p else f"index[{k}]" for k in range(len(kinds)))
        basic += ",)"
        array, axis = f"index[{p}]", p - kinds[:p].count("none")
        whole = "target[index].shape"
    else:
        basic, array, axis = "flat[k]", "index", 0
        whole = "index.shape + target.shape[1:]"
    lead = ":, " * first
    if name == "add_at":
        return f"""
def add_at(target, index, value):
    flat = np.ravel({array})
    whole = {whole}
    shape = whole[:{first}] + (flat.size,) + whole[{end}:]
    parts = np.ascontiguousarray(np.broadcast_to(value, whole)).reshape(shape)
    for k in range(flat.size):
        target[{basic}] += parts[{lead}k]
    return target
"""
    return f"""
def take_written(adjoint, index):
    flat = np.ravel({array})
    out = adjoint[index].astype(np.float64) if cast else np.copy(adjoint[index])
    shape = out.shape[:{first}] + (flat.size,) + out.shape[{end}:]
    parts = out.reshape(shape)
    n = adjoint.shape[{axis}]
    seen = np.zeros(n, np.bool_)
    for k in range(flat.size - 1, -1, -1):
        row = flat[k] % n
        if seen[row]:
            parts[{lead}k] = 0
        seen[row] = True
    return out
"""


_CODE = {}


def _compiled(name, kinds, is_tuple, cast, ndim):
    key = (name, tuple(kinds), is_tuple, cast, ndim)
    if key not in _CODE:
        scope = {"np": np, "cast": cast}
        exec(_source(name, kinds, is_tuple, ndim), scope)
        _CODE[key] = scope[name]
    return _CODE[key]


@overload(add_at)
def _ov_add_at(target, index, value):
    kinds, is_tuple = _numba_kinds(index)
    if "array" not in kinds:
        def impl_basic(target, index, value):
            target[index] += value
            return target
        return impl_basic
    return _compiled("add_at", kinds, is_tuple, False, _numba_array(index).ndim)


@overload(take_written)
def _ov_take_written(adjoint, index):
    kinds, is_tuple = _numba_kinds(index)
    if "array" not in kinds:
        return lambda adjoint, index: adjoint[index]
    cast = not isinstance(adjoint.dtype, types.Float)
    return _compiled("take_written", kinds, is_tuple, cast, _numba_array(index).ndim)


def _numba_array(index):
    components = index.types if isinstance(index, types.BaseTuple) else (index,)
    return next(c for c in components if isinstance(c, types.Array))


@overload(put)
def _ov_put(target, index, value):
    def impl(target, index, value):
        target[index] = value
        return target
    return impl
