"""The cache of generated code, across processes and threads, and against files nobody should trust.

Each cross-process test runs fresh Python processes on a private cache folder and checks the
gradient against its closed form, so a stale or tampered cache cannot pass.
"""
import json
import os
import pickle
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import srcgrad
from srcgrad.codegen import cache

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
    assert hits == 1 and np.array_equal(first, second)


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


def test_srcgrads_own_kernel_caches_are_dropped_when_its_sources_change(tmp_path):
    # Numba checks a cached kernel against its own file only; a stamp of all srcgrad's sources
    # catches edits to what the kernel inlined from elsewhere
    from types import SimpleNamespace
    folder = tmp_path / "__pycache__"
    folder.mkdir()
    module = SimpleNamespace(kernel=SimpleNamespace(_cache=SimpleNamespace(_cache_path=str(folder))))
    cached = [folder / "rows.row_sum-10.py311.nbi", folder / "rows.row_sum-10.py311.1.nbc"]
    for f in cached:
        f.write_bytes(b"native code")
    (folder / "srcgrad-sources.digest").write_text("an older srcgrad")
    cache.refresh_kernel_caches([module])
    assert not any(f.exists() for f in cached)
    assert (folder / "srcgrad-sources.digest").read_text() == cache.package_digest()
    for f in cached:
        f.write_bytes(b"native code")
    cache.refresh_kernel_caches([module])          # built from these sources: kept
    assert all(f.exists() for f in cached)
