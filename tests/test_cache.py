"""The cache of generated code, across processes and threads, and against files nobody should trust.

Each cross-process test runs fresh Python processes on a private cache folder and checks the
gradient against its closed form, so a stale or tampered cache cannot pass. With
``SRCGRAD_NUMBA_PATCHES=0`` srcgrad cannot check Numba's cache files before Numba loads them, so
generated functions are not disk-cached at all (each process compiles them): the tests check that.
"""
import json
import os
import pickle
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import srcgrad
from srcgrad.codegen import cache

CACHED = cache.NUMBA_CACHE          # False with SRCGRAD_NUMBA_PATCHES=0

ROOT = Path(__file__).resolve().parent.parent

USER_MODULE = '''
import numpy as np

def helper(v):
    return {helper_body}

def loss(x):
    return np.sum(helper(x) * x)
'''

# prints the gradient at x = [-1, 0.5, 2] and how many compiled versions came from Numba's disk cache
PROBE = '''
import sys
import numpy as np
import srcgrad, user_loss
g = srcgrad.grad(user_loss.loss)
print(g(np.array([-1.0, 0.5, 2.0])).tolist(), sum(g.stats.cache_hits.values()))
'''

X = np.array([-1.0, 0.5, 2.0])


def _write_user_module(folder, helper_body):
    (folder / "user_loss.py").write_text(USER_MODULE.format(helper_body=helper_body))


def _probe(folder, numba_cache_dir="inherit"):
    """Run PROBE in a new process on the cache in ``folder``: (gradient, cache hits). Numba's cache
    goes where this process's ``NUMBA_CACHE_DIR`` says, unless ``numba_cache_dir`` is a folder
    (set) or None (unset: next to the generated files)."""
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(folder / "cache"),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(folder)]))
    if numba_cache_dir is None:
        env.pop("NUMBA_CACHE_DIR", None)
    elif numba_cache_dir != "inherit":
        env["NUMBA_CACHE_DIR"] = str(numba_cache_dir)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    grad, hits = out.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    return np.array(json.loads(grad)), int(hits)


def _tanh_grad(x):          # d/dx sum(tanh(x) * x)
    t = np.tanh(x)
    return t + x * (1 - t * t)


@pytest.fixture
def project(tmp_path):
    _write_user_module(tmp_path, "np.tanh(v)")
    return tmp_path


def test_a_second_process_loads_the_native_code_from_disk(project):
    first, hits = _probe(project)
    np.testing.assert_allclose(first, _tanh_grad(X), rtol=1e-14)
    assert hits == 0
    second, hits = _probe(project)
    assert hits == (1 if CACHED else 0) and np.array_equal(first, second)


def test_editing_a_helper_gives_new_code(project):
    _probe(project)
    _write_user_module(project, "np.sin(v)")
    grad, hits = _probe(project)
    np.testing.assert_allclose(grad, np.sin(X) + X * np.cos(X), rtol=1e-14)
    assert hits == 0


@pytest.mark.parametrize("numba_cache_dir", [None, "numba"], ids=["default", "NUMBA_CACHE_DIR"])
def test_corrupt_or_foreign_numba_cache_files_are_rebuilt_without_being_loaded(project, numba_cache_dir):
    # Numba keeps the generated function's cache next to its file, or under NUMBA_CACHE_DIR (in a
    # folder named after the file's folder, beside the caches of srcgrad's own kernels, which this
    # promise does not cover): plant in the generated function's files, wherever they are
    numba_dir = None if numba_cache_dir is None else project / numba_cache_dir
    root = project / "cache" / "__pycache__" if numba_dir is None else numba_dir

    def probe():
        return _probe(project, numba_dir)

    probe()
    files = sorted(root.rglob("srcgrad_loss_grad_*.nb[ic]"))
    if not CACHED:          # nothing written, so nothing to plant: each process compiles
        assert files == [] and probe()[1] == 0
        return
    assert {f.suffix for f in files} == {".nbi", ".nbc"}
    marker = project / "unpickled"
    for f in files:     # a pickle that would create `marker` if anything loaded it
        f.write_bytes(pickle.dumps(_Plant(str(marker))))
    grad, hits = probe()
    assert not marker.exists()
    assert hits == 0
    np.testing.assert_allclose(grad, _tanh_grad(X), rtol=1e-14)
    files[0].write_bytes(files[0].read_bytes()[:10])          # truncated
    grad, hits = probe()
    assert hits == 0
    np.testing.assert_allclose(grad, _tanh_grad(X), rtol=1e-14)
    assert probe()[1] == 1                                     # and cached again afterwards


class _Plant:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_tampered_generated_file_is_rewritten_before_import(project):
    _probe(project)
    [generated] = (project / "cache").glob("srcgrad_loss_grad_*.py")
    text = generated.read_text()
    generated.write_text(text.replace("return _bx", "return _bx * 0.0"))
    grad, _ = _probe(project)
    np.testing.assert_allclose(grad, _tanh_grad(X), rtol=1e-14)
    assert generated.read_text() == text


def test_the_cache_folder_is_private_and_a_shared_one_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "fresh"
    monkeypatch.setenv(cache.ENV_VAR, str(folder))
    cache.cache_dir()
    if not hasattr(os, "getuid"):
        pytest.skip("POSIX permissions only")
    assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0
    folder.chmod(0o777)
    with pytest.raises(srcgrad.SrcgradError, match="writable by others"):
        cache.cache_dir()


def _threaded_loss(x):
    return np.sum(np.exp(-x * x) * x)


