"""User-defined derivative rules: ``custom_vjp`` and ``custom_jvp``.

A custom function is a Numba dispatcher (so Python and ``@njit`` code call it like any other) that
also carries a rule. srcgrad treats it as a primitive: the forward sweep calls it, the reverse sweep
calls its VJP, forward mode calls its JVPs. The rule functions are ordinary Python that srcgrad can
itself differentiate, which is what makes derivatives of derivatives go through custom functions.

Conventions (JAX's, with autograd's per-argument form as an option for the reverse rule):

* ``vjp(g, ans, *args)`` returns the cotangent of each *differentiable* argument (a tuple when there
  are several), where ``g`` is the output's cotangent and ``ans`` the output. ``defvjp`` also takes
  one such function per argument, each returning one cotangent, so only the needed ones are computed.
* ``defjvp(jvp_0, jvp_1, ...)`` takes one function per differentiable argument:
  ``jvp_k(t, ans, *args)`` is the output's tangent caused by that argument's tangent ``t``.
* A rule that returns one value may return it bare or as a 1-tuple (JAX's ``return (g * 2.0,)``):
  generated code passes each such call through ``sgc.one_result``. A tuple of the wrong length is a
  :class:`~srcgrad.SrcgradError` naming the rule, when the rule is defined if its ``return``
  statements show it, else when a gradient using it is compiled.
* ``nondiff_argnums`` marks arguments (axes, flags, integer labels) that never carry a derivative.

A function with only a forward rule still works in reverse mode: each ``jvp_k`` is linear in ``t``,
so its transpose is srcgrad's own VJP of ``jvp_k`` with respect to ``t``. A function with only a
reverse rule cannot be differentiated in forward mode (a VJP does not give a JVP); that raises.
"""
import ast
import copy
import dis
import hashlib
import inspect
import os
import re
import textwrap

import numpy as np
from numba import njit

from .. import compat
from ..compat import CPUDispatcher, NumbaError, OmittedArg
from ..errors import ArgumentError, SrcgradError, UnsupportedError
from ..runtime import custom as namespace
from .registry import Rule, parse_template, bind, defrule

# a rule's one result, bare or in a 1-tuple: the identity when generated code is differentiated again
# (the rule's source is inlined there, where a 1-tuple is already its element)
defrule("sgc.one_result", ("x", "rule"), objects=(namespace.one_result,),
        tangents={"x": "sgc.one_result(t, rule)"}, x="g")


class CustomFunction(CPUDispatcher):
    """A Numba dispatcher with its own derivative rules (made by :func:`custom_vjp`/:func:`custom_jvp`).

    Call it from Python, from ``@njit`` code, or inside functions srcgrad differentiates.
    """

    def _compile_for_args(self, *args, **kws):
        """Called from Python with types the function cannot take: say so in one line."""
        try:
            return super()._compile_for_args(*args, **kws)
        except NumbaError as exc:
            kinds = ", ".join(f"{type(a).__name__} array of {a.dtype}, ndim {a.ndim}"
                              if isinstance(a, np.ndarray) else type(a).__name__
                              for a in args if not isinstance(a, OmittedArg))
            reason = next(iter(compat.error_lines(exc)), "")
            raise ArgumentError(f"{self.__name__} cannot be called with ({kinds}): {reason}") from None

    def defvjp(self, *vjps):
        """Set the reverse-mode rule; usable as a decorator. One function ``vjp(g, ans, *args)``
        returns every differentiable argument's cotangent (a tuple if several); or give one function
        per differentiable argument (None for none), each returning that argument's cotangent, so
        only the cotangents a gradient needs are computed."""
        self.__srcgrad_rule__.set_vjps(vjps)
        return vjps[0] if len(vjps) == 1 else vjps

    def defjvp(self, *jvps):
        """Set the forward-mode rule: one ``jvp_k(t, ans, *args)`` per differentiable argument
        (None for an argument whose tangent has no effect); usable as a decorator."""
        self.__srcgrad_rule__.set_jvps(jvps)
        return jvps[0] if len(jvps) == 1 else jvps


def custom_vjp(fun=None, *, nondiff_argnums=()):
    """Make ``fun`` a primitive whose reverse-mode derivative you give with ``@fun.defvjp``."""
    if fun is None:
        return lambda f: custom_vjp(f, nondiff_argnums=nondiff_argnums)
    return _make(fun, nondiff_argnums)


def custom_jvp(fun=None, *, nondiff_argnums=()):
    """Make ``fun`` a primitive whose forward-mode derivative you give with ``@fun.defjvp``;
    reverse mode then uses the transpose of that rule."""
    if fun is None:
        return lambda f: custom_jvp(f, nondiff_argnums=nondiff_argnums)
    return _make(fun, nondiff_argnums)


