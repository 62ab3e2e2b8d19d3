"""Read a Python function's source into an AST and resolve the names it uses.

Everything downstream works on stdlib ``ast`` nodes. This stage keeps, for each function, where its
text lives (file and first line) so every later error and every generated comment can cite the
user's own line, and a resolver that turns a global or closure name into the Python object it means.
"""
import ast
import builtins
import inspect
import textwrap
from dataclasses import dataclass

from ..errors import SrcgradError, UnsupportedError, located


@dataclass(frozen=True)
class Origin:
    """A line of user code: file, line number, function name and the line's text."""
    filename: str
    lineno: int
    function: str
    text: str = ""

    def where(self):
        return f"{self.filename}:{self.lineno} (in {self.function})"

    def short(self):
        import os
        return f"{os.path.basename(self.filename)}:{self.lineno}"


class FunctionSource:
    """A user function parsed for transformation: its AST plus what its names refer to."""

    def __init__(self, fn):
        self.fn = _unwrap(fn)
        self.name = self.fn.__name__
        if self.name == "<lambda>":
            raise SrcgradError(f"cannot differentiate the lambda at {fn.__code__.co_filename}:"
                               f"{fn.__code__.co_firstlineno}: srcgrad reads a function's source; "
                               "write it with def")
        try:
            # (from the code object: inspect would follow functools.wraps to the wrapped function)
            lines, first = inspect.getsourcelines(self.fn.__code__)
            self.filename = inspect.getsourcefile(self.fn.__code__) or "<unknown>"
        except (OSError, TypeError) as exc:
            raise SrcgradError(
                f"cannot read the source of {self.name!r}: {exc}. srcgrad differentiates functions "
                "defined in a file (not typed at an interactive prompt or built with exec).") from None
        self.lines = lines
        self.text = textwrap.dedent("".join(lines))
        self.first_line = first
        try:
            module = ast.parse(self.text)
        except SyntaxError as exc:
            raise SrcgradError(f"cannot parse the source of {self.name!r}: {exc}") from None
        node = module.body[0] if module.body else None
        if isinstance(node, ast.AsyncFunctionDef):
            raise UnsupportedError(located("async functions cannot be differentiated", self.origin(node)))
        if not isinstance(node, ast.FunctionDef):
            raise SrcgradError(f"{self.name!r} is not a plain function defined with def "
                               "(lambdas cannot be differentiated: write a def)")
        ast.increment_lineno(module, first - 1)
        self.node = node
        if node.args.vararg or node.args.kwarg:
            _spell_out_varargs(self, node)
        self.globals = self.fn.__globals__
        self.closure = {}
        if self.fn.__closure__:
            for name, cell in zip(self.fn.__code__.co_freevars, self.fn.__closure__):
                try:
                    self.closure[name] = cell.cell_contents
                except ValueError:
                    pass

    def origin(self, node):
        """The user line a node came from."""
        lineno = getattr(node, "lineno", self.first_line)
        index = lineno - self.first_line
        text = self.lines[index] if 0 <= index < len(self.lines) else ""
        return Origin(self.filename, lineno, self.name, text.rstrip("\n"))

    def params(self):
        return [a.arg for a in self.node.args.args]

    def lookup(self, name):
        """The object a free name refers to, or raise KeyError."""
        if name in self.closure:
            return self.closure[name]
        if name in self.globals:
            return self.globals[name]
        if hasattr(builtins, name):
            return getattr(builtins, name)
        raise KeyError(name)

    def resolve(self, node):
        """Resolve a Name or a dotted Attribute chain (``np.linalg.norm``) to its object."""
        if isinstance(node, ast.Name):
            return self.lookup(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            try:
                return getattr(base, node.attr)
            except AttributeError:
                raise KeyError(ast.unparse(node)) from None
        if isinstance(node, ast.Call):
            return self.construct(node)
        raise KeyError(ast.unparse(node))

    def construct(self, call):
        """The object a library factory builds from constant arguments, at transform time
        (``nn.l2_regularizer(0.01)(w)``): only callables marked ``__srcgrad_factory__``."""
        factory = self.resolve(call.func)
        if not getattr(factory, "__srcgrad_factory__", False):
            raise KeyError(ast.unparse(call))
        try:
            args = [ast.literal_eval(a) for a in call.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        except ValueError:
            raise KeyError(ast.unparse(call)) from None
        return factory(*args, **kwargs)


def _unwrap(fn):
    """The Python function whose source computes ``fn``'s values.

    A Numba dispatcher computes what its ``py_func`` does, and a cache such as ``functools.cache``
    what it wraps. A decorator that returns a Python function (``functools.wraps`` or not) may
    change the values (``return 2.0 * fn(*args)``), so that function itself is differentiated: its
    source is read like any other, and the function it calls is inlined."""
    while True:
        py_func = getattr(fn, "py_func", None)
        if py_func is not None:
            fn = py_func
        elif not inspect.isfunction(fn) and callable(getattr(fn, "__wrapped__", None)):
            fn = fn.__wrapped__
        else:
            break
    if not inspect.isfunction(fn):
        raise SrcgradError(f"srcgrad differentiates Python functions, not {type(fn).__name__} objects")
    return fn


def _spell_out_varargs(fsrc, node):
    """Give a decorator's wrapper (``def wrapper(*args, **kwargs): return 2.0 * fn(*args,
    **kwargs)``) the parameters of the function it wraps (``functools.wraps`` records which), so
    it can be read like a plain function: ``*args`` becomes those names, ``args[k]`` the k-th,
    ``len(args)`` their number, and ``**kwargs`` nothing (srcgrad passes no keywords)."""
    args = node.args
    own = [a.arg for a in args.args]
    wrapped = getattr(fsrc.fn, "__wrapped__", None)
    origin = fsrc.origin(node)
    if wrapped is None or args.kwonlyargs or args.posonlyargs:
        raise UnsupportedError(located(
            f"{fsrc.name!r} takes *args or **kwargs, so srcgrad cannot tell its parameters",
            origin, "give it plain parameters, or, for a decorator's wrapper, mark it with "
            "@functools.wraps(fn) so its parameters are those of the function it wraps"))
    names = list(inspect.signature(fsrc.fn).parameters)       # follows __wrapped__
    if len(names) < len(own) or names[:len(own)] != own and len(own):
        raise UnsupportedError(located(
            f"the parameters of {fsrc.name!r} ({', '.join(own)}) do not match those of the "
            f"function it wraps ({', '.join(names)})", origin))
    rest = names[len(own):]
    star = args.vararg.arg if args.vararg else None
    double = args.kwarg.arg if args.kwarg else None
    taken = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - {star, double}
    if set(rest) & (taken | set(own)):
        raise UnsupportedError(located(
            f"{fsrc.name!r} uses the names {sorted(set(rest) & taken)} of the wrapped function's "
            "parameters for other things", origin, "rename them in the wrapper"))

    class Spell(ast.NodeTransformer):
        def visit_Call(self, call):
            self.generic_visit(call)
            spelled = []
            for a in call.args:
                if isinstance(a, ast.Starred) and _is(a.value, star):
                    spelled += [ast.copy_location(ast.Name(n, ast.Load()), a) for n in rest]
                else:
                    spelled.append(a)
            call.args = spelled
            call.keywords = [k for k in call.keywords if not (k.arg is None and _is(k.value, double))]
            if _is(call.func, "len") and len(call.args) == 1 and _is(call.args[0], star):
                return ast.copy_location(ast.Constant(len(rest)), call)
            return call

        def visit_Subscript(self, sub):
            self.generic_visit(sub)
            if _is(sub.value, star) and isinstance(sub.slice, ast.Constant) \
                    and isinstance(sub.slice.value, int) and -len(rest) <= sub.slice.value < len(rest):
                return ast.copy_location(ast.Name(rest[sub.slice.value], ast.Load()), sub)
            return sub

    node.body = [Spell().visit(stmt) for stmt in node.body]
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and n.id in (star, double):
            raise UnsupportedError(located(
                f"{fsrc.name!r} uses {n.id!r} other than as *{star} in a call, {star}[k] or "
                f"len({star})" if n.id == star else
                f"{fsrc.name!r} uses **{double} other than to pass it on", fsrc.origin(n),
                "pass the arguments on unchanged"))
    args.args = args.args + [ast.arg(n) for n in rest]
    args.vararg = args.kwarg = None
    args.defaults = []


def _is(node, name):
    return name is not None and isinstance(node, ast.Name) and node.id == name
