"""Benchmark: srcgrad's gradient of a scalar recurrence against a hand-written
Numba reverse-mode gradient of the same function.

    f(x, a) = sum_i h_i,   h_i = tanh(a * h_{i-1} + x_i),   h_{-1} = 0

Run with:  python benchmarks/scalar_loop.py  [--repeats N]
Prints a Markdown table (median of repeats, after a warm-up call that also
triggers compilation).
"""

import argparse
import math
import statistics
import time

import numba
import numpy as np

import srcgrad


def f(x, a):
    h = 0.0
    s = 0.0
    for i in range(x.shape[0]):
        h = math.tanh(a * h + x[i])
        s += h
    return s


@numba.njit(cache=False)
def hand_grad(x, a):
    n = x.shape[0]
    hs = np.empty(n + 1)  # hs[i + 1] = h_i, hs[0] = h_{-1} = 0
    hs[0] = 0.0
    for i in range(n):
        hs[i + 1] = math.tanh(a * hs[i] + x[i])
    gx = np.empty(n)
    ga = 0.0
    bh = 0.0  # adjoint of h_i flowing back from later steps
    for i in range(n - 1, -1, -1):
        bh += 1.0  # from s += h_i
        h = hs[i + 1]
        bz = bh * (1.0 - h * h)  # through tanh
        gx[i] = bz
        ga += bz * hs[i]
        bh = bz * a  # to h_{i-1}
    return gx, ga


def median_time(fn, args, repeats):
    fn(*args)  # warm-up (and compile)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    opts = parser.parse_args()

    g = srcgrad.grad(f, wrt=(0, 1))
    rng = np.random.default_rng(0)

    rows = []
    for n in (10_000, 1_000_000):
        x = rng.normal(size=n)
        a = 0.9
        # same answer first
        sx, sa = g(x, a)
        hx, ha = hand_grad(x, a)
        np.testing.assert_allclose(sx, hx, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(sa, ha, rtol=1e-10)
        repeats = opts.repeats if n <= 100_000 else max(5, opts.repeats // 3)
        t_src = median_time(g, (x, a), repeats)
        t_hand = median_time(hand_grad, (x, a), repeats)
        rows.append((n, t_src, t_hand))

    print("| n | srcgrad (ms) | hand-written Numba (ms) | ratio srcgrad / hand |")
    print("|---:|---:|---:|---:|")
    for n, t_src, t_hand in rows:
        print(f"| {n:,} | {t_src * 1e3:.3f} | {t_hand * 1e3:.3f} | {t_src / t_hand:.2f} |")


if __name__ == "__main__":
    main()