def _make(fun, nondiff_argnums):
    py_func = getattr(fun, "py_func", fun)
    if not inspect.isfunction(py_func):
        raise SrcgradError(f"custom_vjp/custom_jvp wrap a Python function, not {type(fun).__name__}")
    dispatcher = _jit(py_func)
    compat.retype(dispatcher, CustomFunction)
    dispatcher.__srcgrad_rule__ = CustomRule(dispatcher, py_func, tuple(nondiff_argnums))
    dispatcher.__doc__ = py_func.__doc__
    return dispatcher


def _jit(fn, **options):
    """``njit`` with Numba's disk cache when the function lives in a file (Numba needs one)."""
    source_file = inspect.getsourcefile(fn) or ""
    dispatcher = njit(cache=os.path.isfile(source_file), **options)(fn)
    if fn.__module__.startswith("srcgrad."):        # srcgrad's own (regularizers): per digest
        from ..codegen.cache import use_kernel_cache
        use_kernel_cache(dispatcher)
    return dispatcher


class CustomRule(Rule):
    """The rule of a custom function: templates that call its compiled VJP/JVP by name."""

    def __init__(self, dispatcher, py_func, nondiff_argnums):
        signature = inspect.signature(py_func)
        params = tuple(signature.parameters)
        for k in nondiff_argnums:
            if not 0 <= k < len(params):
                raise SrcgradError(f"nondiff_argnums of {py_func.__name__}: no argument {k}")
        defaults = {p: v.default for p, v in signature.parameters.items()
                    if v.default is not inspect.Parameter.empty}
        super().__init__(key=py_func.__qualname__, emit="", params=params, defaults=defaults)
        self.dispatcher, self.py_func = dispatcher, py_func
        self.diff_params = [p for k, p in enumerate(params) if k not in nondiff_argnums]
        self.nondiff_argnums = nondiff_argnums
        self.vjp, self.vjps, self.jvps = None, None, None
        self.recompute = None          # per-argument VJPs that do not read ``ans`` (see recompute_vjp)
        self.transposes = {}
        # templates name arguments by position, so a user's parameter called g or y cannot clash
        self.aliases = {f"_sg_arg{k}": p for k, p in enumerate(params)}
        bind(dispatcher, self)
        self.publish()

    # -- defining the rules ----------------------------------------------------------------------------
    def set_vjps(self, vjps):
        name, n = self.py_func.__name__, len(self.diff_params)
        if len(vjps) == 1 and n > 1:          # one function returning a tuple of cotangents
            fn = getattr(vjps[0], "py_func", vjps[0])
            if not callable(fn) or not _returns_tuple(fn):
                raise SrcgradError(
                    f"the VJP of {name} must return one cotangent per differentiable argument "
                    f"({', '.join(self.diff_params)}) as a tuple (return g_{self.diff_params[0]}, ...), "
                    "or give defvjp one function per argument")
            _check_returned_lengths(fn, n, f"the VJP of {name} ({fn.__name__})",
                                    f"one cotangent per differentiable argument "
                                    f"({', '.join(self.diff_params)})")
            self.vjp, self.vjps = _rule_part(fn), None
        else:
            self.vjp, self.vjps = None, self._per_argument(vjps, "defvjp")
        self.publish()

    def set_jvps(self, jvps):
        self.jvps = self._per_argument(jvps, "defjvp")
        self.publish()

    def _per_argument(self, fns, what):
        name = self.py_func.__name__
        if not fns or len(fns) > len(self.diff_params):
            raise SrcgradError(f"{what} of {name} takes one function per differentiable argument "
                               f"({', '.join(self.diff_params)})")
        parts = []
        for param, fn in zip(self.diff_params, fns):
            if fn is not None and not callable(fn):
                raise SrcgradError(f"{what} of {name} expects functions or None")
            if fn is not None:
                fn = getattr(fn, "py_func", fn)
                _check_returned_lengths(fn, 1, _describe(what, name, param, fn),
                                        f"one value (for {param}), bare or as a 1-tuple")
            parts.append(None if fn is None else _rule_part(fn))
        return parts + [None] * (len(self.diff_params) - len(parts))

    def publish(self):
        """Name the compiled pieces under a key that changes with any of their sources."""
        parts = [self.vjp] + (self.vjps or []) + (self.jvps or []) + (self.recompute or [])
        functions = [self.py_func] + [getattr(d, "py_func", None) for d in parts]
        stem = re.sub(r"\W+", "_", self.py_func.__qualname__.replace("<locals>", "")).strip("_")
        digest = _digest([f for f in functions if f is not None], self.nondiff_argnums)
        self.key = f"{stem}_{digest}"
        self.emit = f"sgc.{self.key}"
        self.transposes = {}
        namespace.publish(self.key, self.dispatcher)
        if self.vjp is not None:
            namespace.publish(f"{self.key}_vjp", self.vjp)
        for kind, fns in (("vjp", self.vjps), ("jvp", self.jvps), ("rvjp", self.recompute)):
            for k, fn in enumerate(fns or []):
                if fn is not None and not isinstance(fn, ast.AST):
                    namespace.publish(f"{self.key}_{kind}{k}", fn)
        self.adjoints = {p: None for p in self.diff_params}

    # -- templates, as the transforms ask for them --------------------------------------------------------
    def _args(self):
        return ", ".join(self.aliases)

    def _alias(self, param):
        return f"_sg_arg{self.params.index(param)}"

    def template(self, param):
        k = self.diff_params.index(param)
        if self.vjp is not None:
            text = f"sgc.{self.key}_vjp(g, y, {self._args()})[{k}]"
        elif self.vjps is not None:
            if self.vjps[k] is None:
                return parse_template(f"srt.zeros_like(like_{self._alias(param)})")
            text = self._one(self.vjps[k], f"sgc.{self.key}_vjp{k}(g, y, {self._args()})", "defvjp", param)
        elif self.jvps is not None:
            if self.jvps[k] is None:
                return parse_template(f"srt.zeros_like(like_{self._alias(param)})")
            text = f"{self.transpose(k)}(like_{self._alias(param)}, y, {self._args()}, g)"
        else:
            raise UnsupportedError(f"{self.py_func.__name__} is a custom function without a rule: "
                                   "define one with defvjp or defjvp")
        return parse_template(f"srt.unbroadcast({text}, like_{self._alias(param)})")

    def recompute_template(self, param):
        k = self.diff_params.index(param)
        if self.vjps is None or not self.recompute or self.recompute[k] is None:
            return None
        part = self.recompute[k]
        if isinstance(part, ast.AST):          # an expression: a fresh copy for each use
            return ast.Call(ast.Attribute(ast.Name("srt", ast.Load()), "unbroadcast", ast.Load()),
                            [copy.deepcopy(part), ast.Name(f"like_{self._alias(param)}", ast.Load())],
                            [])
        text = self._one(part, f"sgc.{self.key}_rvjp{k}(g, y, {self._args()})", "recompute_vjp", param)
        return parse_template(f"srt.unbroadcast({text}, like_{self._alias(param)})")

    def tangent(self, param):
        k = self.diff_params.index(param)
        if self.jvps is None:
            raise UnsupportedError(
                f"{self.py_func.__name__} has a reverse-mode rule (defvjp) but no forward-mode rule, "
                f"which forward mode (jvp, hvp, hessian, jacobian) needs: add one with "
                f"{self.py_func.__name__}.defjvp")
        if self.jvps[k] is None:
            return parse_template("srt.zeros_like(y)")
        return parse_template(self._one(self.jvps[k], f"sgc.{self.key}_jvp{k}(t, y, {self._args()})",
                                         "defjvp", param))

    def _one(self, part, call, what, param):
        """``call`` (of the rule ``part`` for ``param``) as one value: through ``sgc.one_result``,
        which unpacks a 1-tuple, except for rules declared to return new arrays (:func:`fresh_results`),
        whose result generated code keeps without a copy only when it sees the call itself."""
        if getattr(part, "__srcgrad_fresh__", False):
            return call
        where = namespace.rule_number(_describe(what, self.py_func.__name__, param, part.py_func))
        return f"sgc.one_result({call}, {where})"

    def transpose(self, k):
        """The reverse rule derived from forward rule ``k``: srcgrad's VJP of it in ``t``."""
        name = f"{self.key}_T{k}"
        if name not in self.transposes:
            from ..api import vjp
            self.transposes[name] = vjp(self.jvps[k].py_func, wrt=0)
            namespace.publish(name, self.transposes[name])
        return f"sgc.{name}"


