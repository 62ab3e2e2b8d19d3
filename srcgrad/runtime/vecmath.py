"""srcgrad's own exp, expm1, log, log1p, tanh, sigmoid and softplus, written as arithmetic.

Why: Numba from pip has no SVML, so ``math.exp``/``np.tanh`` inside ``@njit`` are scalar libm calls
(~5 ns per exp, ~18 ns per tanh) that LLVM cannot vectorize. Written as range reduction plus a
polynomial, with every branch a select, the same functions become straight-line code that LLVM turns
into SIMD inside Numba's fused loops (4-8 values per instruction), and that stays fast in a scalar
recurrence too.

How (the classic designs, with our own fitted coefficients where noted):

- ``exp``/``expm1``: ``x = k ln2 + r`` with ``|r| <= ln2/2`` (Cody-Waite: ``ln2`` in a high part with
  trailing zeros and a low part), ``expm1(r) = r + r² q(r)`` with ``q`` a degree-9 Chebyshev fit of
  ``(e^r - 1 - r)/r²`` (error 1e-17, fitted with mpmath) evaluated by Estrin's scheme, then ``2^k``
  built from its bits. ``2^k`` is applied as two halves, so results near overflow and in the
  subnormal range are rounded once.
- ``log``: ``x = 2^k m`` with ``m`` in ``[√½, √2)``, ``f = m - 1``, ``s = f/(2+f)`` and
  ``log(1+f) = f - (f²/2 - s (f²/2 + R(s²)))``, the fdlibm arrangement whose leading term is exact.
- ``log1p(x) = log(u) + (x - (u-1))/u`` with ``u = 1 + x``: the second term is the rounding error
  of ``u``, carried through to first order.
- ``tanh(x) = h/(h+1)`` with ``h = expm1(2|x|)/2``, sign restored; exact-in-the-tails forms of the
  sigmoid, softplus and the slopes of tanh and sigmoid from ``exp(-|x|)``, the slopes with the
  rounding of ``(1+e)²`` removed (an FMA gives it exactly).

Every function computes in float64; a float32 argument gets the float64 result rounded once to
float32. ``tests/test_vecmath.py`` measures the error against mpmath: at most 1.7 ulp in float64
and 0.5 ulp in float32; the README has the table.

Special values follow IEEE and NumPy: nan propagates, ``exp(-inf) = 0``, ``exp(inf) = inf``,
``log(0) = -inf``, ``log(x < 0) = nan``, ``tanh(±inf) = ±1``, and signed zeros are kept.

Two forms of each function: the scalar kernel (``exp64``...), which other native code calls, and
the ufunc (``exp``...), which takes scalars or arrays of any dtype and fuses into array expressions.
"""
import math

from llvmlite import ir as llvm_ir
from numba import njit, types, vectorize
from numba.extending import intrinsic

from ..compat import get_or_insert_function
from .cotangents import as_float

# NumPy's and math's functions of these names that generated code calls srcgrad's versions of
# (codegen/mathlib.py), with NumPy's rules (rules/runtime.py)
REPLACES = ("exp", "expm1", "log", "log1p", "tanh")

_FAST = {"contract"}           # let LLVM fuse a*b+c into FMA (the error bounds are measured with it)
# The scalar kernels: inlined into every loop that calls them, and with NumPy's error model, so a
# division never tests for zero (with Python's, a freshly compiled loop of tanh could stay scalar:
# 8 ns per value instead of 1.2)
_kernel = njit(cache=True, forceinline=True, fastmath=_FAST, error_model="numpy")

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01     # ln 2 with 11 trailing zero bits: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_SHIFTER = 6755399441055744.0            # 1.5 * 2**52: adding it rounds to an integer in the low bits

# q(r) ~ (e^r - 1 - r) / r² on [-ln2/2, ln2/2], highest power first (mpmath chebyfit, error 1.0e-16
# in q, 1.3e-17 relative to e^r)
_Q = (2.5100375832561234e-08, 2.7620075879983367e-07, 2.7557268480310024e-06,
      2.4801521322368692e-05, 0.00019841269863040545, 0.0013888888917196719,
      0.008333333333330065, 0.041666666666624164, 0.16666666666666669, 0.5000000000000001)
_Q0, _Q1, _Q2, _Q3, _Q4, _Q5, _Q6, _Q7, _Q8, _Q9 = _Q

