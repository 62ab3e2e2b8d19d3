"""Reject array aliases that would make element-write adjoints wrong.

``b = a`` (or ``b = a.T``, ``b = a[1:]``, ``b = a.reshape(...)``) makes ``b`` a second name for ``a``'s
memory. If either is then written element by element, a write through one name changes what the other
reads, but their adjoints are kept apart, so the gradient would be silently wrong. Such programs are
refused with a hint to copy. Temporaries made by normalisation are exempt: they live within one
statement, before its write.
"""
import ast

from ..errors import UnsupportedError, located
from ..front.ir import atom_base
from .activity import iter_assigns

_VIEW_RULES = {"np.transpose", "np.reshape", "np.ravel", "np.asarray"}


def check_aliasing(body):
    assigns = list(iter_assigns(body))
    written = {s.targets[0].value.id for s in assigns if s.sg_kind == "write"}
    if not written:
        return
    for s in assigns:
        if s.sg_kind == "write" or not isinstance(s.targets[0], ast.Name):
            continue
        target = s.targets[0].id
        if target.startswith("_"):
            continue
        source = _view_source(s)
        if source is None:
            continue
        if source in written or target in written:
            array = source if source in written else target
            raise UnsupportedError(located(
                f"{target!r} would share memory with {source!r}, and {array!r} is written element "
                "by element, so their gradients could not be kept apart", s.sg_origin,
                f"make a copy: {target} = {ast.unparse(s.value)}.copy()"
                if s.sg_kind == "copy" else "call .copy() on the result"))


def _view_source(s):
    """The variable whose memory ``s``'s result may share, or None."""
    if s.sg_kind == "copy":
        value = s.value
        if isinstance(value, ast.Name):
            return value.id
        if isinstance(value, ast.Subscript) and _has_slice(value.slice):
            return atom_base(value)
        return None
    if s.sg_kind == "op" and s.sg_rule.key in _VIEW_RULES:
        first = next(iter(s.sg_args.values()))
        return atom_base(first)
    return None


def _has_slice(index):
    return any(isinstance(n, ast.Slice) for n in ast.walk(index))
