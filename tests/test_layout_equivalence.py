"""A seed's result does not depend on the seed layout, for every registered component.

Each registered optimizer (with fixed weights) and each registered weighting (with Adam) trains
two seeds vmapped together and one by one, in float64. The two layouts run different programs
(batched and unbatched), so they may differ by rounding only: curves agree to ``RTOL``. Were a
component's per-seed state mixed up across the vmap, or its result to depend on an arbitrary
choice the batched program makes differently (SOAP's eigenbasis of a rank-deficient matrix
before it was made basis-invariant: 1.7 % apart), the seeds would differ by O(1 %) or more.

Why ``RTOL = 1e-9``: float64 rounding (≈1e-16 per operation) through a dozen steps of a tiny
network, amplified at most by the conditioning of the updates (grad-norm's max/mean ratios,
SOAP's eigenvectors, RBA's max-normalisation): measured differences stay at or below 1e-12.
The budgets are tiny but every component's schedule fires within them (``every`` below).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import tiny_solver

from regimebench.components import optimizers, weightings
from regimebench.loss_forms import loss_forms
from regimebench.problem import load_problem
from regimebench.solver import Component
from regimebench.train import train

RTOL = 1e-9
EVALS = 12
ARCH = {"kind": "mlp", "width": 4, "depth": 2}  # small: compilation dominates; has matrices
OPTIMIZER_OPTIONS = {"adam": {"lr": 1e-2}, "soap": {"lr": 1e-2, "precondition_frequency": 3},
                     "lbfgs": {"max_linesearch_steps": 5},
                     # a short grid and a large damping, so that two steps (≈5 equivalents each)
                     # fit in the budget and both move the parameters of this tiny network
                     "natural_gradient": {"grid_size": 6, "damping": 1.0}}
WEIGHTING_OPTIONS = {"grad_norm": {"every": 3}, "inverse_dirichlet": {"every": 3},
                     "rba": {}, "fixed": {"weights": {"bc": 10.0}}, "causal": {"chunks": 4}}
# the causal weighting needs a time axis: burgers; every other component runs on helmholtz
TIME_DEPENDENT = {"causal"}


def _task(problem: str):
    p = load_problem(problem)
    sizes = p.sizes("forward", "smoke")
    return p.make_task("forward", p.resolve_params("forward"), sizes), sizes


def _assert_layouts_agree(task, sizes, solver):
    together = train(task, solver, EVALS, sizes, [0, 1], n_log=4, seed_layout="vmap")
    alone = train(task, solver, EVALS, sizes, [0, 1], n_log=4, seed_layout="sequential")
    assert together.layout["group_size"] == 2 and alone.layout["group_size"] == 1
    for a, b in zip(together.seeds, alone.seeds):
        assert a.seed == b.seed and a.status == b.status == "ok"
        assert a.evals == b.evals
        for key in a.curves:
            if key.startswith(("loss", "weight_", "rel_l2")):
                np.testing.assert_allclose(a.curves[key], b.curves[key], rtol=RTOL,
                                           err_msg=f"seed {a.seed}, curve {key}")
    # the seeds differ from each other, so a mix-up would show
    assert together.seeds[0].curves["loss"] != together.seeds[1].curves["loss"]


@pytest.mark.parametrize("kind", optimizers.names())
def test_optimizer_is_per_seed_under_vmap(kind):
    task, sizes = _task("helmholtz")
    phase = {"kind": kind, **OPTIMIZER_OPTIONS.get(kind, {})}
    _assert_layouts_agree(task, sizes, tiny_solver([phase], architecture=ARCH,
                                                   sampling={"kind": "resampled", "every": 4}))


@pytest.mark.parametrize("kind", weightings.names())
def test_weighting_is_per_seed_under_vmap(kind):
    task, sizes = _task("burgers" if kind in TIME_DEPENDENT else "helmholtz")
    weighting = {"kind": kind, **WEIGHTING_OPTIONS.get(kind, {})}
    _assert_layouts_agree(task, sizes, tiny_solver([{"kind": "adam", "lr": 1e-2}],
                                                   architecture=ARCH, weighting=weighting))



@pytest.mark.parametrize("kind", loss_forms.names())
def test_loss_form_is_per_seed_under_vmap(kind):
    # helmholtz forward declares an energy form, so every registered loss form applies to it
    task, sizes = _task("helmholtz")
    solver = tiny_solver([{"kind": "adam", "lr": 1e-2}], architecture=ARCH,
                         sampling={"kind": "resampled", "every": 4})
    _assert_layouts_agree(task, sizes, dataclasses.replace(solver, loss=Component(kind)))
