"""Renaming calls in generated statements, the last step before printing.

Three stages choose, by a table, which function a generated call names: matrix products
(``a @ b`` → ``srt.matmul``, compiled once into Numba's cache), the math library (``np.exp`` →
srcgrad's vectorizable ``srt.exp``) and parallel mode (``np.sum`` → its fixed-order twin).
Statements are copied, never changed in place, because the transforms may still hold them.
"""
import ast
import copy

from ..front.ir import dotted

# names that are modules in generated code, never arrays with methods
MODULES = ("np", "math", "srt", "sgc")


def rename_calls(sections, functions, methods=None, arity=None, operators=None):
    """``sections`` ([(title, statements)]) with each call of a dotted name in ``functions`` renamed
    to its entry, each method call ``a.m(...)`` with ``m`` in ``methods`` written as
    ``methods[m](a, ...)``, and each binary operation ``a op b`` with ``type(op)`` in ``operators``
    written as ``operators[type(op)](a, b)``. With ``arity``, only calls of exactly that many
    positional arguments (and no keywords) are renamed."""
    rename = _Rename(functions, methods or {}, arity, operators or {})
    return [(title, [rename.visit(copy.deepcopy(s)) if rename.touches(s) else s for s in stmts])
            for title, stmts in sections]


class _Rename(ast.NodeTransformer):
    def __init__(self, functions, methods, arity, operators):
        self.functions, self.methods, self.arity, self.operators = functions, methods, arity, operators

    def touches(self, stmt):
        """Whether anything in ``stmt`` is renamed (statements without are not copied)."""
        return any(self._renamed(node) is not None for node in ast.walk(stmt))

    def _renamed(self, node):
        """(kind, new name) where ``node`` is renamed, else None."""
        if isinstance(node, ast.BinOp):
            name = self.operators.get(type(node.op))
            return ("operator", name) if name else None
        if not isinstance(node, ast.Call):
            return None
        if self.arity is not None and (len(node.args) != self.arity or node.keywords):
            return None
        func = node.func
        if not isinstance(func, (ast.Attribute, ast.Name)):
            return None
        name = self.functions.get(dotted(func))
        if name:
            return "function", name
        if (isinstance(func, ast.Attribute) and func.attr in self.methods
                and not (isinstance(func.value, ast.Name) and func.value.id in MODULES)):
            return "method", self.methods[func.attr]
        return None

    def visit_BinOp(self, node):
        self.generic_visit(node)
        renamed = self._renamed(node)
        if renamed is None:
            return node
        return ast.copy_location(ast.Call(ast.Name(renamed[1], ast.Load()), [node.left, node.right], []),
                                 node)

    def visit_Call(self, node):
        self.generic_visit(node)
        renamed = self._renamed(node)
        if renamed is None:
            return node
        kind, name = renamed
        if kind == "method":
            node.args = [node.func.value] + node.args
        node.func = ast.Name(name, ast.Load())
        return node
