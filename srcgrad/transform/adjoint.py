"""Assemble a complete adjoint function from the pipeline's stages.

normalise → activity → reverse transform → tapes → one function: forward sweep, adjoint
initialisation and seeding, reverse sweep, return. The result is a list of titled sections that
:mod:`srcgrad.codegen.emit` prints.
"""
import ast
from collections import defaultdict
from dataclasses import dataclass

from ..analysis.activity import active_variables, iter_assigns
from ..analysis.aliasing import check_aliasing
from ..errors import ArgumentError
from ..front.ir import atom_base
from ..front.normalize import normalize
from .reverse import Reverse, adjoint_name, marker
from .tape import Tapes, drop_dead_bookkeeping, prune

MODES = ("grad", "value_and_grad", "vjp")


@dataclass
class Adjoint:
    name: str            # generated function name
    params: list         # its parameters
    defaults: dict       # parameter -> default value (numbers only), as in the user's function
    sections: list       # (title, statements)
    sources: list        # FunctionSource of the user function and every inlined helper
    user_name: str
    origin: object


def resolve_wrt(fn_params, wrt, fname):
    """Positions of ``wrt`` (an int, a name, or a tuple of them) and whether it was a tuple."""
    many = isinstance(wrt, (tuple, list))
    items = list(wrt) if many else [wrt]
    if not items:
        raise ArgumentError("wrt is empty: name at least one argument to differentiate")
    positions = []
    for item in items:
        if isinstance(item, str):
            if item not in fn_params:
                raise ArgumentError(f"{fname!r} has no argument named {item!r} "
                                    f"(its arguments are {', '.join(fn_params)})")
            positions.append(fn_params.index(item))
        elif isinstance(item, int) and not isinstance(item, bool):
            if not -len(fn_params) <= item < len(fn_params):
                raise ArgumentError(f"wrt={item} is out of range: {fname!r} takes "
                                    f"{len(fn_params)} argument(s)")
            positions.append(item % len(fn_params))
        else:
            raise ArgumentError(f"wrt items must be argument positions or names, not {item!r}")
    return positions, many


