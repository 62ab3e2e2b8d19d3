"""Reverse mode's three stages, which ``srcgrad/pipeline.py`` runs in order.

``analyse`` finds what the transform needs (aliasing, activity, integers, shapes, what the reverse
sweep evaluates again); ``transform`` writes one function: forward sweep, tapes, adjoints started
at zero and seeded, reverse sweep, return; ``optimise`` makes it read like hand-written code
(symbolic zeros, copy propagation, dead code, forward work read only for its shape).
"""
import ast
from collections import defaultdict
from dataclasses import dataclass

from ..analysis.activity import active_variables
from ..analysis.aliasing import Aliases
from ..analysis.fills import filled_once
from ..analysis.indices import integer_names
from ..analysis.recompute import recomputed
from ..analysis.shapes import unstable_names
from ..errors import ArgumentError
from ..front.ir import WRITES_FIRST_ARGUMENT, atom_base, callee, iter_assigns, statements
from . import targets as targets_
from . import zeros
from .optimize import optimize
from .reverse import Reverse, adjoint_name, marker
from .shape_only import skip_unread_results
from .taping import Tapes, drop_dead_bookkeeping, inline_flags, prune

MODES = ("grad", "value_and_grad", "vjp", "gradients")


@dataclass
class Facts:
    """What the analyses found about a normalised function, for the reverse transform."""
    targets: list        # the resolved ``wrt`` items (transform/targets.py)
    aliases: object      # alias classes of views (analysis/aliasing.py)
    active: set          # variables on a path from a ``wrt`` item to an output
    recomputable: set    # range-loop variables the reverse sweep evaluates again
    captured: dict       # intermediate ``wrt`` variable -> the name its gradient is kept in
    ints: set            # variables that only ever hold integers
    unstable: set        # variables whose shape may change between iterations
    recomputed: object   # values the reverse sweep evaluates again instead of taping
    fills: set           # element writes that overwrite nothing read (analysis/fills.py), by id

    @property
    def wrt_names(self):
        return [t.name for t in self.targets]


@dataclass
class Adjoint:
    """The generated function, in parts: the optimiser rewrites them, ``sections`` prints them."""
    name: str            # generated function name
    params: list         # its parameters
    defaults: dict       # parameter -> default value (numbers only), as in the user's function
    seed_param: object   # the output-cotangent parameter (dy, grad_ys) or None
    sources: list        # FunctionSource of the user function and every inlined helper
    user_name: str
    origin: object
    wrt: tuple           # the differentiated parameters (float arguments, checked when called)
    prologue: list       # copies of written arguments, tapes' room
    forward: list        # the forward sweep (and the values value_and_grad returns)
    init: list           # adjoints' starts
    seeds: list          # the outputs' adjoints seeded
    sweep: list          # the reverse sweep
    ret: ast.Return
    returned: set        # the names ``ret`` reads

    @property
    def sections(self):
        """(title, statements) for the printer."""
        return [(None, self.prologue), ("forward sweep", self.forward),
                ("adjoints start at zero; the output's adjoint is the seed", self.init + self.seeds),
                ("reverse sweep", self.sweep), (None, [self.ret])]


def analyse(function, wrt, mode, stop_gradients=()):
    """The facts the reverse transform of ``function`` (normalised) needs for ``wrt``."""
    fsrc, params, body, results, ctx = function
    items = list(wrt) if isinstance(wrt, (tuple, list)) else [wrt]
    if not items:
        raise ArgumentError("wrt is empty: name at least one argument to differentiate")
    targets = targets_.resolve(items, fsrc, params, body, allow_variables=mode == "gradients")
    stopped = targets_.resolve(list(stop_gradients), fsrc, params, body, allow_variables=True,
                               purpose="stop_gradients")
    targets_.stop(stopped, body)
    aliases = Aliases(body)
    wrt_names = [t.name for t in targets]
    active = active_variables(body, wrt_names, results, aliases.flows())

    defs = defaultdict(int)
    for s in iter_assigns(body):
        if isinstance(s.targets[0], ast.Name):
            defs[s.targets[0].id] += 1
    for s in statements(body):
        if isinstance(s, ast.For):
            defs[s.target.id] += 1
    for p in params:
        defs[p] += 1
    # A range-loop variable is recomputed by the reverse sweep (never saved) when the loop is its only
    # definition and nothing after the loop reads its final value.
    recomputable = {s.target.id for s in statements(body) if isinstance(s, ast.For)
                    and defs[s.target.id] == 1 and s.target.id not in _loads_outside(body, s)}
    ints = integer_names(body)
    return Facts(targets=targets, aliases=aliases, active=active, recomputable=recomputable,
                 captured={t.name: f"_grad_{t.name}" for t in targets
                           if not t.param and t.name in active},
                 ints=ints, unstable=unstable_names(body, ints),
                 recomputed=recomputed(body, aliases, ints),
                 fills=filled_once(body, aliases.members))


