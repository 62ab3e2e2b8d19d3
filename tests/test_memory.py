"""Derivatives follow memory, not names: views then writes, writes through views, gathers with
repeated indices, values broadcast into elements (issue 19, defects 1, 4, 5, 6, 12).

Every gradient is checked in reverse and forward mode against float64 central finite differences
of the plain Python function (``conftest.check_both_modes``)."""
import numpy as np
import pytest

import srcgrad
from conftest import check_both_modes, check_grad

rng = np.random.default_rng(19)


# -- a view, then a write into its base ---------------------------------------------------------
def row_view_then_write(a):
    a = a.copy()
    b = a[0]                    # a view: it sees the write below
    a[0] = a[0] * 3.0
    return np.sum(b * a[0])


def slice_view_then_write(x):
    y = x.copy()
    b = y[1:]
    y[1] = y[0] * 5.0
    return np.sum(b * np.sum(y[:2]))


def transpose_view_then_write(x):
    y = x.copy()
    b = y.T
    y[0, 1] = y[1, 0] * 2.0
    return np.sum(b * b)


def name_alias_then_write(x):
    y = x.copy()
    z = y
    y[1] = z[0] * z[2]
    return np.sum(z * z)


def lstm_like_state(state, w):
    """ADBench's LSTM keeps its layers' state in one array: ``hidden = state[2*l]`` ... then
    ``state[2*l] = new_hidden``, inside the time loop."""
    state = state.copy()
    total = 0.0
    for t in range(3):
        for layer in range(2):
            hidden = state[2 * layer]
            cell = state[2 * layer + 1]
            new_cell = np.tanh(cell * w + hidden)
            state[2 * layer + 1] = new_cell
            state[2 * layer] = np.tanh(new_cell) * hidden
            total = total + np.sum(state[2 * layer] * w)
    return total


def view_saved_in_loop(state, w):
    """The view is read by the reverse sweep, its base is not: the base's writes must still be
    undone, or the saved view reads the final memory."""
    state = state.copy()
    total = 0.0
    for t in range(3):
        h = state[0]
        total = total + np.sum(h * w)
        state[0] = np.tanh(h * w)
    return total


# -- writes through a view ----------------------------------------------------------------------
def write_through_row(x):
    out = np.zeros((x.shape[0], 2))
    for i in range(x.shape[0]):
        o = out[i]
        o[0] = x[i] * 2.0
        o[1] = x[i] ** 2
    return np.sum(out * out)


def update_row_in_place(a):
    a = a.copy()
    for i in range(a.shape[0]):
        r = a[i]
        r[0] = r[0] * r[1]
    return np.sum(a ** 2)


def helper_fills(o, v):
    o[0] = v * v
    o[1] = np.sin(v)


def helper_writes_through_argument(x):
    out = np.zeros((x.shape[0], 2))
    for i in range(x.shape[0]):
        helper_fills(out[i], x[i])
    return np.sum(out * x.reshape(-1, 1))


VIEWS = [(row_view_then_write, lambda: (rng.normal(size=(2, 2)),), 0),
         (slice_view_then_write, lambda: (rng.normal(size=4),), 0),
         (transpose_view_then_write, lambda: (rng.normal(size=(2, 2)),), 0),
         (name_alias_then_write, lambda: (rng.normal(size=3),), 0),
         (lstm_like_state, lambda: (rng.normal(size=(4, 3)) * 0.5, rng.normal(size=3)), (0, 1)),
         (view_saved_in_loop, lambda: (rng.normal(size=(2, 3)), rng.normal(size=3)), (0, 1)),
         (write_through_row, lambda: (rng.normal(size=3),), 0),
         (update_row_in_place, lambda: (rng.normal(size=(3, 2)),), 0),
         (helper_writes_through_argument, lambda: (rng.normal(size=3),), 0)]


@pytest.mark.parametrize("f, make, wrt", VIEWS, ids=[v[0].__name__ for v in VIEWS])
def test_views_and_writes_in_both_modes(f, make, wrt):
    check_both_modes(f, make(), wrt)


def scalar_copy_then_write(x):
    x = x.copy()
    v = x[0]                    # of a vector: a number (a copy), not a view
    x[0] = x[1] * 4.0
    return v * x[0] + np.sum(x)


def test_a_scalar_element_read_before_a_write_keeps_its_old_value():
    check_both_modes(scalar_copy_then_write, (rng.normal(size=3),))


