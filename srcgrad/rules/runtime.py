"""Rules for srcgrad's own runtime helpers, so that generated code is itself differentiable.

``grad(grad(f))`` reads the source srcgrad wrote for ``grad(f)``, which calls these helpers. Most
are linear in their first argument (a cotangent), so their rules are the transposed maps; the
``like`` arguments only supply shapes and carry no derivative. The forward helpers that stand in for
NumPy calls share the NumPy functions' rules (see the other rule families).
"""
from .. import runtime as srt
from ..runtime import serial_twins, vecmath
from .registry import RULES, alias, defhelper, defnondiff, defrule


# --- helpers that stand in for NumPy calls: the same primitives ---------------------------------------
# (srcgrad's math and the parallel-mode twins are among them, so generated code built with either
# can be differentiated again)
for _helper, _key in ((srt.amax, "np.max"), (srt.amin, "np.min"), (srt.mean, "np.mean"),
                      (srt.clip, "np.clip"), (srt.reshape, "np.reshape"), (srt.ravel, "np.ravel"),
                      (srt.reduce_sum, "np.sum"), (srt.matmul, "np.matmul"), (srt.dot, "np.dot"),
                      (srt.sort, "np.sort"), (srt.to_float64, "np.float64"),
                      (srt.to_float32, "np.float32"), (srt.to_int64, "np.int64"),
                      (srt.to_int32, "np.int32"), (srt.to_bool, "np.bool_"), (srt.ndim, "np.ndim"),
                      *((getattr(srt, name), f"np.{name}") for name in vecmath.REPLACES),
                      *((getattr(srt, f"serial_{name}"), f"np.{name}") for name in serial_twins.ORDER_SENSITIVE
                        if f"np.{name}" in RULES)):
    alias(_helper, _key)

# --- no derivative --------------------------------------------------------------------------------------
for _name in ("zero", "sign", "truth", "trip", "new_tape", "new_exact_tape", "is_copy", "refuse_view"):
    defnondiff(f"srt.{_name}", objects=(getattr(srt, _name),))
# (stand-ins and fillers: they read their argument only for its type and shape)
for _name in ("zeros_like", "float_like", "sum_like", "mean_like", "example_like"):
    defnondiff(f"srt.{_name}", objects=(getattr(srt, _name),), shape_only=(0,))
defnondiff("srt.ones_like", objects=(srt.ones_like,), shape_only=(0,), allocates=True)
# an output's seed from grad_ys (transform/adjoint.py): only ever in a gradient's seeds
defhelper("srt.seed_at", allocates=True, shape_only=(2,))

# --- derivatives from the input alone (recompute forms of rules) -------------------------------------
defrule("srt.tanh_slope", ("x",), objects=(srt.tanh_slope,), like="srt.float_like(x)", elementwise=True,
        x="g * -2.0 * np.tanh(x) * srt.tanh_slope(x)")
# b a**(b-1), 0 where b == 0: its slope in a is b (b-1) a**(b-2), written b pow_slope(a, b - 1) with
# the exponent moved off -1 where the factor b is 0 (so 0 * inf never arises at a = 0); in b,
# a**(b-1) (1 + b log a)
defrule("srt.pow_slope", ("a", "b"), objects=(srt.pow_slope,), elementwise=True,
        a="srt.unbroadcast(g * b * srt.pow_slope(a, srt.pow_lower(b)), like_a)",
        b="srt.unbroadcast(g * (a ** (b - 1) + srt.pow_slope(a, b) * srt.log_or_zero(a)), like_b)")
defrule("srt.pow_lower", ("b",), objects=(srt.pow_lower,), elementwise=True, b="g")

# --- identities --------------------------------------------------------------------------------------
defrule("srt.check_float", ("x",), objects=(srt.check_float,), tangents={"x": "t"}, x="g")
defrule("srt.snapshot", ("x",), objects=(srt.snapshot,), tangents={"x": "t"}, x="g")
defrule("srt.seed", ("dy", "like"), objects=(srt.seed,), allocates=True, tangents={"dy": "t"}, dy="g")
defrule("srt.first_adjoint", ("value", "like", "fresh"), objects=(srt.first_adjoint,),
        tangents={"value": "srt.first_adjoint(t, like, False)"}, value="srt.unbroadcast(g, like_value)")
defrule("srt.cast_like", ("value", "like"), objects=(srt.cast_like,),
        tangents={"value": "srt.cast_like(t, like)"}, value="g")
