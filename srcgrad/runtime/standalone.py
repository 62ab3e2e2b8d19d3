"""Kernels compiled once on a machine and called by address, not copied into every caller.

Why: when Numba compiles a function that calls another ``@njit`` function, it links the callee's
whole LLVM module into the caller's, then optimizes it and generates machine code for it again, even
when the callee came from the disk cache. srcgrad's array kernels (matrix products, the sums that undo
broadcasting, the loss kernels with their parallel drivers) are most of the code in a generated
gradient: a new MLP gradient spent about 1 s of its 2.7 s compile on them.

How: a :func:`standalone` kernel is an ordinary ``@njit(cache=True)`` dispatcher except for how other
compiled code calls it with array arguments. The call names a symbol made of the kernel's name and
signature, which srcgrad maps to the kernel's machine code with ``llvmlite.binding.add_symbol``:

- when the caller is compiled, the kernel is compiled (or loaded) for that signature and bound;
- when the caller is loaded from Numba's disk cache in a new process, the :class:`Binding` stored
  with it (Numba's ``reload_init`` hook, which runs before the cached machine code is loaded) loads
  the kernel and binds the symbol first.

Calls with scalar arguments only are linked and inlined as Numba does it: they sit in hot loops.

Numba drops a cached function's ``reload_init`` when a new function links it (numba#8578: the new
function, once cached, segfaults in the next process when what it links runs ``parallel=True``
code). :func:`_keep_reload_init` fixes that, for srcgrad's bindings and Numba's parallel code alike.
"""
import functools
import hashlib
import importlib

import llvmlite.binding as ll
from numba import njit, types
from numba.core import cgutils, compiler
from numba.core.base import OverloadSelector
from numba.core.imputils import fix_returning_optional, impl_ret_new_ref
from numba.core.registry import CPUDispatcher

from ..errors import SrcgradError

_bound = {}          # symbol -> address bound in this process


class Binding:
    """One kernel signature's symbol; calling it loads (or compiles) the kernel and binds the symbol.

    Numba pickles it into the disk cache of every function that calls the kernel, so it names the
    kernel by module and qualified name, not by object."""

    __slots__ = ("module", "qualname", "args", "restype", "symbol")

    def __init__(self, module, qualname, args, restype):
        self.module, self.qualname, self.args, self.restype = module, qualname, tuple(args), restype
        digest = hashlib.sha256(repr(self._key()).encode()).hexdigest()[:20]
        self.symbol = f"srcgrad.{module}.{qualname}.{digest}"

    def _key(self):
        return self.module, self.qualname, self.args, self.restype

    def __eq__(self, other):
        return isinstance(other, Binding) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __reduce__(self):
        return Binding, self._key()

    def __call__(self):
        kernel = importlib.import_module(self.module)
        for name in self.qualname.split("."):
            kernel = getattr(kernel, name, None)
        if not isinstance(kernel, StandaloneDispatcher):
            raise SrcgradError(self._stale(f"{self.module}.{self.qualname} is no longer a srcgrad kernel"))
        kernel.compile(self.args)
        bind(kernel.overloads[self.args], self)

    def _stale(self, why):
        return (f"cached machine code calls a srcgrad kernel that has changed ({why}): it was compiled "
                "by another srcgrad version; delete Numba's cache of the calling function "
                "(its __pycache__ folder, or NUMBA_CACHE_DIR) to recompile it")


def bind(cres, binding):
    """Map ``binding.symbol`` to the machine code of the compiled kernel ``cres``."""
    if cres.signature.return_type != binding.restype:
        raise SrcgradError(binding._stale(f"{binding.qualname} now returns "
                                          f"{cres.signature.return_type}, not {binding.restype}"))
    address = cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name)
    if not address:
        raise SrcgradError(f"srcgrad kernel {binding.qualname} has no machine code for {binding.args}")
    if _bound.get(binding.symbol) != address:
        ll.add_symbol(binding.symbol, address)
        _bound[binding.symbol] = address


def _call_by_symbol(dispatcher, cres):
    """Numba's lowering of a call to ``cres`` (``numba.core.imputils.user_function``), made against
    the kernel's symbol instead of its linked code."""
    fndesc, py_func = cres.fndesc, dispatcher.py_func
    binding = Binding(py_func.__module__, py_func.__qualname__, fndesc.argtypes, fndesc.restype)

    def lower(context, builder, sig, args):
        bind(cres, binding)
        context.active_code_library._reload_init.add(binding)
        fnty = context.call_conv.get_function_type(fndesc.restype, fndesc.argtypes)
        callee = cgutils.get_or_insert_function(builder.module, fnty, binding.symbol)
        status, result = context.call_conv.call_function(builder, callee, fndesc.restype,
                                                         fndesc.argtypes, args)
        with cgutils.if_unlikely(builder, status.is_error):
            context.call_conv.return_status_propagate(builder, status)
        result = fix_returning_optional(context, builder, sig, status, result)
        return impl_ret_new_ref(context, builder, fndesc.restype, result)

    lower.signature = fndesc.argtypes
    lower.libs = ()
    return lower


class StandaloneDispatcher(CPUDispatcher):
    """A kernel that compiled callers call by symbol when it takes an array (see the module doc)."""

    def add_overload(self, cres):
        super().add_overload(cres)
        if cres.objectmode or not any(isinstance(a, types.Array) for a in cres.signature.args):
            return
        lower = _call_by_symbol(self, cres)
        selector = OverloadSelector()
        selector.append(lower, lower.signature)
        self.targetctx._defns[cres.entry_point] = selector      # replaces Numba's linking call


def standalone(fn=None, **options):
    """``@njit(cache=True, **options)`` for a kernel that callers call rather than copy."""
    if fn is None:
        return lambda f: standalone(f, **options)
    if "<" in fn.__qualname__:
        raise SrcgradError(f"a standalone kernel must be a module-level function, not {fn.__qualname__}")
    dispatcher = njit(cache=True, **options)(fn)
    if isinstance(dispatcher, CPUDispatcher):     # not under NUMBA_DISABLE_JIT
        dispatcher.__class__ = StandaloneDispatcher
    return dispatcher


def _keep_reload_init():
    """Keep a cached function's ``reload_init`` on its library, where a new function that links it
    collects them (the fix proposed upstream in numba#9950)."""
    rebuild = compiler.CompileResult._rebuild.__func__
    if getattr(rebuild, "_srcgrad", False):
        return

    @functools.wraps(rebuild)       # keeps Numba's signature visible (codegen/cache.py reads it)
    def _rebuild(cls, *args, **kwargs):
        cres = rebuild(cls, *args, **kwargs)
        cres.library._reload_init.update(cres.reload_init or ())
        return cres

    _rebuild._srcgrad = True
    compiler.CompileResult._rebuild = classmethod(_rebuild)


_keep_reload_init()
