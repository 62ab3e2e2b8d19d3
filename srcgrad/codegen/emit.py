"""Print generated statements as Python source a person can read.

``ast.unparse`` prints expressions; this module adds the structure a reader needs: one comment per
user line a block of code came from (``# model.py:12: h = tanh(a * h + x[i])``), and section
comments for the forward and reverse sweeps.
"""
import ast
import os

from ..front.ir import callee


class Printer:
    def __init__(self):
        self.lines = []
        self.last_origin = None
        self.current = None         # origin of the block being printed
        self.origins = {}           # line index -> Origin of the user line it came from

    def line(self, text, depth):
        self.origins[len(self.lines)] = self.current
        self.lines.append("    " * depth + text)

    def comment(self, text, depth):
        self.line(f"# {text}", depth)
        self.last_origin = None

    def origin_comment(self, stmt, depth):
        origin = getattr(stmt, "sg_origin", None)
        if origin is None or origin == self.last_origin:
            return
        self.last_origin = origin
        self.current = origin
        text = origin.text.strip()
        self.line(f"# {os.path.basename(origin.filename)}:{origin.lineno}: {text}", depth)

    def block(self, stmts, depth):
        if not stmts:
            self.line("pass", depth)
            return
        for s in stmts:
            self.stmt(s, depth)

    def stmt(self, s, depth):
        self.origin_comment(s, depth)
        origin = getattr(s, "sg_origin", None)
        if isinstance(s, ast.If):
            self.line(f"if {ast.unparse(s.test)}:", depth)
            self.last_origin = origin
            self.block(s.body, depth + 1)
            orelse = s.orelse
            while (len(orelse) == 1 and isinstance(orelse[0], ast.If)
                   and getattr(orelse[0], "sg_origin", None) == origin):
                self.line(f"elif {ast.unparse(orelse[0].test)}:", depth)
                self.block(orelse[0].body, depth + 1)
                orelse = orelse[0].orelse
            if orelse:
                self.line("else:", depth)
                self.last_origin = origin
                self.block(orelse, depth + 1)
        elif isinstance(s, ast.For):
            self.line(f"for {ast.unparse(s.target)} in {_range_text(s.iter)}:", depth)
            self.last_origin = origin
            self.block(s.body, depth + 1)
        elif isinstance(s, ast.While):
            self.line(f"while {ast.unparse(s.test)}:", depth)
            self.last_origin = origin
            self.block(s.body, depth + 1)
        else:
            self.line(ast.unparse(ast.fix_missing_locations(s)), depth)
        self.last_origin = origin


def _range_text(it):
    """``range(0, n, 1)`` printed as ``range(n)``, the way a person writes it."""
    args = getattr(it, "args", None)
    if (callee(it) == "range" and len(args) == 3
            and isinstance(args[2], ast.Constant) and args[2].value == 1):
        if isinstance(args[0], ast.Constant) and args[0].value == 0:
            return f"range({ast.unparse(args[1])})"
        return f"range({ast.unparse(args[0])}, {ast.unparse(args[1])})"
    return ast.unparse(it)


def function_source(name, params, defaults, sections, decorator, docstring):
    """Source of one function and, for each of its lines (from 0), the user line it came from.

    ``sections`` is a list of (comment or None, statements)."""
    p = Printer()
    p.line(decorator, 0)
    signature = ", ".join(f"{q}={defaults[q]!r}" if q in defaults else q for q in params)
    p.line(f"def {name}({signature}):", 0)
    p.line(f'"""{docstring}"""', 1)
    for title, stmts in sections:
        if not stmts:
            continue
        if title:
            p.comment(title, 1)
        for s in stmts:
            p.stmt(s, 1)
    return "\n".join(p.lines) + "\n", p.origins