def transform(function, facts, wrt, mode, unconnected=None):
    """The adjoint of ``function`` (normalised) for ``mode`` (one of MODES), before optimising:
    forward sweep, tapes, seeds, adjoints started at zero, reverse sweep."""
    fsrc, params, body, results, ctx = function
    active, aliases, captured = facts.active, facts.aliases, facts.captured
    wrt_names, recomputable = facts.wrt_names, facts.recomputable
    origin = fsrc.origin(fsrc.node)
    reverse = Reverse(active, ctx.namer, captured, facts.ints, aliases, facts.unstable,
                      facts.recomputed, facts.fills)
    fwd, rev = reverse.run(body, recomputable)
    fwd = [marker("def", p, loops=[], origin=origin) for p in params] + fwd
    exclude = reverse.adjoints | reverse.reverse_indices | recomputable | set(reverse.recomputed)
    in_place = {s.value.args[0].id for s in iter_assigns(body)
                if callee(s.value) in WRITES_FIRST_ARGUMENT
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
    seed_name = {"vjp": "dy", "gradients": "grad_ys"}.get(mode)
    if seed_name:
        while seed_name in params:
            seed_name += "_"
        fn_params.append(seed_name)
    seeds = _seeds(results, active, mode, seed_name)

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
    for t in facts.targets:
        if mode == "gradients" and t.name not in active and unconnected != "zero":
            grads.append("None")                      # tf.gradients' answer for no path
        elif t.param:
            grads.append(adjoint_name(t.name))
        else:
            grads.append(captured.get(t.name, f"srt.zeros_like({t.name})"))
    many = isinstance(wrt, (tuple, list)) or mode == "gradients"
    grads_expr = "(" + ", ".join(grads) + (",)" if len(grads) == 1 else ")") if many else grads[0]
    ret = _parse("return " + (grads_expr if mode != "value_and_grad" else f"{value_expr}, {grads_expr}"))
    return Adjoint(name=f"{fsrc.name}_{mode}", params=fn_params,
                   defaults=_defaults(fsrc, params, mode, seed_name), seed_param=seed_name,
                   sources=ctx.sources, user_name=fsrc.name, origin=origin,
                   wrt=tuple(t.name for t in facts.targets if t.param),
                   prologue=prologue, forward=fwd + value_stmts,
                   init=_start_in_branches(init, body, reverse.reverse_if), seeds=seeds, sweep=rev,
                   ret=ret, returned=_names([ret]))


def optimise(adj):
    """``adj`` with symbolic zeros, copy propagation and dead code removed, and forward work that
    is read only for its shape skipped (in place; returned for the driver's chain)."""
    adj.init, adj.seeds, adj.sweep = zeros.simplify(adj.init, adj.seeds, adj.sweep, adj.returned)
    code = adj.init + [_SEEDS_END] + adj.seeds + [_SWEEP] + adj.sweep
    optimize(code, adj.returned)
    cut, end = code.index(_SEEDS_END), code.index(_SWEEP)
    adj.init, adj.seeds, adj.sweep = code[:cut], code[cut + 1:end], code[end + 1:]
    everything = [s for _, stmts in adj.sections for s in stmts]
    skip_unread_results(adj.forward, everything, adj.params)
    kept = {id(s) for s in drop_dead_bookkeeping(everything)}
    for part in ("prologue", "forward", "init", "seeds", "sweep"):
        setattr(adj, part, [s for s in getattr(adj, part) if id(s) in kept])
    inline_flags([adj.prologue, adj.forward, adj.init, adj.seeds, adj.sweep], adj.ret)
    return adj


_SEEDS_END, _SWEEP = ast.Pass(), ast.Pass()      # where the parts meet, while optimised together


def _seeds(results, active, mode, seed_name):
    """The outputs' adjoints seeded: with ``dy`` (vjp), ``grad_ys`` or ones (gradients), ones."""
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
        return given
    if mode == "gradients" and given:   # grad_ys defaults to ones, as in tf.gradients
        return [ast.If(test=_parse(f"{seed_name} is None").value, body=ones, orelse=given)]
    return ones


def _defaults(fsrc, params, mode, seed_name):
    """The generated function's defaults: the user's (numbers only), ``grad_ys=None``."""
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
    return defaults


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
