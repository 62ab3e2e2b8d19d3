"""Inlining of calls to the user's own functions.

A helper call is replaced by the helper's normalised body with its locals renamed
(``helper1_x``), so loops, branches and early returns inside helpers need no machinery of their own.
A parameter the helper never reassigns is substituted by the caller's variable itself, so a helper
that fills an array passed to it writes the caller's array, exactly as in Python.
"""
import ast

from . import fence
from .expressions import _is_helper, _mark
from .ir import assign
from .parse import FunctionSource


class Inlining:
    """Helper inlining for :class:`~srcgrad.front.normalize.Normalizer` (a mixin)."""

    def is_helper_call(self, e):
        if isinstance(e.func, ast.Attribute) and self.is_local_rooted(e.func.value):
            return False
        try:
            return _is_helper(self.resolve(e.func))
        except KeyError:
            return False

    def inline_call(self, e, result_needed=True):
        """Inline a call to the user's own function; returns its result atom (or list of atoms)."""
        fn = getattr(self.resolve(e.func), "py_func", None) or self.resolve(e.func)
        if fn in self.ctx.stack:
            self.fail(f"recursive call to {fn.__name__!r} is not supported", e,
                      "write the recursion as a loop")
        callee = FunctionSource(fn)
        fence.check(callee)
        params = callee.params()
        if len(e.args) > len(params):
            self.fail(f"too many arguments in the call to {fn.__name__!r}", e)
        bound = dict(zip(params, e.args))
        for kw in e.keywords:
            if kw.arg not in params or kw.arg in bound:
                self.fail(f"unexpected argument {kw.arg}= in the call to {fn.__name__!r}", e)
            bound[kw.arg] = kw.value
        defaults = fn.__defaults__ or ()
        for p, d in zip(params[len(params) - len(defaults):], defaults):
            if p not in bound:
                bound[p] = self.global_constant(d, e)
        missing = [p for p in params if p not in bound]
        if missing:
            self.fail(f"the call to {fn.__name__!r} is missing {', '.join(missing)}", e)
        self.ctx.inlined[fn.__name__] += 1
        prefix = f"{fn.__name__.strip('_')}{self.ctx.inlined[fn.__name__]}_"
        reassigned = _assigned_names(callee.node.body)
        rename = {}
        for p in params:
            value = self.atom(bound[p])
            if p in reassigned:
                name = prefix + user_names(local_names(callee))[p]
                self.emit(assign(name, value, self.origin, kind="copy"))
                rename[p] = ast.Name(name, ast.Load())
            elif isinstance(value, (ast.Name, ast.Constant)):
                rename[p] = value          # the caller's variable itself: no copy, no alias
            else:
                rename[p] = self.temp_copy(value)
        inner = type(self)(callee, self.ctx, rename, prefix)
        body, results = inner.run()
        self.out.extend(body)
        if not result_needed:
            return None
        if results is None or any(isinstance(r, ast.Constant) and r.value is None for r in results):
            self.fail(f"{fn.__name__!r} returns nothing, but its result is used", e)
        results = [_mark(r) for r in results]
        return results if len(results) > 1 else results[0]



def _assigned_names(stmts):
    names = set()
    for node in ast.walk(ast.Module(body=list(stmts), type_ignores=[])):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


# Names generated code itself uses at module level: the modules it imports and the builtins it
# calls. A user variable with one of these names is renamed, so generated code stays hygienic.
RESERVED = frozenset({"np", "math", "srt", "sgc", "njit", "range", "len", "min", "max", "float",
                      "int", "bool", "abs", "round", "slice", "tuple", "print"})


def user_names(names):
    """The name generated code uses for each of a function's names.

    Generated names all start with ``_``, so user names that do get a ``u`` prefix, repeated until
    the result is free: source srcgrad generated is differentiated again (``grad(grad(f))``), and its
    ``_ba`` must not become a ``u_ba`` it already has. Names generated code uses for modules and
    builtins (``np``, ``srt``, ``len``...) are prefixed the same way.
    """
    taken, out = set(names), {}
    for name in sorted(names):
        new = name
        while new.startswith("_") or new in RESERVED or (new != name and new in taken):
            new = "u" + new
        taken.add(new)
        out[name] = new
    return out


def local_names(fsrc):
    return set(fsrc.params()) | _assigned_names(fsrc.node.body)
