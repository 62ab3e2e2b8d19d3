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
function, once cached, calls unbound symbols or segfaults in the next process). srcgrad puts it back
for what its own caches and generated functions load, and for users' cache entries that hold a
:class:`Binding` (``compat.keep_reload_init_of_cached_callers``, installed when one is unpickled).

All of this reaches into Numba's lowering (``srcgrad/compat.py``); where srcgrad does not use it
(``SRCGRAD_NUMBA_PATCHES=0``, or a Numba it was not verified on), a kernel is a plain cached
``@njit`` function, linked into its callers as Numba does it.
"""
import hashlib
import importlib

import llvmlite.binding as ll
from numba import njit, types

from .. import compat
from ..errors import SrcgradError

_bound = {}          # symbol -> address bound in this process


class Binding:
    """One kernel signature's symbol; calling it loads (or compiles) the kernel and binds the symbol.

    Numba pickles it into the disk cache of every function that calls the kernel, so it names the
    kernel by module and qualified name, not by object."""

    __slots__ = ("module", "qualname", "args", "restype", "symbol")
    srcgrad_marker = True           # what compat's reload_init fix looks for

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
        return _unpickle_binding, self._key()

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


def _unpickle_binding(*key):
    """A Binding from a cache entry: whatever links the entry's function must inherit it."""
    compat.keep_reload_init_of_cached_callers()
    return Binding(*key)


class StandaloneDispatcher(compat.CPUDispatcher):
    """A kernel that compiled callers call by symbol when it takes an array (see the module doc)."""

    def add_overload(self, cres):
        super().add_overload(cres)
        if cres.objectmode or not any(isinstance(a, types.Array) for a in cres.signature.args):
            return
        py_func, fndesc = self.py_func, cres.fndesc
        binding = Binding(py_func.__module__, py_func.__qualname__, fndesc.argtypes, fndesc.restype)
        compat.call_by_symbol(self, cres, binding.symbol, binding, lambda: bind(cres, binding))


def standalone(fn=None, **options):
    """``@njit(cache=True, **options)`` for a kernel that callers call rather than copy."""
    if fn is None:
        return lambda f: standalone(f, **options)
    if "<" in fn.__qualname__:
        raise SrcgradError(f"a standalone kernel must be a module-level function, not {fn.__qualname__}")
    dispatcher = njit(cache=True, **options)(fn)
    compat.retype(dispatcher, StandaloneDispatcher)     # where not used: a kernel callers link
    return dispatcher
