"""srcgrad quick start: differentiate a plain Python loop, look at the adjoint
source srcgrad wrote for it, and check the gradient against finite differences.

Run with:  python examples/quickstart.py
"""

import inspect
import math

import numpy as np

import srcgrad


def f(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.tanh(w * x[i])
    return s


def main():
    print("== the function ==")
    print(inspect.getsource(f))

    g = srcgrad.grad(f, wrt=(0, 1))

    print("== the adjoint source srcgrad generated ==")
    print(srcgrad.source(g))

    x = np.linspace(-0.5, 1.5, 5)
    w = 0.7
    gx, gw = g(x, w)

    print("== gradient ==")
    print("df/dx =", gx)
    print("df/dw =", gw)

    # Central finite differences of the plain Python function.
    h = 1e-6
    fd_x = np.empty_like(x)
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        fd_x[i] = (f(xp, w) - f(xm, w)) / (2 * h)
    fd_w = (f(x, w + h) - f(x, w - h)) / (2 * h)

    err = max(np.max(np.abs(gx - fd_x)), abs(gw - fd_w))
    print("== finite-difference check ==")
    print("fd df/dx =", fd_x)
    print("fd df/dw =", fd_w)
    print(f"max abs difference: {err:.2e}")
    if err > 1e-6:
        raise SystemExit("gradient does not match finite differences")
    print("OK")


if __name__ == "__main__":
    main()
