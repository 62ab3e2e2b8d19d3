"""Every use srcgrad makes of Numba's and NumPy's internals, in one place, each checked before use.

Why: Numba's stable surface is its extension API (``numba.extending``, ``numba.core.types``,
``TypingError``). srcgrad also relies on internals that change between releases: how a cached
function is rebuilt, how calls are lowered, how array expressions index their operands, where the
disk cache keeps its files, which dispatcher method handles a miss, how error text is laid out, and
where NumPy's wheels export their BLAS. A silent change in any of them could load stale machine
code or crash, so each one here

- is used only on a Numba in ``VERIFIED_NUMBA`` (and NumPy in ``VERIFIED_NUMPY``) and only when
  ``SRCGRAD_NUMBA_PATCHES`` is not ``0`` (:func:`uses`), and only if its shape still matches
  (:func:`shape_ok`, checked from Numba's classes without compiling anything);
- has a canary in ``tests/test_compat.py`` that fails loudly when its shape or behaviour changes;
- has a fallback that is plain Numba (correct, only slower to compile or run), which CI proves by
  running the tests that reach these paths with ``SRCGRAD_NUMBA_PATCHES=0``.

Nothing here changes Numba for code that is not srcgrad's: the lowering patches are swapped in only
while a generated function compiles (under Numba's compiler lock), and the one class-level change
(:func:`keep_reload_init_of_cached_callers`) is installed only once a cache entry holding srcgrad's
code is unpickled, and acts only on such entries.
"""
import contextlib
import ctypes
import functools
import glob
import importlib
import os
import re
import threading
import types as pytypes

import numba
import numpy as np
from llvmlite import ir
from numba import njit
from numba.core import types
from numba.core.errors import TypingError
from numba.extending import overload

VERIFIED_NUMBA = ((0, 68),)          # major, minor: the releases CI tests (pyproject.toml pins them)
VERIFIED_NUMPY = ((2, 0), (3, 0))    # [from, to): the BLAS export lookup
SWITCH = "SRCGRAD_NUMBA_PATCHES"
ENABLED = (tuple(numba.version_info[:2]) in VERIFIED_NUMBA
           and os.environ.get(SWITCH, "1").strip() != "0")
_LOCK = threading.Lock()


def uses(name):
    """Whether srcgrad uses the internal ``name`` (one of :data:`INTERNALS`) in this process."""
    return ENABLED and shape_ok(name)


@functools.lru_cache(maxsize=None)
def shape_ok(name):
    """Whether the internal ``name`` still looks as srcgrad expects (independent of the switch)."""
    try:
        return bool(_SHAPES[name]())
    except (ImportError, AttributeError, TypeError, ValueError):
        return False


def _names(function, *names):
    """Whether ``function``'s code mentions every attribute in ``names`` (what it reads or sets)."""
    return set(names) <= set(function.__code__.co_names)


def _params(function):
    import inspect
    return [p for p in inspect.signature(function).parameters]


# -- names from Numba's internals, with plain fallbacks ---------------------------------------------
def _probe(x):
    return x


CPUDispatcher = type(njit(_probe))      # the class njit gives, whatever module defines it
NumbaError = getattr(numba.core.errors, "NumbaError", Exception)


def _numbas(module, name, fallback):
    """``module.name`` from Numba where srcgrad uses its internals, else ``fallback()``."""
    if ENABLED:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            pass
    return fallback()


class _NeverOmitted:
    """Stands in for Numba's ``OmittedArg`` where it is unknown: nothing is an instance."""


def _as_dtype(nbtype):
    """The NumPy dtype of a Numba number or boolean type."""
    return np.dtype(str(nbtype))


def _to_fixed_tuple_fallback():
    def to_fixed_tuple(array, length):
        """``tuple(array[:length])``, ``length`` a compile-time constant (compiled code only)."""
        return tuple(array[:length])

    @overload(to_fixed_tuple)
    def _ov(array, length):
        if not isinstance(length, types.IntegerLiteral):
            raise TypingError("to_fixed_tuple needs a constant length")
        items = "".join(f"array[{k}], " for k in range(length.literal_value))
        namespace = {}
        exec(f"def impl(array, length):\n    return ({items})\n", namespace)   # noqa: S102
        return namespace["impl"]
    return to_fixed_tuple


