"""Tests of srcgrad.runtime: every helper called from inside @njit (and from Python).

Adjoints are checked against closed forms: for a linear map y = L(x) the
adjoint A must satisfy <A(g), v> == <g, L(v)> for every v (dot-product test).
Numba compiles once per argument *type*, and compiling dominates the run time,
so the jitted wrappers are shared module-level functions (several helpers per
wrapper) and each case brings a new type combination (shapes vary freely within
one type).  Every code path runs over float64 and float32, scalars, ndim 0-3 and
non-contiguous views.
"""
import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

import srcgrad.runtime as srt
from srcgrad.runtime import cotangents as reference   # the Python versions of the helpers
from srcgrad.runtime.reductions import unbroadcast as reference_unbroadcast   # the Python version

F32, F64 = np.float32, np.float64
RNG = np.random.default_rng(0)


def rand(shape, dt=F64):
    """Random value: a NumPy scalar for shape None, else an array."""
    if shape is None:
        return dt(RNG.standard_normal())
    return np.asarray(RNG.standard_normal(shape)).astype(dt)


def tol(dt):
    return dict(rtol=1e-5, atol=1e-5) if dt == F32 else dict(rtol=1e-12, atol=1e-12)


def vdot(a, b):
    return float(np.sum(np.asarray(a, F64) * np.asarray(b, F64)))


def assert_adjoint(adj, d, g, lin, rel):
    """Dot-product test <adj, d> == <g, L(d)>."""
    rhs = vdot(g, lin)
    assert abs(vdot(adj, d) - rhs) <= rel * max(1.0, abs(rhs))


# shared jitted wrappers ----------------------------------------------------------
@njit
def j_unary(x):
    return (srt.zeros_like(x), srt.ones_like(x), srt.sign(x), srt.snapshot(x),
            srt.zero(srt.snapshot(x)), srt.check_float(x))


@njit
def j_unary_s(x):
    """Scalar results wrapped in 1-element arrays so their Numba dtype is visible."""
    return (np.full(1, srt.zeros_like(x)), np.full(1, srt.ones_like(x)), np.full(1, srt.sign(x)),
            np.full(1, srt.zero(x)), np.full(1, srt.snapshot(x)))


j_nonfloat = njit(lambda x: (srt.zeros_like(x), srt.ones_like(x), srt.sign(x), srt.snapshot(x)))
j_check = njit(lambda x: srt.check_float(x))
j_zero = njit(lambda b: srt.zero(b))
j_unbroadcast = njit(lambda g, x: srt.unbroadcast(g, x))
j_select = njit(lambda c, g: srt.select(c, g))
j_seed = njit(lambda dy, y: srt.seed(dy, y))
j_seed_s = njit(lambda dy, y: np.full(1, srt.seed(dy, y)))
j_reshape_like = njit(lambda g, x: srt.reshape_like(g, x))
j_sum_mean = njit(lambda g, x, axis: (srt.sum_adjoint(g, x, axis), srt.mean_adjoint(g, x, axis)))
j_sum_mean_dl = njit(lambda g, h, x: (srt.sum_adjoint(g, x), srt.mean_adjoint(g, x),
                                      srt.sum_adjoint(h, x, 1), srt.mean_adjoint(h, x, -2)))
j_minmax = njit(lambda x, axis: (srt.amax(x, axis), srt.amin(x, axis)))
j_minmax_dl = njit(lambda x: (srt.amax(x), srt.amin(x), srt.amax(x, 0), srt.amin(x, -1)))
j_extreme = njit(lambda g, x, y, axis: srt.extreme_adjoint(g, x, y, axis))
j_dot = njit(lambda g, a, b: (srt.dot_adjoint_a(g, a, b), srt.dot_adjoint_b(g, a, b)))
j_outer = njit(lambda g, a, b: (srt.outer_adjoint_a(g, a, b), srt.outer_adjoint_b(g, a, b)))
j_trip = njit(lambda a, b, c: srt.trip(a, b, c))


