"""Canaries for the Numba and NumPy internals srcgrad uses (srcgrad/compat.py), their fallbacks, and
what importing srcgrad does to the process (nothing).

A canary fails loudly when an internal changes shape or behaviour in a new Numba, so that the change
is seen here, not as a crash or a stale load in a user's program. Each checks the internal itself
(whatever ``SRCGRAD_NUMBA_PATCHES`` says), then what srcgrad does with it when it is used, and what
it does instead when it is not (with the switch at 0, as CI runs part of the suite).
"""
import ctypes
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import llvmlite.binding as ll
import numba
import numpy as np
import threadpoolctl
import pytest
from numba import njit, prange

import srcgrad
from srcgrad import compat

ROOT = Path(__file__).resolve().parent.parent
PATCHED = os.environ.get(compat.SWITCH, "1").strip() != "0"


def _load(folder, name, source):
    """Import ``source`` as module ``name`` from a file in ``folder`` (Numba caches need a file)."""
    path = Path(folder) / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# -- the version and the switch ---------------------------------------------------------------------
def test_this_numba_is_one_srcgrad_was_verified_on():
    """pyproject.toml pins this range; a new Numba needs these canaries run (README: Testing a new
    Numba) before the pin moves."""
    assert tuple(numba.version_info[:2]) in compat.VERIFIED_NUMBA


@pytest.mark.parametrize("name", compat.INTERNALS)
def test_canary_each_internal_has_the_shape_srcgrad_expects(name):
    assert compat.shape_ok(name), f"Numba's {name} internal changed: see srcgrad/compat.py"


def test_the_switch_decides_whether_internals_are_used():
    assert compat.ENABLED == PATCHED
    assert all(compat.uses(name) == PATCHED for name in compat.INTERNALS)


SWITCHED_OFF = '''
import json, sys
import numpy as np
import srcgrad
from srcgrad import compat
from srcgrad.codegen import cache
from srcgrad.runtime import blas, cached
import user_fn
g = srcgrad.grad(user_fn.f)
x = np.linspace(-2.0, 2.0, 7)
t = np.tanh(x)
error = float(np.max(np.abs(g(x) - (t + x * (1 - t * t)))))
print(json.dumps({"used": [n for n in compat.INTERNALS if compat.uses(n)], "error": error,
                  "generated": type(g).__name__, "kernel": type(cached.unbroadcast).__name__,
                  "kernel_cache": type(cached.unbroadcast._cache).__name__,
                  "numba_cache": cache.NUMBA_CACHE, "blas": blas.AVAILABLE}))
'''


def test_with_the_switch_at_0_srcgrad_is_plain_numba_and_right(tmp_path):
    (tmp_path / "user_fn.py").write_text("import numpy as np\n\n\ndef f(x):\n"
                                         "    return np.sum(np.tanh(x) * x)\n")
    env = dict(os.environ, SRCGRAD_NUMBA_PATCHES="0", SRCGRAD_CACHE_DIR=str(tmp_path / "gen"),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp_path)]))
    out = subprocess.run([sys.executable, "-c", SWITCHED_OFF], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"used": [], "error": got["error"], "generated": "CPUDispatcher",
                   "kernel": "CPUDispatcher", "kernel_cache": "NullCache", "numba_cache": False,
                   "blas": False}
    assert got["error"] < 1e-14


# -- names taken from Numba, and their fallbacks -----------------------------------------------------
def test_fixed_tuples_and_dtypes_from_numba_and_from_the_fallbacks():
    fallback = compat._to_fixed_tuple_fallback()
    for to_tuple in (compat.to_fixed_tuple, fallback):
        @njit
        def shape_of(a):
            return np.zeros(to_tuple(a, 3)).shape

        assert shape_of(np.array([2, 3, 4])) == (2, 3, 4)
    for nbtype, dtype in ((numba.float32, np.float32), (numba.int16, np.int16), (numba.boolean, np.bool_)):
        assert compat.as_dtype(nbtype) == np.dtype(str(nbtype)) == np.dtype(dtype)
    assert compat.CPUDispatcher is type(njit(lambda x: x))
    if PATCHED:
        from numba.core.dispatcher import OmittedArg
        from numba.core.errors import NumbaError
        assert compat.OmittedArg is OmittedArg and compat.NumbaError is NumbaError


