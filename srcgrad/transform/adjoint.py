"""Assemble a complete adjoint function from the pipeline's stages.

normalise → activity → reverse transform → tapes → one function: forward sweep, adjoint
initialisation and seeding, reverse sweep, return. The result is a list of titled sections that
:mod:`srcgrad.codegen.emit` prints.
"""
import ast
from collections import defaultdict
from dataclasses import dataclass

from ..analysis.activity import active_variables
from ..analysis.aliasing import Aliases
from ..analysis.indices import integer_names
from ..analysis.recompute import recomputed
from ..analysis.shapes import unstable_names
from ..errors import ArgumentError
from ..front.ir import atom_base, callee, iter_assigns, statements
from ..front.normalize import normalize
from . import targets as targets_
from . import zeros
from .optimize import optimize
from .reverse import Reverse, adjoint_name, marker
from .shape_only import skip_unread_results
from .tape import Tapes, drop_dead_bookkeeping, prune

MODES = ("grad", "value_and_grad", "vjp", "gradients")


@dataclass
class Adjoint:
    name: str            # generated function name
    params: list         # its parameters
    defaults: dict       # parameter -> default value (numbers only), as in the user's function
    seed_param: object   # the output-cotangent parameter (dy, grad_ys) or None
    sections: list       # (title, statements)
    sources: list        # FunctionSource of the user function and every inlined helper
    user_name: str
    origin: object
    wrt: tuple = ()      # the differentiated parameters (float arguments, checked when called)


def build(fn, wrt, mode, stop_gradients=(), unconnected=None):
    """The adjoint of ``fn`` for ``mode`` (one of MODES)."""
    fsrc, params, body, results, ctx = normalize(fn)
    many = isinstance(wrt, (tuple, list)) or mode == "gradients"
    items = list(wrt) if isinstance(wrt, (tuple, list)) else [wrt]
    if not items:
        raise ArgumentError("wrt is empty: name at least one argument to differentiate")
    gradients_mode = mode == "gradients"
    targets = targets_.resolve(items, fsrc, params, body, allow_variables=gradients_mode)
    stopped = targets_.resolve(list(stop_gradients), fsrc, params, body, allow_variables=True,
                               purpose="stop_gradients")
    targets_.stop(stopped, body)
    aliases = Aliases(body)
    wrt_names = [t.name for t in targets]
    active = active_variables(body, wrt_names, results, aliases.flows())
    origin = fsrc.origin(fsrc.node)

    defs = defaultdict(int)
    for s in iter_assigns(body):
        if isinstance(s.targets[0], ast.Name):
            defs[s.targets[0].id] += 1
    for_targets = [s.target.id for s in statements(body) if isinstance(s, ast.For)]
    for t in for_targets:
        defs[t] += 1
    for p in params:
        defs[p] += 1
    # A range-loop variable is recomputed by the reverse sweep (never saved) when the loop is its only
    # definition and nothing after the loop reads its final value.
    recomputable = {s.target.id for s in statements(body) if isinstance(s, ast.For)
                    and defs[s.target.id] == 1 and s.target.id not in _loads_outside(body, s)}

    captured = {t.name: f"_grad_{t.name}" for t in targets if not t.param and t.name in active}
    ints = integer_names(body)
    reverse = Reverse(active, ctx.namer, captured, ints, aliases, unstable_names(body, ints),
                      recomputed(body, aliases, ints))
    fwd, rev = reverse.run(body, recomputable)
    entry = [marker("def", p, loops=[], origin=origin) for p in params]
    fwd = entry + fwd
    exclude = reverse.adjoints | reverse.reverse_indices | recomputable | set(reverse.recomputed)
    in_place = {s.value.args[0].id for s in iter_assigns(body)
                if callee(s.value) in ("srt.zero", "srt.add_at", "srt.put")
                and isinstance(s.value.args[0], ast.Name)}
    tapes = Tapes(fwd, rev, active, exclude, recomputable, aliases.members, in_place)
    fwd, rev = tapes.expand(fwd), prune(tapes.expand(rev), recomputable)

    # the caller's arrays are never written: a parameter whose memory is written is copied first
    prologue = [_parse(f"{p} = {p}.copy()") for p in params if aliases.is_written(p)]
    prologue += tapes.prologue()

    value_stmts, value_expr = [], None
    if mode == "value_and_grad":
        names = []
        for k, r in enumerate(results):
            name = "_value" if len(results) == 1 else f"_value{k}"
            text = ast.unparse(r)
            if aliases.is_written(atom_base(r) or "") or isinstance(r, ast.Subscript):
                text = f"srt.snapshot({text})"
            value_stmts.append(_parse(f"{name} = {text}"))
            names.append(name)
        value_expr = names[0] if len(names) == 1 else "(" + ", ".join(names) + ")"

    fn_params = list(params)
    seeds = []
    seed_name = {"vjp": "dy", "gradients": "grad_ys"}.get(mode)
    if seed_name:
        while seed_name in params:
            seed_name += "_"
        fn_params.append(seed_name)
    given, ones = [], []
    for k, r in enumerate(results):
        base = atom_base(r)
        if base is None or base not in active:
            continue
        text = ast.unparse(r)
        target = adjoint_name(base) + (text[len(base):] if isinstance(r, ast.Subscript) else "")
        dy = seed_name if len(results) == 1 or mode == "gradients" else f"{seed_name}[{k}]"
        pick = f"srt.seed_at({dy}, {k}, {text})" if mode == "gradients" else f"srt.seed({dy}, {text})"
        given.append(_seed(_parse(f"{target} += {pick}")))
        ones.append(_seed(_parse(f"{target} += srt.ones_like({text})")))
    if mode == "vjp":
        seeds = given
    elif mode == "gradients" and given:   # grad_ys defaults to ones, as in tf.gradients
        seeds = [ast.If(test=_parse(f"{seed_name} is None").value, body=ones, orelse=given)]
    else:
        seeds = ones

    used = _names(rev) | _names(seeds)
    init = []
    for v in sorted(active | set(wrt_names), key=_order(params)):
        b = adjoint_name(v)
        if v in wrt_names and v in params:
            init.append(_parse(f"{b} = srt.zeros_like(srt.check_float({v}))"))
        elif b in used or v in captured:
            init.append(_parse(f"{b} = srt.zeros_like({v})"))
        if v in captured:
            init.append(_parse(f"{captured[v]} = srt.zeros_like({v})"))

    grads = []
    for t in targets:
        if gradients_mode and t.name not in active and unconnected != "zero":
            grads.append("None")                      # tf.gradients' answer for no path
        elif t.param:
            grads.append(adjoint_name(t.name))
        else:
            grads.append(captured.get(t.name, f"srt.zeros_like({t.name})"))
    grads_expr = "(" + ", ".join(grads) + (",)" if len(grads) == 1 else ")") if many else grads[0]
    ret = grads_expr if mode != "value_and_grad" else f"{value_expr}, {grads_expr}"
    init = _start_in_branches(init, body, reverse.reverse_if)
    returned = _names([_parse(f"return {ret}")])
    init, seeds, rev = zeros.simplify(init, seeds, rev, returned)
    adjoint_code = init + [_SEEDS_END] + seeds + [_SWEEP] + rev
    optimize(adjoint_code, returned)
    cut, end = adjoint_code.index(_SEEDS_END), adjoint_code.index(_SWEEP)
    init, seeds, rev = adjoint_code[:cut], adjoint_code[cut + 1:end], adjoint_code[end + 1:]
    sections = [(None, prologue), ("forward sweep", fwd + value_stmts),
                ("adjoints start at zero; the output's adjoint is the seed", init + seeds),
                ("reverse sweep", rev), (None, [_parse(f"return {ret}")])]
    everything = [s for _, stmts in sections for s in stmts]
    skip_unread_results(fwd, everything, params)
    kept = drop_dead_bookkeeping(everything)
    kept_ids = {id(s) for s in kept}
    sections = [(t, [s for s in stmts if id(s) in kept_ids]) for t, stmts in sections]
    defaults = {}
    if mode == "gradients":
        defaults[seed_name] = None
    if mode != "vjp":       # the trailing dy of a vjp cannot follow parameters with defaults
        values = fsrc.fn.__defaults__ or ()
        for p, v in zip(params[len(params) - len(values):], values):
            if not isinstance(v, (bool, int, float)) and v is not None:
                raise ArgumentError(f"the default of {p!r} in {fsrc.name!r} is a "
                                    f"{type(v).__name__}; only numbers can be defaults")
            defaults[p] = v
    return Adjoint(name=f"{fsrc.name}_{mode}", params=fn_params, defaults=defaults,
                   seed_param=seed_name, sections=sections,
                   sources=ctx.sources, user_name=fsrc.name, origin=origin,
                   wrt=tuple(t.name for t in targets if t.param))


