"""Array aliases: which variables may share memory, and how their derivatives must follow.

``b = a[0]`` (a row of a 2-D array), ``b = a[1:]``, ``b = a.T`` and ``b = a`` make ``b`` a second
name for ``a``'s memory; a write through either name changes what the other reads. Derivatives
follow memory, not names:

- **classes**: the variables that may share memory with each other. A write into one is a write
  into all: each is active if one is, and the reverse sweep restores the memory of the whole class
  (what a view saved by reference reads).
- **shared adjoints**: a view read after a write into its class, or written itself, gets as its
  adjoint the same view of its base's adjoint (``_bb = _ba[0]``), so every cotangent lands in the
  memory it belongs to, as in the primal. Whether ``a[0]`` is a view (``a`` 2-D) or a number
  (``a`` 1-D, a copy) is only known when Numba types the code, so generated code decides there
  (:func:`srcgrad.runtime.cotangents.view_adjoint`, ``is_copy``); with a number, the usual copy rules
  are right.
- what cannot be followed exactly is refused at the user's line: a view that is defined more than
  once, or whose index changes while it is in use, and ``reshape``/``ravel`` results (a view or a
  copy, depending on the layout) read after a write into their class. Where only Numba's types can
  tell (``a[i]``), the check is compiled into the code (``srt.refuse_view``).

Forward mode needs no more than the classes: the tangent of a view is the same view of the
tangent, so writes reach both, exactly as in the primal.
"""
import ast
import re
from dataclasses import dataclass

from ..errors import UnsupportedError, located
from ..front.ir import atom_base, names_in, same
from .indices import as_value

_VIEW_RULES = {"np.transpose": "np.transpose", "np.asarray": None}    # view of a: (adjoint view)
_LAYOUT_VIEWS = {"np.reshape", "np.ravel"}    # a view or a copy, as the layout decides


def is_view_rule(rule):
    """Whether the primitive ``rule`` may return a view of its first argument."""
    return rule.key in _VIEW_RULES or rule.key in _LAYOUT_VIEWS


@dataclass
class View:
    """``name = <a view of base>``, defined by ``stmt``; ``adjoint(_ba)`` is the same view of
    base's adjoint."""
    name: str
    base: str
    stmt: ast.Assign

    def adjoint(self, base_adjoint):
        """The expression giving this view of ``base_adjoint`` (an adjoint array's name)."""
        value = self.stmt.value
        node = ast.Name(base_adjoint, ast.Load())
        if isinstance(value, ast.Subscript):
            return ast.Subscript(node, _copy(value.slice), ast.Load())
        if self.stmt.sg_kind == "op" and _VIEW_RULES.get(self.stmt.sg_rule.key):
            return ast.Call(ast.Name(_VIEW_RULES[self.stmt.sg_rule.key], ast.Load()), [node], [])
        return node


