"""Symbolic zeros: an adjoint known to be zero is not computed with.

The reverse sweep as first built resets an adjoint to zero (``_bv = srt.zero(_bv)``) where it
passes ``v``'s definition, and adds every contribution with ``+=``. Following which adjoints are
known to be zero at each point (JAX's symbolic zeros, on generated code) this pass

- drops the resets (the zero is remembered, not written),
- turns the first contribution into a zero adjoint into an assignment (``_bv = E``, through
  ``srt.first_adjoint`` so that its type is the adjoint's and it shares no memory),
- drops contributions *from* an adjoint known to be zero (they add nothing: every contribution is
  linear in its cotangent),
- and writes a zero only where one is read as a value (``srt.zero``: in place, into the memory the
  adjoint already has), at the end of a branch or a loop body whose other path leaves it non-zero.

Loops are followed to a fixed point: an adjoint is zero at a loop's head only if it is zero before
the loop and again at the end of the body, so a loop's temporaries (zero after each iteration) are
never reset, and its loop-carried adjoints are added to as before. An adjoint whose first mention is
such an assignment at the top level needs no zeros at all (its initialisation is dropped); one of a
full ``sum``/``mean`` that is only read afterwards becomes a read-only broadcast view
(``srt.spread_sum``: no memory).

Statements this pass acts on carry, from the reverse transform, ``sg_source`` (a contribution, and
the adjoint its cotangent comes from: None for a seed), ``sg_clear`` (the zeroing of a written
element's adjoint) and ``sg_reset`` (an adjoint reset at a definition, ``"zero"`` or ``"reshape"``).
"""
import ast
import copy

from ..front.ir import WRITES_FIRST_ARGUMENT, callee
from ..rules.registry import called
from ..runtime import custom as namespace
from .shape_only import value_reads

_PASSING = {"srt.unbroadcast"}      # its first argument when shapes match, else a new array


def is_adjoint(name):
    return name.startswith("_b")


def simplify(init, seeds, sweep, returned):
    """(initialisations, seeds, reverse sweep) rewritten with symbolic zeros; ``returned``: the
    names the generated function returns."""
    starts = {s.targets[0].id: s for s in init if is_zeros_init(s)}
    rewriter = _Rewriter(starts, returned)
    out, state = rewriter.block(seeds + [_END] + sweep, _State(set(starts), set()), depth=0)
    kept_init = [s for s in init if id(s) not in rewriter.dropped_inits]
    # an adjoint returned while still known to be zero is returned as zeros
    out += [_reset(name) for name in sorted(state.zero & returned & state.garbage)]
    cut = out.index(_END)
    return kept_init, out[:cut], out[cut + 1:]


_END = ast.Pass()       # where the seeds end and the sweep begins, while rewritten as one block


def is_zeros_init(s):
    return (isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
            and is_adjoint(s.targets[0].id) and callee(s.value) == "srt.zeros_like")


class _State:
    """What is known at a point: adjoints that are zero, and those of them whose memory was never
    zeroed (a value read of one needs ``srt.zero`` first)."""

    def __init__(self, zero, garbage):
        self.zero, self.garbage = set(zero), set(garbage) & set(zero)

    def copy(self):
        return _State(self.zero, self.garbage)

    def join(self, other):
        """Known after either of two paths."""
        zero = self.zero & other.zero
        return _State(zero, (self.garbage | other.garbage) & zero)

    def __le__(self, other):
        """Whether ``self`` claims no more than ``other`` (for fixed points)."""
        return self.zero <= other.zero and self.garbage >= other.garbage & self.zero