OmittedArg = _numbas("numba.core.dispatcher", "OmittedArg", lambda: _NeverOmitted)
as_dtype = _numbas("numba.np.numpy_support", "as_dtype", lambda: _as_dtype)
to_fixed_tuple = _numbas("numba.np.unsafe.ndarray", "to_fixed_tuple", _to_fixed_tuple_fallback)
from_dtype = numba.from_dtype           # public: Numba re-exports numpy_support's


def get_or_insert_function(module, fnty, name):
    """The LLVM function ``name`` of type ``fnty`` in ``module``, declared if new (llvmlite only)."""
    function = module.globals.get(name)
    return function if function is not None else ir.Function(module, fnty, name)


def compiler_lock():
    """Numba's compiler lock (a process-wide lock every compile holds), or a lock of srcgrad's own
    where it is unknown (then no patch that needs it is used)."""
    if uses("compiler_lock"):
        from numba.core.compiler_lock import global_compiler_lock
        return global_compiler_lock
    return _OWN_COMPILE_LOCK


_OWN_COMPILE_LOCK = threading.RLock()


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_WHERE = re.compile(r'File "([^"]+)", line (\d+)')


def error_lines(exc):
    """The lines of a Numba error's message, stripped, without colour codes and Numba's
    ``Failed in ... pipeline`` headers (whole lines of the message where its layout is unknown)."""
    lines = [line.strip() for line in _ANSI.sub("", str(exc)).splitlines() if line.strip()]
    if uses("error_text"):
        lines = [line for line in lines if not line.startswith("Failed in")]
    return lines


def error_locations(exc):
    """``(file, line)`` pairs a Numba error's message cites, in order (none where unknown)."""
    if not uses("error_text"):
        return []
    return [(m.group(1), int(m.group(2))) for m in _WHERE.finditer(_ANSI.sub("", str(exc)))]


# -- dispatchers with srcgrad's own methods --------------------------------------------------------
def retype(dispatcher, cls):
    """Make ``dispatcher`` (from ``njit``) an instance of ``cls``, a subclass of its class, so that
    Numba's miss path (``_compile_for_args``) and ``compile`` reach srcgrad's versions; True if
    done. Otherwise it keeps Numba's class (plain Numba behaviour) and gets ``cls``'s methods that
    Numba's class does not have (``defvjp``) as attributes, so srcgrad's API on it stays."""
    if uses("retype") and type(dispatcher) is CPUDispatcher and issubclass(cls, CPUDispatcher):
        dispatcher.__class__ = cls
        return True
    for klass in reversed(cls.__mro__[:cls.__mro__.index(CPUDispatcher)]):
        for name, value in vars(klass).items():
            if not name.startswith("_") and callable(value) and not hasattr(CPUDispatcher, name):
                setattr(dispatcher, name, pytypes.MethodType(value, dispatcher))
    return False


# -- calls by symbol (runtime/standalone.py) -------------------------------------------------------
def call_by_symbol(dispatcher, cres, symbol, marker, before):
    """Make compiled code call the compiled ``cres`` of ``dispatcher`` as the external ``symbol``
    instead of linking its library (Numba's ``imputils.user_function`` against a declaration);
    each caller runs ``before()`` and keeps ``marker`` in its ``reload_init``. False if not used."""
    if not uses("call_by_symbol"):
        return False
    from numba.core import cgutils
    from numba.core.imputils import fix_returning_optional, impl_ret_new_ref
    fndesc = cres.fndesc

    def lower(context, builder, sig, args):
        before()
        context.active_code_library._reload_init.add(marker)
        fnty = context.call_conv.get_function_type(fndesc.restype, fndesc.argtypes)
        callee = get_or_insert_function(builder.module, fnty, symbol)
        status, result = context.call_conv.call_function(builder, callee, fndesc.restype,
                                                         fndesc.argtypes, args)
        with cgutils.if_unlikely(builder, status.is_error):
            context.call_conv.return_status_propagate(builder, status)
        result = fix_returning_optional(context, builder, sig, status, result)
        return impl_ret_new_ref(context, builder, fndesc.restype, result)

    lower.signature = fndesc.argtypes
    lower.libs = ()
    context = dispatcher.targetctx
    context.remove_user_function(cres.entry_point)          # Numba's linking call, just inserted
    context.insert_func_defn([(lower, cres.entry_point, lower.signature)])
    return True


