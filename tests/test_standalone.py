"""Standalone kernels (srcgrad/runtime/standalone.py): called by symbol, bound in every process.

Generated code calls srcgrad's array kernels by a symbol instead of linking their code, so the
symbol must be bound before any machine code that calls it runs: when the caller is compiled, when
it is loaded from Numba's disk cache, and when a user's cached ``@njit`` function that calls a
generated gradient is loaded. The cross-process tests run that sequence in fresh processes and check
every gradient against finite differences. With ``SRCGRAD_NUMBA_PATCHES=0`` (srcgrad/compat.py) the
kernels are plain Numba functions that callers link, and generated functions are not disk-cached:
the same sequences then check that contract.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import types

import srcgrad
from srcgrad import compat
from srcgrad.runtime.standalone import Binding

PATCHED = compat.ENABLED

ROOT = Path(__file__).resolve().parent.parent

USER_MODULE = '''
import numpy as np
from numba import njit
import srcgrad
import srcgrad.nn as nn


def loss(W1, b1, W2, b2, X, labels):
    h = np.tanh(X @ W1 + b1)
    return np.mean(nn.softmax_cross_entropy_with_logits(labels, h @ W2 + b2))


grad = srcgrad.grad(loss, wrt=(0, 1, 2, 3))


def tanh_sum(x):
    return np.sum(np.tanh(x))


tanh_grad = srcgrad.grad(tanh_sum)


@njit(cache=True)
def step(W1, b1, W2, b2, X, labels):
    """A user's compiled step: the generated gradient, called from their own cached code."""
    return grad(W1, b1, W2, b2, X, labels)


def xent(logits, labels):
    return np.mean(nn.softmax_cross_entropy_with_logits(labels, logits))


xent_grad = srcgrad.grad(xent)


def parallel_xent_error():
    """Enough rows for the loss kernel's parallel driver; the error against the closed form."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(512, 300))
    labels = np.eye(300)[rng.integers(0, 300, size=512)]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    want = (e / e.sum(axis=1, keepdims=True) - labels) / logits.shape[0]
    got = xent_grad(logits, labels)
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want))), sum(xent_grad.stats.cache_hits.values())
'''

# prints the gradients (from the generated function, or through the user's step) and how many of
# the called function's compiled versions came from Numba's disk cache
PROBE = '''
import json, sys
import numpy as np
import user_mlp
args = [np.array(a) for a in json.loads(sys.argv[2])]
f = getattr(user_mlp, sys.argv[1])
out = f(*args)
print(json.dumps([np.asarray(o).tolist() for o in out]), sum(f.stats.cache_hits.values()))
'''


def _args():
    rng = np.random.default_rng(5)
    labels = np.eye(3)[rng.integers(0, 3, size=4)]
    return [rng.normal(size=(6, 5)), rng.normal(size=5), rng.normal(size=(5, 3)), rng.normal(size=3),
            rng.normal(size=(4, 6)), labels]


def _loss(W1, b1, W2, b2, X, labels):
    logits = np.tanh(X @ W1 + b1) @ W2 + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return np.mean(-(labels * log_softmax).sum(axis=1))


def _finite_differences(args, eps=1e-6):
    grads = []
    for k in range(4):
        g = np.zeros_like(args[k])
        for idx in np.ndindex(args[k].shape):
            plus = [a.copy() for a in args]
            minus = [a.copy() for a in args]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            g[idx] = (_loss(*plus) - _loss(*minus)) / (2 * eps)
        grads.append(g)
    return grads


def _run(folder, *argv):
    """The last line ``python -c`` of ``argv`` prints, in a process with ``folder``'s caches."""
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(folder / "generated"),
               NUMBA_CACHE_DIR=str(folder / "numba"),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(folder)]))
    out = subprocess.run([sys.executable, "-c", *argv], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-3000:]}"
    return out.stdout.strip().splitlines()[-1]


def _probe(folder, function, args):
    line = _run(folder, PROBE, function, json.dumps([np.asarray(a).tolist() for a in args]))
    grads, hits = line.rsplit(" ", 1)
    return [np.array(g) for g in json.loads(grads)], int(hits)


