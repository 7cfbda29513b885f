"""Running the CLI as a user would: generate a plant, run the pipeline (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestration.lib.settings import Settings, get_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
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
                 docs: bool = False, env: dict[str, str] | None = None) -> PipelineRun:
    """`qualitrace run`; the dbt docs site only where a test reads it; `env`:
    more QUALITRACE_* settings."""
    proc = qualitrace("run", "--home", str(home), "--exports", str(exports), *extra,
                      timeout=timeout, env=cli_env(QUALITRACE_DOCS_SITE="1" if docs else "0",
                                                   **(env or {})))
    return PipelineRun(settings=get_settings(home, exports), returncode=proc.returncode,
                       output=proc.stdout + proc.stderr)