# -- reload_init: what a cached function runs before its machine code loads (numba#8578) ------------
def reload_init_of(cres):
    """The mutable set of ``cres``'s library that functions linking it inherit, or None."""
    if not uses("reload_init"):
        return None
    init = getattr(cres.library, "_reload_init", None)
    return init if isinstance(init, set) else None


def keep_reload_init(cres):
    """Put what a function loaded from the cache ran before loading back on its library, where a
    new function that links it collects it (Numba drops it: numba#8578, fix proposed in #9950)."""
    init = reload_init_of(cres)
    if init is not None and cres.reload_init:
        init.update(cres.reload_init)


_OWN = threading.local()


@contextlib.contextmanager
def loading_own_code():
    """Marks srcgrad loading its own compiled code, which it fixes itself (:func:`keep_reload_init`)."""
    _OWN.depth = getattr(_OWN, "depth", 0) + 1
    try:
        yield
    finally:
        _OWN.depth -= 1


def keep_reload_init_of_cached_callers():
    """Install :func:`keep_reload_init` for every cache entry Numba loads whose ``reload_init``
    holds one of srcgrad's markers (an object with ``srcgrad_marker = True``): a user's cached
    function that links srcgrad's code is loaded by Numba's cache alone, and ``_rebuild`` is the
    only point where its library exists together with its ``reload_init``. Installed when such a
    marker is unpickled outside srcgrad's own loads (so only in processes that load a user's entry
    holding srcgrad's code); entries without a marker are rebuilt by Numba's own code, untouched."""
    if not uses("reload_init") or getattr(_OWN, "depth", 0):
        return
    from numba.core.compiler import CompileResult
    with _LOCK:
        rebuild = CompileResult._rebuild.__func__
        if getattr(rebuild, "srcgrad_marker", False):
            return

        @functools.wraps(rebuild)
        def _rebuild(cls, *args, **kwargs):
            cres = rebuild(cls, *args, **kwargs)
            if any(getattr(fn, "srcgrad_marker", False) for fn in cres.reload_init or ()):
                keep_reload_init(cres)
            return cres

        _rebuild.srcgrad_marker = True
        CompileResult._rebuild = classmethod(_rebuild)


# -- how generated functions are lowered (codegen/lowering.py) -------------------------------------
def _update_indices_by_select(self, loop_indices, name):
    """``_ArrayIndexingHelper.update_indices`` with a select instead of a branch per axis."""
    builder = self.array.builder
    intp = self.array.context.get_value_type(types.intp)
    one, zero = ir.Constant(intp, 1), ir.Constant(intp, 0)
    # the operand's axes are the loop's innermost ones (outer axes are broadcast), as in Numba's
    indices = loop_indices[len(loop_indices) - len(self.indices):]
    for index, slot, length in zip(indices, self.indices, self.array.shape):
        builder.store(builder.select(builder.icmp_unsigned(">", length, one), index, zero), slot)


@contextlib.contextmanager
def broadcasting_by_select():
    """Within this block (holding :func:`compiler_lock`), Numba's array expressions update each
    operand's index with a select instead of a branch; Numba's lowering elsewhere."""
    if not (uses("broadcast_select") and uses("compiler_lock")):
        yield
        return
    from numba.np import npyimpl
    helper = npyimpl._ArrayIndexingHelper
    branching = helper.update_indices
    helper.update_indices = _update_indices_by_select
    try:
        yield
    finally:
        helper.update_indices = branching


