"""Content-addressed files for generated code, so Numba's disk cache works across processes.

Numba can only cache functions that live in a real, importable file (code built with ``exec`` has no
cache locator). Each generated module is written to ``<cache dir>/srcgrad_<name>_<hash>.py`` where the
hash covers the module's whole text; that text carries srcgrad's version and a digest of srcgrad's own
sources (rules and runtime), so editing the user's function, a helper it calls, or upgrading srcgrad
gives a new file and never reuses stale native code. The module is registered in ``sys.modules``
because Numba's cache loader imports it by name in later processes.
"""
import hashlib
import importlib.util
import os
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

ENV_VAR = "SRCGRAD_CACHE_DIR"


def cache_dir():
    """The folder for generated files: ``$SRCGRAD_CACHE_DIR`` or ``~/.cache/srcgrad`` (user-only)."""
    path = Path(os.environ.get(ENV_VAR) or Path.home() / ".cache" / "srcgrad")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@lru_cache(maxsize=1)
def package_digest():
    """A digest of srcgrad's own sources: any change to a rule or runtime helper changes it."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def load_module(stem, text):
    """Write ``text`` to its content-addressed file (if needed) and import it."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    name = f"srcgrad_{stem}_{digest}"
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