class _Rewriter:
    def __init__(self, starts, returned):
        self.starts = starts                # adjoint -> its zeros_like initialisation
        self.returned = returned
        self.mentioned = set()              # adjoints any statement so far has named
        self.dropped_inits = set()
        self.rest = []                      # what the statements after the current one write,
                                            # one (mutated, assigned) pair per enclosing block

    # -- blocks ------------------------------------------------------------------------------------
    def block(self, stmts, state, depth):
        """(rewritten statements, what is known after them)."""
        out, state = [], state.copy()
        later = _later_writes(stmts)
        for k, s in enumerate(stmts):
            self.rest.append(later[k])
            new, state = self.stmt(s, state, depth)
            self.rest.pop()
            out.extend(new)
        return out, state

    def stmt(self, s, state, depth):
        if isinstance(s, ast.If):
            return self.branch(s, state, depth)
        if isinstance(s, (ast.For, ast.While)):
            return self.loop(s, state, depth)
        if s is _END:
            return [s], state
        if is_zeros_init(s):           # an initialisation moved into a branch: zero in memory
            name = s.targets[0].id
            self.mentioned.add(name)
            return [s], _State(state.zero | {name}, state.garbage - {name})
        reset = getattr(s, "sg_reset", None)
        if reset is not None:
            name = s.targets[0].id
            self.mentioned.add(name)
            if reset == "reshape":          # a new zero shaped like the value restored: keep
                return [s], _State(state.zero | {name}, state.garbage - {name})
            if name in state.zero:
                return [], state            # already zero
            return [], _State(state.zero | {name}, state.garbage | {name})
        if hasattr(s, "sg_source"):
            return self.contribution(s, state, depth)
        if getattr(s, "sg_clear", False) and _base(s.targets[0]) in state.zero:
            return [], state
        return self.other(s, state)

    def branch(self, s, state, depth):
        body, after_body = self.block(s.body, state, depth + 1)
        orelse, after_else = self.block(s.orelse, state, depth + 1)
        joined = after_body.join(after_else)
        body += self.materialize(after_body, joined)
        orelse += self.materialize(after_else, joined)
        if not body and not orelse:
            return [], joined
        new = ast.If(test=s.test, body=body or [ast.Pass()], orelse=orelse)
        _keep_origin(new, s)
        return [new], joined

    def loop(self, s, state, depth):
        head = state.copy()
        while True:                     # what holds at the head: before the loop and after a body
            saved = (set(self.mentioned), set(self.dropped_inits))
            _, end = self.block(copy.deepcopy(s.body), head, depth + 1)
            self.mentioned, self.dropped_inits = saved
            joined = head.join(end)
            if head <= joined:
                break
            head = joined
        before = self.materialize(state, head)
        body, end = self.block(s.body, head, depth + 1)
        body += self.materialize(end, head)
        new = copy.copy(s)
        new.body = body or [ast.Pass()]
        _keep_origin(new, s)
        return before + [new], head

    def materialize(self, state, target):
        """Statements that make ``state`` claim no more than ``target``: zeros written into the
        memory of adjoints ``target`` does not know to be zero, or knows to hold zeros."""
        names = (state.zero - target.zero) | (state.garbage & (target.zero - target.garbage))
        return [_reset(name) for name in sorted(names & state.garbage)]

    # -- statements ----------------------------------------------------------------------------------
    def contribution(self, s, state, depth):
        source = s.sg_source
        target = s.target if isinstance(s, ast.AugAssign) else s.targets[0]
        name = _base(target)
        if source is not None and source in state.zero:
            return [], state            # the cotangent is zero: nothing to add
        first_mention = name not in self.mentioned
        self.mentioned |= _adjoints_in(s)
        if name not in state.zero:
            return [s], state
        after = _State(state.zero - {name}, state.garbage - {name})
        if not (isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name)):
            # into part of a zero adjoint (x[i] += ..., a scatter): its memory must be zeros
            return ([_reset(name, s)] if name in state.garbage else []) + [s], after
        if depth == 0 and first_mention and name in self.starts:
            start = self.starts[name]
            self.dropped_inits.add(id(start))
            like = start.value.args[0]      # nothing was read from the initialisation
        else:
            like = ast.Name(name, ast.Load())     # its memory, for the type and shape only
        new = ast.Assign(targets=[ast.Name(name, ast.Store())], value=self.first(s, name, like),
                         lineno=0)
        _keep_origin(new, s)
        return [new], after

    def first(self, s, name, like):
        """The value of a zero adjoint ``name`` after its first contribution ``s.value``."""
        value = _replace(s.value, name, like)
        mutated = set().union(*(m for m, _ in self.rest))
        assigned = set().union(*(a for _, a in self.rest))
        read_only = name not in (mutated | assigned | self.returned)
        if read_only and _full_reduction(value) and len(self.rest) == 1:
            spread = "srt.spread_sum" if callee(value) == "srt.sum_adjoint" \
                else "srt.spread_mean"
            return ast.Call(ast.Name(spread, ast.Load()), value.args[:2], [])
        shared = _adjoint_name(s.value)
        unshared = fresh(s.value) or (shared is not None and read_only and len(self.rest) == 1
                                      and shared not in mutated | self.returned)
        return ast.Call(ast.Name("srt.first_adjoint", ast.Load()),
                        [value, copy.deepcopy(like), ast.Constant(unshared)], [])

    def other(self, s, state):
        """A statement this pass does not rewrite: adjoints known zero that it reads as values get
        zeros in memory first."""
        self.mentioned |= _adjoints_in(s)
        read = _value_reads(s) & state.garbage
        changed = _assigned([s]) | _mutated([s])
        after = _State(state.zero - changed, state.garbage - changed - read)
        return [_reset(name, s) for name in sorted(read)] + [s], after


