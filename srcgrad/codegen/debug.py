"""Debug mode (``grad(f, debug_nans=True)``): stop at the first user line whose value or gradient
is not finite.

A nan in a gradient says nothing about where it came from: it spreads through every later
operation. This stage follows each generated assignment that carries a user line with
``srt.check_finite(target, "<file:line (in f)>: <the line>", "<what>")``, which raises
:class:`srcgrad.NonFiniteError` naming that line. The forward sweep checks values, the reverse
sweep gradients (adjoints, ``_b*``) and forward mode tangents (``_d*``), so the first check that
fails is the first operation, in the order the generated code runs, that made an inf or a nan. The
checks cost a pass over every array, so the mode is for finding a problem, not for production.
"""
import ast
import copy


def insert_checks(sections):
    """``sections`` ([(title, statements)]) with a finiteness check after every assignment that
    came from a user line. Statements are copied, never changed in place."""
    return [(title, _block(copy.deepcopy(stmts))) for title, stmts in sections]


def _block(stmts):
    out = []
    for s in stmts:
        for field in ("body", "orelse"):          # loops and branches
            if isinstance(getattr(s, field, None), list):
                setattr(s, field, _block(getattr(s, field)))
        out.append(s)
        check = _check(s)
        if check is not None:
            out.append(check)
    return out


def _check(s):
    origin = getattr(s, "sg_origin", None)
    if origin is None or not isinstance(s, (ast.Assign, ast.AugAssign)):
        return None
    targets = s.targets if isinstance(s, ast.Assign) else [s.target]
    if len(targets) != 1 or not isinstance(targets[0], (ast.Name, ast.Subscript)):
        return None
    target = targets[0]
    base = target
    while isinstance(base, ast.Subscript):
        base = base.value
    if not isinstance(base, ast.Name):
        return None
    what = ("gradient" if base.id.startswith("_b") else "tangent" if base.id.startswith("_d")
            else "value")
    where = f"{origin.where()}: {origin.text.strip()}"
    read = copy.deepcopy(target)
    for node in ast.walk(read):
        if hasattr(node, "ctx"):
            node.ctx = ast.Load()
    call = ast.Call(ast.Attribute(ast.Name("srt", ast.Load()), "check_finite", ast.Load()),
                    [read, ast.Constant(where), ast.Constant(what)], [])
    check = ast.Expr(call)
    check.sg_origin = origin
    return check