defrule("srt.accumulate", ("target", "value"), objects=(srt.accumulate,),
        tangents={"target": "t", "value": "t"}, target="g", value="g")
defrule("srt.extend_tape", ("tape", "n"), objects=(srt.extend_tape,),
        tangents={"tape": "srt.extend_tape(t, n)"}, tape="g[:len(like_tape)]")

# --- linear in the cotangent c: the adjoint is the transposed map ---------------------------------
defrule("srt.unbroadcast", ("c", "like"), objects=(srt.unbroadcast,),
        tangents={"c": "srt.unbroadcast(t, like)"}, c="srt.broadcast_like(g, like_c)")
defrule("srt.select", ("cond", "x"), objects=(srt.select,), elementwise=True,
        x="srt.unbroadcast(srt.select(cond, g), like_x)")
defrule("srt.select_not", ("cond", "x"), objects=(srt.select_not,), elementwise=True,
        x="srt.unbroadcast(srt.select_not(cond, g), like_x)")
defrule("srt.float_gate", ("v", "like"), objects=(srt.float_gate,),
        tangents={"v": "srt.float_gate(t, like)"}, v="srt.float_gate(g, like)")
# (c has the reduction's shape, with or without the reduced dims: reshape_like restores it)
defrule("srt.sum_adjoint", ("c", "like", "axis"), objects=(srt.sum_adjoint,), allocates=True,
        tangents={"c": "srt.sum_adjoint(t, like, axis)"},
        c="srt.reshape_like(srt.reduce_sum(g, axis), like_c)")
defrule("srt.mean_adjoint", ("c", "like", "axis"), objects=(srt.mean_adjoint,), allocates=True,
        tangents={"c": "srt.mean_adjoint(t, like, axis)"}, c="srt.reshape_like(srt.mean(g, axis), like_c)")
defrule("srt.spread_sum", ("c", "like"), objects=(srt.spread_sum,),
        tangents={"c": "srt.spread_sum(t, like)"}, c="srt.reduce_sum(g, None)")
defrule("srt.spread_mean", ("c", "like"), objects=(srt.spread_mean,),
        tangents={"c": "srt.spread_mean(t, like)"}, c="srt.mean(g, None)")
alias(srt.spread_sum_dense, "srt.spread_sum")
alias(srt.spread_mean_dense, "srt.spread_mean")
defrule("srt.reshape_like", ("c", "like"), objects=(srt.reshape_like,),
        tangents={"c": "srt.reshape_like(t, like)"}, c="srt.reshape_like(g, like_c)")
defrule("srt.reverse_cumsum", ("c", "like"), objects=(srt.reverse_cumsum,),
        tangents={"c": "srt.reverse_cumsum(t, like)"}, c="np.cumsum(g)")
# (m: the extreme; the name y would mean this helper's own output in a template)
defrule("srt.extreme_adjoint", ("c", "x", "m", "axis"), objects=(srt.extreme_adjoint,),
        tangents={"c": "srt.extreme_adjoint(t, x, m, axis)"},
        c="srt.reshape_like(srt.reduce_sum(srt.extreme_adjoint(srt.ones_like(m), x, m, axis) * g, axis), "
          "like_c)")
defrule("srt.log_or_zero", ("x",), objects=(srt.log_or_zero,), elementwise=True,
        x="srt.select(x > 0, g / x)")
# sorting's permutation (constant almost everywhere): the scatter and the gather are transposes
defrule("srt.sort_adjoint", ("c", "x", "axis"), objects=(srt.sort_adjoint,),
        tangents={"c": "srt.sort_adjoint(t, x, axis)"}, c="srt.sort_tangent(g, x, axis)")
defrule("srt.sort_tangent", ("c", "x", "axis"), objects=(srt.sort_tangent,),
        tangents={"c": "srt.sort_tangent(t, x, axis)"}, c="srt.sort_adjoint(g, x, axis)")
# linspace's and arange's weights: each contraction's transpose spreads a number out
defrule("srt.linspace_start_adjoint", ("c",), objects=(srt.linspace_start_adjoint,),
        tangents={"c": "srt.linspace_start_adjoint(t)"}, c="np.linspace(g, 0.0 * g, len(like_c))")
