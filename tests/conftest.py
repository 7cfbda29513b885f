"""Session fixtures shared by every engineer's tests.

- `plant`: a generated sample plant (small scale) and its truth.json, generated once.
- `pipeline_run` / `pipeline_home`: one full `qualitrace run` over that plant, once per
  session (it is the expensive part: share it, do not run the pipeline again unless the
  test is about running it).
- `hostile_run`: one full run over the hand-written foreign plant with the hostile changes of
  tests/support/hostile_plant.py (numbers, corrections, odd rows, personal data).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.lib.settings import Settings, get_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
PLANT_SCALE = float(os.environ.get("QUALITRACE_TEST_SCALE", "0.02"))
PLANT_SEED = 11


@dataclass(frozen=True)
class Plant:
    exports: Path
    truth: dict
    scale: float
    seed: int


@dataclass(frozen=True)
class PipelineRun:
    settings: Settings
    returncode: int
    output: str


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for a `qualitrace` subprocess: no QUALITRACE_* leaking in from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUALITRACE_")}
    env.update(extra)
    return env


def qualitrace(*args: str, timeout: float = 900, **popen) -> subprocess.CompletedProcess:
    """Run the `qualitrace` CLI in a subprocess (same interpreter), capturing output."""
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        check=False, cwd=REPO_ROOT, env=popen.pop("env", cli_env()),
        capture_output=True, text=True,
        timeout=timeout, **popen,
    )


def generate_plant(out: Path, scale: float = PLANT_SCALE, seed: int = PLANT_SEED) -> Plant:
    """Generate exports into `out` (via the CLI, as a user would) and read its truth."""
    proc = qualitrace("generate", "--out", str(out), "--scale", str(scale),
                      "--seed", str(seed), timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"qualitrace generate failed ({proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    truth_path = out / "truth.json"
    truth = json.loads(truth_path.read_text(encoding="utf-8")) if truth_path.exists() else {}
    return Plant(exports=out, truth=truth, scale=scale, seed=seed)


def run_pipeline(home: Path, exports: Path, *extra: str, timeout: float = 900,
                 docs: bool = False) -> PipelineRun:
    """`qualitrace run`; the dbt docs site (about 5 s) only where a test reads it."""
    proc = qualitrace("run", "--home", str(home), "--exports", str(exports), *extra,
                      timeout=timeout, env=cli_env(QUALITRACE_DOCS_SITE="1" if docs else "0"))
    return PipelineRun(settings=get_settings(home, exports), returncode=proc.returncode,
                       output=proc.stdout + proc.stderr)


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
