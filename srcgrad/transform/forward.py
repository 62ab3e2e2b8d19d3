"""The forward-mode (tangent) transform: each active statement is followed by its tangent.

Forward mode follows the primal's own control flow, so unlike the reverse sweep it needs no tapes:
``v = op(a, b)`` is followed by ``_dv = term_a + term_b``, each term a rule's tangent template
applied to an operand's tangent ``_da`` (``t`` in the template). Element writes write the tangent's
element too. Tangents are named ``_d<name>``, after Griewank and Walther.
"""
import ast
import copy
from dataclasses import dataclass

from ..analysis.activity import active_variables
from ..analysis.aliasing import Aliases, is_view_rule
from ..errors import ArgumentError, at_line
from ..front.ir import atom_base, is_exit, operands, target_name
from . import targets as targets_
from .reverse import fold, substitute


def tangent_name(name):
    return "_d" + name


@dataclass
class Tangent:
    name: str
    params: list
    defaults: dict
    seed_param: object
    sections: list
    sources: list
    user_name: str
    origin: object
    wrt: tuple = ()


class Forward:
    def __init__(self, active, aliases):
        self.active = active
        self.aliases = aliases

    def block(self, stmts):
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s):
        if isinstance(s, ast.If) and not is_exit(s):
            return [_like(ast.If(test=s.test, body=self.block(s.body), orelse=self.block(s.orelse)), s)]
        if isinstance(s, ast.For):
            return [_like(ast.For(target=s.target, iter=s.iter, body=self.block(s.body), orelse=[],
                                  lineno=0), s)]
        if isinstance(s, ast.While):
            return [_like(ast.While(test=s.test, body=self.block(s.body), orelse=[]), s)]
        if not isinstance(s, ast.Assign):
            return [s]
        check = self.aliases.check(s)
        if check is not None:           # what srcgrad cannot follow is refused when typed
            return [_like(check, s)] + self.assignment(s)
        return self.assignment(s)

    def assignment(self, s):
        name = target_name(s)
        if name not in self.active:
            return [s]
        if s.sg_kind == "write":
            value = self.operand_tangent(s.value)
            target = ast.Subscript(ast.Name(tangent_name(name), ast.Load()),
                                   copy.deepcopy(s.targets[0].slice), ast.Store())
            tangent = ast.Assign(targets=[target], value=value if value is not None
                                 else ast.Constant(0.0), lineno=0)
            return [s, _like(tangent, s)]
        terms = [] if s.sg_kind == "nondiff" else self.terms(s)
        value = _sum(terms) if terms else _call("srt.zeros_like", [ast.Name(name, ast.Load())])
        if s.sg_kind == "op" and terms and self.narrower(s, terms):
            value = _call("srt.expand_like", [value, ast.Name(name, ast.Load())])
        if s.sg_kind == "op" and terms and not is_view_rule(s.sg_rule) and self.shares(s, value):
            value = _call("srt.snapshot", [value])
        tangent = ast.Assign(targets=[ast.Name(tangent_name(name), ast.Store())], value=value,
                             lineno=0)
        return [s, _like(tangent, s)]

    def narrower(self, s, terms):
        """Whether a term of an elementwise rule may be smaller than the result: it does not
        involve every other operand, so it has not been broadcast against them."""
        rule = s.sg_rule
        arrays = {p: atom_base(a) for p, a in s.sg_args.items() if atom_base(a)}
        if len(arrays) < 2:
            return False
        names = [{n.id for n in ast.walk(t) if isinstance(n, ast.Name)} for t in terms]
        used = [p for p, a in operands(s) if self.operand_tangent(a) is not None]
        for p, seen in zip(used, names):
            if p in rule.tangents:
                continue
            if any(base not in seen for q, base in arrays.items() if q != p):
                return True
        return False

    def shares(self, s, value):
        """Whether the tangent ``value`` of a new primal array is another tangent itself (or a
        view of one) and either may be written into: then it must be a copy, as the primal is."""
        base = value
        while isinstance(base, ast.Subscript):
            base = base.value
        if not isinstance(base, ast.Name) or not base.id.startswith("_d"):
            return False
        source = base.id[2:]
        return self.aliases.is_written(target_name(s)) or self.aliases.is_written(source)

    def operand_tangent(self, atom):
        base = atom_base(atom)
        if base is None or base not in self.active:
            return None
        node = ast.Name(tangent_name(base), ast.Load())
        if isinstance(atom, ast.Subscript):
            node = ast.Subscript(node, copy.deepcopy(atom.slice), ast.Load())
        return node

    def terms(self, s):
        rule = s.sg_rule if s.sg_kind == "op" else None
        out = []
        for param, atom in operands(s):
            t = self.operand_tangent(atom)
            if t is None:
                continue
            if rule is None:
                out.append(t)
                continue
            mapping = rule.bindings(s.sg_args, param, None, t=t,
                                    y=ast.Name(target_name(s), ast.Load()))
            with at_line(s.sg_origin):
                out.append(fold(substitute(rule.tangent(param), mapping)))
        return out


def transform(function, wrt):
    """The tangent function of ``function`` (normalised): ``(*args, tangent) -> (value,
    directional derivative)``."""
    fsrc, params, body, results, ctx = function
    many = isinstance(wrt, (tuple, list))
    items = list(wrt) if many else [wrt]
    if not items:
        raise ArgumentError("wrt is empty: name at least one argument to differentiate")
    targets = targets_.resolve(items, fsrc, params, body, allow_variables=False)
    aliases = Aliases(body, reverse=False)
    wrt_names = [t.name for t in targets]
    active = active_variables(body, wrt_names, results, aliases.flows()) | set(wrt_names)

    seed_param = "tangent"
    while seed_param in params:
        seed_param += "_"
    prologue = [_parse(f"{p} = {p}.copy()") for p in params if aliases.is_written(p)]
    for k, w in enumerate(wrt_names):
        seed = seed_param if not many else f"{seed_param}[{k}]"
        prologue.append(_parse(f"{tangent_name(w)} = srt.seed({seed}, srt.check_float({w}))"))
    # an argument outside wrt that active values are written into starts with a zero tangent
    for p in params:
        if p in active and p not in wrt_names:
            prologue.append(_parse(f"{tangent_name(p)} = srt.zeros_like({p})"))
    forward = Forward(active, aliases)
    code = forward.block(body)
    values, tangents = [], []
    for r in results:
        values.append(ast.unparse(r))
        t = forward.operand_tangent(r)
        tangents.append(ast.unparse(t) if t is not None else f"srt.zeros_like({ast.unparse(r)})")
    pack = (lambda xs: xs[0] if len(xs) == 1 else "(" + ", ".join(xs) + ")")
    ret = _parse(f"return {pack(values)}, {pack(tangents)}")
    origin = fsrc.origin(fsrc.node)
    return Tangent(name=f"{fsrc.name}_jvp", params=list(params) + [seed_param], defaults={},
                   seed_param=seed_param,
                   sections=[(None, prologue), ("values and tangents, side by side", code),
                             (None, [ret])],
                   sources=ctx.sources, user_name=fsrc.name, origin=origin, wrt=tuple(wrt_names))


def _sum(terms):
    total = terms[0]
    for t in terms[1:]:
        total = ast.BinOp(total, ast.Add(), t)
    return total


def _call(name, args):
    return ast.Call(ast.Name(name, ast.Load()), args, [])


def _parse(text):
    return ast.parse(text).body[0]


def _like(node, original):
    node.sg_origin = getattr(original, "sg_origin", None)
    return node