# cotangents.py ---------------------------------------------------------------
@pytest.mark.parametrize("shape,dt", [((0, 3), F32), ((2, 3), F32), ("T", F64), ((), F64),
                                      ((0,), F64), ((5,), F64), ((2, 3, 4), F32)])
def test_unary_helpers_on_arrays(shape, dt):
    """zeros_like, ones_like, sign, snapshot, zero, check_float on float arrays."""
    x = rand((4, 3, 2), dt).T if shape == "T" else rand(shape, dt)   # "T": 3-D, F-ordered
    if x.size >= 4:
        x.flat[1], x.flat[2] = 0.0, np.nan
    python = (reference.zeros_like(x), reference.ones_like(x), reference.sign(x),
              reference.snapshot(x), reference.zero(x.copy()), reference.check_float(x))
    for zl, ol, sg, sn, z, cf in (j_unary(x), python):
        for r, v in ((zl, 0), (ol, 1), (z, 0)):
            assert r.shape == x.shape and r.dtype == dt and np.all(r == v)
        assert zl.flags.c_contiguous and ol.flags.c_contiguous
        np.testing.assert_array_equal(sg, np.sign(x))
        assert sg.dtype == dt and sg.shape == x.shape
        np.testing.assert_array_equal(sn, x)
        assert sn.shape == x.shape and (x.size == 0 or not np.shares_memory(sn, x))
        assert cf is x or np.shares_memory(cf, x) or x.size == 0


@pytest.mark.parametrize("x,dt", [(F32(-1.5), F32), (2.5, F64)])
def test_unary_helpers_on_scalars(x, dt):
    zl, ol, sg, z, sn = j_unary_s(x)
    for r, v in ((zl, 0), (ol, 1), (sg, np.sign(x)), (z, 0), (sn, x)):
        assert r.dtype == dt and r[0] == v
    assert reference.zeros_like(x) == 0 and np.asarray(reference.zeros_like(x)).dtype == dt
    assert reference.sign(x) == np.sign(x) and reference.snapshot(x) == x and reference.zero(x) == 0
    assert j_unary_s(dt(0))[2][0] == 0 and np.isnan(j_unary_s(dt(np.nan))[2][0])


@pytest.mark.parametrize("x", [np.arange(4) - 2, (True)])
def test_unary_helpers_on_int_and_bool(x):
    zl, ol, sg, sn = j_nonfloat(x)
    ref = np.sign(np.asarray(x, F64))
    np.testing.assert_array_equal(sg, ref)
    np.testing.assert_array_equal(srt.sign(x), ref)
    assert np.all(np.asarray(zl) == 0) and np.all(np.asarray(ol) == 1)
    if isinstance(x, np.ndarray):
        assert zl.dtype == ol.dtype == sg.dtype == F64 and zl.shape == x.shape
        assert np.array_equal(sn, x) and not np.shares_memory(sn, x)
    else:
        assert isinstance(zl, float) and isinstance(sg, float) and sn == x


def test_zero_in_place_on_view():
    base = np.ones((4, 6), F32)
    r = j_zero(base[:, ::2])
    assert np.all(base[:, ::2] == 0) and np.all(base[:, 1::2] == 1) and r.dtype == F32
    b2 = rand((2, 2))
    assert srt.zero(b2) is b2 and np.all(b2 == 0)


def test_check_float_rejects_int_and_bool():
    msg = "srcgrad: cannot differentiate with respect to an integer or boolean argument"
    for x in (1, np.ones((2, 2), np.bool_)):
        with pytest.raises(TypingError, match=msg):
            j_check(x)
    for x in (1, True, np.arange(3), np.ones((2, 2), np.bool_)):
        with pytest.raises(TypeError, match=msg):
            reference.check_float(x)
    assert reference.check_float(1.5) == 1.5


