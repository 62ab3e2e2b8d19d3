"""Content-addressed files for generated code, so Numba's disk cache works across processes.

Numba can only cache functions that live in a real, importable file (code built with ``exec`` has no
cache locator). Each generated module is written to ``<cache dir>/srcgrad_<name>_<hash>.py`` where the
hash covers the module's whole text; that text carries srcgrad's version and a digest of srcgrad's own
sources (rules and runtime), so editing the user's function, a helper it calls, or upgrading srcgrad
gives a new file and never reuses stale native code. The module is registered in ``sys.modules``
because Numba's cache loader imports it by name in later processes; a cached function that calls
generated code imports it by name too, or is compiled again (see *cached callers* below).

What is in the folder runs as the user, so srcgrad trusts it only as far as it can tell nobody else
wrote it: the folder is created user-only and refused when another user owns it or may write to
it; a generated file whose text differs from what srcgrad would write is rewritten before import;
and Numba's cache files (pickles, which run code when loaded) are loaded only if they carry the
SHA-256 sums srcgrad recorded when Numba wrote them, else deleted and rebuilt.
"""
import glob
import hashlib
import importlib.util
import inspect
import json
import os
import re
import stat
import sys
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from ..errors import SrcgradError, StaleCacheError

ENV_VAR = "SRCGRAD_CACHE_DIR"
_LOCK = threading.RLock()      # one thread at a time writes and imports a generated module


def cache_dir():
    """The folder for generated files: ``$SRCGRAD_CACHE_DIR`` or ``~/.cache/srcgrad`` (user-only)."""
    path = Path(os.environ.get(ENV_VAR) or Path.home() / ".cache" / "srcgrad")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    _check_private(path)
    return path


def _check_private(path):
    if not hasattr(os, "getuid"):          # no POSIX owners or modes (Windows)
        return
    info = path.stat()
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise SrcgradError(
            f"srcgrad's cache folder {path} is owned by another user or writable by others, and "
            f"what it holds runs as you; use a private folder (chmod 700 {path}) or point "
            f"{ENV_VAR} at one")


@lru_cache(maxsize=1)
def package_digest():
    """A digest of srcgrad's own sources: any change to a rule or runtime helper changes it. It also
    covers which BLAS the products call (``runtime/blas.py``), which compiled kernels have baked in,
    and the vector width they were compiled for (``codegen/lowering.py``)."""
    from ..runtime import blas
    from .lowering import VECTOR_WIDTH
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    h.update(f"blas: {blas.KIND}; vector width: {VECTOR_WIDTH}".encode())
    return h.hexdigest()[:16]


def load_module(stem, text):
    """Write ``text`` to its content-addressed file (if needed) and import it, once per process
    even when several threads ask at the same time."""
    with _LOCK:
        return _load_module(stem, text)


def text_digest(text):
    """The hash in a generated module's name: of its whole text (so a name fixes the text)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _load_module(stem, text):
    name = f"srcgrad_{stem}_{text_digest(text)}"
    module = sys.modules.get(name)
    if module is not None:
        return module, Path(module.__file__)
    folder = cache_dir()
    path = folder / f"{name}.py"
    if not path.exists() or path.read_text() != text:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module, path


# -- cached callers: the generated module their machine code came from ---------------------------
# Numba compiles a generated function into each function that calls it, and the cache entry of
# such a caller (a user's @njit(cache=True) step) names the generated module, which Numba imports
# when it loads the entry (to rebuild the environment of the linked code). A later process may not
# have imported that module yet, and once srcgrad's digest changed (an upgrade, an edit,
# SRCGRAD_NUMPY_BLAS) it generates the gradient under another name: the module named is stale or
# gone, and the import raised ModuleNotFoundError. A caller's entry also keeps its ``reload_init``
# list (what Numba runs before loading machine code, gathered from everything the caller links),
# pickled before the environments. So each generated function's library carries a GeneratedModule,
# which its callers inherit, and which, when unpickled, imports the module from srcgrad's folder if
# it is there, intact and written by this srcgrad, or else raises StaleCacheError: an OSError,
# which Numba's cache takes for a file removed under it, so it compiles the caller again. A stale
# module is never imported: its code was built against other kernels and settings. Nothing is
# installed in the process for this (no import hook): only cache entries that link generated code
# do anything. (A caller of a caller that was itself loaded from the cache inherits the marker
# through standalone.py's reload_init fix.) This relies on Numba internals (the order of a cache
# entry's fields, a library's ``_reload_init`` set, the OSError fallback), checked below and by
# tests/test_user_caches.py's canaries; with a Numba that fails the check, callers are cached as
# Numba does it.
_GENERATED = re.compile(r"srcgrad_(\w+)_([0-9a-f]{16})\Z")
_VERIFIED_NUMBA = (0, 68)


@lru_cache(maxsize=1)
def callers_supported():
    """Whether this Numba loads a cache entry as relied on above (its version, its internals)."""
    import numba
    from numba.core import compiler
    try:
        fields = list(inspect.signature(compiler.CompileResult._rebuild).parameters)
    except (AttributeError, TypeError, ValueError):
        return False
    return (tuple(numba.version_info[:2]) >= _VERIFIED_NUMBA
            and "reload_init" in fields and "referenced_envs" in fields
            and fields.index("reload_init") < fields.index("referenced_envs"))


class GeneratedModule:
    """The generated module some compiled code came from, in the ``reload_init`` of its callers."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        return isinstance(other, GeneratedModule) and other.name == self.name

    def __hash__(self):
        return hash((GeneratedModule, self.name))

    def __repr__(self):
        return f"GeneratedModule({self.name!r})"

    def __reduce__(self):
        return require_module, (self.name,)

    def __call__(self, *args):
        """Nothing to do when Numba runs it: the module was loaded when this was unpickled."""


