"""The public API: grad, value_and_grad, vjp and source.

Each call runs the pipeline (``pipeline.py``: parse → fence → normalise → analyse → transform →
optimise → lower → emit → compile) in pure Python, which takes milliseconds, and returns a Numba dispatcher for the generated file. Numba compiles it on
first call (or loads it from its disk cache), and the same object can be called from Python or from
a user's ``@numba.njit`` code.
"""
import functools

import numpy as np

from .errors import SrcgradError
from .pipeline import forward_mode, reverse_mode


def _make(fn, wrt, mode, parallel=False, debug_nans=False, **options):
    return reverse_mode(fn, wrt, mode, _flag("parallel", parallel), _flag("debug_nans", debug_nans),
                        **options)


def _flag(name, value):
    if not isinstance(value, bool):
        raise SrcgradError(f"{name} must be True or False, not {value!r}")
    return value


def _decorator(mode, doc):
    def transform(f=None, wrt=0, parallel=False, debug_nans=False):
        if f is None:
            return functools.partial(transform, wrt=wrt, parallel=parallel, debug_nans=debug_nans)
        if not callable(f):
            raise SrcgradError(f"{mode} expects a function, got {type(f).__name__}")
        return _make(f, wrt, mode, parallel, debug_nans)
    transform.__name__ = mode
    transform.__doc__ = doc
    return transform


grad = _decorator("grad", """Gradient of ``f`` with respect to the argument(s) ``wrt``.

``wrt`` is a position or an argument name (one gradient) or a tuple of them (a tuple of gradients).
Each gradient has its argument's shape. If ``f`` returns an array, this is the gradient of its sum;
if ``f`` returns several values, of the sum of all of them. An argument with no path to the output
gets zeros. Use as ``grad(f)``, ``@grad`` or ``@grad(wrt=(0, 1))``.

``parallel=True`` compiles the gradient with Numba's parallel mode: its array expressions (the
elementwise work of the function and of its adjoint) run on all of Numba's threads
(``NUMBA_NUM_THREADS``), with the same bits as the serial build at any thread count. It pays from
about 1e5 elements per expression; below that, threads cost more than they save. It applies to
``grad``, ``value_and_grad``, ``vjp``, ``gradients`` and ``jvp``.

``debug_nans=True`` (the same functions take it) makes the generated code check each value and
gradient it computes and raise :class:`srcgrad.NonFiniteError` at the first that is nan or inf,
naming the user's line. Without it, inf and nan propagate as in NumPy.
""")

value_and_grad = _decorator("value_and_grad", """Like :func:`grad`, returning ``(f(*args), gradient)``.""")

vjp = _decorator("vjp", """Vector-Jacobian product: a function ``(*args, dy)`` returning the cotangents
of the ``wrt`` arguments for the output cotangent ``dy`` (TensorFlow's ``grad_ys``). ``dy`` has the
output's shape; for a function returning a tuple, ``dy`` is a tuple with one entry per output.
""")


def gradients(f, wrt, stop_gradients=(), unconnected=None, parallel=False, debug_nans=False):
    """TensorFlow's ``tf.gradients`` for a function: ``g(*args, grad_ys=None)`` returns a tuple with,
    for each ``wrt`` item, the sum over all outputs y of ``f`` of the derivative of ``grad_y · y``.

    ``wrt`` and ``stop_gradients`` take argument positions, argument names, and names of variables
    ``f`` assigns exactly once (outside loops), which play the role of TensorFlow's intermediate
    tensors. A stopped variable is a constant for everything upstream of it, while its own gradient
    is still reported. ``grad_ys`` defaults to ones shaped like each output; for several outputs it
    is a tuple. An item with no path to any output gives None, or zeros with ``unconnected="zero"``.
    """
    if unconnected not in (None, "none", "zero"):
        raise SrcgradError(f"unconnected must be None or 'zero', not {unconnected!r}")
    if isinstance(wrt, (int, str)):
        wrt = (wrt,)
    if isinstance(stop_gradients, (int, str)):
        stop_gradients = (stop_gradients,)
    return _make(f, tuple(wrt), "gradients", parallel, debug_nans,
                 stop_gradients=tuple(stop_gradients), unconnected=unconnected)


def jvp(f=None, wrt=0, parallel=False, debug_nans=False):
    """Forward mode: a function ``(*args, tangent)`` returning ``(f(*args), directional derivative)``.

    ``tangent`` has the shape of the ``wrt`` argument (a tuple of them when ``wrt`` is a tuple).
    The tangent code is generated alongside the primal by the same pipeline, statement by statement.
    """
    if f is None:
        return functools.partial(jvp, wrt=wrt, parallel=parallel, debug_nans=debug_nans)
    if not callable(f):
        raise SrcgradError(f"jvp expects a function, got {type(f).__name__}")
    return forward_mode(f, wrt, _flag("parallel", parallel), _flag("debug_nans", debug_nans))


def hvp(f, wrt=0):
    """Hessian-vector product, forward over reverse: ``h(*args, v)`` returns ``H v`` for the
    argument ``wrt`` (an int or a name), ``v`` shaped like that argument."""
    tangent = jvp(grad(f, wrt=wrt), wrt=wrt)

    def hessian_vector_product(*args):
        return tangent(*args)[1]
    hessian_vector_product.__srcgrad__ = tangent.__srcgrad__
    return hessian_vector_product


def hessian(f, wrt=0):
    """Hessian of scalar ``f`` with respect to one argument, built from one forward-over-reverse
    product per element: shape ``x.shape + x.shape`` (a float for a scalar argument)."""
    product = hvp(f, wrt=wrt)
    position = _position(f, wrt)

    def full_hessian(*args):
        x = args[position]
        if np.ndim(x) == 0:
            return product(*args, 1.0)
        return _over_basis(np.shape(x), lambda e: product(*args, e))
    full_hessian.__srcgrad__ = product.__srcgrad__
    return full_hessian


def jacobian(f, wrt=0):
    """Jacobian of (array-valued) ``f`` with respect to one argument, one forward-mode column per
    input element: shape ``y.shape + x.shape``."""
    tangent = jvp(f, wrt=wrt)
    position = _position(f, wrt)

    def full_jacobian(*args):
        x = args[position]
        if np.ndim(x) == 0:
            return tangent(*args, 1.0)[1]
        return _over_basis(np.shape(x), lambda e: tangent(*args, e)[1])
    full_jacobian.__srcgrad__ = tangent.__srcgrad__
    return full_jacobian


def _over_basis(shape, column):
    """``column(e)`` for each unit vector ``e`` of ``shape``, stacked on trailing axes."""
    columns = {}
    for index in np.ndindex(*shape):
        e = np.zeros(shape)
        e[index] = 1.0
        columns[index] = np.asarray(column(e))
    if not columns:
        raise SrcgradError("hessian/jacobian of an empty argument")
    first = next(iter(columns.values()))
    out = np.empty(first.shape + tuple(shape))
    for index, value in columns.items():
        out[(Ellipsis,) + index] = value
    return out


def _position(f, wrt):
    import inspect
    if isinstance(wrt, str):
        return list(inspect.signature(getattr(f, "py_func", f)).parameters).index(wrt)
    if not isinstance(wrt, int):
        raise SrcgradError("hessian and jacobian take one argument (an int or a name) as wrt")
    return wrt


def source(g):
    """The generated Python source of a function srcgrad made."""
    info = getattr(g, "__srcgrad__", None)
    if info is None:
        raise SrcgradError(f"{g!r} was not made by srcgrad, so it has no generated source")
    return info.text