def fresh_results(function):
    """Declare that every reverse rule of ``function`` returns new arrays (never one of its
    arguments), so generated code may keep the result as an adjoint without copying it."""
    rule = function.__srcgrad_rule__
    for part in [rule.vjp] + (rule.vjps or []) + (rule.recompute or []):
        if part is not None and not isinstance(part, ast.AST):
            part.__srcgrad_fresh__ = True


def result_like(function, template):
    """Declare a cheap stand-in for ``function``'s result: ``template`` is an expression in its
    parameter names (e.g. ``"srt.float_like(x)"``, see :mod:`srcgrad.runtime.like`) with the
    result's type and shape. A gradient that reads the result only for those then skips the call."""
    function.__srcgrad_rule__.like = parse_template(template)


def recompute_vjp(function, *vjps):
    """Give ``function`` a second reverse rule per argument, ``vjp(g, ans, *args)`` like the first
    but never reading ``ans``: a gradient that needs the output only for this rule then skips the
    forward call and recomputes inside the (fused) rule, as a hand-written gradient would.

    A rule may also be an expression in ``g`` and the parameter names (``"g * sgc.slope(x)"``),
    which is written into the generated code itself: fused with the code around it, a broadcast
    cotangent is read as the constant it is, which a compiled rule (a separate function) cannot."""
    rule = function.__srcgrad_rule__
    if any(isinstance(v, str) for v in vjps) and {"g", "y"} & set(rule.params):
        raise SrcgradError(f"recompute_vjp of {function.__name__}: an expression rule names the "
                           "cotangent g, so the function's parameters cannot be called g or y")
    functions = [None if isinstance(v, str) else v for v in vjps]
    parts = rule._per_argument(functions, "recompute_vjp")
    rule.recompute = [parse_template(v) if isinstance(v, str) else part
                      for v, part in zip(list(vjps) + [None] * len(parts), parts)]
    rule.publish()