def build(fn, wrt, mode):
    fsrc, params, body, results, ctx = normalize(fn)
    positions, many = resolve_wrt(fsrc.params(), wrt, fsrc.name)
    check_aliasing(body)
    wrt_names = [params[p] for p in positions]
    active = active_variables(body, wrt_names, results)
    origin = fsrc.origin(fsrc.node)

    defs = defaultdict(int)
    for s in iter_assigns(body):
        if isinstance(s.targets[0], ast.Name):
            defs[s.targets[0].id] += 1
    for_targets = [s.target.id for s in _walk(body) if isinstance(s, ast.For)]
    for t in for_targets:
        defs[t] += 1
    for p in params:
        defs[p] += 1
    # A range-loop variable is recomputed by the reverse sweep (never saved) when the loop is its only
    # definition and nothing after the loop reads its final value.
    recomputable = {s.target.id for s in _walk(body) if isinstance(s, ast.For)
                    and defs[s.target.id] == 1 and s.target.id not in _loads_outside(body, s)}
    written = {s.targets[0].value.id for s in iter_assigns(body) if s.sg_kind == "write"}

    reverse = Reverse(active, ctx.namer)
    fwd, rev = reverse.run(body, recomputable)
    entry = [marker("def", p, loops=[], origin=origin) for p in params]
    fwd = entry + fwd
    exclude = reverse.adjoints | reverse.reverse_indices | recomputable
    tapes = Tapes(fwd, rev, active, exclude, recomputable)
    fwd, rev = tapes.expand(fwd), prune(tapes.expand(rev), recomputable)

    prologue = [_parse(f"{p} = {p}.copy()") for p in params if p in written]
    prologue += tapes.prologue()

    value_stmts, value_expr = [], None
    if mode == "value_and_grad":
        names = []
        for k, r in enumerate(results):
            name = "_value" if len(results) == 1 else f"_value{k}"
            text = ast.unparse(r)
            if atom_base(r) in written or isinstance(r, ast.Subscript):
                text = f"srt.snapshot({text})"
            value_stmts.append(_parse(f"{name} = {text}"))
            names.append(name)
        value_expr = names[0] if len(names) == 1 else "(" + ", ".join(names) + ")"

    fn_params = list(params)
    seeds = []
    if mode == "vjp":
        seed_name = "dy"
        while seed_name in params:
            seed_name += "_"
        fn_params.append(seed_name)
    for k, r in enumerate(results):
        base = atom_base(r)
        if base is None or base not in active:
            continue
        text = ast.unparse(r)
        target = adjoint_name(base) + (text[len(base):] if isinstance(r, ast.Subscript) else "")
        if mode == "vjp":
            dy = seed_name if len(results) == 1 else f"{seed_name}[{k}]"
            seeds.append(_parse(f"{target} += srt.seed({dy}, {text})"))
        else:
            seeds.append(_parse(f"{target} += srt.ones_like({text})"))

    used = _names(rev) | _names(seeds)
    init = []
    for v in sorted(active | set(wrt_names), key=_order(params)):
        b = adjoint_name(v)
        if v in wrt_names:
            init.append(_parse(f"{b} = srt.zeros_like(srt.check_float({v}))"))
        elif b in used:
            init.append(_parse(f"{b} = srt.zeros_like({v})"))

    grads = [adjoint_name(w) for w in wrt_names]
    grads_expr = "(" + ", ".join(grads) + (",)" if len(grads) == 1 else ")") if many else grads[0]
    ret = grads_expr if mode != "value_and_grad" else f"{value_expr}, {grads_expr}"
    sections = [(None, prologue), ("forward sweep", fwd + value_stmts),
                ("adjoints start at zero; the output's adjoint is the seed", init + seeds),
                ("reverse sweep", rev), (None, [_parse(f"return {ret}")])]
    everything = [s for _, stmts in sections for s in stmts]
    kept = drop_dead_bookkeeping(everything)
    kept_ids = {id(s) for s in kept}
    sections = [(t, [s for s in stmts if id(s) in kept_ids]) for t, stmts in sections]
    defaults = {}
    if mode != "vjp":       # the trailing dy of a vjp cannot follow parameters with defaults
        values = fsrc.fn.__defaults__ or ()
        for p, v in zip(params[len(params) - len(values):], values):
            if not isinstance(v, (bool, int, float)) and v is not None:
                raise ArgumentError(f"the default of {p!r} in {fsrc.name!r} is a "
                                    f"{type(v).__name__}; only numbers can be defaults")
            defaults[p] = v
    return Adjoint(name=f"{fsrc.name}_{mode}", params=fn_params, defaults=defaults, sections=sections,
                   sources=ctx.sources, user_name=fsrc.name, origin=origin)


def _parse(text):
    return ast.parse(text).body[0]


def _names(stmts):
    return {n.id for s in stmts for n in ast.walk(s) if isinstance(n, ast.Name)}


def _order(params):
    def key(v):
        return (0, params.index(v), v) if v in params else (1, 0, v)
    return key


def _loads_outside(stmts, loop):
    """Names read anywhere in ``stmts`` except inside ``loop``'s body."""
    names = set()
    for s in stmts:
        if s is loop:
            names |= {n.id for n in ast.walk(s.iter) if isinstance(n, ast.Name)}
            continue
        if isinstance(s, (ast.If, ast.For, ast.While)):
            head = s.iter if isinstance(s, ast.For) else s.test
            names |= {n.id for n in ast.walk(head) if isinstance(n, ast.Name)}
            names |= _loads_outside(s.body, loop) | _loads_outside(s.orelse, loop)
        else:
            names |= {n.id for n in ast.walk(s) if isinstance(n, ast.Name)
                      and isinstance(n.ctx, ast.Load)}
    return names


def _walk(stmts):
    for s in stmts:
        yield s
        for field in ("body", "orelse"):
            yield from _walk(getattr(s, field, []) or [])