@contextlib.contextmanager
def prefer_vector_width(bits):
    """Within this block (holding :func:`compiler_lock`), every function Numba compiles asks LLVM's
    vectorizer for ``bits``-bit vectors (the attribute clang's ``-mprefer-vector-width`` sets)."""
    if not (bits and uses("vector_width") and uses("compiler_lock")):
        yield
        return
    from numba.core.codegen import CPUCodeLibrary
    attribute = f'"prefer-vector-width"="{bits}"'
    add_ir_module = CPUCodeLibrary.add_ir_module

    def add_wide_ir_module(library, module):
        for function in module.functions:
            if not function.is_declaration:
                set.add(function.attributes, attribute)   # llvmlite checks names; LLVM takes this
        return add_ir_module(library, module)

    CPUCodeLibrary.add_ir_module = add_wide_ir_module
    try:
        yield
    finally:
        CPUCodeLibrary.add_ir_module = add_ir_module


# -- Numba's disk cache (codegen/cache.py) ---------------------------------------------------------
def numba_cache_files(dispatcher):
    """The index and data files Numba keeps for ``dispatcher`` (an empty list before it writes
    any), or None where srcgrad cannot tell (then it must not let Numba load them)."""
    if not uses("cache_files"):
        return None
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    index, folder = getattr(cache_file, "_index_name", None), getattr(cache_file, "_cache_path", None)
    if not (isinstance(index, str) and index.endswith(".nbi") and isinstance(folder, str)):
        return None
    base = index[:-len(".nbi")]
    return sorted(glob.glob(os.path.join(glob.escape(folder), glob.escape(base) + ".*")))


def cache_in_subfolder(dispatcher, subfolder):
    """Keep the disk cache of ``dispatcher`` (an ``njit(cache=True)`` dispatcher or a
    ``vectorize(cache=True)`` ufunc) in ``subfolder()`` of the folder Numba would use, so that
    code built from other sources never shares its files; what it loads keeps its
    ``reload_init`` (:func:`keep_reload_init`). Where that is not used, the function gets no disk
    cache (compiled in each process). False if ``dispatcher`` is not a cached Numba function."""
    owner, attribute = _cache_owner(dispatcher)
    if owner is None:
        return False
    if uses("kernel_caches"):
        setattr(owner, attribute, _SubfolderCache(owner.py_func, subfolder))
    else:
        from numba.core.caching import NullCache
        setattr(owner, attribute, NullCache())
    return True


def _cache_owner(dispatcher):
    """(object holding the cache, attribute name) of a cached dispatcher or DUFunc, or (None, None)
    (also where Numba's caching classes are not where they were: then srcgrad warns, at import)."""
    try:
        from numba.core.caching import FunctionCache, NullCache  # noqa: F401 - both must be where they were
    except ImportError:
        _warn_uncontrolled_caches()
        return None, None
    for owner, attribute in ((dispatcher, "_cache"), (getattr(dispatcher, "_dispatcher", None), "cache")):
        if isinstance(getattr(owner, attribute, None), FunctionCache):     # not set up yet
            return owner, attribute
    return None, None


@functools.lru_cache(maxsize=1)
def _warn_uncontrolled_caches():
    import warnings
    warnings.warn("srcgrad cannot find Numba's cache classes in this Numba: its kernels keep Numba's "
                  "own disk cache, which is not rebuilt when srcgrad changes; clear the __pycache__ "
                  "folders in srcgrad's package after changing srcgrad", RuntimeWarning, stacklevel=3)


def _subfolder_cache_classes():
    from numba.core import caching

    class Locator(caching._CacheLocator):
        """Numba's locator of a function, pointed at a subfolder of its folder."""

        def __init__(self, inner, subfolder):
            self._inner = inner
            self._path = os.path.join(inner.get_cache_path(), subfolder)

        def get_cache_path(self):
            return self._path

        def get_source_stamp(self):
            return self._inner.get_source_stamp()

        def get_disambiguator(self):
            return self._inner.get_disambiguator()

    class Impl(caching.CompileResultCacheImpl):
        def __init__(self, py_func, subfolder):
            super().__init__(py_func)
            self._locator = Locator(self._locator, subfolder)

    class Cache(caching.FunctionCache):
        def __init__(self, py_func, subfolder):
            self._impl_class = functools.partial(Impl, subfolder=subfolder)
            super().__init__(py_func)

    return Cache