# log(1+f) = f - hfsq + s (hfsq + R(z)), z = s², R(z) = z (L1 + z (L2 + ...)) (fdlibm's minimax)
_L1, _L2, _L3 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01
_L4, _L5 = 2.222219843214978396e-01, 1.818357216161805012e-01
_L6, _L7 = 1.531383769920937332e-01, 1.479819860511658591e-01
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD     # bits of √½: mantissas are taken relative to it
_ONE_BITS = 0x3FF0000000000000
_MANTISSA = 0x000FFFFFFFFFFFFF
_TWO54 = 18014398509481984.0             # scales a subnormal argument into the normal range
_TWO_M54 = 5.551115123125783e-17            # 2^-54
_INF = float("inf")
_NAN = float("nan")


@intrinsic
def _bits(typingctx, x):
    """The IEEE bits of a float64 as an int64 (a free register reinterpretation)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))
    return types.int64(types.float64), codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """``a*b + c`` rounded once (LLVM's ``fma``: one instruction on x86-64 with FMA3, and it
    vectorizes); error-free products need it, and ``contract`` alone does not promise it."""
    def codegen(context, builder, signature, args):
        f64 = llvm_ir.DoubleType()
        fma = get_or_insert_function(builder.module, llvm_ir.FunctionType(f64, [f64] * 3),
                                     "llvm.fma.f64")
        return builder.call(fma, args)
    return types.float64(types.float64, types.float64, types.float64), codegen


@intrinsic
def _from_bits(typingctx, i):
    """The float64 whose IEEE bits are the int64 ``i``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


@_kernel
def _reduce(x):
    """``(k, a, r2, q, low)`` with ``e^x = 2^k (1 + a + r2 q - low)`` for ``x`` in [-746, 710].

    ``a`` is the exact leading part of the reduced argument ``r = x - k ln2``, ``low`` the low part
    of ``k ln2`` and ``r2 q`` the polynomial's rest: kept apart, they let exp, expm1 and tanh add
    the small terms in one FMA and round once at the end instead of once per step.
    """
    shifted = x * _LOG2E + _SHIFTER
    kf = shifted - _SHIFTER
    k = _bits(shifted) - _bits(_SHIFTER)
    a = x - kf * _LN2_HI                   # exact: k ln2_hi is exact and close to x
    low = kf * _LN2_LO
    r = a - low
    # Estrin's scheme: 16 cycles from r to q where Horner takes 40, so a scalar recurrence (an RNN's
    # tanh) waits less; a vectorized loop runs it as fast as two Horner chains (measured)
    r2 = r * r
    r4 = r2 * r2
    low_terms = (_Q9 + _Q8 * r) + (_Q7 + _Q6 * r) * r2
    high_terms = (_Q5 + _Q4 * r) + (_Q3 + _Q2 * r) * r2
    q = (low_terms + high_terms * r4) + (_Q1 + _Q0 * r) * (r4 * r4)
    return k, a, r2, q, low


@_kernel
def _pow2(k):
    """``2^k`` for ``-1022 <= k <= 1023``, from its bits."""
    return _from_bits((k + 1023) << 52)


@_kernel
def _exp_parts(x):
    """``(m, k)`` with ``e^x = 2^k m`` for ``x`` in [-746, 710] (or nan), ``m`` rounded once."""
    k, a, r2, q, low = _reduce(x)
    head = 1.0 + a                         # Fast2Sum: head + tail == 1 + a exactly (|a| < 1)
    tail = (1.0 - head) + a
    return head + _fma(r2, q, tail - low), k


@_kernel
def exp64(x):
    """``e^x`` in float64 (any real argument)."""
    x = float(x)
    x = 710.0 if x > 710.0 else x          # written so that nan passes through unchanged
    m, k = _exp_parts(-746.0 if x < -746.0 else x)
    half = k >> 1                          # 2^k in two halves: either end of k's range is out of
    return (m * _pow2(half)) * _pow2(k - half)     # range for 2^k alone; one rounding, the last


@_kernel
def _exp_of_negative(x, k_extra=0):
    """``2^k_extra e^x`` for ``x <= 0`` (or nan) and ``k_extra`` 0 or 2, rounded once: the tails of
    the logistic functions need no overflow clamp, so one scaling does (``2^(k+54)`` is normal for
    every ``k`` down to -1078, and ``2^-54`` rounds a subnormal result once)."""
    lowest = -746.0 - 0.5 * k_extra        # the result rounds to 0 below it
    m, k = _exp_parts(lowest if x < lowest else x)
    return (m * _pow2(k + (k_extra + 54))) * _TWO_M54


