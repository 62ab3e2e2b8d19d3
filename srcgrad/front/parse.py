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
            lines, first = inspect.getsourcelines(self.fn)
            self.filename = inspect.getsourcefile(self.fn) or "<unknown>"
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
    """Accept Numba dispatchers and functools wrappers by taking the Python function inside."""
    py_func = getattr(fn, "py_func", None)
    if py_func is not None:
        fn = py_func
    fn = inspect.unwrap(fn)
    if not inspect.isfunction(fn):
        raise SrcgradError(f"srcgrad differentiates Python functions, not {type(fn).__name__} objects")
    return fn