UB_CASES = [  # (g shape, x shape, dtype); None is a scalar.  Same-type rows share a compile.
    ((2, 3), (2, 3), F64), ((2, 3), (1, 3), F64), ((2, 3), (2, 1), F64), ((0, 3), (1, 1), F64),
    ((3, 4), (1, 1), F64), ((4, 2, 3), (2, 1), F32), ((2, 3, 4), (3, 1), F32),
    ((2, 3, 4), (1, 1), F32), ((3,), None, F64), (None, (2, 3), F64),
    ((2, 3), (3,), F64), ((0, 3), (3,), F64), ((2, 3, 4), (), F64),
    ((2, 3, 4), (2, 1, 4), F32), ((2, 3, 4), (2, 3, 4), F32),
    ((2, 3, 4), (1, 1, 1), F32), ((5,), (1,), F32), ((5,), (5,), F32),
]


@pytest.mark.parametrize("gs,xs,dt", UB_CASES)
def test_unbroadcast(gs, xs, dt):
    g, x = rand(gs, dt), rand(xs, dt)
    r, p = j_unbroadcast(g, x), reference_unbroadcast(g, x)
    assert np.shape(r) == np.shape(x) == np.shape(p)
    np.testing.assert_allclose(np.asarray(r, F64), np.asarray(p, F64), **tol(dt))
    if gs is None:
        np.testing.assert_array_equal(r, np.full(xs, g))
        assert r.dtype == dt
        return
    assert np.asarray(r).dtype == dt or not isinstance(r, np.ndarray)
    v = rand(xs, F64)      # <U(g), v> == <g, broadcast_to(v)>
    assert_adjoint(r, v, g, np.broadcast_to(v, np.shape(g)), 1e-4)
    if gs == xs:
        assert r is g or np.shares_memory(r, g)          # hot path: no copy


def test_unbroadcast_noncontiguous():
    g = rand((4, 3)).T                                   # (3, 4) F-ordered
    for x in (rand((3, 1)), rand((1, 4)), rand((3, 4))):
        r = j_unbroadcast(g, x)
        v = rand(x.shape)
        assert r.shape == x.shape
        assert_adjoint(r, v, g, np.broadcast_to(v, g.shape), 1e-10)
    assert j_unbroadcast(np.ones(3), 1.0) == 3.0 and reference_unbroadcast(2.0, 3.0) == 2.0


@pytest.mark.parametrize("cs,gs,dt", [
    (None, None, F64), ((2, 3), (2, 3), F64), (None, (2, 3), F32), ((2, 1, 4), (3, 1), F32),
    ((2, 3), None, F64), ((3,), (2, 3), F32), ((2, 3, 4), (2, 3, 4), F64)])
def test_select(cs, gs, dt):
    c = (RNG.random(cs) > 0.5) if cs else True
    g = rand(gs, dt)
    ref = np.where(c, g, 0)
    for r in (j_select(c, g), srt.select(c, g)):
        np.testing.assert_array_equal(r, ref)
        assert np.shape(r) == np.shape(ref)
        if isinstance(r, np.ndarray):
            assert r.dtype == dt and not np.shares_memory(r, g)
    if cs is None and gs is None:
        assert j_select(False, g) == 0 and j_select(True, g) == g


def test_seed():
    for f in (j_seed, srt.seed):
        dy = rand((4, 3)).T                               # non-contiguous seed
        r = f(dy, rand((3, 4)))
        assert not np.shares_memory(r, dy) and r.flags.c_contiguous and r.dtype == F64
        np.testing.assert_array_equal(r, dy)
        r[...] = 7
        assert not np.any(dy == 7)
        r = f(np.arange(6).reshape(2, 3), rand((2, 3), F32))   # int seed becomes float
        assert r.dtype == F64
        np.testing.assert_array_equal(r, np.arange(6.0).reshape(2, 3))
        assert f(F32(1.5), F32(0.0)) == 1.5
        with pytest.raises(ValueError):                   # no broadcasting, as grad_ys
            f(np.ones(3), np.ones(4))
    assert j_seed_s(F32(1.5), 0.0).dtype == F32
    for dy, y in ((np.ones(3), 1.0), (1.0, np.ones(3)), (np.ones((1, 3)), np.ones(3))):
        with pytest.raises(Exception, match="dy must"):
            j_seed(dy, y)