def test_threads_asking_for_the_same_gradient_at_once_share_one_compiled_function():
    results, errors, barrier = {}, [], threading.Barrier(6)

    def work(k):
        try:
            barrier.wait()
            g = srcgrad.grad(_threaded_loss)
            results[k] = (g, g(X))
        except Exception as exc:   # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    dispatchers = {id(g) for g, _ in results.values()}
    assert len(dispatchers) == 1
    [g] = {g for g, _ in results.values()}
    assert len(g.overloads) == 1
    e = np.exp(-X * X)
    for _, value in results.values():
        np.testing.assert_allclose(value, e * (1 - 2 * X * X), rtol=1e-14)


# -- srcgrad's own kernels: one cache folder per digest, nothing deleted --------------------------------
# prints srcgrad's digest, and the cache hits and folder of one of its kernels
KERNEL_PROBE = '''
import numpy as np
import srcgrad, user_loss
from srcgrad.codegen import cache
from srcgrad.runtime import cached
g = srcgrad.grad(user_loss.loss)
x = np.array([-1.0, 0.5, 2.0])
t = np.tanh(x)
assert np.allclose(g(x), t + x * (1 - t * t), rtol=1e-14)
kernel = cached.unbroadcast
print(cache.package_digest(), sum(kernel.stats.cache_hits.values()), kernel.stats.cache_path)
'''


def test_two_srcgrad_digests_sharing_numba_cache_dir_keep_each_others_kernels(project):
    """Two srcgrads (here: the same sources with another vector width, which is part of the
    digest) on one NUMBA_CACHE_DIR, alternating: each loads its own kernels from the cache, neither
    deletes the other's, and nothing of another digest is ever loaded."""
    numba_dir = project / "numba"

    def run(width):
        env = dict(os.environ, SRCGRAD_CACHE_DIR=str(project / "cache"), NUMBA_CACHE_DIR=str(numba_dir),
                   SRCGRAD_VECTOR_WIDTH=width, PYTHONPATH=os.pathsep.join([str(ROOT), str(project)]))
        out = subprocess.run([sys.executable, "-c", KERNEL_PROBE], env=env, capture_output=True,
                             text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        digest, hits, path = out.stdout.split()[-3:]
        return digest, int(hits), path

    digest_a, hits, path_a = run("512")
    assert hits == 0
    files_a = sorted(Path(path_a).iterdir()) if srcgrad.compat.uses("kernel_caches") else []
    digest_b, hits, path_b = run("256")
    assert digest_b != digest_a and hits == 0
    if not srcgrad.compat.uses("kernel_caches"):       # the switch at 0: no disk cache, no folder
        assert path_a == path_b == "None" and run("512")[1] == 0
        return
    assert Path(path_a).name == f"srcgrad-{digest_a}" and Path(path_b).name == f"srcgrad-{digest_b}"
    assert Path(path_a).parent == Path(path_b).parent and str(numba_dir) in path_a
    assert run("512")[1] == 1 and run("256")[1] == 1
    assert files_a and all(f.exists() for f in files_a)


def _copy_package(tmp_path):
    copy = tmp_path / "srcgrad"
    shutil.copytree(ROOT / "srcgrad", copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_the_digest_covers_the_sources_that_shape_compiled_code_and_nothing_else(tmp_path):
    """Editing train/progress.py (Python run between epochs), check.py or the package's __init__
    must not recompile every gradient; editing a runtime helper, a rule, the transformation or
    how Numba is used must."""
    copy = _copy_package(tmp_path)
    digest = cache.sources_digest(copy)
    assert digest == cache.sources_digest(ROOT / "srcgrad")
    for name in ("train/progress.py", "check.py", "__init__.py", "train/ema.py"):
        (copy / name).write_text((copy / name).read_text() + "\n# edited\n")
        assert cache.sources_digest(copy) == digest, name
    (copy / "NOTES.md").write_text("docs")
    assert cache.sources_digest(copy) == digest
    for name in ("runtime/tape.py", "rules/scalar.py", "transform/reverse.py", "nn/kernels.py",
                 "compat.py", "train/kernels.py", "codegen/lowering.py", "pipeline.py"):
        before = cache.sources_digest(copy)
        (copy / name).write_text((copy / name).read_text() + "\n# edited\n")
        assert cache.sources_digest(copy) != before, name
    listed = {p.relative_to(copy).as_posix() for p in cache.digested_files(copy)}
    assert "train/progress.py" not in listed and "runtime/vecmath.py" in listed


def test_every_cached_kernel_of_srcgrad_keeps_its_cache_per_digest():
    """Each ``cache=True`` function in srcgrad's modules (a new module or kernel included) has the
    per-digest cache, or none with the switch at 0: none keeps Numba's own, which would load
    machine code built from other sources."""
    from numba.core.caching import FunctionCache
    per_digest = set()
    for name, module in list(sys.modules.items()):
        if not name.startswith("srcgrad."):
            continue
        for obj in vars(module).values():
            fn = getattr(obj, "py_func", None) or getattr(getattr(obj, "_dispatcher", None), "py_func", None)
            if not getattr(fn, "__module__", "srcgrad").startswith("srcgrad"):
                continue        # a user's custom function, published for generated code (sgc)
            for owner, attribute in ((obj, "_cache"), (getattr(obj, "_dispatcher", None), "cache")):
                held = getattr(owner, attribute, None)
                assert not isinstance(held, FunctionCache), f"{name}.{getattr(obj, '__name__', obj)}"
                if isinstance(held, srcgrad.compat._SubfolderCache):
                    per_digest.add(id(owner))
    assert len(per_digest) >= (150 if srcgrad.compat.uses("kernel_caches") else 0)
