"""Activity analysis: which variables need an adjoint.

A variable is *varied* if its value depends differentiably on a ``wrt`` argument, and *useful* if the
output depends differentiably on it; it is *active* if both. Only active variables get adjoints and
only active operands receive cotangents, so an integer counter, a shape, or a weight that is not
differentiated costs nothing in the reverse sweep. The analysis is flow-insensitive (a variable is
active if any of its definitions is), which is safe and, for numeric code, rarely less precise.
"""

from ..front.ir import atom_base, iter_assigns, operands, target_name


def _flows(stmts):
    """(target, [operand variables]) for each differentiable data flow."""
    flows = []
    for s in iter_assigns(stmts):
        if s.sg_kind in ("op", "copy", "write"):
            sources = [atom_base(a) for _, a in operands(s)]
            flows.append((target_name(s), [v for v in sources if v]))
    return flows


def active_variables(body, wrt, results, extra_flows=()):
    """``extra_flows``: more (target, [sources]) pairs, such as a view's base depending on the view
    (:meth:`srcgrad.analysis.aliasing.Aliases.flows`)."""
    flows = _flows(body) + list(extra_flows)
    varied = set(wrt)
    changed = True
    while changed:
        changed = False
        for target, sources in flows:
            if target not in varied and any(v in varied for v in sources):
                varied.add(target)
                changed = True
    useful = {atom_base(r) for r in results if atom_base(r)}
    changed = True
    while changed:
        changed = False
        for target, sources in flows:
            if target in useful:
                for v in sources:
                    if v not in useful:
                        useful.add(v)
                        changed = True
    return varied & useful