class Aliases:
    """The alias classes of a normalised body, and the views whose adjoints share memory."""

    def __init__(self, body, reverse=True):
        """``reverse``: classify views for the reverse sweep (forward mode follows views exactly
        and refuses only layout-dependent ones)."""
        self.placed = _Placed(body)
        self.parent = {}
        views = [v for v in (_view(s) for s in self.placed.assigns) if v is not None]
        # ``h = _t3`` where normalisation computed h's new value into ``_t3`` (h = h[::-1]): a
        # name taking over a temporary's new memory is no second name for it
        temps = {s.targets[0].id for s in self.placed.assigns if s.sg_kind != "write"
                 and s.targets[0].id.startswith("_t")}
        fresh = temps - {v.name for v in views}
        views = [v for v in views if not (isinstance(v.stmt.value, ast.Name) and v.base in fresh)]
        for v in views:
            self._union(v.name, v.base)
        self.views = views
        self.written = {self.root(s.targets[0].value.id) for s in self.placed.assigns
                        if s.sg_kind == "write"}
        defs = {}
        for s in self.placed.assigns:
            if s.sg_kind != "write":
                defs.setdefault(s.targets[0].id, []).append(s)
        self.shared = {}            # view name -> View, for adjoints shared with the base's
        self.checked = []           # views checked when Numba types them (srt.refuse_view)
        self.recomputed = {}        # view name -> View, recomputed where the reverse sweep reads it
        for v in views:
            self._classify(v, defs[v.name], reverse)
        # ``y += e`` rebinds y in srcgrad's reading, but writes into y's memory when y is an
        # array: fine unless another name shares that memory
        self.inplace = {id(s): s for s in self.placed.assigns if getattr(s, "sg_inplace", None)
                        and len(self.members(s.sg_inplace)) > 1}

    # -- classes ---------------------------------------------------------------------------------
    def root(self, name):
        while self.parent.get(name, name) != name:
            name = self.parent[name]
        return name

    def _union(self, a, b):
        ra, rb = self.root(a), self.root(b)
        self.parent.setdefault(rb, rb)
        if ra != rb:
            self.parent[ra] = rb

    def members(self, name):
        """The variables that may share memory with ``name`` (itself included)."""
        r = self.root(name)
        return {n for n in self.parent if self.root(n) == r} | {name}

    def is_written(self, name):
        """Whether memory ``name`` may share is written element by element somewhere."""
        return self.root(name) in self.written

    # -- which views need shared adjoints ----------------------------------------------------------
    def flows(self):
        """(base, [view]) for each view: a write into a view is a write into its base, so for
        activity the base depends on the view as much as the view on its base."""
        return [(v.base, [v.name]) for v in self.views]

    def _classify(self, view, defs, reverse):
        """Decide how derivatives follow the view ``view`` (one of ``defs``, all definitions of
        its name): shared adjoint, typed check, refusal, and whether it is recomputed."""
        uniform = all(_same_view(d, view.stmt) for d in defs) and not any(
            loop.target.id == view.name for loop in self.placed.loops)
        class_writes = [s for s in self.placed.assigns if s.sg_kind == "write"
                        and self.root(s.targets[0].value.id) == self.root(view.name)]
        own_writes = [s for s in class_writes if s.targets[0].value.id == view.name]
        others = [s for s in class_writes if s not in own_writes]
        reads = self.placed.reads(view.name)
        hazard = bool(own_writes) or any(self.placed.between(defs, w, r) for w in others
                                         for r in reads)
        key = view.stmt.sg_rule.key if view.stmt.sg_kind == "op" else None
        pinned_names = (names_in(view.stmt.value) - {view.name}) | {view.base}
        changing = [s for s in self.placed.assigns if s.sg_kind != "write"
                    and s.targets[0].id in pinned_names]
        changing += [s for s in self.placed.loops if s.target.id in pinned_names]
        pinned = uniform and not any(self.placed.between(defs, c, r) for c in changing for r in reads)
        subscript = isinstance(view.stmt.value, ast.Subscript)
        if pinned and key not in _LAYOUT_VIEWS and not (subscript and hazard):
            # a view (or the number it reads) is what its expression gives wherever it is read:
            # the reverse sweep evaluates it again instead of saving it on a tape
            self.recomputed[view.name] = view
        if not hazard or (not reverse and key not in _LAYOUT_VIEWS):
            return
        if key in _LAYOUT_VIEWS:
            self._refuse(view, f"is a reshaped view of {_shown(view.base)!r} (or a copy, depending "
                               "on its layout)", "call .copy() on the result, or reshape after the "
                               "writes")
        elif pinned:
            self.shared[view.name] = view
        elif subscript:
            self.checked.append(view)       # a number is fine; a view is refused when typed
        else:
            self._refuse(view, f"shares memory with {_shown(view.base)!r}", "make a copy of it "
                         "with .copy()")

    def check(self, s):
        """The check compiled in before ``s`` (refusing, once typed, what cannot be followed),
        or None."""
        view = next((v for v in self.checked if v.stmt is s), None)
        if view is not None:
            return _refuse_call(view.base, as_value(s.value.slice), self.refusal(view))
        if id(s) in self.inplace:
            name = s.sg_inplace
            shown = _shown(name)
            others = sorted({_shown(n) for n in self.members(name) - {name}
                             if not _TEMPORARY.fullmatch(n)} - {shown})
            return _refuse_call(name, ast.Tuple([], ast.Load()), located(
                f"augmented assignment to {shown!r}, which shares memory with "
                f"{', '.join(repr(o) for o in others)}, writes into that memory when {shown!r} is "
                "an array, and srcgrad reads it as a new value", s.sg_origin,
                f"write {shown} = {shown} + ... for a new array, or write into the array it is "
                "a view of"))
        return None

    def refusal(self, view):
        """The message for a view that cannot be followed (also compiled into the code)."""
        why = ("it is assigned in more than one way" if not self._uniform(view) else
               "its index changes while it is in use")
        name, base = _shown(view.name), _shown(view.base)
        return located(f"{name!r} is a view of {base!r} that is read or written after "
                       f"{base!r} changes, and {why}, so srcgrad cannot follow which memory "
                       "its gradient belongs to", view.stmt.sg_origin,
                       f"write into {base!r} directly, or make a copy: "
                       f"{name} = {view.stmt.sg_origin.text.split('=', 1)[-1].strip()}.copy()")

    def _uniform(self, view):
        return all(_same_view(s, view.stmt) for s in self.placed.assigns if s.sg_kind != "write"
                   and s.targets[0].id == view.name) and not any(
            loop.target.id == view.name for loop in self.placed.loops)

    def _refuse(self, view, what, hint):
        name = _shown(view.name)
        raise UnsupportedError(located(
            f"{name!r} {what}, and that memory is written element by element while "
            f"{name!r} is in use, so their gradients could not be kept apart",
            view.stmt.sg_origin, hint))


