"""``check_grads``: srcgrad's derivatives against finite differences, as a user can run them.

A wrong gradient crashes nothing, so the check must be independent of what it checks. For each
differentiated argument ``p`` and each mode, it draws a random direction ``v`` (in that argument
only) and a random output weight ``u``, and compares one number, ``<u, J_p v>``, three ways:

- finite differences: central differences of ``t -> <u, f(x + t v)>`` in float64, evaluating ``f``
  itself (the plain Python function, which NumPy runs), with Richardson extrapolation;
- forward mode: ``<u, jvp(f)(x, v)>``;
- reverse mode: ``<vjp(f)(x, u), v>``.

Order 2 and higher repeat the check on the derivatives themselves: the generated ``vjp`` (with ``u``
held fixed) and ``jvp`` (with ``v`` held fixed) are differentiated again, and their finite
differences come from running the order-1 derivatives, which passed order 1 first. This is JAX's
``check_grads`` contract (a dot-product test with random directions), for srcgrad's transforms.

Each derivative checked further must itself return one value, or it could not be given a single
``u`` at the next order: so the next order takes the ``vjp`` of one argument at a time (one
cotangent, not a tuple), and the *tangent* of a ``jvp`` (which returns the value as well) through a
small generated function that returns only the tangent (:func:`_tangent_only`), so that every order
works, in every combination of modes.
"""
import inspect
import keyword

import numpy as np

from .errors import ArgumentError, SrcgradError

MODES = ("fwd", "rev")
# default tolerances by the lowest float precision among the differentiated arguments
_TOLERANCE = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 2e-3}


class GradientCheckError(SrcgradError, AssertionError):
    """A derivative disagreed with finite differences; the message says which and by how much."""


def check_grads(f, args, wrt=0, modes=MODES, order=1, eps=None, rtol=None, atol=None, seed=0):
    """Check srcgrad's derivatives of ``f`` at ``args`` against finite differences; raise
    :class:`GradientCheckError` naming the mode, order, argument and discrepancy, else return None.

    ``wrt`` is a position, a name or a tuple of them; ``modes`` any of ``"fwd"`` (``jvp``) and
    ``"rev"`` (``vjp``); ``order`` how many times to differentiate (each order checks the one
    below it). ``eps`` is the finite-difference step (relative to each argument's scale);
    A difference up to ``atol + rtol |u| |J v|`` passes; both default to 1e-6 for float64 arguments
    and 2e-3 when one is float32 (as JAX's). The caller's arrays are never modified.
    """
    from . import api
    modes = _modes(modes)
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ArgumentError(f"check_grads: order must be an int >= 1, got {order!r}")
    if not isinstance(args, (tuple, list)):
        raise ArgumentError("check_grads: args must be a tuple of the arguments of f")
    args = tuple(_private(a) for a in args)
    positions = _positions(f, wrt, len(args))
    for p in positions:
        if not _is_float(args[p]):
            raise ArgumentError(f"check_grads: argument {_describe(f, p)} is not a float scalar or "
                                f"float array ({np.asarray(args[p]).dtype}), so it has no gradient")
    tolerance = max(_TOLERANCE.get(np.asarray(args[p]).dtype, 1e-6) for p in positions)
    rtol = tolerance if rtol is None else rtol
    atol = tolerance if atol is None else atol
    rng = np.random.default_rng(seed)
    _check(api, f, args, positions, modes, order, 1, eps, rtol, atol, rng, _name(f))


def _check(api, f, args, positions, modes, order, level, eps, rtol, atol, rng, label):
    y = _call(f, args)
    u = _like(y, rng)
    wrt = tuple(positions) if len(positions) > 1 else positions[0]    # one gradient: not a 1-tuple
    jvp_f = api.jvp(f, wrt=wrt) if "fwd" in modes else None
    vjp_f = api.vjp(f, wrt=wrt) if "rev" in modes else None
    cotangents = _as_tuple(vjp_f(*_copies(args), _seed(u))) if vjp_f else None
    for k, p in enumerate(positions):
        v = _like(args[p], rng)
        expected, scale = _differences(f, args, p, v, u, eps)
        if jvp_f is not None:
            tangents = tuple(v if q == p else _zeros(args[q]) for q in positions)
            _, out = jvp_f(*_copies(args), tangents if len(tangents) > 1 else tangents[0])
            _compare(_dot(u, out), expected, scale, rtol, atol, "fwd", level, f, p, label)
        if vjp_f is not None:
            _compare(_dot(cotangents[k], v), expected, scale, rtol, atol, "rev", level, f, p, label)
    if level == order:
        return
    if isinstance(y, tuple):
        raise ArgumentError(f"check_grads: order {level + 1} needs {_name(f)} to return one value "
                            "(a scalar or an array), not a tuple; check each output on its own")
    # the derivatives themselves, differentiated again: u (or v) joins the arguments, held fixed;
    # one argument at a time, so that each derivative returns one value (an array, not a tuple)
    for p in positions:
        if vjp_f is not None:
            vjp_p = vjp_f if len(positions) == 1 else api.vjp(f, wrt=p)
            _check(api, vjp_p, args + (u,), positions, modes, order, level + 1, eps, rtol, atol, rng,
                   f"vjp of {label}")
        if jvp_f is not None:
            _check(api, _tangent_only(api.jvp(f, wrt=p)), args + (_like(args[p], rng),), positions,
                   modes, order, level + 1, eps, rtol, atol, rng, f"jvp of {label}")


