"""Rules for srcgrad's own runtime helpers, so that generated code is itself differentiable.

``grad(grad(f))`` reads the source srcgrad wrote for ``grad(f)``, which calls these helpers. Most
are linear in their first argument (a cotangent), so their rules are the transposed maps; the
``like`` arguments only supply shapes and carry no derivative. The forward helpers that stand in for
NumPy calls share the NumPy functions' rules (see the other rule families).
"""
from .. import runtime as srt
from ..runtime import parallel, vecmath
from .registry import RULES, _BY_OBJECT, _OBJECTS, defnondiff, defrule

def _same_rule(helper, key):
    """``helper`` is differentiated with the rule registered as ``key``."""
    _BY_OBJECT[id(helper)] = RULES[key]
    _OBJECTS.append(helper)


# --- helpers that stand in for NumPy calls: the same primitives ---------------------------------------
# (srcgrad's math and the parallel-mode twins are among them, so generated code built with either
# can be differentiated again)
for _helper, _key in ((srt.amax, "np.max"), (srt.amin, "np.min"), (srt.mean, "np.mean"),
                      (srt.clip, "np.clip"), (srt.reshape, "np.reshape"), (srt.ravel, "np.ravel"),
                      (srt.reduce_sum, "np.sum"), (srt.matmul, "np.dot"), (srt.dot, "np.dot"),
                      *((getattr(srt, name), f"np.{name}") for name in vecmath.REPLACES),
                      *((getattr(srt, f"serial_{name}"), f"np.{name}") for name in parallel.ORDER_SENSITIVE
                        if f"np.{name}" in RULES)):
    _same_rule(_helper, _key)

# --- no derivative --------------------------------------------------------------------------------------
for _name in ("zeros_like", "ones_like", "zero", "sign", "truth", "trip", "new_tape", "new_exact_tape", "float_like",
              "sum_like", "mean_like", "example_like", "is_copy", "refuse_view"):
    defnondiff(f"srt.{_name}", objects=(getattr(srt, _name),))

# --- derivatives from the input alone (recompute forms of rules) -------------------------------------
defrule("srt.tanh_slope", ("x",), objects=(srt.tanh_slope,), like="srt.float_like(x)",
        x="g * -2.0 * np.tanh(x) * srt.tanh_slope(x)")

# --- identities --------------------------------------------------------------------------------------
defrule("srt.check_float", ("x",), objects=(srt.check_float,), x="g")
defrule("srt.snapshot", ("x",), objects=(srt.snapshot,), x="g")
defrule("srt.seed", ("dy", "like"), objects=(srt.seed,), dy="g")
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
defrule("srt.select", ("cond", "x"), objects=(srt.select,),
        x="srt.unbroadcast(srt.select(cond, g), like_x)")
defrule("srt.select_not", ("cond", "x"), objects=(srt.select_not,),
        x="srt.unbroadcast(srt.select_not(cond, g), like_x)")
defrule("srt.sum_adjoint", ("c", "like", "axis"), objects=(srt.sum_adjoint,),
        tangents={"c": "srt.sum_adjoint(t, like, axis)"}, c="srt.reduce_sum(g, axis)")
defrule("srt.mean_adjoint", ("c", "like", "axis"), objects=(srt.mean_adjoint,),
        tangents={"c": "srt.mean_adjoint(t, like, axis)"}, c="srt.mean(g, axis)")
defrule("srt.spread_sum", ("c", "like"), objects=(srt.spread_sum,),
        tangents={"c": "srt.spread_sum(t, like)"}, c="srt.reduce_sum(g, None)")
defrule("srt.spread_mean", ("c", "like"), objects=(srt.spread_mean,),
        tangents={"c": "srt.spread_mean(t, like)"}, c="srt.mean(g, None)")
_same_rule(srt.spread_sum_dense, "srt.spread_sum")
_same_rule(srt.spread_mean_dense, "srt.spread_mean")
defrule("srt.reshape_like", ("c", "like"), objects=(srt.reshape_like,),
        tangents={"c": "srt.reshape_like(t, like)"}, c="srt.reshape_like(g, like_c)")
defrule("srt.reverse_cumsum", ("c", "like"), objects=(srt.reverse_cumsum,),
        tangents={"c": "srt.reverse_cumsum(t, like)"}, c="np.cumsum(g)")
defrule("srt.extreme_adjoint", ("c", "x", "y", "axis"), objects=(srt.extreme_adjoint,),
        tangents={"c": "srt.extreme_adjoint(t, x, y, axis)"},
        c="srt.reduce_sum(srt.extreme_adjoint(srt.ones_like(y), x, y, axis) * g, axis)")
defrule("srt.log_or_zero", ("x",), objects=(srt.log_or_zero,), x="srt.select(x > 0, g / x)")

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
defrule("srt.dot_adjoint_a", ("c", "like", "b"), objects=(srt.dot_adjoint_a,),
        tangents={"c": "srt.dot_adjoint_a(t, like, b)", "b": "srt.dot_adjoint_a(c, like, t)"},
        c="np.dot(g, b)", b="srt.dot_adjoint_b(c, g, like_b)")
defrule("srt.dot_adjoint_b", ("c", "a", "like"), objects=(srt.dot_adjoint_b,),
        tangents={"c": "srt.dot_adjoint_b(t, a, like)", "a": "srt.dot_adjoint_b(c, t, like)"},
        c="np.dot(a, g)", a="srt.dot_adjoint_a(c, like_a, g)")
defrule("srt.outer_adjoint_a", ("c", "like", "b"), objects=(srt.outer_adjoint_a,),
        tangents={"c": "srt.outer_adjoint_a(t, like, b)", "b": "srt.outer_adjoint_a(c, like, t)"},
        c="np.outer(g, b)", b="srt.dot_adjoint_b(g, c, like_b)")
defrule("srt.outer_adjoint_b", ("c", "a", "like"), objects=(srt.outer_adjoint_b,),
        tangents={"c": "srt.outer_adjoint_b(t, a, like)", "a": "srt.outer_adjoint_b(c, t, like)"},
        c="np.outer(a, g)", a="np.dot(c, g)")
defrule("srt.broadcast_like", ("h", "like"), objects=(srt.broadcast_like,),
        tangents={"h": "srt.broadcast_like(t, like)"}, h="srt.unbroadcast(g, like_h)")