defrule("srt.linspace_stop_adjoint", ("c",), objects=(srt.linspace_stop_adjoint,),
        tangents={"c": "srt.linspace_stop_adjoint(t)"}, c="np.linspace(0.0 * g, g, len(like_c))")
defrule("srt.arange_start_adjoint", ("c", "stop"), objects=(srt.arange_start_adjoint,),
        tangents={"c": "srt.arange_start_adjoint(t, stop)"},
        c="srt.arange_start_tangent(g, like_c, stop)")
defrule("srt.arange_start_tangent", ("s", "like", "stop"), objects=(srt.arange_start_tangent,),
        tangents={"s": "srt.arange_start_tangent(t, like, stop)"}, s="srt.arange_start_adjoint(g, stop)")
defrule("srt.ramp_dot", ("c",), objects=(srt.ramp_dot,), tangents={"c": "srt.ramp_dot(t)"},
        c="srt.ramp(g, like_c)")
defrule("srt.ramp", ("s", "like"), objects=(srt.ramp,), tangents={"s": "srt.ramp(t, like)"},
        s="srt.ramp_dot(g)")

defrule("srt.expand_like", ("h", "like"), objects=(srt.expand_like,),
        tangents={"h": "srt.expand_like(t, like)"}, h="srt.unbroadcast(g, like_h)")

# --- scatter-add and the gather of written positions (subscripts with index arrays) --------------
defrule("srt.add_at", ("target", "index", "value"), objects=(srt.add_at,),
        tangents={"target": "t", "value": "srt.add_at(srt.zeros_like(target), index, t)"},
        target="g", value="srt.unbroadcast(g[index], like_value)")
defrule("srt.take_written", ("adjoint", "index"), objects=(srt.take_written,),
        tangents={"adjoint": "srt.take_written(t, index)"},
        adjoint="srt.put(srt.zeros_like(like_adjoint), index, g)")

# --- bilinear: the cotangent c and the other factor ---------------------------------------------------
# (np.outer flattens its operands: each outer adjoint's transpose in the other factor is the other one)
defrule("srt.dot_adjoint_a", ("c", "like", "b"), objects=(srt.dot_adjoint_a,), allocates=True,
        tangents={"c": "srt.dot_adjoint_a(t, like, b)", "b": "srt.dot_adjoint_a(c, like, t)"},
        c="np.dot(g, b)", b="srt.dot_adjoint_b(c, g, like_b)")
defrule("srt.dot_adjoint_b", ("c", "a", "like"), objects=(srt.dot_adjoint_b,), allocates=True,
        tangents={"c": "srt.dot_adjoint_b(t, a, like)", "a": "srt.dot_adjoint_b(c, t, like)"},
        c="np.dot(a, g)", a="srt.dot_adjoint_a(c, like_a, g)")
defrule("srt.matmul_adjoint_a", ("c", "like", "b"), objects=(srt.matmul_adjoint_a,), allocates=True,
        tangents={"c": "srt.matmul_adjoint_a(t, like, b)", "b": "srt.matmul_adjoint_a(c, like, t)"},
        c="np.matmul(g, b)", b="srt.matmul_adjoint_b(c, g, like_b)")
defrule("srt.matmul_adjoint_b", ("c", "a", "like"), objects=(srt.matmul_adjoint_b,), allocates=True,
        tangents={"c": "srt.matmul_adjoint_b(t, a, like)", "a": "srt.matmul_adjoint_b(c, t, like)"},
        c="np.matmul(a, g)", a="srt.matmul_adjoint_a(c, like_a, g)")
defrule("srt.outer_adjoint_a", ("c", "like", "b"), objects=(srt.outer_adjoint_a,), allocates=True,
        tangents={"c": "srt.outer_adjoint_a(t, like, b)", "b": "srt.outer_adjoint_a(c, like, t)"},
        c="np.outer(g, b)", b="srt.outer_adjoint_b(c, g, like_b)")
defrule("srt.outer_adjoint_b", ("c", "a", "like"), objects=(srt.outer_adjoint_b,), allocates=True,
        tangents={"c": "srt.outer_adjoint_b(t, a, like)", "a": "srt.outer_adjoint_b(c, t, like)"},
        c="np.outer(a, g)", a="srt.outer_adjoint_a(c, like_a, g)")
defrule("srt.broadcast_like", ("h", "like"), objects=(srt.broadcast_like,),
        tangents={"h": "srt.broadcast_like(t, like)"}, h="srt.unbroadcast(g, like_h)")