_SEEDS_END, _SWEEP = ast.Pass(), ast.Pass()      # where the sections meet, while optimised together


def _seed(stmt):
    stmt.sg_source = None           # a contribution with no cotangent to come from (zeros.py)
    return stmt


def _start_in_branches(init, body, reverse_if):
    """Move the start of each adjoint whose variable lives in one branch of an ``if`` (every
    definition and use inside it) to the start of that branch in the reverse sweep: where the
    branch did not run, the variable has no value to take a shape and type from."""
    where = {}                  # name -> innermost (if statement, branch) holding all its mentions
    for name, branch in _branches_of_mentions(body):
        where[name] = branch if name not in where else _common(where[name], branch)
    kept = []
    for stmt in init:
        target = stmt.targets[0].id if isinstance(stmt, ast.Assign) else None
        value = stmt.value.args[0] if isinstance(getattr(stmt, "value", None), ast.Call) else None
        name = value.id if isinstance(value, ast.Name) else None
        chain = where.get(name) if target and target.startswith("_b") else None
        if chain:
            if_stmt, field = chain[-1]
            getattr(reverse_if[id(if_stmt)], field).insert(0, stmt)
        else:
            kept.append(stmt)
    return kept


def _branches_of_mentions(stmts, chain=()):
    """(name, chain of (if statement, branch) around the mention) for every name mentioned."""
    for s in stmts:
        if isinstance(s, ast.If) and not getattr(s, "sg_exit", False):
            yield from ((n, chain) for n in _names([ast.Expr(s.test)]))
            for field in ("body", "orelse"):
                yield from _branches_of_mentions(getattr(s, field), chain + ((s, field),))
        elif isinstance(s, (ast.For, ast.While)):
            head = s.iter if isinstance(s, ast.For) else s.test
            yield from ((n, chain) for n in _names([ast.Expr(head)]))
            if isinstance(s, ast.For):
                yield s.target.id, chain
            yield from _branches_of_mentions(s.body, chain)
        else:
            yield from ((n, chain) for n in _names([s]))


def _common(a, b):
    """The longest common start of two chains of (if statement, branch)."""
    out = []
    for x, y in zip(a, b):
        if x[0] is not y[0] or x[1] != y[1]:
            break
        out.append(x)
    return tuple(out)


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
