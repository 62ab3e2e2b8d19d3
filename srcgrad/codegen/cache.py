"""Content-addressed files for generated code, so Numba's disk cache works across processes.

Numba can only cache functions that live in a real, importable file (code built with ``exec`` has no
cache locator). Each generated module is written to ``<cache dir>/srcgrad_<name>_<hash>.py`` where the
hash covers the module's whole text; that text carries srcgrad's version and a digest of the srcgrad
sources that shape generated code and the kernels it calls (:data:`DIGESTED`), so editing the user's
function, a helper it calls, or upgrading srcgrad gives a new file and never reuses stale native
code. The module is registered in ``sys.modules`` because Numba's cache loader imports it by name in
later processes; a cached function that calls generated code imports it by name too, or is compiled
again (see *cached callers* below).

What is in the folder runs as the user, so srcgrad trusts it only as far as it can tell nobody else
wrote it: the folder is created user-only and refused when another user owns it or may write to
it; a generated file whose text differs from what srcgrad would write is rewritten before import;
and Numba's cache files (pickles, which run code when loaded) are loaded only if they carry the
SHA-256 sums srcgrad recorded when Numba wrote them, else deleted and rebuilt.
"""
import hashlib
import importlib.util
import json
import os
import re
import stat
import sys
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from .. import compat
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


# The sources that shape generated code or the machine code it runs (the transformation, the rules,
# the runtime and nn kernels generated code calls, the train kernels the fit loop calls, how Numba is
# used), relative to the package: a folder covers its .py files. Not here, so editing them recompiles
# nothing: the package's __init__, check.py (gradient checking), train/progress.py (called from
# Python), train/ema.py.
DIGESTED = ("api.py", "pipeline.py", "compat.py", "errors.py", "front/", "analysis/", "transform/",
            "rules/", "codegen/", "runtime/", "nn/", "train/fit.py", "train/kernels.py",
            "train/clipping.py", "train/optimizers.py")
PACKAGE = Path(__file__).resolve().parent.parent


def digested_files(root=PACKAGE):
    """The files of :data:`DIGESTED` under ``root`` (a srcgrad package folder), sorted."""
    files = set()
    for entry in DIGESTED:
        files.update((root / entry).rglob("*.py") if entry.endswith("/") else [root / entry])
    return sorted(f for f in files if f.is_file())


def sources_digest(root=PACKAGE):
    """A digest of the :func:`digested_files` under ``root``: their paths and contents."""
    h = hashlib.sha256()
    for path in digested_files(root):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


@lru_cache(maxsize=1)
def package_digest():
    """What generated code and srcgrad's kernel caches are built from: :func:`sources_digest`, the
    BLAS the products call (``runtime/blas.py``), the vector width (``codegen/lowering.py``) and
    which of Numba's internals srcgrad uses (``compat.py``), all of which compiled code bakes in."""
    from ..runtime import blas
    from .lowering import VECTOR_WIDTH
    used = ",".join(name for name in compat.INTERNALS if compat.uses(name))
    settings = f"blas: {blas.KIND}; vector width: {VECTOR_WIDTH}; numba internals: {used}"
    return hashlib.sha256(f"{sources_digest()}\n{settings}".encode()).hexdigest()[:16]


# Numba's disk cache for generated functions only where srcgrad checks its files before Numba loads
# them (SrcgradDispatcher.compile, on a Numba whose internals srcgrad knows; see
# verify_numba_cache): a cache file is a pickle, which runs code when loaded. Elsewhere every
# process compiles them.
NUMBA_CACHE = compat.uses("retype") and compat.uses("cache_files")


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
# module is never imported: its code was built against other kernels and settings. No import hook
# is installed for this: only cache entries that link generated code do anything. (A caller of a
# caller that was itself loaded from the cache inherits the marker through compat's reload_init
# fix, installed when such a marker is unpickled.) This relies on Numba internals (the order of a
# cache entry's fields, a library's ``_reload_init`` set, the OSError fallback), checked in
# srcgrad/compat.py and by tests/test_compat.py's canaries; where srcgrad does not use them, callers
# are cached as Numba does it (after srcgrad changes, delete their cache).
_GENERATED = re.compile(r"srcgrad_(\w+)_([0-9a-f]{16})\Z")


class GeneratedModule:
    """The generated module some compiled code came from, in the ``reload_init`` of its callers."""

    __slots__ = ("name",)
    srcgrad_marker = True           # what compat's reload_init fix looks for

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
    for cres in compiled:
        init = compat.reload_init_of(cres)
        if init is not None:
            init.add(GeneratedModule(module_name))


def require_module(name):
    """Import the generated module ``name`` (unless it is imported) from srcgrad's folder, if it is
    intact and written by this srcgrad; else raise StaleCacheError. Runs as a cached caller's entry
    is unpickled, before Numba imports the module by name."""
    compat.keep_reload_init_of_cached_callers()      # what links this entry's function inherits it
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
    return compat.numba_cache_files(dispatcher) or []


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


# -- srcgrad's own kernels: one cache folder per digest -------------------------------------------------
def use_kernel_caches(modules):
    """Keep the disk caches of the cached kernels in ``modules`` (srcgrad's own) in a subfolder
    named after :func:`package_digest`, so that machine code built from other sources is never
    loaded and nothing needs deleting.

    Numba checks a cached kernel against its own file only, while a kernel carries inlined code
    from other files (the math runtime, row helpers): after an edit of those, Numba would load the
    old machine code, which can crash. Two srcgrad versions or settings sharing one folder (one
    ``NUMBA_CACHE_DIR``, one checkout on two branches) keep their own files side by side. Where
    srcgrad does not use Numba's cache internals, its kernels are compiled in each process.
    Returns how many kernels were set up."""
    return sum(use_kernel_cache(obj) for module in modules for obj in list(vars(module).values()))


def use_kernel_cache(obj):
    """The per-digest cache of :func:`use_kernel_caches` for one of srcgrad's cached functions made
    after import (a regularizer's custom function); True if ``obj`` is one."""
    return compat.cache_in_subfolder(obj, _kernel_subfolder)


def _kernel_subfolder():
    return f"srcgrad-{package_digest()}"
