"""Row primitives of the softmax family: max, sum and exp of one row, written for SIMD.

A plain ``total += a[j]`` loop is a chain of dependent additions that LLVM may not reorder (that would
change the result), so it runs one element at a time. Here every reduction keeps eight partial
results in a fixed interleaved order and combines them in a fixed tree: LLVM turns the eight
independent chains into vector instructions, and the order, and so every bit of the result, is the
same on every machine and whether rows run serially or on several threads (``PARALLEL_MIN``).

``exp_row`` first writes the exponentials to a buffer (a loop LLVM vectorizes with srcgrad's
arithmetic ``exp``), then sums the buffer.

Each function takes a 2-D array and a row index (not a row view), so a kernel can read a row of one
array and write the same row of another with one index.
"""
from numba import njit

from ..runtime.vecmath import exp64, log64

# Row kernels run rows on all cores (Numba's prange) from this many elements on, about 10 ms of work
# on one core: below it, on a machine running other work, waiting for a descheduled thread costs
# more than the second core saves (the softmax cross-entropy gradient of 2**20 elements beside two
# competing processes: 2.9 ms serial, 12 ms on two threads, at the median). Rows are independent,
# so the bits do not change. The same balance as the products' (runtime/blas.py).
PARALLEL_MIN = 1 << 22


@njit(cache=True, forceinline=True)
def row_max(a, r):
    """The largest element of row ``r`` of ``a`` (nan elements are skipped, as by Python's ``max``)."""
    n = a.shape[1]
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = a[r, 0]
    j = 0
    while j + 8 <= n:
        v0, v1, v2, v3 = a[r, j], a[r, j + 1], a[r, j + 2], a[r, j + 3]
        v4, v5, v6, v7 = a[r, j + 4], a[r, j + 5], a[r, j + 6], a[r, j + 7]
        m0 = v0 if v0 > m0 else m0
        m1 = v1 if v1 > m1 else m1
        m2 = v2 if v2 > m2 else m2
        m3 = v3 if v3 > m3 else m3
        m4 = v4 if v4 > m4 else m4
        m5 = v5 if v5 > m5 else m5
        m6 = v6 if v6 > m6 else m6
        m7 = v7 if v7 > m7 else m7
        j += 8
    top = max(max(max(m0, m1), max(m2, m3)), max(max(m4, m5), max(m6, m7)))
    while j < n:
        top = max(top, a[r, j])
        j += 1
    return top


@njit(cache=True, forceinline=True)
def row_sum(a, r):
    """The sum of row ``r`` of ``a`` in float64, in eight interleaved partial sums."""
    n = a.shape[1]
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    j = 0
    while j + 8 <= n:
        s0 += a[r, j]
        s1 += a[r, j + 1]
        s2 += a[r, j + 2]
        s3 += a[r, j + 3]
        s4 += a[r, j + 4]
        s5 += a[r, j + 5]
        s6 += a[r, j + 6]
        s7 += a[r, j + 7]
        j += 8
    total = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    while j < n:
        total += a[r, j]
        j += 1
    return total


@njit(cache=True, forceinline=True)
def row_dot(a, b, r, rb):
    """``sum(a[r] * b[rb])`` in float64, in the same order as :func:`row_sum`."""
    n = a.shape[1]
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    j = 0
    while j + 8 <= n:
        s0 += a[r, j] * b[rb, j]
        s1 += a[r, j + 1] * b[rb, j + 1]
        s2 += a[r, j + 2] * b[rb, j + 2]
        s3 += a[r, j + 3] * b[rb, j + 3]
        s4 += a[r, j + 4] * b[rb, j + 4]
        s5 += a[r, j + 5] * b[rb, j + 5]
        s6 += a[r, j + 6] * b[rb, j + 6]
        s7 += a[r, j + 7] * b[rb, j + 7]
        j += 8
    total = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    while j < n:
        total += a[r, j] * b[rb, j]
        j += 1
    return total


@njit(cache=True, forceinline=True)
def exp_row(x, r, out, ro):
    """``out[ro] = exp(x[r] - max(x[r]))``, one exp per element; returns the max and the sum of
    ``out[ro]`` (log-sum-exp is ``max + log(sum)``, softmax is ``out[ro] / sum``)."""
    top = row_max(x, r)
    for j in range(x.shape[1]):
        out[ro, j] = exp64(x[r, j] - top)
    return top, row_sum(out, ro)


@njit(cache=True, forceinline=True)
def log_sum_exp(x, r, scratch):
    """``log(sum(exp(x[r])))``, stable for any finite values (``scratch``: a buffer of shape
    ``(1, n)``)."""
    top, total = exp_row(x, r, scratch, 0)
    return top + log64(total)