@_kernel
def _half_expm1(x):
    """``(e^x - 1)/2`` for ``x`` in [-45, 710], rounded once: with ``s = 2^(k-1)``, it is
    ``(s - 1/2) + s a + s (r2 q - low)``, finite up to 710, and Fast2Sum holds for the first two
    terms because ``|s - 1/2| >= |s a|`` for every ``k``."""
    k, a, r2, q, low = _reduce(x)
    s = _pow2(k - 1)
    big = s - 0.5
    sa = s * a
    head = big + sa
    tail = (big - head) + sa
    return head + _fma(s * r2, q, tail - s * low)


@_kernel
def expm1_64(x):
    """``e^x - 1`` in float64, accurate near 0."""
    x = float(x)
    t = 710.0 if x > 710.0 else x
    t = -45.0 if t < -45.0 else t          # expm1(-45) rounds to -1
    y = 2.0 * _half_expm1(t)
    return x if abs(x) < 1e-300 else y     # keeps -0.0 (and the smallest values exact)


@_kernel
def _log_normal(x, k_extra):
    """``log(x)`` for a positive, finite, normal ``x`` (times ``2^k_extra``), no special cases."""
    bits = _bits(x) + (_ONE_BITS - _SQRT_HALF_BITS)
    k = (bits >> 52) - 1023 - k_extra
    f = _from_bits((bits & _MANTISSA) + _SQRT_HALF_BITS) - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    r = w * (_L2 + w * (_L4 + w * _L6)) + z * (_L1 + w * (_L3 + w * (_L5 + w * _L7)))
    hfsq = 0.5 * f * f
    kf = float(k)
    return kf * _LN2_HI - ((hfsq - (s * (hfsq + r) + kf * _LN2_LO)) - f)


@_kernel
def log64(x):
    """Natural logarithm in float64."""
    x = float(x)
    tiny = x < 2.2250738585072014e-308
    up = x * _TWO54                        # a subnormal argument, scaled into the normal range
    scaled = up if tiny else x
    shift = 54 if tiny else 0
    y = _log_normal(scaled, shift)
    y = _INF if x == _INF else y
    y = -_INF if x == 0.0 else y
    return y if x >= 0.0 else _NAN        # negative or nan


@_kernel
def log1p64(x):
    """``log(1 + x)`` in float64, accurate near 0."""
    x = float(x)
    u = 1.0 + x
    y = log64(u) + (x - (u - 1.0)) / u
    y = u if u == _INF else y
    y = -_INF if u == 0.0 else y
    return x if abs(x) < 1e-300 else y


