"""Native saving of overwritten values: turns the reverse transform's markers into real code.

The reverse sweep reads some primal values (an operand of ``*``, the output of ``tanh``, an index).
A value defined once and never again is still there when the reverse sweep reads it. A value that is
overwritten (a loop variable, a temporary inside a loop, a reassigned name, an array element written
twice) must be given back: after each definition the forward sweep pushes the new value on a native
per-variable *tape*; the reverse sweep pops it at the same definition and restores the previous one.
Only variables that are both read by the reverse sweep and overwritten get a tape, so loop code saves
little. Tapes are NumPy arrays (or lists, for whole arrays saved by reference) sized from the trip
counts of the enclosing loops when first used, and doubled if a ``while`` loop outgrows them.
"""
import ast
import re
from collections import defaultdict

from ..front.ir import leaves, nested, statements
from .reverse import adjoint_name

_GENERATED_PREFIXES = ("_n", "_s", "_d", "_m", "_c")


def _markers(stmts):
    return (s for s in statements(stmts) if hasattr(s, "sg_marker"))


def _loads(stmts, content):
    """Primal names the reverse sweep reads. A block that will be empty (``content`` says whether a
    statement stays) reads nothing, not even its own condition or trip count."""
    names = set()
    for s in stmts:
        if hasattr(s, "sg_marker"):
            continue
        if isinstance(s, (ast.If, ast.For, ast.While)):
            if not any(content(b) for b in leaves(s.body + s.orelse)):
                continue
            head = s.test if not isinstance(s, ast.For) else s.iter
            names |= {n.id for n in ast.walk(head) if isinstance(n, ast.Name)}
            names |= _loads(s.body, content) | _loads(s.orelse, content)
        else:
            names |= {n.id for n in ast.walk(s) if isinstance(n, ast.Name)
                      and isinstance(n.ctx, ast.Load)}
            if isinstance(s, (ast.Assign, ast.AugAssign)):
                for t in (s.targets if isinstance(s, ast.Assign) else [s.target]):
                    if isinstance(t, ast.Subscript):   # writes read their base and index
                        names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


