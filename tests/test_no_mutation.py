"""No srcgrad call changes the caller's arrays: not the arguments, not the seeds or tangents, not
even when the differentiated function writes into its own arguments (the generated code works on
copies of those). Each API is called on a function that writes into both of its arguments."""
import numpy as np
import pytest

import srcgrad


def writes_into_arguments(x, w):
    x[0] = x[0] * 2.0
    for i in range(w.shape[0]):
        w[i] = w[i] + x[i % x.shape[0]]
    return np.sum(np.tanh(x) * w[0]) + np.sum(w * w)


def _inputs():
    rng = np.random.default_rng(21)
    return rng.normal(size=3), rng.normal(size=4)


CALLS = {
    "grad": lambda x, w: srcgrad.grad(writes_into_arguments, wrt=(0, 1))(x, w),
    "value_and_grad": lambda x, w: srcgrad.value_and_grad(writes_into_arguments)(x, w),
    "vjp": lambda x, w: srcgrad.vjp(writes_into_arguments, wrt=1)(x, w, 1.5),
    "gradients": lambda x, w: srcgrad.gradients(writes_into_arguments, (0, 1))(x, w),
    "jvp": lambda x, w: srcgrad.jvp(writes_into_arguments)(x, w, np.ones(3)),
    "hvp": lambda x, w: srcgrad.hvp(writes_into_arguments)(x, w, np.ones(3)),
    "hessian": lambda x, w: srcgrad.hessian(writes_into_arguments)(x, w),
    "jacobian": lambda x, w: srcgrad.jacobian(writes_into_arguments, wrt=1)(x, w),
    "check_grads": lambda x, w: srcgrad.check_grads(writes_into_arguments, (x, w), wrt=(0, 1)),
    "parallel": lambda x, w: srcgrad.grad(writes_into_arguments, parallel=True)(x, w),
}


@pytest.mark.parametrize("api", list(CALLS))
def test_no_call_changes_the_callers_arrays(api):
    x, w = _inputs()
    kept = x.copy(), w.copy()
    CALLS[api](x, w)
    assert np.array_equal(x, kept[0]) and np.array_equal(w, kept[1])


def test_the_gradient_is_of_the_function_as_written():
    # the same numbers as finite differences of the writing function on fresh copies
    x, w = _inputs()
    gx, gw = srcgrad.grad(writes_into_arguments, wrt=(0, 1))(x, w)
    for g, position in ((gx, 0), (gw, 1)):
        args = list(_inputs())
        for i in range(args[position].size):
            up = [a.copy() for a in args]
            down = [a.copy() for a in args]
            up[position][i] += 1e-6
            down[position][i] -= 1e-6
            slope = (writes_into_arguments(*up) - writes_into_arguments(*down)) / 2e-6
            assert g[i] == pytest.approx(slope, rel=1e-6, abs=1e-8)


def vector_out(x, w):
    x[0] = x[0] * 2.0
    return np.tanh(x) * w[:3]


def test_seeds_and_tangents_are_not_changed():
    x, w = _inputs()
    dy, t = np.array([1.5, -2.0, 0.5]), np.ones(3)
    kept = dy.copy()
    srcgrad.vjp(vector_out, wrt=(0, 1))(x, w, dy)
    srcgrad.jvp(vector_out)(x, w, t)
    srcgrad.jvp(writes_into_arguments)(x, w, t)
    assert np.array_equal(dy, kept) and np.array_equal(t, np.ones(3))


def test_forward_mode_through_an_argument_written_with_active_values():
    # w is not differentiated, but x flows into it: its tangent starts at zero
    x, w = _inputs()
    t = np.random.default_rng(5).normal(size=3)
    value, tangent = srcgrad.jvp(writes_into_arguments)(x, w, t)
    assert value == pytest.approx(writes_into_arguments(x.copy(), w.copy()), rel=1e-14)
    h = 1e-6
    slope = (writes_into_arguments(x + h * t, w.copy()) - writes_into_arguments(x - h * t, w.copy())) / (2 * h)
    assert tangent == pytest.approx(slope, rel=1e-6)