@pytest.mark.parametrize("gs,xs,dt", [
    ((6,), (2, 3), F64), ((4, 6), (2, 3, 4), F32), ((1,), None, F64), (None, None, F64),
    ((1,), (), F64)])
def test_reshape_like(gs, xs, dt):
    g, x = rand(gs, dt), rand(xs, dt)
    ref = np.reshape(g, np.shape(x))
    for r in (j_reshape_like(g, x), srt.reshape_like(g, x)):
        np.testing.assert_array_equal(r, ref)
        assert np.shape(r) == np.shape(x)
    if gs == (6,):
        gt = rand((3, 2)).T
        np.testing.assert_array_equal(j_reshape_like(gt.ravel(), x), gt.reshape(2, 3))


# reductions.py -----------------------------------------------------------------
def _axes(shape):
    nd = len(shape)
    return [None] + list(range(nd)) + list(range(-nd, 0))


@pytest.mark.parametrize("shape,dt", [((2, 3, 4), F32), ((5,), F64), ((2, 3), F32),
                                      ((2, 3, 4), F64)])
def test_sum_mean_adjoint(shape, dt):
    x = rand(shape, dt)
    for axis in _axes(shape):
        gshape = np.shape(np.sum(x, axis=axis))
        g = rand(gshape if gshape else None, dt)
        v = rand(shape)
        n = x.size if axis is None else shape[axis]
        rs, rm = j_sum_mean(g, x, axis)
        for r, p, scale in ((rs, srt.sum_adjoint(g, x, axis), 1.0),
                            (rm, srt.mean_adjoint(g, x, axis), n)):
            for q in (r, p):
                assert q.shape == shape and q.dtype == dt
                assert_adjoint(q, v, g, np.sum(v, axis=axis) / scale, 1e-4)


def test_sum_mean_adjoint_default_literal_scalar():
    x, g = rand((2, 3, 4)), rand((2, 4))
    s, m, s1, m1 = j_sum_mean_dl(2.0, g, x)
    np.testing.assert_array_equal(s, np.full(x.shape, 2.0))
    np.testing.assert_allclose(m, np.full(x.shape, 2.0 / 24))
    np.testing.assert_array_equal(s1, np.broadcast_to(g[:, None, :], x.shape))
    np.testing.assert_allclose(m1, np.broadcast_to(g[:, None, :], x.shape) / 3)
    with pytest.raises(ValueError):
        j_sum_mean(g, x, 3)
    assert j_sum_mean(2.0, 3.0, None) == (2.0, 2.0)


@pytest.mark.parametrize("shape,dt", [((2, 3), F64), ((2, 3, 4), F32), ((5,), F64),
                                      ((4, 1, 3, 2), F64), ((2, 3), np.int64)])
def test_amax_amin(shape, dt):
    x = (RNG.standard_normal(shape) * 10).astype(dt)
    for axis in _axes(shape) if len(shape) < 4 else [1, -1, 2]:
        mx, mn = j_minmax(x, axis)
        for r, p, ref in ((mx, srt.amax(x, axis), np.max(x, axis=axis)),
                          (mn, srt.amin(x, axis), np.min(x, axis=axis))):
            np.testing.assert_array_equal(r, ref)
            np.testing.assert_array_equal(p, ref)
            assert np.shape(r) == np.shape(ref)


def test_amax_amin_nan_noncontiguous_default_literal():
    x = rand((3, 4))
    x[1, 2] = np.nan
    for axis in (None, 0, 1):
        mx, mn = j_minmax(x, axis)
        np.testing.assert_array_equal(mx, np.max(x, axis=axis))
        np.testing.assert_array_equal(mn, np.min(x, axis=axis))
    xt = np.swapaxes(rand((2, 3, 4), F32), 0, -1)          # non-contiguous input
    for axis in (0, 1, -1):
        np.testing.assert_array_equal(j_minmax(xt, axis)[0], np.max(xt, axis=axis))
    x = rand((3, 4))
    a, b, c, d = j_minmax_dl(x)
    assert a == np.max(x) and b == np.min(x)
    np.testing.assert_array_equal(c, np.max(x, axis=0))
    np.testing.assert_array_equal(d, np.min(x, axis=-1))
    assert j_minmax(2.5, None) == (2.5, 2.5)


