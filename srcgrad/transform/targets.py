"""What to differentiate with respect to, and what to hold constant.

``grad`` takes argument positions or names. ``gradients`` (TensorFlow's ``tf.gradients``) also takes
names of *intermediate* variables, since in TensorFlow any tensor can be a ``wrt`` or a
``stop_gradients`` entry; here a variable assigned exactly once, outside loops, plays that role.
The gradient with respect to such a variable is its adjoint just before the reverse sweep passes its
definition: the total derivative of the outputs with respect to its value. Stopping a variable makes
its definition a constant for everything upstream, while its own gradient is still reported.
"""
import ast
import re
from dataclasses import dataclass

from ..front.ir import iter_assigns, nested
from ..errors import ArgumentError
from ..front.inline import local_names, user_names


@dataclass(frozen=True)
class Target:
    name: str        # the variable in generated code
    param: bool      # an argument (True) or an intermediate variable (False)
    label: str       # how the user named it


def resolve(items, fsrc, params, body, allow_variables, purpose="wrt"):
    """Targets for ``items`` (positions or names); intermediates only if ``allow_variables``."""
    user_params = fsrc.params()
    targets = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise ArgumentError(f"{purpose} items must be argument positions or names, not {item!r}")
        if isinstance(item, int):
            if not -len(params) <= item < len(params):
                raise ArgumentError(f"{purpose}={item} is out of range: {fsrc.name!r} takes "
                                    f"{len(params)} argument(s)")
            targets.append(Target(params[item % len(params)], True, user_params[item]))
        elif item in user_params:
            targets.append(Target(params[user_params.index(item)], True, item))
        elif allow_variables:
            targets.append(Target(_single_definition(item, fsrc, body).targets[0].id, False, item))
        else:
            raise ArgumentError(f"{fsrc.name!r} has no argument named {item!r} "
                                f"(its arguments are {', '.join(user_params)})")
    return targets


def _single_definition(label, fsrc, body):
    name = user_names(local_names(fsrc)).get(label, label)
    # a straight-line redefinition is a new variable, _<name>_<k> (front/normalize.py): it still
    # counts as assigning the user's variable again
    version = re.compile(rf"_{re.escape(name)}_\d+")
    found = [(s, loops) for s, loops in nested(body)
             if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
             and (s.targets[0].id == name or version.fullmatch(s.targets[0].id))]
    if len(found) != 1:
        how = "never assigned" if not found else f"assigned {len(found)} times"
        raise ArgumentError(f"{label!r} is not an argument of {fsrc.name!r}, and as a variable it is "
                            f"{how}; only a variable assigned exactly once can be differentiated "
                            "with respect to or stopped")
    stmt, loops = found[0]
    if loops:
        raise ArgumentError(f"{label!r} is assigned inside a loop in {fsrc.name!r}, so it has a value "
                            "per iteration; name a variable assigned once, outside loops")
    return stmt


def stop(targets, body):
    """Make the definitions of stopped intermediate variables constants (arguments need nothing)."""
    names = {t.name for t in targets if not t.param}
    for s in iter_assigns(body):
        if isinstance(s.targets[0], ast.Name) and s.targets[0].id in names:
            s.sg_kind = "nondiff"
