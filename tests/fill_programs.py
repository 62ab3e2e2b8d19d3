"""Arrays filled element by element (tests/test_fills.py): the fills srcgrad proves need no tape,
and near misses that do."""
import math

import numpy as np

from reference_adjoints import writes as recurrence     # y[i] = a * y[i - 1] + x[i]


# -- filled once: every element written once, every read sees a written element -------------------
def two_back(x, a):
    z = np.empty(x.shape[0] + 1)
    z[0] = a
    z[1] = x[0]
    for i in range(2, z.shape[0]):
        if x[i - 1] > 0.0:
            z[i] = 0.5 * z[i - 1] + math.sin(z[i - 2]) * x[i - 1]
        else:
            z[i] = z[i - 2] * a
    return np.sum(np.tanh(z)) + z[2] * z[3]


def shifted(x, a):
    out = np.zeros(x.shape[0] + 2)
    for i in range(x.shape[0]):
        out[i + 2] = math.tanh(out[i] + out[i + 1] * a + x[i])
    return np.sum(out * x[0])


def rows(x, a):
    m = np.zeros((4, x.shape[0]))
    m[0] = x
    for i in range(1, 4):
        m[i] = np.sin(m[i - 1] * a) + x
    return np.sum(m * m)


FILLED = [recurrence, two_back, shifted, rows]


# -- near misses: an element's old value is read, so its tape stays ---------------------------------
def wraps_around(x, a):
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        y[i] = x[i] * a + 0.5 * y[i - 1]        # i = 0 reads y[-1], written last
    return np.sum(y * y)


def reads_ahead(x, a):
    y = np.ones(x.shape[0] + 1)
    for i in range(x.shape[0]):
        y[i] = x[i] * y[i + 1] + a
    return np.sum(y * y)


def written_again(x, a):
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        y[i] = x[i] * a
    y[1] = y[0] * y[2]
    return np.sum(y * y)


def written_before_read(x, a):
    y = np.zeros(x.shape[0])
    y[2] = a
    for i in range(1, x.shape[0]):
        y[i] = x[i] * y[i - 1] + y[2]
    return np.sum(y * y)


def through_a_view(x, a):
    y = np.zeros(x.shape[0])
    v = y[1:]
    for i in range(1, x.shape[0]):
        y[i] = x[i] * a + y[i - 1]
    v[0] = v[1] * a
    return np.sum(y * y)


def copied(x, a):
    y = x.copy()                                # not a fresh allocation: y's old values matter
    for i in range(1, x.shape[0]):
        y[i] = y[i - 1] * a
    return np.sum(y * y)


def in_a_loop(x, a):
    s = 0.0
    for k in range(2):
        y = np.zeros(x.shape[0])
        for i in range(1, x.shape[0]):
            y[i] = y[i - 1] * a + x[i] * k
        s += np.sum(y * y)
    return s


def read_twice(x, a):
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0] - 1):
        y[i] = x[i] * a + y[i]                  # reads the element it writes: its old value
        y[i] = y[i] * y[i]
    return np.sum(y)


KEPT = [wraps_around, reads_ahead, written_again, written_before_read, through_a_view, copied,
        in_a_loop, read_twice]