def test_canary_error_text_names_the_file_and_line(tmp_path):
    module = _load(tmp_path, "canary_typing_error", '''
        from numba import njit


        @njit
        def bad(x):
            y = x + 1.0
            return y + "text"
        ''')
    with pytest.raises(compat.NumbaError) as info:
        module.bad(1.0)
    lines = compat.error_lines(info.value)
    assert lines and "text" in "".join(lines)
    if PATCHED:
        assert not any(line.startswith("Failed in") for line in lines)
        cited = [(os.path.basename(path), line) for path, line in compat.error_locations(info.value)]
        assert ("canary_typing_error.py", 8) in cited         # Numba may give the path relative
        assert any(line.startswith(">>>") for line in lines)
    else:
        assert compat.error_locations(info.value) == []


# -- dispatchers with srcgrad's methods -------------------------------------------------------------
class _Counting(compat.CPUDispatcher):
    misses, compiles = 0, 0

    def _compile_for_args(self, *args, **kws):
        type(self).misses += 1
        self.omitted = [a for a in args if isinstance(a, compat.OmittedArg)]
        return super()._compile_for_args(*args, **kws)

    def compile(self, sig):
        type(self).compiles += 1
        return super().compile(sig)

    def extra(self):
        return "extra"


def test_canary_a_retyped_dispatcher_sees_misses_and_compiles():
    """Numba's C dispatcher calls ``_compile_for_args`` on a miss, and typing a call from compiled
    code calls ``compile``; retype falls back to attributes for methods Numba lacks."""
    def add(x, y=2.0):
        return x + y

    dispatcher = njit(add)
    retyped = compat.retype(dispatcher, _Counting)
    assert retyped == PATCHED and dispatcher.extra() == "extra"
    assert dispatcher(1.0) == 3.0

    @njit
    def caller(x):
        return dispatcher(x, 1.0)

    assert caller(1.0) == 2.0
    if retyped:
        assert isinstance(dispatcher, _Counting) and _Counting.misses == 1
        assert _Counting.compiles >= 2 and len(dispatcher.omitted) == 1
    else:
        assert type(dispatcher) is compat.CPUDispatcher and _Counting.misses == 0


# -- reload_init (numba#8578) -----------------------------------------------------------------------
PARALLEL_SOURCE = '''
    import numpy as np
    from numba import njit, prange


    @njit(cache=True, parallel=True)
    def total(x):
        s = 0.0
        for i in prange(x.size):
            s += x[i]
        return s
    '''


def test_canary_numba_drops_reload_init_of_cached_code_and_compat_puts_it_back(tmp_path):
    """The bug srcgrad works around: a function loaded from the cache has an empty library set, so
    a new function that links it would not run its ``reload_init`` (for parallel code, the thread
    pool's start-up) in the next process. If this canary fails because Numba fixed it, the fix in
    compat.py can go."""
    module = _load(tmp_path, "canary_parallel", PARALLEL_SOURCE)
    x = np.arange(100.0)
    assert module.total(x) == 4950.0
    again = njit(cache=True, parallel=True)(module.total.py_func)       # a new process, in effect
    assert again(x) == 4950.0 and again.stats.cache_hits
    cres = next(iter(again.overloads.values()))
    assert cres.reload_init and not cres.library._reload_init
    compat.keep_reload_init(cres)
    assert set(cres.library._reload_init) == (set(cres.reload_init) if PATCHED else set())