def _extreme_ref(g, x, y, axis):
    if axis is not None and x.ndim > 1:
        y, g = np.expand_dims(y, axis), np.expand_dims(g, axis)
    mask = x == y
    cnt = mask.sum() if axis is None or x.ndim == 1 else mask.sum(axis=axis, keepdims=True)
    return mask * (g / cnt)


@pytest.mark.parametrize("shape,dt", [((2, 3), F64), ((2, 3, 4), F32), ((5,), F64)])
def test_extreme_adjoint(shape, dt):
    x = RNG.integers(0, 3, shape).astype(dt)                 # many ties
    for axis in _axes(shape):
        for red in (np.max, np.min):
            y = red(x, axis=axis)
            g = rand(np.shape(y) or None, dt)
            want = _extreme_ref(g, x, y, axis)
            for r in (j_extreme(g, x, y, axis), srt.extreme_adjoint(g, x, y, axis)):
                assert r.shape == shape and r.dtype == dt
                np.testing.assert_allclose(r, want, **tol(dt))
    if dt != F64:
        return
    x = rand(shape)   # no ties: compare with finite differences of <g, max(x, axis)>
    for axis in _axes(shape):
        y = np.max(x, axis=axis)
        g = rand(np.shape(y) or None)
        r = j_extreme(g, x, y, axis)
        fd = np.zeros(shape)
        for idx in np.ndindex(shape):
            xp, xm = x.copy(), x.copy()
            xp[idx] += 1e-6
            xm[idx] -= 1e-6
            fd[idx] = (vdot(g, np.max(xp, axis=axis)) - vdot(g, np.max(xm, axis=axis))) / 2e-6
        np.testing.assert_allclose(r, fd, atol=1e-6)


def test_extreme_adjoint_nan_and_scalar():
    x = np.array([[1.0, np.nan, 2.0], [3.0, 3.0, 0.0]])
    r = j_extreme(np.ones(2), x, np.max(x, axis=1), 1)
    np.testing.assert_array_equal(r, [[0, 1, 0], [0.5, 0.5, 0]])
    assert srt.extreme_adjoint(2.0, 1.0, 1.0) == 2.0
    assert j_extreme(2.0, 1.0, 1.0, None) == 2.0


# linalg.py ---------------------------------------------------------------------
DOT_CASES = [  # (a shape, b shape, a dtype, b dtype, non-contiguous operands)
    (None, (3,), F64, F64, False), ((3,), (3,), F64, F64, False),
    ((2, 3), (3, 4), F64, F32, True), ((2, 3), (3,), F64, F64, False),
    ((3,), (3, 4), F64, F64, False),
    (None, None, F64, F64, False), ((2, 3), None, F64, F64, False),
    ((2, 3), (3, 4), F64, F64, False), ((3,), (3, 4), F32, F32, True),
    ((3,), (3,), F32, F32, False), (None, (2, 3), F32, F32, False),
]


def _operand(shape, dt, noncontig):
    if shape is None:
        return rand(None, dt)
    if noncontig and len(shape) == 2:
        return rand(shape[::-1], dt).T
    if noncontig and len(shape) == 1:
        return rand((2 * shape[0],), dt)[::2]
    return rand(shape, dt)


@pytest.mark.parametrize("sa,sb,dta,dtb,noncontig", DOT_CASES)
def test_dot_adjoints(sa, sb, dta, dtb, noncontig):
    a, b = _operand(sa, dta, noncontig), _operand(sb, dtb, noncontig)
    g = rand(np.shape(np.dot(a, b)) or None, np.result_type(a, b).type)
    ga, gb = j_dot(g, a, b)
    assert np.shape(ga) == np.shape(a) and np.shape(gb) == np.shape(b)
    da, db = rand(sa), rand(sb)
    rel = 1e-4 if F32 in (dta, dtb) else 1e-10
    assert_adjoint(ga, da, g, np.dot(da, np.asarray(b, F64)), rel)
    assert_adjoint(gb, db, g, np.dot(np.asarray(a, F64), db), rel)
    for jr, pr in ((ga, srt.dot_adjoint_a(g, a, b)), (gb, srt.dot_adjoint_b(g, a, b))):
        np.testing.assert_allclose(np.asarray(jr, F64), np.asarray(pr, F64), rtol=1e-5, atol=1e-5)
        if isinstance(jr, np.ndarray):
            assert jr.dtype == (F32 if dta == dtb == F32 else F64) == pr.dtype