def test_cached_callers_bind_their_kernels_in_new_processes(tmp_path):
    """1: the gradient compiles (and the kernels it calls); 2: it loads from the cache and a user's
    cached ``@njit`` step that calls it compiles; 3 and 4: each loads from the cache alone. Numba
    drops the bindings of a cached function that a new one links (numba#8578): without srcgrad's
    fix, process 4 would call an unbound symbol. 5 and 6: the same for a loss gradient large enough
    to run the loss kernel's parallel driver. With the switch at 0, generated functions are compiled
    in each process (no hits) and only the user's own cached step comes from the cache."""
    (tmp_path / "user_mlp.py").write_text(USER_MODULE)
    args = _args()
    expected = _finite_differences(args)
    runs = [("grad", 0), ("step", 0), ("grad", 1), ("step", 1)]
    for function, cached in runs:
        grads, hits = _probe(tmp_path, function, args)
        assert (hits > 0) == bool(cached and (PATCHED or function == "step")), (function, hits)
        for got, want in zip(grads, expected):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    # 5 and 6: the loss kernel's parallel row driver (linked into it), compiled, then from the cache
    for cached in (0, 1):
        line = _run(tmp_path, "import user_mlp; print(*user_mlp.parallel_xent_error())")
        error, hits = line.split()
        assert (int(hits) > 0) == bool(cached and PATCHED) and float(error) < 1e-13, (error, hits)


@pytest.fixture(scope="module")
def mlp_module(tmp_path_factory):
    """The user module, imported here with a private cache, so that its gradient is compiled
    (code loaded from the cache has no LLVM IR to inspect)."""
    folder = tmp_path_factory.mktemp("standalone_mlp")
    (folder / "standalone_mlp.py").write_text(USER_MODULE)
    sys.path.insert(0, str(folder))
    saved = os.environ.get("SRCGRAD_CACHE_DIR")
    os.environ["SRCGRAD_CACHE_DIR"] = str(folder / "generated")
    try:
        import standalone_mlp
        yield standalone_mlp
    finally:
        sys.path.remove(str(folder))
        if saved is None:
            del os.environ["SRCGRAD_CACHE_DIR"]
        else:
            os.environ["SRCGRAD_CACHE_DIR"] = saved


def test_generated_code_calls_array_kernels_without_their_code(mlp_module):
    """With the switch at 0, the contract is Numba's: the kernels' code is linked in."""
    args = _args()
    for got, want in zip(mlp_module.grad(*args), _finite_differences(args)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    llvm = next(iter(mlp_module.grad.overloads.values())).library.get_llvm_str()
    defined = [line for line in llvm.splitlines() if line.startswith("define")]
    declared = [line for line in llvm.splitlines() if line.startswith("declare")]
    # the products, the loss kernel and unbroadcast are called by symbol ...
    for kernel in ("cached.matmul", "cached.matmul_adjoint_b", "cached.unbroadcast",
                   "losses._categorical_grad"):
        called = any("@srcgrad.srcgrad." in line and kernel in line for line in declared)
        assert called == PATCHED, kernel
    # ... and none of their code (NumPy's product, the loss rows, the parallel driver) is linked in
    for inside in ("4_dot", "categorical_grad_rows", "parfor", "unbroadcast_slow"):
        linked = any(inside in line for line in defined)
        assert not linked if PATCHED else linked or inside == "4_dot", inside


def test_broadcast_views_stay_inlined(mlp_module):
    """The cotangent of a sum is a broadcast view: the loop reading it vectorizes only if LLVM sees
    its zero strides, so ``spread_sum`` is inlined, not called (called, tanh's gradient at n = 1e3
    took 4x as long)."""
    x = np.linspace(-3.0, 3.0, 1001)
    np.testing.assert_allclose(mlp_module.tanh_grad(x), 1.0 / np.cosh(x) ** 2, rtol=1e-14, atol=1e-15)
    llvm = next(iter(mlp_module.tanh_grad.overloads.values())).library.get_llvm_str()
    assert "spread_sum" not in "".join(line for line in llvm.splitlines() if line.startswith("declare"))


def test_scalar_calls_stay_inlined():
    """A kernel called with scalars only is linked as usual, so LLVM inlines it into loops."""
    from srcgrad.runtime import cached
    from numba import njit

    @njit
    def scalar_use(a, b):
        return cached.unbroadcast(a, b) + cached.dot(a, b)

    assert scalar_use(2.0, 3.0) == 8.0
    llvm = next(iter(scalar_use.overloads.values())).library.get_llvm_str()
    assert "@srcgrad.srcgrad." not in llvm


def test_a_binding_to_a_missing_or_changed_kernel_is_a_clear_error():
    array = types.float64[:]
    missing = Binding("srcgrad.runtime.cached", "no_such_kernel", (array, array), array)
    with pytest.raises(srcgrad.SrcgradError, match="another srcgrad version"):
        missing()
    changed = Binding("srcgrad.runtime.cached", "unbroadcast", (array, array), types.float32[:])
    # with the switch at 0 (a cache entry written with it on), no kernel is called by symbol
    why = "now returns array\\(float64" if PATCHED else "unbroadcast is no longer a srcgrad kernel"
    with pytest.raises(srcgrad.SrcgradError, match=why):
        changed()
