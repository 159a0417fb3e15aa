"""Reference build time per problem (float64 generators), in an empty temporary cache.

Every ``problems/<name>/reference.py`` is built once with its ``DEFAULT_PARAMS`` (or the
problem's canonical parameters), with ``use_cache=False`` so nothing is read or written.
"""

from __future__ import annotations

import pytest
from _common import device_info

from regimebench._catalogue import load_problem_module, problems_dir
from regimebench.problem import list_problems, load_problem
from regimebench.reference import cached_reference

NAMES = sorted(p.name for p in problems_dir().iterdir() if (p / "reference.py").is_file())


def _params(name, module):
    if hasattr(module, "DEFAULT_PARAMS"):
        return dict(module.DEFAULT_PARAMS)
    if name in list_problems():
        spec = load_problem(name)
        return spec.resolve_params(spec.task_info(None).name)
    pytest.skip(f"{name}: no DEFAULT_PARAMS and no problem.toml")


@pytest.mark.parametrize("name", NAMES)
def test_reference_build(benchmark, name):
    module = load_problem_module(name, "reference")
    params = _params(name, module)

    def build():
        return cached_reference(name, 0, params, module, use_cache=False)

    ref = benchmark.pedantic(build, rounds=1, warmup_rounds=0)
    benchmark.extra_info.update(device_info())
    benchmark.extra_info.update(problem=name, params=params, error_floor=ref.solution.error_floor,
                                method=ref.solution.method)