def _same_view(a, b):
    """Whether two definitions compute the same view (the same expression, read the same way)."""
    return a.sg_kind == b.sg_kind and same(a.value, b.value)


def _view(s):
    """The View ``s`` defines, or None when its result is certainly new memory."""
    if s.sg_kind == "write" or not isinstance(s.targets[0], ast.Name):
        return None
    value = s.value
    if s.sg_kind == "copy" and isinstance(value, (ast.Name, ast.Subscript)) and atom_base(value):
        return View(s.targets[0].id, atom_base(value), s)
    if s.sg_kind == "op" and is_view_rule(s.sg_rule):
        first = next(iter(s.sg_args.values()))
        if atom_base(first):
            return View(s.targets[0].id, atom_base(first), s)
    return None


class _Placed:
    """Where each statement of a body stands: its text order, the blocks around it, its loops."""

    def __init__(self, body):
        self.order, self.path, self.assigns, self.loops = {}, {}, [], []
        self.heads = []             # (statement, names its head reads): if/while tests, for ranges
        self._loads = None          # (assignment, names it reads), made by the first reads()
        self._place(body, ())

    def _place(self, stmts, path):
        for k, s in enumerate(stmts):
            here = path + ((id(stmts), k),)
            self.order[id(s)], self.path[id(s)] = len(self.order), here
            if isinstance(s, ast.Assign):
                self.assigns.append(s)
            elif isinstance(s, (ast.If, ast.While, ast.For)):
                head = s.iter if isinstance(s, ast.For) else s.test
                self.heads.append((s, names_in(head)))
                if isinstance(s, ast.For):
                    self.loops.append(s)
                self._place(s.body, here + (("loop" if not isinstance(s, ast.If) else "if"),))
                self._place(s.orelse, here + ("else",))

    def reads(self, name):
        """The statements that read ``name``."""
        if self._loads is None:             # each assignment's reads, found once
            self._loads = []
            for s in self.assigns:
                loads = names_in(s.value)
                if s.sg_kind == "write":
                    loads |= names_in(s.targets[0].slice)       # b[j] = v reads j, and writes b
                self._loads.append((s, loads))
        return [s for s, names in self.heads if name in names] + [
            s for s, loads in self._loads if name in loads]

    def between(self, defs, x, r):
        """Whether ``x`` may run after one of ``defs`` (definitions of one variable) and before
        ``r``, on a path that runs none of ``defs`` in between: then ``r`` sees what ``x`` did to
        what the definition made."""
        for d in defs:
            if self._covers(d, r):
                after = self.order[id(d)] < self.order[id(x)] < self.order[id(r)] or bool(
                    self._loops(x) & self._loops(r) - self._loops(d))
            else:
                after = self.order[id(x)] > self.order[id(d)] or bool(self._loops(x) & self._loops(d))
            if after and not any(self._covers(e, r) and self.order[id(x)] < self.order[id(e)]
                                 < self.order[id(r)] for e in defs):
                return True
        return False

    def _covers(self, d, r):
        """Whether every path to ``r`` runs ``d`` first since entering ``d``'s block: ``r`` comes
        after ``d`` in the same block, or inside a statement that does."""
        pd, pr = self.path[id(d)], self.path[id(r)]
        block, index = pd[-1]
        prefix = pd[:-1]
        if pr[:len(prefix)] != prefix or len(pr) <= len(prefix):
            return False
        step = pr[len(prefix)]
        return isinstance(step, tuple) and step[0] == block and step[1] > index

    def _loops(self, s):
        """The loops around ``s`` (each named by the block path of its body)."""
        path, out = self.path[id(s)], set()
        for k, step in enumerate(path):
            if step == "loop":
                out.add(path[:k])
        return out


_TEMPORARY = re.compile(r"_t\d+")
_VERSION = re.compile(r"_(\w+)_\d+")


def _shown(name):
    """A variable's name as the user wrote it (``_a_1``, a straight-line version of ``a``: ``a``)."""
    match = _VERSION.fullmatch(name)
    return match.group(1) if match else name


def _refuse_call(base, index, message):
    call = ast.Call(ast.Name("srt.refuse_view", ast.Load()),
                    [ast.Name(base, ast.Load()), index, ast.Constant(message.replace("\n", " |"))], [])
    return ast.Expr(value=call)


def _copy(node):
    import copy
    return copy.deepcopy(node)