def test_canary_a_cache_entry_unpickles_reload_init_before_the_environments():
    """srcgrad's marker in a cached caller's ``reload_init`` is unpickled (and imports the generated
    module) before Numba rebuilds the environments that name that module."""
    import inspect
    from numba.core import compiler
    from srcgrad.codegen import cache

    grad = srcgrad.grad(_tanh_sum)

    @njit
    def caller(x):
        return grad(x)

    x = np.linspace(-2.0, 2.0, 5)
    np.testing.assert_allclose(caller(x), 1 - np.tanh(x) ** 2, rtol=1e-14)
    payload = next(iter(caller.overloads.values()))._reduce()
    fields = [p for p in inspect.signature(compiler.CompileResult._rebuild).parameters
              if p != "target_context"]
    assert len(payload) == len(fields)
    assert fields.index("reload_init") < fields.index("referenced_envs")
    module = grad.py_func.__module__
    environments = payload[fields.index("referenced_envs")]
    assert module in {env.globals.get("__name__") for env in environments}
    marked = cache.GeneratedModule(module) in payload[fields.index("reload_init")]
    assert marked == PATCHED


def _tanh_sum(x):
    return np.sum(np.tanh(x))


def test_canary_numba_compiles_again_when_loading_a_cache_entry_raises_an_oserror(tmp_path):
    """Numba takes an OSError while loading an entry for a file removed under it and compiles:
    how a cached caller of a stale generated module is compiled again (codegen/cache.py)."""
    import pickle
    from srcgrad.codegen import cache
    module = _load(tmp_path, "canary_user", '''
        from numba import njit


        @njit(cache=True)
        def f(x):
            return x + 1.0
        ''')
    assert module.f(1.0) == 2.0
    [data] = Path(module.f._cache.cache_path).glob("canary_user.f-*.nbc")
    data.write_bytes(pickle.dumps(cache.GeneratedModule(f"srcgrad_gone_{'0' * 16}")))
    again = njit(cache=True)(module.f.py_func)
    assert again(1.0) == 2.0
    assert again.stats.cache_misses and not again.stats.cache_hits


def test_the_cached_callers_fix_acts_only_on_entries_holding_srcgrads_code(tmp_path):
    """Once installed (a user's entry holding srcgrad's code was unpickled), Numba's ``_rebuild``
    leaves every other entry as Numba builds it."""
    from numba.core.compiler import CompileResult
    compat.keep_reload_init_of_cached_callers()
    assert getattr(CompileResult._rebuild.__func__, "srcgrad_marker", False) == PATCHED
    module = _load(tmp_path, "canary_parallel_plain", PARALLEL_SOURCE)
    x = np.arange(10.0)
    assert module.total(x) == 45.0
    again = njit(cache=True, parallel=True)(module.total.py_func)
    assert again(x) == 45.0 and again.stats.cache_hits
    cres = next(iter(again.overloads.values()))
    assert cres.reload_init and not cres.library._reload_init


# -- calls by symbol --------------------------------------------------------------------------------
def test_canary_compiled_callers_call_a_standalone_kernel_by_symbol():
    from srcgrad.runtime import cached

    @njit
    def caller(g, x):
        return cached.unbroadcast(g, x)

    g, x = np.ones((3, 4)), np.ones(4)
    np.testing.assert_array_equal(caller(g, x), np.full(4, 3.0))
    llvm = next(iter(caller.overloads.values())).library.get_llvm_str()
    declared = [line for line in llvm.splitlines() if line.startswith("declare")]
    defined = [line for line in llvm.splitlines() if line.startswith("define")]
    by_symbol = any("@srcgrad.srcgrad.runtime.cached.unbroadcast." in line for line in declared)
    linked = any("unbroadcast" in line for line in defined)
    assert (by_symbol, linked) == ((True, False) if PATCHED else (False, True))