def view_assigned_twice(a, flag):
    a = a.copy()
    if flag > 0:
        b = a[0]
    else:
        b = a[1]
    a[0] = a[1] * 2.0
    return np.sum(b * a[0])


def test_a_view_srcgrad_cannot_follow_is_refused_when_typed_and_a_number_is_not():
    """``b`` is a view of a 2-D ``a`` (two definitions: refused at the user's line, when Numba
    types it); of a 1-D ``a`` it is a number, whose gradient is exact."""
    with pytest.raises(srcgrad.UnsupportedError, match=r"test_memory.py:\d+.*'b' is a view of"):
        srcgrad.grad(view_assigned_twice)(rng.normal(size=(2, 2)), 1.0)
    check_grad(view_assigned_twice, (rng.normal(size=2), 1.0))
    check_grad(view_assigned_twice, (rng.normal(size=2), -1.0))


def reshaped_view_then_write(x):
    y = x.copy()
    r = y.reshape(2, 2)
    y[0] = 3.0 * y[1]
    return np.sum(r * r)


def test_a_reshaped_view_read_after_a_write_is_refused_at_its_line():
    with pytest.raises(srcgrad.UnsupportedError, match=r"test_memory.py:\d+.*'r' is a reshaped view"):
        srcgrad.grad(reshaped_view_then_write)
    with pytest.raises(srcgrad.UnsupportedError, match="reshaped view"):
        srcgrad.jvp(reshaped_view_then_write)


def augmented_into_a_row(x):
    m = np.zeros((2, 3)) + x
    r = m[0]
    r += 1.0                    # writes into m when r is a row
    return np.sum(m * m)


def augmented_scalar_element(x):
    acc = x[0]
    for i in range(1, x.shape[0]):
        acc += x[i] * acc        # a number: a new value each time
    y = x * 1.0
    y[0] = acc
    return acc + np.sum(y)


def test_augmented_assignment_into_shared_memory_is_refused_when_typed_as_an_array():
    with pytest.raises(srcgrad.UnsupportedError, match=r"augmented assignment to 'r'.*'m'"):
        srcgrad.grad(augmented_into_a_row)(rng.normal(size=3))
    with pytest.raises(srcgrad.UnsupportedError, match=r"augmented assignment to 'r'"):
        srcgrad.jvp(augmented_into_a_row)(rng.normal(size=3), rng.normal(size=3))
    check_both_modes(augmented_scalar_element, (rng.normal(size=4) * 0.5,))


@pytest.mark.slow
def test_views_to_second_order_or_a_clear_refusal():
    srcgrad.check_grads(augmented_scalar_element, (rng.normal(size=4) * 0.5,), order=2)
    srcgrad.check_grads(view_saved_in_loop, (rng.normal(size=(2, 3)), rng.normal(size=3)),
                        wrt=(0, 1), order=2)
    with pytest.raises(srcgrad.UnsupportedError, match="derivative of a derivative through a view"):
        srcgrad.check_grads(row_view_then_write, (rng.normal(size=(2, 2)),), order=2)


# -- gathers with repeated indices --------------------------------------------------------------
def gather_sum(x, idx):
    return np.sum(x[idx] ** 2)


def embedding(table, ids, w):
    rows = table[ids]                   # (batch, dim): ids repeat
    return np.sum(np.tanh(rows * w))


def column_gather(a, idx):
    return np.sum(np.sin(a[:, idx]) * a[:, idx])


def gather_in_loop(x, idx):
    s = 0.0
    for k in range(idx.shape[0]):
        s = s + x[idx[k]] * x[idx[(k + 1) % idx.shape[0]]]
    return s


def gather_mixed(a, idx):
    return np.sum(a[1, idx] * a[idx, 0])


GATHERS = [(gather_sum, lambda: (rng.normal(size=3), np.array([0, 1, 0, 0])), 0),
           (embedding, lambda: (rng.normal(size=(5, 3)), np.array([[0, 3], [3, 3], [1, 0]]),
                                rng.normal(size=3)), (0, 2)),
           (column_gather, lambda: (rng.normal(size=(2, 4)), np.array([1, 3, 1])), 0),
           (gather_in_loop, lambda: (rng.normal(size=4), np.array([2, 0, 2, 2])), 0),
           (gather_mixed, lambda: (rng.normal(size=(3, 3)), np.array([2, 0, 2])), 0)]