@_kernel
def _sum_and_error(a, b):
    """``(s, e)`` with ``s = fl(a + b)`` and ``s + e == a + b`` exactly (TwoSum, branch-free)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@_kernel
def _rough_reciprocal(d):
    """``1/d`` to within 6 % for a positive normal ``d``, from its bits (no division)."""
    return _from_bits(0x7FDE623822FC16E6 - _bits(d))


@_kernel
def _one_plus(e):
    """``(s, err)`` with ``s = fl(1 + e)`` and ``s + err == 1 + e`` exactly, for ``0 <= e <= 1``
    (Fast2Sum: three operations where TwoSum takes six)."""
    s = 1.0 + e
    return s, (1.0 - s) + e


# The quotients below divide by a rounded sum d = fl(a + b) and then remove that rounding, err, to
# first order: n/(d + err) = q (1 - err/d). 1/d needs only a few correct bits there, so it comes from
# values at hand or from the bits of d, instead of a second division.
@_kernel
def tanh64(x):
    """Hyperbolic tangent in float64: ``h/(h+1)`` with ``h = expm1(2|x|)/2``, sign restored.

    Shaped for latency as well as throughput, because a recurrence (an RNN's ``h = tanh(W h + x)``)
    waits for every step: ``h`` comes straight from the reduction (no clamps of its own, no
    halving), and the correction for the rounding of ``h + 1`` takes its reciprocal from the bits
    of the sum, beside the division instead of after it. 19 ns per step of such a recurrence,
    against 26 ns for ``expm1`` then ``e/(e+2)`` (the same error).
    """
    x = float(x)
    a = abs(x)
    a = 20.0 if a > 20.0 else a           # tanh(20) rounds to 1; nan passes through
    h = _half_expm1(a + a)                 # exact for tiny x: h = x, and then t = x
    d, err = _sum_and_error(h, 1.0)
    t = h / d
    t = t - t * (err * _rough_reciprocal(d))
    return math.copysign(t, x)             # keeps -0.0 and nan


@_kernel
def sigmoid64(x):
    """``1/(1+e^-x)`` in float64, with full relative accuracy in both tails."""
    x = float(x)
    e = _exp_of_negative(-abs(x))
    d, err = _one_plus(e)
    positive = x >= 0.0
    s = (1.0 if positive else e) / d
    rest = 1.0 - s
    s = s - s * (err * (s if positive else rest))        # 1/d is σ(|x|) = 1 - σ(-|x|)
    return x if x != x else s


@_kernel
def softplus64(x):
    """``log(1 + e^x)`` in float64, never overflowing."""
    x = float(x)
    e = _exp_of_negative(-abs(x))
    u = 1.0 + e                            # log1p(e) for e in [0, 1]: no special cases to select
    y = _log_normal(u, 0) + (e - (u - 1.0)) / u
    y = y + x if x > 0.0 else y
    return x if x != x else y


@_kernel
def _logistic_slope(s, e):
    """``s/(1+e)²`` for ``0 <= e <= 1``, where ``s`` is ``e`` or ``4e`` rounded once.

    The sum ``1 + e`` (Fast2Sum) and its square (an FMA) are carried exactly, ``(d + err)² = dd +
    rest`` to first order, and the division's result is corrected for ``rest``, so the result has
    only the errors of ``s``, the division and the last step (at most 1.43 ulp for tanh', 1.44 for
    the sigmoid's, measured).
    """
    d, err = _one_plus(e)
    dd = d * d
    q = s / dd
    rest = _fma(d + d, err, _fma(d, d, -dd))
    return q - q * (rest * _rough_reciprocal(dd))


@_kernel
def sigmoid_slope64(x):
    """``σ(x)(1 - σ(x))`` as ``e/(1+e)²``, ``e = e^(-|x|)``."""
    e = _exp_of_negative(-abs(float(x)))
    return _logistic_slope(e, e)


@_kernel
def tanh_slope64(x):
    """``1 - tanh(x)² = 4e/(1+e)²``, ``e = e^(-2|x|)``: no cancellation where tanh is ±1. The
    factor 4 is applied inside exp's last rounding, so a subnormal result is rounded only once."""
    s = _exp_of_negative(-2.0 * abs(float(x)), 2)
    return _logistic_slope(s, 0.25 * s)


# -- ufuncs: scalars or arrays, any dtype; float32 in, float32 out -----------------------------------
@vectorize(cache=True, fastmath=_FAST)
def exp(x):
    """``e^x``, elementwise."""
    return as_float(x, exp64(x))


@vectorize(cache=True, fastmath=_FAST)
def expm1(x):
    """``e^x - 1``, elementwise."""
    return as_float(x, expm1_64(x))


@vectorize(cache=True, fastmath=_FAST)
def log(x):
    """Natural logarithm, elementwise."""
    return as_float(x, log64(x))


@vectorize(cache=True, fastmath=_FAST)
def log1p(x):
    """``log(1 + x)``, elementwise."""
    return as_float(x, log1p64(x))


@vectorize(cache=True, fastmath=_FAST)
def tanh(x):
    """Hyperbolic tangent, elementwise."""
    return as_float(x, tanh64(x))


@vectorize(cache=True, fastmath=_FAST)
def sigmoid(x):
    """Logistic sigmoid, elementwise."""
    return as_float(x, sigmoid64(x))


@vectorize(cache=True, fastmath=_FAST)
def softplus(x):
    """``log(1 + e^x)``, elementwise."""
    return as_float(x, softplus64(x))


@vectorize(cache=True, fastmath=_FAST)
def tanh_slope(x):
    """``1 - tanh(x)²``, the derivative of tanh, elementwise."""
    return as_float(x, tanh_slope64(x))


@vectorize(cache=True, fastmath=_FAST)
def sigmoid_slope(x):
    """``σ(x)(1 - σ(x))``, the derivative of the sigmoid, elementwise."""
    return as_float(x, sigmoid_slope64(x))
