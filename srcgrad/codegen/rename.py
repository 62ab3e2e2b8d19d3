"""Renaming calls in generated statements, the last step before printing.

Two stages choose, by a table, which function a generated call names: the math library
(``np.exp`` → srcgrad's vectorizable ``srt.exp``) and parallel mode (``np.sum`` → its fixed-order
twin). Statements are copied, never changed in place, because the transforms may still hold them.
"""
import ast
import copy

# names that are modules in generated code, never arrays with methods
MODULES = ("np", "math", "srt", "sgc")


def rename_calls(sections, functions, methods=None, one_argument=False):
    """``sections`` ([(title, statements)]) with each call of a dotted name in ``functions`` renamed
    to its entry, and each method call ``a.m(...)`` with ``m`` in ``methods`` written as
    ``methods[m](a, ...)``. With ``one_argument``, only calls of a single positional argument."""
    rename = _Rename(functions, methods or {}, one_argument)
    return [(title, [rename.visit(copy.deepcopy(s)) for s in stmts]) for title, stmts in sections]


class _Rename(ast.NodeTransformer):
    def __init__(self, functions, methods, one_argument):
        self.functions, self.methods, self.one_argument = functions, methods, one_argument

    def visit_Call(self, node):
        self.generic_visit(node)
        if self.one_argument and (len(node.args) != 1 or node.keywords):
            return node
        func = node.func
        if not isinstance(func, (ast.Attribute, ast.Name)):
            return node
        name = self.functions.get(ast.unparse(func))
        if name:
            node.func = ast.Name(name, ast.Load())
        elif (isinstance(func, ast.Attribute) and func.attr in self.methods
              and not (isinstance(func.value, ast.Name) and func.value.id in MODULES)):
            node.args = [func.value] + node.args
            node.func = ast.Name(self.methods[func.attr], ast.Load())
        return node
