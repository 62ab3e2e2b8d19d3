"""Reject, with the user's file and line, every construct srcgrad does not differentiate.

Running this before any transformation means an unsupported construct never reaches Numba, and the
message can say what to write instead. Calls are checked later, when names are resolved, because
whether ``f(x)`` is allowed depends on what ``f`` is.
"""
import ast

from ..errors import UnsupportedError, located
from .ir import callee

# construct -> (what it is, what to write instead)
_REJECTED = {
    ast.Try: ("try/except", "remove the try block: differentiated code cannot catch exceptions"),
    ast.With: ("a with statement", "move the with block outside the differentiated function"),
    ast.AsyncWith: ("async with", None),
    ast.AsyncFor: ("async for", None),
    ast.Await: ("await", None),
    ast.Yield: ("yield (a generator)", "return an array instead of yielding values"),
    ast.YieldFrom: ("yield from (a generator)", "return an array instead of yielding values"),
    ast.Lambda: ("a lambda", "define a helper with def at module level and call it"),
    ast.ClassDef: ("a class definition", "define classes outside the differentiated function"),
    ast.FunctionDef: ("a nested function definition",
                      "define the helper at module level; srcgrad differentiates calls to it"),
    ast.AsyncFunctionDef: ("a nested async function", None),
    ast.Dict: ("a dict", "use arrays or separate variables"),
    ast.DictComp: ("a dict comprehension", "use arrays or separate variables"),
    ast.Set: ("a set", "use arrays"),
    ast.SetComp: ("a set comprehension", "use arrays"),
    ast.ListComp: ("a list comprehension", "write a for loop that fills an np.zeros array"),
    ast.GeneratorExp: ("a generator expression", "write a for loop"),
    ast.List: ("a list", "use a NumPy array (np.zeros, then element writes)"),
    ast.JoinedStr: ("an f-string", "differentiated code works on numbers and arrays only"),
    ast.Global: ("a global statement (global writes)", "return the value instead of writing a global"),
    ast.Nonlocal: ("a nonlocal statement", "return the value instead"),
    ast.Delete: ("del", "remove the del statement"),
    ast.Import: ("an import inside the function", "import at module level"),
    ast.ImportFrom: ("an import inside the function", "import at module level"),
    ast.Raise: ("raise", "check inputs before calling the gradient"),
    ast.NamedExpr: ("an assignment expression (:=)", "assign on its own line"),
    ast.Starred: ("star-arguments", "pass arguments one by one"),
    ast.Match: ("a match statement", "use if/elif/else"),
}


def check(fsrc):
    """Raise UnsupportedError at the first unsupported construct in ``fsrc`` (a FunctionSource)."""
    node = fsrc.node
    args = node.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        raise UnsupportedError(located(
            f"{fsrc.name!r} takes *args, **kwargs, keyword-only or positional-only parameters",
            fsrc.origin(node), "give the function plain positional parameters"))
    # asserts and print() calls are dropped by normalisation, so their messages may be strings
    exempt = set()
    for child in ast.walk(ast.Module(body=node.body, type_ignores=[])):
        if isinstance(child, ast.Assert) and child.msg is not None or _is_print(child):
            exempt |= {id(n) for n in ast.walk(child)}
        if callee(child) == "srt.refuse_view":
            exempt |= {id(n) for n in child.args[2:]}    # the message of a check srcgrad wrote
        if _expands(fsrc, child):
            # a shorthand such as apply_regularization(reg, [w1, w2]) is rewritten before normalising
            exempt |= {id(a) for a in child.args if isinstance(a, (ast.List, ast.Tuple))}
    for child in ast.walk(ast.Module(body=node.body, type_ignores=[])):
        if id(child) in exempt:
            continue
        kind = _REJECTED.get(type(child))
        if kind is not None:
            what, hint = kind
            raise UnsupportedError(located(f"{what} is not supported by srcgrad", fsrc.origin(child), hint))
        if isinstance(child, ast.Constant) and isinstance(child.value, (str, bytes)):
            if not _is_docstring(node, child):
                raise UnsupportedError(located(
                    "strings are not supported in differentiated code", fsrc.origin(child),
                    "differentiated code works on numbers and arrays only"))
        if isinstance(child, (ast.For, ast.While)) and child.orelse:
            raise UnsupportedError(located("a loop with an else clause is not supported",
                                           fsrc.origin(child), "use a flag variable instead"))
        if (isinstance(child, ast.Expr) and not _is_docstring(node, child.value)
                and not isinstance(child.value, ast.Call) and type(child.value) not in _REJECTED):
            raise UnsupportedError(located(
                "an expression statement (a call for its side effect) is not supported",
                fsrc.origin(child), "assign the result to a variable, or remove the call"))


def _is_docstring(fn_node, const):
    first = fn_node.body[0] if fn_node.body else None
    return (isinstance(first, ast.Expr) and first.value is const
            and isinstance(const, ast.Constant) and isinstance(const.value, str))


def _is_print(node):
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name) and node.value.func.id == "print")


def _expands(fsrc, node):
    """Whether ``node`` calls a library shorthand that rewrites its own call (``__srcgrad_expand__``)."""
    if not isinstance(node, ast.Call):
        return False
    try:
        return hasattr(fsrc.resolve(node.func), "__srcgrad_expand__")
    except KeyError:
        return False
