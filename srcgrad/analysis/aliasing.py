"""Reject array aliases that would make element-write adjoints wrong.

``b = a`` (or ``b = a.T``, ``b = a[1:]``, ``b = a.reshape(...)``) makes ``b`` a second name for ``a``'s
memory. If either is then written element by element, a write through one name changes what the other
reads, but their adjoints are kept apart, so the gradient would be silently wrong. Such programs are
refused with a hint to copy. An alias is harmless when no write to either name can follow it (a helper
that fills an array and returns it, for instance), so only writes that may run after the alias count:
later in the text, or anywhere in a loop that also contains the alias. Temporaries made by
normalisation are exempt: they live within one statement, before its write.
"""
import ast

from ..errors import UnsupportedError, located
from ..front.ir import atom_base

_VIEW_RULES = {"np.transpose", "np.reshape", "np.ravel", "np.asarray"}


def _positions(stmts, loops=(), out=None):
    """(position, enclosing loop ids, statement) for every Assign, in execution-text order."""
    out = [] if out is None else out
    for s in stmts:
        if isinstance(s, ast.Assign):
            out.append((len(out), loops, s))
        inner = loops + (id(s),) if isinstance(s, (ast.For, ast.While)) else loops
        for field in ("body", "orelse"):
            _positions(getattr(s, field, []) or [], inner, out)
    return out


def check_aliasing(body):
    placed = _positions(body)
    writes = [(pos, loops, s.targets[0].value.id) for pos, loops, s in placed
              if s.sg_kind == "write"]
    if not writes:
        return
    for pos, loops, s in placed:
        if s.sg_kind == "write" or not isinstance(s.targets[0], ast.Name):
            continue
        target = s.targets[0].id
        source = _view_source(s)
        # temporaries (``_t3``) hold fresh values used once, so a copy out of one is no alias
        if target.startswith("_") or source is None or source.startswith("_"):
            continue
        for wpos, wloops, array in writes:
            follows = wpos > pos or bool(set(wloops) & set(loops))
            if array in (source, target) and follows:
                raise UnsupportedError(located(
                    f"{target!r} would share memory with {source!r}, and {array!r} is written "
                    "element by element afterwards, so their gradients could not be kept apart",
                    s.sg_origin, f"make a copy: {target} = {ast.unparse(s.value)}.copy()"
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