def _rule_part(fn):
    """Compile a rule function; srcgrad may inline its source when differentiating it again.

    A rule made only of operators (``g * (x > 0)``) is inlined into each caller by Numba
    (``inline="always"``): its arguments are often broadcast views, and only inlined does LLVM see
    their zero strides and vectorise the loop. A rule that calls functions is compiled on its own,
    because inlined, Numba no longer fuses a ufunc call into the surrounding array expression (one
    more temporary array), and big kernels would be compiled again in every caller. (A hot rule of
    that kind can be a template instead: see :func:`recompute_vjp`.)"""
    calls = any(ins.opname.startswith(("CALL", "PRECALL")) for ins in dis.get_instructions(fn))
    dispatcher = _jit(fn) if calls else _jit(fn, inline="always")
    dispatcher.__srcgrad_inline__ = True
    return dispatcher


def _describe(what, name, param, fn):
    kind = {"defvjp": "VJP", "defjvp": "JVP", "recompute_vjp": "recompute VJP"}[what]
    return f"the {kind} of {name} for {param} ({fn.__name__})"


def _check_returned_lengths(fn, n, rule, expected):
    """Refuse, when it is defined, a rule whose ``return`` statements give tuples of another length
    than ``n`` (counting only tuples written out, without ``*``; others are checked when compiled)."""
    try:
        node = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return
    if not isinstance(node, ast.FunctionDef):    # a lambda: its source is the line around it
        return
    for value in [r.value for r in _own_returns(node) if r.value is not None]:
        if isinstance(value, ast.Tuple) and not any(isinstance(e, ast.Starred) for e in value.elts) \
                and len(value.elts) != n:
            raise SrcgradError(f"{rule} returns a tuple of {len(value.elts)} values; it must return "
                               f"{expected}")


def _own_returns(fn_node):
    """The ``return`` statements of a function, not of functions defined inside it."""
    stack, found = list(fn_node.body), []
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return):
            found.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))
    return found


def _returns_tuple(fn):
    """Whether every ``return`` of ``fn`` returns a tuple literal (several cotangents)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return False
    returns = [n for n in ast.walk(tree.body[0]) if isinstance(n, ast.Return)]
    return bool(returns) and all(isinstance(r.value, ast.Tuple) for r in returns)


def _digest(functions, extra):
    """A short hash of the functions' sources, the values they close over, and the functions they call
    (followed transitively), so a cached file is never reused after any of them changes."""
    h = hashlib.sha256(repr(extra).encode())
    seen, stack = set(), list(functions)
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        try:
            h.update(inspect.getsource(fn).encode())
        except (OSError, TypeError):
            h.update(fn.__code__.co_code)
        h.update(repr(fn.__defaults__).encode())
        for cell in fn.__closure__ or ():
            try:
                h.update(_value_text(cell.cell_contents).encode())
            except ValueError:
                pass
        for name in fn.__code__.co_names:
            value = getattr(fn.__globals__.get(name), "py_func", fn.__globals__.get(name))
            if inspect.isfunction(value):
                stack.append(value)
    return h.hexdigest()[:10]


def _value_text(value):
    if hasattr(value, "tobytes"):
        return hashlib.sha256(value.tobytes()).hexdigest()
    fn = getattr(value, "py_func", value)
    if inspect.isfunction(fn):
        return f"{fn.__module__}.{fn.__qualname__}"
    return repr(value)