class _SubfolderCache:
    """Numba's function cache in a subfolder, made on first use (so importing srcgrad touches no
    folder), with :func:`keep_reload_init` applied to what it loads."""

    def __init__(self, py_func, subfolder):
        self._py_func, self._subfolder, self._inner = py_func, subfolder, None

    def _cache(self):
        if self._inner is None:
            self._inner = _subfolder_cache_classes()(self._py_func, self._subfolder())
        return self._inner

    @property
    def cache_path(self):
        return self._cache().cache_path

    def load_overload(self, sig, target_context):
        with loading_own_code():
            cres = self._cache().load_overload(sig, target_context)
        if cres is not None:
            keep_reload_init(cres)
        return cres

    def save_overload(self, sig, data):
        self._cache().save_overload(sig, data)

    def enable(self):
        self._cache().enable()

    def disable(self):
        self._cache().disable()

    def flush(self):
        self._cache().flush()


# -- NumPy's BLAS (runtime/blas.py) ----------------------------------------------------------------
_NAMES = (("scipy_cblas_", "scipy_openblas_", "64_"), ("cblas_", "openblas_", "64_"))   # wheels; plain


def numpy_cblas_gemm():
    """``(name, {"d": address, "s": address})`` of the 64-bit CBLAS ``dgemm``/``sgemm`` that NumPy's
    wheels export through their extension module, or None (other builds, or not used)."""
    if not uses("numpy_blas"):
        return None
    try:
        from numpy._core import _multiarray_umath as core
        library = ctypes.CDLL(core.__file__)      # dlsym through it also searches its BLAS
    except (ImportError, OSError, AttributeError):
        return None
    for cblas, _, suffix in _NAMES:
        try:
            found = {kind: getattr(library, f"{cblas}{kind}gemm{suffix}") for kind in "ds"}
        except AttributeError:
            continue
        return (f"{cblas}gemm{suffix} (NumPy {np.__version__})",
                {kind: ctypes.cast(f, ctypes.c_void_p).value for kind, f in found.items()})
    return None


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def _library_file(address):
    """The file of the shared library that holds ``address`` (glibc's ``dladdr``), or None."""
    info = _DlInfo()
    try:
        dladdr = ctypes.CDLL(None).dladdr
    except (OSError, AttributeError):
        return None
    dladdr.argtypes, dladdr.restype = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)], ctypes.c_int
    if not dladdr(address, ctypes.byref(info)) or not info.dli_fname:
        return None
    return os.fsdecode(info.dli_fname)


def private_openblas():
    """A copy of NumPy's OpenBLAS loaded for srcgrad alone: ``(name, {"dgemm", "sgemm",
    "get_threads", "set_threads": address})``, or None (not NumPy's wheels' OpenBLAS, no
    ``memfd_create``, or not used).

    The file NumPy loaded (found with ``dladdr`` from its export) is loaded once more from an
    anonymous in-memory file, so the dynamic loader treats it as another library: its own thread
    pool and thread count, which srcgrad sets per product without touching the user's NumPy. Nothing
    is written to disk."""
    found = numpy_cblas_gemm()
    if found is None or not hasattr(os, "memfd_create"):
        return None
    path = _library_file(found[1]["d"])
    if path is None or "openblas" not in os.path.basename(path).lower():
        return None
    try:
        fd = os.memfd_create("srcgrad-openblas", os.MFD_CLOEXEC)
        try:
            with open(path, "rb") as source:
                # a kernel-side copy: reading 30 MB into Python would leave glibc's malloc with a
                # raised mmap threshold (its dynamic adjustment), which is the user's process's
                size, done = os.fstat(source.fileno()).st_size, 0
                while done < size:
                    done += os.sendfile(fd, source.fileno(), done, size - done)
            library = ctypes.CDLL(f"/proc/self/fd/{fd}", mode=os.RTLD_LOCAL)
        finally:
            os.close(fd)
    except OSError:
        return None
    for cblas, openblas, suffix in _NAMES:
        names = {"dgemm": f"{cblas}dgemm{suffix}", "sgemm": f"{cblas}sgemm{suffix}",
                 "get_threads": f"{openblas}get_num_threads{suffix}",
                 "set_threads": f"{openblas}set_num_threads{suffix}"}
        try:
            functions = {key: getattr(library, name) for key, name in names.items()}
        except AttributeError:
            continue
        return (f"a private copy of {os.path.basename(path)} (NumPy {np.__version__})",
                {key: ctypes.cast(f, ctypes.c_void_p).value for key, f in functions.items()})
    return None


