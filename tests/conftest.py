"""Session fixtures shared by every engineer's tests.

- `plant`: a generated sample plant (small scale) and its truth.json, generated once.
- `pipeline_run` / `pipeline_home`: one full `qualitrace run` over that plant, once per
  session (it is the expensive part: share it, do not run the pipeline again unless the
  test is about running it).
- `hostile_run`: one full run over the hand-written foreign plant with the hostile changes of
  tests/support/hostile_plant.py (numbers, corrections, odd rows, personal data).
"""

from __future__ import annotations

import pytest

from orchestration.lib.settings import Settings
from tests.support.runs import PipelineRun, Plant, generate_plant, run_pipeline

# Parallel runs (`make test`: pytest -n 2 --dist loadgroup --no-loadscope-reorder):
# pytest-xdist hands out whole groups. A module's tests stay together (its module fixtures
# are built once), and every test that reads a shared session run joins that run's group, so
# each run is built on one worker only. Groups are sent out longest first (the shared runs,
# then groups with integration tests) so the other worker fills in with the quick ones.
SHARED_RUNS = {"pipeline_run": "pipeline_run", "pipeline_home": "pipeline_run",
               "hostile_run": "hostile_run"}
_GROUP = pytest.StashKey[str]()


def pytest_sessionstart(session):
    """The dbt manifest, prepared before any test module imports the code location (which
    parses only under `dagster dev`): the session-start `dbt parse` of dagster-dbt's
    project_dbt example, skipped when the project did not change since the last parse."""
    from orchestration.lib.dbt_project import ensure_manifest

    ensure_manifest()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist turns the marks into groups
def pytest_collection_modifyitems(config, items):
    """Mark every test with its xdist group (see SHARED_RUNS); order groups longest first."""
    first: dict[str, int] = {}
    slow: set[str] = set()
    for i, item in enumerate(items):
        group = next((SHARED_RUNS[f] for f in SHARED_RUNS if f in item.fixturenames),
                     item.module.__name__)
        item.add_marker(pytest.mark.xdist_group(group))
        item.stash[_GROUP] = group
        first.setdefault(group, i)
        if item.get_closest_marker("integration"):
            slow.add(group)
    shared = set(SHARED_RUNS.values())
    items.sort(key=lambda it: (it.stash[_GROUP] not in shared, it.stash[_GROUP] not in slow,
                               first[it.stash[_GROUP]]))


@pytest.fixture(scope="session")
def plant(tmp_path_factory) -> Plant:
    """The sample plant: exports at scale 0.02 (seed 11) and its truth.json."""
    return generate_plant(tmp_path_factory.mktemp("plant") / "exports")


@pytest.fixture(scope="session")
def pipeline_run(plant, tmp_path_factory) -> PipelineRun:
    """One full `qualitrace run` over the plant (whatever its outcome)."""
    home = tmp_path_factory.mktemp("home")
    return run_pipeline(home, plant.exports, docs=True)


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory) -> PipelineRun:
    """One full `qualitrace run` over the hostile plant; fails loudly unless it exits 0."""
    from tests.support.hostile_plant import build

    tmp = tmp_path_factory.mktemp("hostile")
    run = run_pipeline(tmp / "home", build(tmp / "exports"))
    if run.returncode != 0:
        pytest.fail(f"qualitrace run over the hostile plant exited {run.returncode}:\n"
                    f"{run.output[-6000:]}", pytrace=False)
    return run


@pytest.fixture(scope="session")
def pipeline_home(pipeline_run) -> Settings:
    """Settings of a home after one successful full run (fails loudly with the run's output)."""
    if pipeline_run.returncode != 0:
        pytest.fail(f"qualitrace run exited {pipeline_run.returncode}:\n"
                    f"{pipeline_run.output[-6000:]}", pytrace=False)
    return pipeline_run.settings