def test_dot_adjoint_closed_forms():
    a, b, g = rand((3, 2)).T, rand((4, 3), F32).T, rand((2, 4))
    ga, gb = j_dot(g, a, b)
    np.testing.assert_allclose(ga, g @ b.T, rtol=1e-6)
    np.testing.assert_allclose(gb, a.T @ g)
    a, v, g1 = rand((2, 3)), rand((3,)), rand((2,))
    ga, gb = j_dot(g1, a, v)
    np.testing.assert_allclose(ga, np.outer(g1, v))
    np.testing.assert_allclose(gb, a.T @ g1)
    # beyond 2-D, np.dot contracts the last axis of a with the second-to-last of b
    a3, b3, g3 = rand((2, 2, 3)), rand((4, 3, 2)), rand((2, 2, 4, 2))
    ga, gb = j_dot(g3, a3, b3)
    np.testing.assert_allclose(ga, np.einsum("ijkm,klm->ijl", g3, b3), rtol=1e-12)
    np.testing.assert_allclose(gb, np.einsum("ijl,ijkm->klm", a3, g3), rtol=1e-12)


@pytest.mark.parametrize("sa,sb,dt", [((3,), (4,), F64), ((2, 2), None, F32),
                                      (None, (4,), F64), ((2, 2), (4,), F32)])
def test_outer_adjoints(sa, sb, dt):
    a, b = rand(sa, dt), rand(sb, dt)
    g = rand(np.outer(a, b).shape, dt)
    ga, gb = j_outer(g, a, b)
    assert np.shape(ga) == np.shape(a) and np.shape(gb) == np.shape(b)
    rel = 1e-4 if dt == F32 else 1e-10
    da, db = rand(sa), rand(sb)
    assert_adjoint(ga, da, g, np.outer(da, b), rel)
    assert_adjoint(gb, db, g, np.outer(a, db), rel)
    for jr, pr in ((ga, srt.outer_adjoint_a(g, a, b)), (gb, srt.outer_adjoint_b(g, a, b))):
        np.testing.assert_allclose(np.asarray(jr, F64), np.asarray(pr, F64), rtol=1e-5)
    if sa == (3,):
        np.testing.assert_allclose(ga, g @ b)
        np.testing.assert_allclose(gb, g.T @ a)


# tape.py -----------------------------------------------------------------------
@njit
def _tape_roundtrip(v0, step, n, hint):
    """Push n successive values of v with the generated-code pattern, then pop
    them back, checking each restored value."""
    v = v0
    _n_v = 0
    for i in range(n):
        if _n_v == 0:
            _tape_v = srt.new_tape(v, hint)
        elif _n_v == len(_tape_v):
            _tape_v = srt.extend_tape(_tape_v, _n_v + 1)
        _tape_v[_n_v] = v
        _n_v += 1
        v = v + step
    ok = True
    for i in range(n):
        _n_v -= 1
        if _n_v > 0:
            v = srt.cast_like(_tape_v[_n_v - 1], v)
            ok = ok and v == v0 + (_n_v - 1) * step
    return ok and _n_v == 0, _tape_v


