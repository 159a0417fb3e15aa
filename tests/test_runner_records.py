"""The runner writes each seed group's records as soon as the group finishes, keeps them when a
later group fails, and rewrites them atomically when cross-seed results arrive at the end.

A stand-in ``train`` (no training: results by hand) drives ``runner.execute`` through the
``on_group`` protocol of :func:`regimebench.train.train`.
"""

from __future__ import annotations

from regimebench.engine.results import SeedResult, TrainResult
from regimebench.outcomes import Status
from regimebench.record import read_record
from regimebench.runner import RunRequest, execute, plan

TIMING = {"compile_s": 1.0, "train_s": 2.0, "wall_s": 3.0, "seed_steps_per_s": 30.0}
LAYOUT = {"seed_layout": "sequential", "processes": 1, "group_size": 1}


def _result(seed: int, evals: int) -> SeedResult:
    return SeedResult(seed=seed, status=Status.OK, failure=None, failed_step=None, evals=evals,
                      metrics={"rel_l2": 0.5, "loss": 1.0, "normalized_loss": 0.1},
                      curves={"evals": [0, evals], "loss": [10.0, 1.0]}, seconds=1.0)


def _planned(tmp_path, seeds=(0, 1, 2)):
    return plan(RunRequest(problem="helmholtz", seeds=list(seeds), budget="smoke", out=tmp_path,
                           seed_layout="sequential", diagnostics=None))


def test_records_are_written_as_groups_finish_and_amended_at_the_end(tmp_path):
    planned = _planned(tmp_path)
    on_disk_before_next_group = []

    def fake_train(task, solver, evals, sizes, seeds, *, on_group, **kwargs):
        done = []
        for s in seeds:
            # every earlier group's record is on disk before this group starts
            on_disk_before_next_group.append([p.is_file() for p in planned.paths])
            done.append(_result(s, evals))
            on_group([done[-1]], TrainResult(list(done), TIMING, LAYOUT))
        for r in done:  # what only the whole run knows (cross-seed CKA)
            r.diagnostics["cka_mean"] = 0.9
        return TrainResult(done, TIMING, LAYOUT, amended=list(seeds))

    recs = execute(planned, train_fn=fake_train)
    assert on_disk_before_next_group == [[False] * 3, [True, False, False],
                                         [True, True, False]]
    assert [r["status"] for r in recs] == ["ok"] * 3
    # the amended results were rewritten into the same records
    assert all(read_record(p)["diagnostics"]["cka_mean"] == 0.9 for p in planned.paths)


def test_a_failing_group_keeps_the_finished_groups(tmp_path):
    planned = _planned(tmp_path)

    def fails_in_group_two(task, solver, evals, sizes, seeds, *, on_group, **kwargs):
        first = _result(seeds[0], evals)
        on_group([first], TrainResult([first], TIMING, LAYOUT))
        raise RuntimeError("simulated failure in the second group")

    recs = execute(planned, train_fn=fails_in_group_two)
    assert [r["status"] for r in recs] == ["ok", "crashed", "crashed"]
    assert "second group" in recs[1]["traceback"]
    # a rerun keeps the finished group and retries the crashed seeds (issue 14's resume rule)
    assert _planned(tmp_path).todo == [1, 2]
