"""Networks for the experiments: a tanh MLP, optionally with the exact periodic embedding read
from the task's periods and/or a hard boundary/initial constraint for the task's box."""

from __future__ import annotations

import jax.numpy as jnp

from regimebench.components.architectures import architectures, periods_from_task
from regimebench.components.hard_constraints import BoxConstraint

# The periods the engine helper adds to the tasks as ``periods`` (physical coordinates); until
# then the experiments supply allen-cahn's (x has period 2; inputs are (t, x)).
FALLBACK_PERIODS = {"allen-cahn": {1: 2.0}}


def burgers_lifting(x):
    """u0(x) = −sin(πx), which vanishes at x = ±1 (points are (t, x))."""
    return -jnp.sin(jnp.pi * x[1:2])


def allen_cahn_lifting(x):
    """u0(x) = x² cos(πx) (points are (t, x))."""
    return x[1:2] ** 2 * jnp.cos(jnp.pi * x[1:2])


# The liftings are module-level functions, not lambdas made per call: they are static fields
# of the model, and two models must compare equal in structure to be combined.
def hard_constraint(task):
    """(faces, lifting, terms made exact) of the hard constraint of ``task`` (rescaled faces)."""
    name = task.problem
    if name in ("helmholtz", "darcy"):
        return ((0, -1), (0, 1), (1, -1), (1, 1)), None, ("bc",)
    if name == "burgers":  # (t, x): u = -sin(pi x) at t = 0, u = 0 at x = ±1
        return ((0, -1), (1, -1), (1, 1)), burgers_lifting, ("ic", "bc")
    if name == "allen-cahn":  # (t, x): u = x² cos(pi x) at t = 0
        return ((0, -1),), allen_cahn_lifting, ("ic",)
    raise ValueError(f"no hard constraint for {name!r} in the experiments")


def build_model(task, args, key):
    in_size, out_size = task.model_io
    options = dict(width=args.width, depth=args.depth, activation=args.activation)
    if args.periodic:
        periods = periods_from_task(task, FALLBACK_PERIODS.get(task.problem))
        options["embedding"] = {"kind": "periodic", "periods": list(periods),
                                "harmonics": args.periodic}
    net = architectures.get("mlp")(in_size, out_size, key=key, **options)
    if args.hard:
        faces, lifting, _ = hard_constraint(task)
        net = BoxConstraint(net, faces=faces, lower=task.lower, upper=task.upper,
                            lifting=lifting)
    return net


def loss_terms(task, args) -> tuple[str, ...]:
    """The terms left in the loss: those a hard constraint or the embedding makes exact go."""
    exact = set()
    if args.hard:
        exact |= set(hard_constraint(task)[2])
    if args.periodic and task.problem == "allen-cahn":
        exact.add("bc")  # value and slope periodicity both hold exactly
    return tuple(t for t in task.term_names if t not in exact)