_TANGENT_ONLY = '''"""Generated by srcgrad's check_grads: the tangent of {name} alone, so that srcgrad can
differentiate it again."""
from {module} import {name} as {alias}


def {name}_tangent({params}):
    {value}, {out} = {alias}({params})
    return {out}
'''


def _tangent_only(jvp_f):
    """A function of ``jvp_f``'s arguments returning only its tangent, written to a file like any
    generated code so srcgrad can differentiate it (inlining ``jvp_f``'s generated source)."""
    from .codegen.cache import load_module
    info = jvp_f.__srcgrad__
    taken = set(info.params)

    def free(name):
        while name in taken or keyword.iskeyword(name):
            name += "_"
        taken.add(name)
        return name
    name = jvp_f.py_func.__name__
    text = _TANGENT_ONLY.format(name=name, module=info.path.stem, params=", ".join(info.params),
                                alias=free("derivative"), value=free("value"), out=free("tangent_out"))
    module, _ = load_module(f"{name}_tangent", text)
    return getattr(module, f"{name}_tangent")


def _differences(f, args, p, v, u, eps):
    """``<u, J_p v>`` by central differences with one Richardson step, in float64; and the scale
    of that number, ``|u| |J_p v|``, plus the rounding noise of the differences, for the tolerance."""
    x = np.asarray(args[p], dtype=np.float64)
    h = (1e-3 if eps is None else eps) * max(1.0, float(np.max(np.abs(x), initial=0.0)))

    def at(t):
        moved = list(_copies(args, np.float64))
        moved[p] = _restore(x + t * np.asarray(v, dtype=np.float64), args[p])
        return _flatten(_call(f, tuple(moved)))
    up, down, half_up, half_down = at(h), at(-h), at(h / 2), at(-h / 2)
    slope = (4 * (half_up - half_down) / h - (up - down) / (2 * h)) / 3
    weights = _flatten(u)
    noise = 1e-14 * float(np.sum(np.abs(weights * up))) / h
    return float(weights @ slope), float(np.linalg.norm(weights) * np.linalg.norm(slope)) + noise


def _compare(got, expected, scale, rtol, atol, mode, level, f, p, label):
    error, allowed = abs(got - expected), atol + rtol * scale
    if not np.isfinite(got) or not error <= allowed:
        raise GradientCheckError(
            f"{mode}-mode derivative of order {level} of {label} with respect to "
            f"argument {_describe(f, p)} is off: <u, J v> = {got!r}, finite differences give "
            f"{expected!r} (difference {error:.3g}, allowed {allowed:.3g}, u and v random)")


# -- values: scalars, arrays and tuples of them ---------------------------------------------------
def _private(a):
    if isinstance(a, np.ndarray):
        return a.copy()
    if isinstance(a, tuple):
        return tuple(_private(b) for b in a)
    return a


def _copies(args, dtype=None):
    out = []
    for a in args:
        if dtype is not None and _is_float(a):
            a = np.asarray(a, dtype=dtype) if isinstance(a, np.ndarray) else float(a)
        out.append(_private(a))
    return tuple(out)


def _restore(x, like):
    return x if isinstance(like, np.ndarray) else float(x)


def _call(f, args):
    return f(*_copies(args))


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def _seed(u):
    return tuple(u) if isinstance(u, list) else u


def _like(value, rng):
    """A random value shaped (and typed) like ``value``; a list for a tuple of outputs."""
    if isinstance(value, tuple):
        return [_like(v, rng) for v in value]
    a = np.asarray(value)
    dtype = a.dtype if np.issubdtype(a.dtype, np.floating) else np.float64
    r = rng.uniform(-1.0, 1.0, a.shape).astype(dtype)
    return r if isinstance(value, np.ndarray) else float(r)


def _zeros(value):
    return np.zeros_like(value) if isinstance(value, np.ndarray) else 0.0


def _dot(u, y):
    if isinstance(u, (list, tuple)):
        return sum(_dot(a, b) for a, b in zip(u, _as_tuple(y)))
    return float(np.sum(np.asarray(u, dtype=np.float64) * np.asarray(y, dtype=np.float64)))


def _flatten(value):
    """Every float of a scalar, array or tuple of them, as one float64 vector."""
    parts = value if isinstance(value, (list, tuple)) else (value,)
    return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in parts])


def _is_float(a):
    return isinstance(a, (float, np.floating)) or (isinstance(a, np.ndarray)
                                                  and np.issubdtype(a.dtype, np.floating))


# -- arguments --------------------------------------------------------------------------------------
def _modes(modes):
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    if not modes or any(m not in MODES for m in modes):
        raise ArgumentError(f"check_grads: modes must be drawn from {MODES}, got {modes!r}")
    return modes


def _parameters(f):
    return list(inspect.signature(getattr(f, "py_func", f)).parameters)


def _positions(f, wrt, count):
    items = wrt if isinstance(wrt, (tuple, list)) else (wrt,)
    names = _parameters(f)
    out = []
    for w in items:
        if isinstance(w, str):
            if w not in names:
                raise ArgumentError(f"check_grads: {_name(f)} has no argument named {w!r}")
            w = names.index(w)
        if not isinstance(w, int) or isinstance(w, bool) or not 0 <= w < count:
            raise ArgumentError(f"check_grads: wrt entry {w!r} is not one of the {count} arguments")
        out.append(w)
    if not out or len(set(out)) != len(out):
        raise ArgumentError(f"check_grads: wrt must name distinct arguments, got {wrt!r}")
    return out


def _name(f):
    return getattr(getattr(f, "py_func", f), "__name__", repr(f))


def _describe(f, p):
    names = _parameters(f)
    return f"{names[p]!r} (position {p})" if p < len(names) else f"at position {p}"