class Tapes:
    """Decides what to save and expands the markers of one forward/reverse pair."""

    def __init__(self, fwd, rev, active, exclude, recomputed, members=lambda name: {name},
                 mutated=frozenset()):
        """``members(name)``: the variables that may share memory with ``name``; the reverse sweep
        restores the writes into all of them where it reads one (a view saved by reference reads
        its base's memory). ``mutated``: variables a helper writes into in place (``srt.zero``,
        when generated code is differentiated again): their arrays are copied when saved."""
        self.mutated = mutated
        defs, in_loop = defaultdict(int), set()
        for m in _markers(fwd):
            kind, name, info = m.sg_marker
            if kind == "def":
                defs[name] += 1
                if info["loops"]:
                    in_loop.add(name)
        self.overwritten = {v for v in defs if defs[v] >= 2 or v in in_loop}
        self.active, self.recomputed = active, recomputed
        # What is saved decides which reverse blocks stay non-empty, which decides what is read:
        # grow the saved set until it is stable (it only grows, so this ends).
        self.saved, self.element_saved = set(), set()
        while True:
            read = _loads(rev, self.stays) | self._shapes_read(rev)
            needed = read - exclude
            memory = {m for name in read for m in members(name)}
            restored = [m for m in _markers(rev) if m.sg_marker[0] == "restore_element"
                        and m.sg_marker[1] in memory]
            for m in restored:
                needed |= {n.id for n in ast.walk(m.sg_marker[2]["index"])
                           if isinstance(n, ast.Name)}
            saved = {v for v in needed if v in self.overwritten}
            element_saved = {m.sg_marker[1] for m in restored}
            if saved == self.saved and element_saved == self.element_saved:
                break
            self.saved, self.element_saved = saved, element_saved
        self.element_sites = sorted({m.sg_marker[2]["site"] for m in restored})

    def _shapes_read(self, rev):
        """Variables whose value gives their adjoint its shape (reset markers with ``reshape``)."""
        return {m.sg_marker[1] for m in _markers(rev) if m.sg_marker[0] == "reset"
                and m.sg_marker[2].get("reshape") and self.expand_marker(*m.sg_marker)}

    def stays(self, s):
        """Whether a reverse-sweep statement produces code (given what is saved so far)."""
        if hasattr(s, "sg_marker"):
            return bool(self.expand_marker(*s.sg_marker))
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
            return s.targets[0].id not in self.recomputed
        return True

    def prologue(self):
        """Tape counters, initialised once at the top of the generated function."""
        names = [f"_top_{v}" for v in sorted(self.saved)]
        names += [f"_etop_{site}" for site in self.element_sites]
        return [ast.parse(f"{n} = 0").body[0] for n in names]

    def expand(self, stmts, exists=frozenset(), reserved=frozenset()):
        """Expand the markers of ``stmts``. ``exists``: the tapes certainly made before them;
        ``reserved``: the tapes whose room was made before the enclosing loop (plain pushes)."""
        out, exists = [], set(exists)
        for s in stmts:
            if hasattr(s, "sg_marker"):
                kind, name, info = s.sg_marker
                out.extend(self.expand_marker(kind, name, info, reserved=name in reserved))
                if kind == "def" and name in self.saved:
                    exists.add(name)
                continue
            inner = reserved
            if isinstance(s, ast.For):
                room, names = self._reserve(s, exists)
                out.extend(room)
                inner = reserved | names
            if isinstance(s, (ast.If, ast.For, ast.While)):
                s.body = self.expand(s.body, exists, inner)
                s.orelse = self.expand(s.orelse, exists, reserved)     # a loop's else is not its body
            out.append(s)
        return out

    def _reserve(self, loop, exists):
        """Make room before a ``for`` loop for every push its iterations will make, on the tapes
        that exist already and that only this loop's own body pushes to (not a nested loop). The
        pushes inside are then plain stores: a tape reassigned inside a hot loop costs a scalar
        recurrence about 20 % (Numba keeps the array's structure live across iterations)."""
        direct, deeper, trip = defaultdict(int), set(), {}
        for m, depth in ((m, d) for m, d in nested(loop.body) if hasattr(m, "sg_marker")):
            kind, name, info = m.sg_marker
            if kind == "def" and name in self.saved:
                if depth:
                    deeper.add(name)
                else:
                    direct[name] += 1
                    trip[name] = info["loops"][-1]
        names = {n for n in direct if n in exists and n not in deeper}
        pushes = {n: trip[n] if direct[n] == 1 else f"{direct[n]} * {trip[n]}" for n in names}
        code = "".join(f"if _top_{n} + {pushes[n]} > len(_tape_{n}):\n"
                       f"    _tape_{n} = srt.extend_tape(_tape_{n}, _top_{n} + {pushes[n]})\n"
                       for n in sorted(names))
        stmts = ast.parse(code).body
        for s in stmts:
            for node in ast.walk(s):
                node.sg_origin = getattr(loop, "sg_origin", None)
        return stmts, names

    def expand_marker(self, kind, name, info, reserved=False):
        origin = info.get("origin")
        code = ""
        value = f"srt.snapshot({name})" if name in self.mutated else name
        if kind == "def" and name in self.saved and reserved:
            code = f"_tape_{name}[_top_{name}] = {value}\n_top_{name} += 1\n"
        elif kind == "def" and name in self.saved:
            code = _push(f"_tape_{name}", f"_top_{name}", value, _hint(info["loops"]),
                         "srt.new_exact_tape" if _is_flag_or_counter(name) else "srt.new_tape")
        elif kind == "restore" and name in self.saved:
            # (after the first definition's push, index -1 reads the tape's last entry: a value
            # nothing reads, since nothing can read a variable before its first definition)
            value = f"_tape_{name}[_top_{name} - 1]"
            if not _is_flag_or_counter(name):       # the tape holds the joined type
                value = f"srt.cast_like({value}, {name})"
            code = f"_top_{name} -= 1\n{name} = {value}\n"
        elif kind == "reset" and name in self.overwritten and name in self.active:
            if info.get("reshape"):         # a new zero shaped like the value just restored
                code = f"{adjoint_name(name)} = srt.zeros_like({name})\n"
            else:
                code = f"{adjoint_name(name)} = srt.zero({adjoint_name(name)})\n"
        elif kind == "save_element" and name in self.element_saved:
            element, site = _element(name, info["index"]), info["site"]
            code = _push(f"_etape_{site}", f"_etop_{site}", f"srt.snapshot({element})",
                         _hint(info["loops"]))
        elif kind == "restore_element" and name in self.element_saved:
            element, site = _element(name, info["index"]), info["site"]
            code = f"_etop_{site} -= 1\n{element} = _etape_{site}[_etop_{site}]\n"
        stmts = ast.parse(code).body if code else []
        for s in stmts:
            for node in ast.walk(s):
                node.sg_origin = origin
        if kind == "reset" and stmts:       # (transform/zeros.py)
            stmts[0].sg_reset = "reshape" if info.get("reshape") else "zero"
        return stmts


