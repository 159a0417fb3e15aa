"""The planner: one reproduce command that brings a run back, the resume rule, sweeps, the matrix."""

from __future__ import annotations

import dataclasses

import pytest
from helpers import tiny_entry, tiny_solver
from typer.main import get_command

from regimebench.cli import app
from regimebench.cli.run import build_request
from regimebench.planner import (
    BenchError,
    RunRequest,
    at_cell,
    matrix_requests,
    plan,
    reproduce_command,
    resume,
    sweep_requests,
)
from regimebench.problem import list_problems, load_problem
from regimebench.record import write_record
from regimebench.solver import list_solvers, load_solver


def _request_of_command(command: list[str], out):
    """What ``bench run`` does with ``command``: Typer parses it, the verb builds the request."""
    assert command[:2] == ["bench", "run"]
    ctx = get_command(app).commands["run"].make_context("run", list(command[2:]))
    p = ctx.params
    return build_request(problem=p["problem"], task=p["task"], solver=p["solver"],
                         seeds=p["seeds"], seed_start=p["seed_start"], budget=p["budget"],
                         evals=p["evals"], difficulty=p["difficulty"], data=p["data"], out=out,
                         force=p["force"], seed_layout=p["seed_layout"], platform=p["platform"],
                         diagnostics=p["diagnostics"])


def _cases(tmp_path):
    entry = str(tiny_entry(tmp_path))
    base = RunRequest(problem="helmholtz", seeds=[0, 1, 2], budget="smoke", out=tmp_path / "a")
    yield base
    yield RunRequest(problem="helmholtz", task="forward", solver=entry, seeds=[2, 3],
                     budget="cpu", evals=500, seed_layout="sequential", platform="cpu",
                     diagnostics="full", out=tmp_path / "a")
    yield at_cell(dataclasses.replace(base, solver=entry, seed_layout=2, diagnostics=None),
                  4.0, 256)
    yield from sweep_requests(dataclasses.replace(base, seeds=[0]), [1.0, 16.0], [64])


def test_the_reproduce_command_plans_the_same_records(tmp_path):
    for request in _cases(tmp_path):
        planned = plan(request)
        command = planned.request.command
        again = plan(_request_of_command(command, request.out))
        assert again.specs == planned.specs, command
        assert again.paths == planned.paths and again.cell == planned.cell, command
        assert again.request.command == command  # a fixed point: it prints itself again
        assert again.request.seed_layout == planned.request.seed_layout
        assert again.request.platform == planned.request.platform
        assert again.request.diagnostics_config() == planned.request.diagnostics_config()


def test_the_reproduce_command_names_every_option_that_changes_a_run(tmp_path):
    cases = list(_cases(tmp_path))
    command = plan(cases[1]).request.command
    for option in (["--seeds", "2"], ["--seed-start", "2"], ["--budget", "cpu"],
                   ["--evals", "500"], ["--seed-layout", "sequential"], ["--platform", "cpu"],
                   ["--diagnostics", "full"]):
        i = command.index(option[0])
        assert command[i:i + 2] == option, command
    cell = plan(cases[2]).request.command
    assert cell[cell.index("--difficulty") + 1] == "4" and cell[cell.index("--data") + 1] == "256"
    assert plan(cases[0]).request.command == [
        "bench", "run", "--problem", "helmholtz", "--task", "forward", "--solver",
        load_problem("helmholtz").task_info(None).default_solver, "--seeds", "3", "--budget",
        "smoke"]  # defaults are left out


def test_no_command_when_none_can_reproduce_the_request(tmp_path):
    built = RunRequest(problem="helmholtz", solver=tiny_solver(), seeds=[0], budget="smoke",
                       out=tmp_path)
    assert plan(built).request.command is None  # an entry made in Python
    gaps = dataclasses.replace(built, solver=None, seeds=[0, 2])
    assert plan(gaps).request.command is None  # seeds 0 and 2 are not one --seeds range
    spec = plan(dataclasses.replace(built, solver=None)).solver
    assert reproduce_command(dataclasses.replace(built, solver=None, overrides={"k": 1}),
                             task="forward", solver=spec, difficulty="a2") is None


def test_plan_rejects_bad_choices_before_anything_runs(tmp_path):
    base = RunRequest(problem="helmholtz", seeds=[0], budget="smoke", out=tmp_path / "x")
    with pytest.raises(BenchError, match="Unknown seed layout 'bogus'"):
        plan(dataclasses.replace(base, seed_layout="bogus"))
    with pytest.raises(BenchError, match="group size must be positive"):
        plan(dataclasses.replace(base, seed_layout=0))
    with pytest.raises(BenchError, match="Unknown diagnostics mode 'ful'. Did you mean 'full'"):
        plan(dataclasses.replace(base, diagnostics="ful"))
    assert not (tmp_path / "x").exists()


def test_resume_is_one_rule_for_finished_seeds(tmp_path):
    planned = plan(RunRequest(problem="helmholtz", seeds=[0, 1, 2], budget="smoke",
                              out=tmp_path))
    good, bad, _ = planned.paths
    write_record(good, {"schema_version": 1, "spec": planned.specs[0].as_dict(), "status": "ok"})
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("{half a record")
    messages = []
    assert list(resume(planned, messages.append, set_aside=False)) == [0]
    assert bad.is_file() and "would be moved aside" in messages[0]  # a dry run changes nothing
    assert list(resume(planned, messages.append)) == [0]
    assert not bad.exists() and bad.with_name("seed-1.json.corrupt").is_file()
    assert planned.todo == [1, 2]  # after resume, the cheap path check agrees with it
    forced = plan(dataclasses.replace(planned.request, force=True))
    assert resume(forced) == {} and forced.todo == [0, 1, 2]


def test_sweep_requests_cover_the_declared_grid():
    info = load_problem("helmholtz").task_info(None)
    reqs = sweep_requests(RunRequest(problem="helmholtz", seeds=[0], budget="smoke"))
    cells = {(r.overrides[info.difficulty.name], r.data) for r in reqs}
    assert cells == {(d, int(n)) for d in info.difficulty.values for n in info.data.values}
    with pytest.raises(BenchError, match="no task 'inverse'"):
        sweep_requests(RunRequest(problem="helmholtz", task="inverse"))


def test_the_matrix_is_every_declared_pair_once():
    requests, errors = matrix_requests(RunRequest(problem="", seeds=[0], budget="smoke"))
    assert errors == []
    pairs = [(r.solver, r.problem, r.task) for r in requests]
    assert len(pairs) == len(set(pairs))
    declared = {(s, p, t) for s in list_solvers() for p in list_problems()
                for t in load_problem(p).tasks if load_solver(s).supports(p, t)}
    assert set(pairs) == declared
    assert ("pinn-mlp-adam", "helmholtz", "forward") in declared
    fno, _ = matrix_requests(RunRequest(problem=""), solvers=["fno"])
    assert [(r.problem, r.task) for r in fno] == [("darcy", "operator")]
    darcy, _ = matrix_requests(RunRequest(problem=""), problems=["darcy"], tasks=["forward"])
    assert {r.task for r in darcy} == {"forward"} and "fno" not in {r.solver for r in darcy}
    with pytest.raises(BenchError, match="Unknown problem 'helmholz'. Did you mean 'helmholtz'"):
        matrix_requests(RunRequest(problem=""), problems=["helmholz"])