# -- lowering ---------------------------------------------------------------------------------------
def test_canary_broadcasting_by_select_and_vector_width_are_swapped_in_and_out():
    from numba.core.codegen import CPUCodeLibrary
    from numba.np import npyimpl
    helper, adding = npyimpl._ArrayIndexingHelper.update_indices, CPUCodeLibrary.add_ir_module

    def expression(a, b):
        return a * b + 1.0

    compiled = njit(expression)
    a, b = np.arange(12.0).reshape(3, 4), np.arange(4.0)
    with compat.compiler_lock(), compat.broadcasting_by_select(), compat.prefer_vector_width(512):
        swapped = npyimpl._ArrayIndexingHelper.update_indices is not helper
        widened = CPUCodeLibrary.add_ir_module is not adding
        np.testing.assert_array_equal(compiled(a, b), expression(a, b))
    assert (swapped, widened) == (PATCHED, PATCHED)
    assert npyimpl._ArrayIndexingHelper.update_indices is helper
    assert CPUCodeLibrary.add_ir_module is adding
    text = compiled.inspect_llvm(compiled.signatures[0])
    assert ('"prefer-vector-width"="512"' in text) == PATCHED
    if PATCHED:
        from numba.core.compiler_lock import global_compiler_lock
        assert compat.compiler_lock() is global_compiler_lock


# -- Numba's disk cache -----------------------------------------------------------------------------
CACHED_SOURCE = '''
    import numpy as np
    from numba import njit, vectorize


    @njit(cache=True)
    def double(x):
        return 2.0 * x


    @vectorize(cache=True)
    def triple(x):
        return 3.0 * x
    '''


def test_canary_numba_cache_files_are_where_srcgrad_looks(tmp_path):
    module = _load(tmp_path, "canary_files", CACHED_SOURCE)
    assert module.double(1.0) == 2.0
    files = compat.numba_cache_files(module.double)
    if not PATCHED:
        assert files is None
        return
    on_disk = sorted(str(p) for p in Path(module.double.stats.cache_path).glob("canary_files.double-*"))
    assert files == on_disk and {Path(f).suffix for f in files} == {".nbi", ".nbc"}


def test_canary_kernel_caches_keep_one_folder_per_digest(tmp_path):
    """Two digests (two srcgrad versions or settings) in one cache folder: each loads only its own
    files, and neither removes the other's."""
    module = _load(tmp_path, "canary_digest", CACHED_SOURCE)
    root = Path(njit(cache=True)(module.double.py_func).stats.cache_path)

    def run(subfolder):
        double = njit(cache=True)(module.double.py_func)
        triple = numba.vectorize(cache=True)(module.triple._dispatcher.py_func)
        assert compat.cache_in_subfolder(double, lambda: subfolder)
        assert compat.cache_in_subfolder(triple, lambda: subfolder)
        assert double(1.5) == 3.0 and triple(np.array([2.0]))[0] == 6.0
        return sum(double.stats.cache_hits.values())

    assert run("srcgrad-a") == 0
    files_a = sorted((root / "srcgrad-a").glob("*")) if PATCHED else []
    assert run("srcgrad-b") == 0
    assert run("srcgrad-a") == (1 if PATCHED else 0)
    if PATCHED:
        assert {f.suffix for f in files_a} == {".nbi", ".nbc"} and len(files_a) == 4
        assert sorted((root / "srcgrad-a").glob("*")) == files_a
        assert len(list((root / "srcgrad-b").glob("*"))) == 4
    else:
        assert not (root / "srcgrad-a").exists()


# -- NumPy's BLAS -----------------------------------------------------------------------------------
def test_canary_numpys_cblas_gemm_export_multiplies_matrices():
    found = compat.numpy_cblas_gemm()
    if not PATCHED:
        assert found is None
        return
    assert found is not None, f"NumPy {np.__version__} exports no 64-bit CBLAS gemm"
    name, addresses = found
    i64, f64, ptr = ctypes.c_int64, ctypes.c_double, ctypes.c_void_p
    dgemm = ctypes.CFUNCTYPE(None, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, i64, i64, i64,
                             f64, ptr, i64, ptr, i64, f64, ptr, i64)(addresses["d"])
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    out = np.empty((2, 4))
    dgemm(101, 111, 111, 2, 4, 3, 1.0, a.ctypes.data, 3, b.ctypes.data, 4, 0.0, out.ctypes.data, 4)
    np.testing.assert_array_equal(out, a @ b)