@pytest.mark.parametrize("f, make, wrt", GATHERS, ids=[g[0].__name__ for g in GATHERS])
def test_gathers_with_repeated_indices_accumulate(f, make, wrt):
    check_both_modes(f, make(), wrt)


def gather_plain(x, idx):
    return np.sum(x[idx])


def test_gather_gradient_closed_form():
    x, idx = np.array([1.0, 2.0, 3.0]), np.array([0, 1, 0])
    np.testing.assert_array_equal(srcgrad.grad(gather_plain)(x, idx), [2.0, 1.0, 0.0])


def scatter_write_repeated(x, idx):
    y = np.zeros(4)
    y[idx] = x * 2.0            # where idx repeats, the last write stays
    return np.sum(y * y)


def test_writes_with_repeated_indices_give_cotangent_to_the_last_write_only():
    check_both_modes(scatter_write_repeated, (rng.normal(size=4), np.array([1, 3, 1, 0])))
    g = srcgrad.grad(scatter_write_repeated)(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1, 3, 1, 0]))
    np.testing.assert_allclose(g, [0.0, 16.0, 24.0, 32.0])


# -- values broadcast into elements; forward-mode shapes and copies ------------------------------
def scalar_into_rows(x):
    h = np.zeros((x.shape[0], 3))
    for t in range(x.shape[0]):
        h[t] = x[t]
    return np.sum(h * h)


def test_a_scalar_written_into_a_row():
    check_both_modes(scalar_into_rows, (rng.normal(size=4),))
    np.testing.assert_allclose(srcgrad.grad(scalar_into_rows)(np.array([1.0, 2.0])), [6.0, 12.0])


def copy_then_write(x):
    y = x.copy()
    y[0] = y[0] * 3
    return np.sum(y * x)


def plus_matrix(x, Y):
    return np.sum(x + Y)


def minus_from_matrix(x, Y):
    return np.sum(np.tanh(Y - x))


def where_broadcast(x, Y):
    return np.sum(np.where(Y > 0.0, x, Y) ** 2)


def test_forward_mode_copies_and_broadcasts():
    check_both_modes(copy_then_write, (rng.normal(size=3),))
    assert srcgrad.jvp(copy_then_write)(np.array([1.0, 2.0]), np.array([1.0, 0.0]))[1] == 6.0 + 0.0
    check_both_modes(plus_matrix, (0.5, rng.normal(size=(3, 4))))
    assert srcgrad.jvp(plus_matrix)(0.5, np.ones((3, 4)), 1.0)[1] == 12.0
    check_both_modes(minus_from_matrix, (rng.normal(size=4), rng.normal(size=(3, 4))))
    check_both_modes(where_broadcast, (0.7, rng.normal(size=(2, 3))))


# -- in-place updates through views, and an in-place sweep in every mode ----------------------------
def scale_columns_in_place(a):
    a = a.copy()
    for j in range(a.shape[1]):
        col = a[:, j]           # a slice is always a view: *= writes into a, as in NumPy
        col *= 1.0 + j
    return np.sum(np.tanh(a) * a)


def gauss_seidel(b, w):
    u = b.copy()
    for sweep in range(3):
        for i in range(1, u.shape[0] - 1):
            u[i] = (u[i - 1] + u[i + 1] + w * b[i]) / (2.0 + w * w)
    return np.sum(u * u)


@pytest.mark.slow
def test_in_place_updates_through_views_and_sweeps():
    check_both_modes(scale_columns_in_place, (rng.normal(size=(2, 3)),))
    check_both_modes(gauss_seidel, (rng.normal(size=6), 0.7), (0, 1))
    srcgrad.check_grads(gauss_seidel, (rng.normal(size=6), 0.7), wrt=(0, 1), order=2)
    b, h, eye = rng.normal(size=5), 1e-4, np.eye(5)
    expected = np.array([[(gauss_seidel(b + h * ei + h * ej, 0.7) - gauss_seidel(b + h * ei - h * ej, 0.7)
                           - gauss_seidel(b - h * ei + h * ej, 0.7)
                           + gauss_seidel(b - h * ei - h * ej, 0.7)) / (4 * h * h)
                          for ej in eye] for ei in eye])
    np.testing.assert_allclose(srcgrad.hessian(gauss_seidel)(b, 0.7), expected, rtol=1e-5, atol=1e-6)