def refer_callers(compiled, module_name):
    """Give every function that links these compiled versions (``CompileResult``s) of a generated
    function a GeneratedModule for ``module_name`` (Numba passes a library's set on to callers)."""
    if not callers_supported():
        return
    for cres in compiled:
        init = getattr(cres.library, "_reload_init", None)
        if isinstance(init, set):
            init.add(GeneratedModule(module_name))


def require_module(name):
    """Import the generated module ``name`` (unless it is imported) from srcgrad's folder, if it is
    intact and written by this srcgrad; else raise StaleCacheError. Runs as a cached caller's entry
    is unpickled, before Numba imports the module by name."""
    if name not in sys.modules:
        _import_generated(name)
    return GeneratedModule(name)


def _import_generated(name):
    def stale(why):
        return StaleCacheError(
            f"Numba's cached machine code of a function that calls srcgrad-generated code "
            f"refers to {name}, which {why}; delete that function's Numba cache (its __pycache__ "
            f"folder, or NUMBA_CACHE_DIR) to compile it again")
    match = _GENERATED.match(name)
    if not match:
        raise stale("is not the name of a generated module")
    folder = cache_dir()
    try:
        text = (folder / f"{name}.py").read_text()
    except OSError:
        raise stale(f"is not in {folder} (srcgrad's cache was cleared, or {ENV_VAR} "
                    "points elsewhere)") from None
    if text_digest(text) != match.group(2):
        raise stale("has changed since (its text no longer has the hash in its name)")
    if f"\nsrcgrad digest: {package_digest()}\n" not in text[:text.find('"""', 3)]:
        raise stale("was generated by another srcgrad (another version, other sources, or other "
                    "settings such as SRCGRAD_NUMPY_BLAS)")
    try:
        load_module(match.group(1), text)
    except Exception as exc:  # noqa: BLE001 - whatever stops the import: compile the caller
        raise stale(f"could not be imported ({type(exc).__name__}: {exc})") from exc


# -- Numba's cache files of a generated function, checked against recorded sums ---------------------
def _numba_files(dispatcher):
    """The index and data files Numba keeps for ``dispatcher`` (its cache may not exist yet)."""
    cache_file = dispatcher._cache._cache_file
    base = cache_file._index_name[:-len(".nbi")]
    return sorted(glob.glob(os.path.join(glob.escape(cache_file._cache_path), glob.escape(base) + ".*")))


def _sums_path(generated_path):
    return Path(generated_path).with_suffix(".sums")


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def verify_numba_cache(dispatcher, generated_path):
    """Delete Numba's cache files of ``dispatcher`` unless each has the sum srcgrad recorded for it
    (a corrupt, truncated or foreign file is never unpickled; Numba compiles afresh instead)."""
    files = _numba_files(dispatcher)
    if not files:
        return
    try:
        sums = json.loads(_sums_path(generated_path).read_text())
    except (OSError, ValueError):
        sums = {}
    if all(isinstance(sums, dict) and sums.get(os.path.basename(f)) == _sha256(f) for f in files):
        return
    for f in files:
        try:
            os.remove(f)
        except FileNotFoundError:
            pass


def record_numba_cache(dispatcher, generated_path):
    """Record the sums of Numba's cache files of ``dispatcher``, as it has just written them."""
    sums = {os.path.basename(f): _sha256(f) for f in _numba_files(dispatcher)}
    target = _sums_path(generated_path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(sums, f)
    os.replace(tmp, target)


# -- srcgrad's own kernels: rebuilt when any of srcgrad's sources changed -----------------------------
def refresh_kernel_caches(modules):
    """Delete Numba's cached native code of srcgrad's own kernels (in ``modules``) unless it was
    built from the sources srcgrad has now.

    Numba checks a cached function against its own file only, while a kernel carries inlined code
    from other files (the math runtime, row helpers): after editing those, Numba would load the old
    machine code, which can crash. A digest of all of srcgrad's sources, stamped next to each
    cache folder, catches every such edit (an upgrade, a partial install, a developer's change)."""
    digest = package_digest()
    folders = set()
    for module in modules:
        for obj in list(vars(module).values()):
            for dispatcher in (obj, getattr(obj, "_dispatcher", None)):
                path = getattr(getattr(dispatcher, "_cache", None), "_cache_path", None)
                if isinstance(path, str):
                    folders.add(path)
    for folder in sorted(folders):
        stamp = Path(folder) / "srcgrad-sources.digest"
        try:
            if stamp.read_text() == digest:
                continue
        except OSError:
            pass
        for f in glob.glob(os.path.join(glob.escape(folder), "*.nb[ic]")):
            try:
                os.remove(f)
            except OSError:
                pass
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w") as out:
                out.write(digest)
            os.replace(tmp, stamp)
        except OSError:
            pass        # a read-only folder: Numba cannot write caches there either