def _element(name, index):
    """Source of ``name[index]`` (an index with slices prints only inside a subscript)."""
    return ast.unparse(ast.Subscript(ast.Name(name, ast.Load()), index, ast.Load()))


def _push(tape, top, value, hint, new="srt.new_tape"):
    return (f"if {top} == 0:\n    {tape} = {new}({value}, {hint})\n"
            f"elif {top} == len({tape}):\n    {tape} = srt.extend_tape({tape}, {top} + {hint})\n"
            f"{tape}[{top}] = {value}\n{top} += 1\n")


def _hint(loops):
    trips = [t for t in loops if t]
    return " * ".join(trips) if trips else "16"


def prune(stmts, recomputed):
    """Drop reverse-sweep blocks left empty (a loop that only recomputes its index, an empty if)."""
    out = []
    for s in stmts:
        if isinstance(s, ast.If) and not getattr(s, "sg_exit", False):
            s.body, s.orelse = prune(s.body, recomputed), prune(s.orelse, recomputed)
            if not s.body and not s.orelse:
                continue
            if not s.body:
                s.body = [ast.Pass()]
        elif isinstance(s, (ast.For, ast.While)):
            s.body = prune(s.body, recomputed)
            if all(isinstance(b, ast.Assign) and isinstance(b.targets[0], ast.Name)
                   and b.targets[0].id in recomputed for b in s.body):
                continue
        out.append(s)
    return out


def drop_dead_bookkeeping(stmts):
    """Remove trip counts, counters and hoisted bounds that nothing reads any more."""
    while True:
        loads = defaultdict(int)
        for node in ast.walk(ast.Module(body=stmts, type_ignores=[])):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                loads[node.id] += 1
        dead = set()
        for node in ast.walk(ast.Module(body=stmts, type_ignores=[])):
            if isinstance(node, (ast.Assign, ast.AugAssign)):
                t = node.targets[0] if isinstance(node, ast.Assign) else node.target
                if isinstance(t, ast.Name) and _is_bookkeeping(t.id) and loads[t.id] == 0:
                    dead.add(t.id)
        if not dead:
            return stmts
        stmts = _remove_assignments(stmts, dead)


def inline_flags(parts, ret):
    """``_f1 = test`` right before ``if _f1:``, where nothing else reads ``_f1`` (a branch flag the
    reverse sweep recomputes rather than tapes): ``if test:``, as by hand. ``parts``: the
    function's statement lists, changed in place; ``ret``: its return statement."""
    loads, sites = defaultdict(int), defaultdict(list)
    for node in ast.walk(ast.Module(body=[s for part in parts for s in part] + [ret],
                                    type_ignores=[])):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loads[node.id] += 1
    for part in parts:
        for block in [part] + [getattr(s, f) for s in statements(part) for f in ("body", "orelse")
                               if getattr(s, f, None)]:
            for k, s in enumerate(block[:-1]):
                test = getattr(block[k + 1], "test", None)
                if (isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
                        and _FLAG.fullmatch(s.targets[0].id) and isinstance(block[k + 1], ast.If)
                        and isinstance(test, ast.Name) and test.id == s.targets[0].id):
                    sites[test.id].append((block, k))
    inlined = [site for name, found in sites.items() if loads[name] == len(found) for site in found]
    for block, k in inlined:
        block[k + 1].test = block[k].value
    for block, k in sorted(inlined, key=lambda site: -site[1]):     # later positions first
        del block[k]


_FLAG = re.compile(r"_f\d+")
# the flags and counters srcgrad generates (front/structure.py, front/normalize.py, reverse.py)
_FLAG_OR_COUNTER = re.compile(r"_(f|ok|stop|skip|done|i|n|m|c|s|d)\d+")


def _is_flag_or_counter(name):
    """Whether ``name`` is a generated branch flag or loop count: one type throughout."""
    return bool(_FLAG_OR_COUNTER.fullmatch(name))


def _is_bookkeeping(name):
    return name.startswith(_GENERATED_PREFIXES) and name[2:].isdigit()


def _remove_assignments(stmts, dead):
    out = []
    for s in stmts:
        if isinstance(s, (ast.Assign, ast.AugAssign)):
            t = s.targets[0] if isinstance(s, ast.Assign) else s.target
            if isinstance(t, ast.Name) and t.id in dead:
                continue
        for field in ("body", "orelse"):
            if getattr(s, field, None):
                setattr(s, field, _remove_assignments(getattr(s, field), dead) or [ast.Pass()])
        out.append(s)
    return out