@njit
def _joined_roundtrip(n, x):
    """A variable that starts as an int and becomes a float (``p = 1``, ``p = p * x[i]``): its tape
    holds float64, so no later value is truncated, and each comes back in its own type."""
    p = 1
    _n_p = 0
    for i in range(n):
        if _n_p == 0:
            _tape_p = srt.new_tape(p, 1)
        elif _n_p == len(_tape_p):
            _tape_p = srt.extend_tape(_tape_p, _n_p + 1)
        _tape_p[_n_p] = p
        _n_p += 1
        p = p * x[i]
    out = np.zeros(n)
    while _n_p > 0:
        _n_p -= 1
        p = srt.cast_like(_tape_p[_n_p], p)
        out[_n_p] = p
    return out, _tape_p


@njit
def _bool_roundtrip(n):
    v = True
    _n_v = 0
    for i in range(n):
        if _n_v == 0:
            _tape_v = srt.new_exact_tape(v, 1)
        elif _n_v == len(_tape_v):
            _tape_v = srt.extend_tape(_tape_v, _n_v + 1)
        _tape_v[_n_v] = v
        _n_v += 1
        v = not v
    out = np.zeros(n, np.bool_)
    while _n_v > 0:
        _n_v -= 1
        out[_n_v] = _tape_v[_n_v]
    return out, _tape_v


def test_tape_pattern_scalars():
    for v0, step in ((1.5, 0.25), (3, 2)) + ((F32(1.5), F32(0.25)),):
        for n, hint in ((40, 1), (5, 100), (1, 0)):
            ok, tape = _tape_roundtrip(v0, step, n, hint)
            assert ok and tape.dtype == F64     # the join of a variable's types; restored exactly
            assert len(tape) == max(16, hint, 16 * 2 ** int(np.ceil(np.log2(max(n, 16) / 16))))
    out, tape = _bool_roundtrip(37)
    assert tape.dtype == np.bool_ and np.array_equal(out, np.arange(37) % 2 == 0)
    x = np.array([1.5, 0.5, 3.0, 2.0])
    out, tape = _joined_roundtrip(4, x)
    assert tape.dtype == F64
    np.testing.assert_array_equal(out, [1.0, 1.5, 0.75, 2.25])


@njit
def _array_tape(x, n):
    v = x.copy()
    _n_v = 0
    for i in range(n):
        if _n_v == 0:
            _tape_v = srt.new_tape(v, 2)
        elif _n_v == len(_tape_v):
            _tape_v = srt.extend_tape(_tape_v, _n_v + 1)
        _tape_v[_n_v] = v
        _n_v += 1
        v = v + v
    firsts = np.zeros(n)
    while _n_v > 0:
        _n_v -= 1
        firsts[_n_v] = _tape_v[_n_v].ravel()[0]
    return firsts, len(_tape_v)


def test_tape_pattern_arrays():
    for x in (np.ones((2, 3, 2), F32),) + (np.ones(3),):
        firsts, cap = _array_tape(x, 9)
        np.testing.assert_array_equal(firsts, 2.0 ** np.arange(9))
        assert cap == 16


def test_new_extend_tape_python():
    for v, joined, exact in ((1.0, F64, F64), (F32(1), F64, F32), (2, F64, np.int64),
                             (True, F64, np.bool_)):
        assert srt.new_exact_tape(v, 3).dtype == exact
        assert type(srt.cast_like(np.float64(v), v)) is type(v)
        t = srt.new_tape(v, 3)
        assert t.dtype == joined and len(t) == 16 and len(srt.new_tape(v, 40)) == 40
        t[:] = v
        g = srt.extend_tape(t, 1)
        assert len(srt.extend_tape(t, 100)) == 100
        assert len(g) == 32 and np.all(g[:16] == v)
    a = np.ones(3)
    lst = srt.new_tape(a, 3)
    assert len(lst) == 3 and all(e is a for e in lst)
    longer = srt.extend_tape(lst, 1)
    assert len(longer) == 6 and longer is not lst and len(lst) == 3


def test_trip():
    for a in (-3, 0, 2, 7):
        for b in (-4, 0, 3, 10):
            for s in (-3, -1, 1, 2, 5):
                assert j_trip(a, b, s) == len(range(a, b, s)) == srt.trip(a, b, s)
    with pytest.raises(ValueError):
        srt.trip(0, 3, 0)