# -- the shape checks: what each internal must look like -------------------------------------------
def _shape_reload_init():
    from numba.core import codegen, compiler
    params = _params(compiler.CompileResult._rebuild)
    return ("reload_init" in params and "referenced_envs" in params
            and params.index("reload_init") < params.index("referenced_envs")
            and _names(codegen.CodeLibrary.__init__, "_reload_init")
            and _names(codegen.CPUCodeLibrary.finalize, "_linking_libraries", "_reload_init"))


def _shape_call_by_symbol():
    from numba.core import base, cgutils, imputils
    context = base.BaseContext
    return (callable(imputils.fix_returning_optional) and callable(imputils.impl_ret_new_ref)
            and callable(cgutils.if_unlikely)
            and _params(context.remove_user_function) == ["self", "func"]
            and _params(context.insert_func_defn) == ["self", "defns"]
            and _names(context.insert_user_function, "_defns")
            and _names(CPUDispatcher.compile, "insert_user_function", "add_overload"))


def _shape_retype():
    return (hasattr(CPUDispatcher, "__dict__") and callable(CPUDispatcher._compile_for_args)
            and _names(CPUDispatcher._compile_for_args, "compile"))


def _shape_broadcast_select():
    from numba.np import npyimpl
    helper = npyimpl._ArrayIndexingHelper
    return (helper._fields == ("array", "indices") and callable(helper.update_indices)
            and {"builder", "context", "shape"} <= set(npyimpl._ArrayHelper._fields))


def _shape_vector_width():
    from numba.core.codegen import CPUCodeLibrary
    return _params(CPUCodeLibrary.add_ir_module) == ["self", "ir_module"]


def _shape_compiler_lock():
    from numba.core.compiler_lock import global_compiler_lock
    return callable(getattr(global_compiler_lock, "__enter__", None))


def _shape_cache_files():
    from numba.core import caching, dispatcher
    return (_names(caching.IndexDataCacheFile.__init__, "_cache_path", "_index_name")
            and _names(caching.Cache.__init__, "_cache_file")
            and _names(dispatcher.Dispatcher.enable_caching, "_cache", "FunctionCache"))


def _shape_kernel_caches():
    from numba.core import caching
    from numba.np.ufunc import ufuncbuilder
    abstract = set(caching._CacheLocator.__abstractmethods__)
    return (abstract == {"get_cache_path", "get_source_stamp", "get_disambiguator"}
            and _names(caching.CacheImpl.__init__, "_locator")
            and _names(caching.Cache.__init__, "_impl_class", "locator", "get_cache_path")
            and _params(caching.Cache.__init__) == ["self", "py_func"]
            and _names(ufuncbuilder.UFuncDispatcher.enable_caching, "cache", "FunctionCache")
            and _shape_cache_files())


def _shape_numpy_blas():
    version = tuple(int(p) for p in np.__version__.split(".")[:2])
    return VERIFIED_NUMPY[0] <= version < VERIFIED_NUMPY[1]


def _shape_error_text():
    from numba.core import errors, ir as numba_ir
    formats = [c for c in numba_ir.Loc.strformat.__code__.co_consts if isinstance(c, str)]
    return (_names(errors.NumbaError.__init__, "strformat")
            and any('File "%s", line %d' in c for c in formats))


_SHAPES = {
    "reload_init": _shape_reload_init,
    "call_by_symbol": _shape_call_by_symbol,
    "retype": _shape_retype,
    "broadcast_select": _shape_broadcast_select,
    "vector_width": _shape_vector_width,
    "compiler_lock": _shape_compiler_lock,
    "cache_files": _shape_cache_files,
    "kernel_caches": _shape_kernel_caches,
    "numpy_blas": _shape_numpy_blas,
    "error_text": _shape_error_text,
}
INTERNALS = tuple(_SHAPES)
