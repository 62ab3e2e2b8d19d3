"""srcgrad's passes, in order: the one place that runs them.

=========  =====================================  ===============================================
stage      module                                 what it does
=========  =====================================  ===============================================
parse      ``front/parse.py``, ``front/inline.py``  the function's source, and its helpers' inlined
fence      ``front/fence.py``                     refuses what cannot be differentiated, at the
                                                  user's line
normalise  ``front/normalize.py``                 three-address form (``front/ir.py`` documents it)
analyse    ``analysis/``                          aliasing, activity, integers, shapes, what the
                                                  reverse sweep evaluates again
transform  ``transform/adjoint.py`` (reverse),    reverse: forward sweep, tapes, seeds, reverse
           ``transform/forward.py`` (tangents)    sweep; forward: each statement and its tangent
optimise   ``transform/zeros.py``,                symbolic zeros, copy propagation, dead code,
           ``optimize.py``, ``shape_only.py``     forward work read only for its shape
lower      ``codegen/products.py``, ``mathlib.py``, calls renamed for the backend: cached product
           ``parallel_mode.py``, ``debug.py``     kernels, vector math, parallel twins, nan checks
emit       ``codegen/emit.py``                    source text, each block under the user's line
compile    ``codegen/compile.py``                 written, imported, wrapped Numba dispatcher
=========  =====================================  ===============================================
"""
from .codegen import compile as backend
from .front.normalize import normalize
from .transform import adjoint, forward

VERSION = "0.1.0"


def reverse_mode(fn, wrt, mode, parallel=False, debug_nans=False, stop_gradients=(),
                 unconnected=None):
    """The compiled adjoint of ``fn`` for ``mode`` (``adjoint.MODES``)."""
    function = normalize(fn)                                      # parse, fence, normalise
    facts = adjoint.analyse(function, wrt, mode, stop_gradients)  # analyse
    code = adjoint.transform(function, facts, wrt, mode, unconnected)
    code = adjoint.optimise(code)
    return _compiled(code, parallel, debug_nans)


def forward_mode(fn, wrt, parallel=False, debug_nans=False):
    """The compiled tangent function of ``fn``."""
    function = normalize(fn)                                      # parse, fence, normalise
    code = forward.transform(function, wrt)                       # analyse and transform
    return _compiled(code, parallel, debug_nans)


def _compiled(code, parallel, debug_nans):
    sections, decorator = backend.lower(code.sections, parallel, debug_nans)
    text, origins = backend.module_text(code, sections, decorator, VERSION)
    return backend.load(code, text, origins)