def _reset(name, before=None):
    """``name = srt.zero(name)``: zeros into the memory the adjoint has (before ``before``)."""
    stmt = ast.parse(f"{name} = srt.zero({name})").body[0]
    if before is not None:
        _keep_origin(stmt, before)
    return stmt


def _keep_origin(new, old):
    if hasattr(old, "sg_origin"):
        new.sg_origin = old.sg_origin


def _base(target):
    while isinstance(target, ast.Subscript):
        target = target.value
    return target.id


def _adjoints_in(s):
    return {n.id for n in ast.walk(s) if isinstance(n, ast.Name) and is_adjoint(n.id)}


def _value_reads(s):
    """Adjoints ``s`` reads for their values (not only for a type and shape)."""
    return {name for name in value_reads(s) if is_adjoint(name)}


def fresh(node):
    """Whether ``node`` evaluates to a value no variable refers to."""
    if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Constant)):
        return True
    if isinstance(node, ast.Call):
        name = callee(node) or ""
        rule = called(name)
        if rule is not None and rule.allocates:
            return True
        if name in _PASSING:
            return fresh(node.args[0])
        if name.startswith("sgc."):
            return getattr(getattr(namespace, name[4:], None), "__srcgrad_fresh__", False)
    return False


def _full_reduction(node):
    """Whether ``node`` is the adjoint of ``sum``/``mean`` over all elements (a number spread out)."""
    return (callee(node) in ("srt.sum_adjoint", "srt.mean_adjoint")
            and len(node.args) == 3 and isinstance(node.args[2], ast.Constant)
            and node.args[2].value is None)


def _later_writes(stmts):
    """For each statement of a block, (names mutated, names assigned) by the statements after it:
    each statement walked once, not once per earlier statement."""
    mutated, assigned, out = set(), set(), []
    for s in reversed(stmts):
        out.append((frozenset(mutated), frozenset(assigned)))
        mutated |= _mutated([s])
        assigned |= _assigned([s])
    return out[::-1]


def _assigned(stmts):
    """Names ``stmts`` bind anew."""
    return {t.id for node in ast.walk(ast.Module(body=list(stmts), type_ignores=[]))
            if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)}


def _adjoint_name(node):
    """The adjoint ``node`` evaluates to (possibly through ``unbroadcast``), or None."""
    while callee(node) in _PASSING:
        node = node.args[0]
    return node.id if isinstance(node, ast.Name) and is_adjoint(node.id) else None


def _mutated(stmts):
    """Names whose arrays ``stmts`` may write in place: ``+=`` and element-write targets, calls
    that write into their first argument, and adjoints a shared view is made of."""
    names = set()
    for node in ast.walk(ast.Module(body=list(stmts), type_ignores=[])):
        targets = []
        if isinstance(node, ast.AugAssign):
            targets = [node.target]
        elif isinstance(node, ast.Assign):
            targets = [t for t in node.targets if isinstance(t, ast.Subscript)]
            if isinstance(node.targets[0], ast.Name) and is_adjoint(node.targets[0].id):
                targets += _viewed(node.value)
        elif callee(node) in WRITES_FIRST_ARGUMENT:
            targets = node.args[:1]
        for t in targets:
            while isinstance(t, ast.Subscript):
                t = t.value
            if isinstance(t, ast.Name):
                names.add(t.id)
    return names


def _viewed(value):
    """The adjoint an adjoint is made a view of (``_bb = srt.view_adjoint(_ba, i, _bb)``,
    analysis/aliasing.py), which writes into it reach."""
    while callee(value) in ("np.transpose", "srt.view_adjoint"):
        value = value.args[0]
    return [value] if isinstance(value, ast.Name) and is_adjoint(value.id) else []


def _replace(node, name, like):
    """``node`` with uses of the adjoint ``name`` (shape-only ``like`` arguments) replaced."""
    class Replace(ast.NodeTransformer):
        def visit_Name(self, n):
            return copy.deepcopy(like) if n.id == name else n

        def generic_visit(self, n):     # a rule's recompute form (shape_only.py) too
            n = super().generic_visit(n)
            if hasattr(n, "sg_alternative"):
                n.sg_alternative = self.visit(n.sg_alternative)
            return n
    return Replace().visit(copy.deepcopy(node))