def test_canary_private_openblas_is_another_library_with_its_own_threads():
    found = compat.private_openblas()
    if not PATCHED:
        assert found is None
        return
    assert found is not None, "NumPy's OpenBLAS could not be loaded a second time"
    ours, numpys = found[1], compat.numpy_cblas_gemm()[1]
    assert ours["dgemm"] != numpys["d"]
    get = ctypes.CFUNCTYPE(ctypes.c_int)
    set_threads = ctypes.CFUNCTYPE(None, ctypes.c_int)(ours["set_threads"])
    numpy_threads = threadpoolctl.threadpool_info()
    set_threads(1)
    assert get(ours["get_threads"])() == 1
    set_threads(2)
    assert get(ours["get_threads"])() == 2
    assert threadpoolctl.threadpool_info() == numpy_threads


# -- what importing srcgrad does: nothing ------------------------------------------------------------
IMPORT_PROBE = '''
import json, os, sys
from pathlib import Path
from numba.core import codegen, compiler
from numba.np import npyimpl
before = (compiler.CompileResult._rebuild.__func__, codegen.CPUCodeLibrary.add_ir_module,
          npyimpl._ArrayIndexingHelper.update_indices, list(sys.meta_path), list(sys.path))
files = sorted(str(p) for p in Path(sys.argv[1]).rglob("*"))
import numpy as np
import srcgrad
import user_fn
imported = (compiler.CompileResult._rebuild.__func__, codegen.CPUCodeLibrary.add_ir_module,
            npyimpl._ArrayIndexingHelper.update_indices, list(sys.meta_path), list(sys.path))
x = np.linspace(-1.0, 1.0, 5)
error = float(np.max(np.abs(srcgrad.grad(user_fn.f)(x) - (1 - np.tanh(x) ** 2))))
after = (compiler.CompileResult._rebuild.__func__, codegen.CPUCodeLibrary.add_ir_module,
         npyimpl._ArrayIndexingHelper.update_indices, list(sys.meta_path), list(sys.path))
kept = all(os.path.exists(f) for f in files)
print(json.dumps([before == imported, before == after, kept, len(files), error]))
'''


def test_importing_and_using_srcgrad_changes_nothing_in_numba_and_deletes_no_file(tmp_path):
    """In a fresh process, cold then warm: Numba's classes, the import machinery and sys.path are
    as they were, and every file in NUMBA_CACHE_DIR is still there, including a stale cache file
    planted in the folder of srcgrad's kernels (srcgrad once deleted those at import)."""
    (tmp_path / "user_fn.py").write_text("import numpy as np\n\n\ndef f(x):\n"
                                         "    return np.sum(np.tanh(x))\n")
    numba_dir = tmp_path / "numba"
    from numba.core.caching import _CacheLocator
    kernels = numba_dir / _CacheLocator.get_suitable_cache_subpath(str(ROOT / "srcgrad/runtime/cached.py"))
    kernels.mkdir(parents=True)
    (kernels / "cached.unbroadcast-30.py311.nbi").write_bytes(b"from another srcgrad")
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(tmp_path / "gen"), NUMBA_CACHE_DIR=str(numba_dir),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp_path)]))
    for _ in ("cold", "warm"):
        out = subprocess.run([sys.executable, "-c", IMPORT_PROBE, str(numba_dir)], env=env,
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        same_on_import, same_after_use, kept, count, error = json.loads(out.stdout.splitlines()[-1])
        assert same_on_import and same_after_use and kept and count >= 1 and error < 1e-14
