"""Matrix products on NumPy's BLAS (srcgrad/runtime/blas.py): every operand layout, both float
types, empty and one-sized dimensions, against NumPy's ``@`` in float64; the compiled code calls
NumPy's gemm, and with ``SRCGRAD_NUMPY_BLAS=0`` Numba's own products (SciPy's BLAS)."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import njit

import srcgrad
from srcgrad import compat
from srcgrad.runtime import blas

ROOT = Path(__file__).resolve().parent.parent

LAYOUTS = {
    "C": lambda x: x,
    "F": np.asfortranarray,
    "transposed": lambda x: np.ascontiguousarray(x.T).T,
    "strided": lambda x: np.repeat(np.repeat(x, 2, 0), 2, 1)[::2, ::2],
}
SHAPES = [(3, 4, 5), (1, 4, 5), (3, 1, 5), (3, 4, 1), (1, 1, 1), (0, 4, 5), (3, 0, 5), (3, 4, 0)]


@njit
def _dot(a, b):
    return blas.dot(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES)
def test_matrix_products_in_every_layout(dtype, shape):
    m, k, n = shape
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    a, b = rng.normal(size=(m, k)).astype(dtype), rng.normal(size=(k, n)).astype(dtype)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-13 if dtype == np.float64 else 1e-5
    for la, fa in LAYOUTS.items():
        for lb, fb in LAYOUTS.items():
            got = _dot(fa(a), fb(b))
            assert got.dtype == dtype and got.shape == expected.shape, (la, lb)
            np.testing.assert_allclose(got, expected, rtol=tol, atol=tol, err_msg=f"{la} @ {lb}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matrix_vector_products(dtype):
    rng = np.random.default_rng(7)
    a, v, b = (rng.normal(size=s).astype(dtype) for s in ((4, 6), 6, (6, 3)))
    tol = 1e-13 if dtype == np.float64 else 1e-5
    strided = np.repeat(v, 2)[::2]
    for got, want in ((_dot(a, v), a.astype(float) @ v), (_dot(v, b), v.astype(float) @ b),
                      (_dot(a, strided), a.astype(float) @ v), (_dot(v, v), v.astype(float) @ v)):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_mismatched_operands_raise():
    with pytest.raises(ValueError):
        _dot(np.ones((2, 3)), np.ones((4, 2)))


@pytest.mark.parametrize("dtype, symbol", [(np.float64, "dgemm"), (np.float32, "sgemm")])
def test_products_call_numpys_blas(dtype, symbol):
    """With SRCGRAD_NUMBA_PATCHES=0 (NumPy's export is an internal), Numba's products instead."""
    if compat.uses("numpy_blas") and not blas.AVAILABLE:
        pytest.skip(f"NumPy {np.__version__}: no private copy of its OpenBLAS (test_compat fails then)")

    @njit
    def product(a, b):
        return blas.dot(a, b)

    a = np.ones((2, 3), dtype)
    np.testing.assert_array_equal(product(a, a.T), np.full((2, 2), 3.0))
    llvm = next(iter(product.overloads.values())).library.get_llvm_str()
    ours = f"@srcgrad.blas.{symbol}" in llvm
    assert (ours, "numba_xxgemm" in llvm) == ((True, False) if blas.AVAILABLE else (False, True))
    assert blas.AVAILABLE == compat.uses("numpy_blas")


@njit
def _threads_now():
    return blas._get_threads()


def _numpys_threads():
    from threadpoolctl import threadpool_info
    return [(i["filepath"], i["num_threads"]) for i in threadpool_info()]


def test_threads_are_chosen_per_product_on_srcgrads_copy_only():
    """One thread below ``min_work`` multiply-adds, the limit from it on; NumPy's and SciPy's BLAS
    keep their thread counts (srcgrad's copy is another library)."""
    if not blas.AVAILABLE:
        pytest.skip("no private BLAS here: the products are Numba's")
    numpys = _numpys_threads()
    small, large = np.ones((8, 8)), np.ones((64, 64))
    before = srcgrad.blas_threads(2, min_work=64 ** 3)
    try:
        for a, threads in ((large, 2), (small, 1), (large, 2)):
            np.testing.assert_array_equal(_dot(a, a), a @ a)
            assert _threads_now() == threads
        srcgrad.blas_threads(1)
        _dot(large, large)
        assert _threads_now() == 1
        with pytest.raises(ValueError, match="at least 1"):
            srcgrad.blas_threads(0)
    finally:
        srcgrad.blas_threads(*before)
    assert srcgrad.blas_threads() == before == (blas._SETTINGS[0], blas.MIN_WORK)
    assert _numpys_threads() == numpys


PROBE = '''
import sys
import numpy as np
from numba import njit
import srcgrad
from srcgrad.runtime import blas


def loss(W1, W2, X):
    return np.sum(np.tanh(X @ W1) @ W2)


@njit
def product(a, b):
    return blas.dot(a, b)


rng = np.random.default_rng(0)
W1, W2, X = rng.normal(size=(5, 4)), rng.normal(size=(4, 3)), rng.normal(size=(6, 5))
g1, g2 = srcgrad.grad(loss, wrt=(0, 1))(W1, W2, X)
h = np.tanh(X @ W1)
ones = np.ones((6, 3))
assert np.allclose(g2, h.T @ ones) and np.allclose(g1, X.T @ ((ones @ W2.T) * (1 - h * h)))
np.testing.assert_allclose(product(X, W1), X @ W1, rtol=1e-13)
llvm = next(iter(product.overloads.values())).library.get_llvm_str()
print(blas.AVAILABLE, "srcgrad.blas.dgemm" in llvm, "numba_xxgemm" in llvm)
'''


def test_numbas_products_with_srcgrad_numpy_blas_0(tmp_path):
    """``SRCGRAD_NUMPY_BLAS=0`` (what a NumPy without the export gets): Numba's products, in a
    fresh process with its own caches, and right gradients."""
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(tmp_path / "generated"), SRCGRAD_NUMPY_BLAS="0",
               NUMBA_CACHE_DIR=str(tmp_path / "numba"), PYTHONPATH=str(ROOT))
    (tmp_path / "probe.py").write_text(PROBE)
    out = subprocess.run([sys.executable, str(tmp_path / "probe.py")], env=env, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["False", "False", "True"]
