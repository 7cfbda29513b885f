"""`qualitrace dev`: the Dagster UI on this home, one run at a time.

Sets QUALITRACE_HOME / QUALITRACE_EXPORTS for the code location, makes
`<home>/dagster/` the DAGSTER_HOME with a `dagster.yaml` that queues runs (one at a time)
and limits the `warehouse` pool to one step, and a `workspace.yaml` naming the code
location `qualitrace`, then execs `dagster dev`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from orchestration.lib.settings import REPO_ROOT, Settings, get_settings

DAGSTER_YAML = """\
# Written by `qualitrace dev`. One run at a time; one step at a time in each pool
# (`warehouse`: every step that writes the DuckDB warehouse).
concurrency:
  runs:
    max_concurrent_runs: 1
  pools:
    default_limit: 1
telemetry:
  enabled: false
# Dagster's own SQLite files and layout (history/runs.db, history/runs/<run>.db, schedules/);
# the event log keeps its database engines open between events (lib/dagster_storage.py).
# The run storage checks for a stored plan snapshot by its id (lib/dagster_storage.py).
run_storage:
  module: orchestration.lib.dagster_storage
  class: QualitraceRunStorage
  config:
    base_dir: {history}
event_log_storage:
  module: orchestration.lib.dagster_storage
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {event_logs}
schedule_storage:
  module: dagster._core.storage.schedules
  class: SqliteScheduleStorage
  config:
    base_dir: {schedules}
"""


def write_instance_config(settings: Settings) -> Path:
    """Create `<home>/dagster/dagster.yaml` (overwritten: it is ours)."""
    import json

    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    path = settings.dagster_home / "dagster.yaml"
    where = {"history": settings.dagster_home / "history",
             "event_logs": settings.dagster_home / "history" / "runs",
             "schedules": settings.dagster_home / "schedules"}
    # JSON strings are YAML strings: a home path with spaces or colons stays one value
    path.write_text(DAGSTER_YAML.format(**{k: json.dumps(str(v)) for k, v in where.items()}),
                    encoding="utf-8")
    return path


WORKSPACE_YAML = """\
# Written by `qualitrace dev`.
load_from:
  - python_module:
      module_name: orchestration.definitions
      location_name: qualitrace
      working_directory: {repo}
"""


def write_workspace(settings: Settings) -> Path:
    """`<home>/dagster/workspace.yaml`: the code location, named `qualitrace`."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    path = settings.dagster_home / "workspace.yaml"
    path.write_text(WORKSPACE_YAML.format(repo=REPO_ROOT), encoding="utf-8")
    return path


def dev_environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "QUALITRACE_HOME": str(settings.home),
        "QUALITRACE_EXPORTS": str(settings.exports),
        "DAGSTER_HOME": str(settings.dagster_home),
        # dagster-dbt's prepare_if_dev runs `dbt` from PATH: this environment's dbt first
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }


def dev_command(port: int, workspace: Path | None = None) -> list[str]:
    dagster = Path(sys.executable).parent / "dagster"
    target = ["-w", str(workspace)] if workspace else ["-m", "orchestration.definitions"]
    return [str(dagster) if dagster.exists() else "dagster", "dev", *target,
            "-h", "127.0.0.1", "-p", str(port)]


def main(args) -> int:
    from orchestration.lib.dbt_project import ensure_manifest

    settings = get_settings(getattr(args, "home", None), getattr(args, "exports", None)).ensure()
    ensure_manifest()  # the first load finds a manifest; each reload parses (prepare_if_dev)
    write_instance_config(settings)
    workspace = write_workspace(settings)
    env = dev_environment(settings)
    cmd = dev_command(int(getattr(args, "port", 3000) or 3000), workspace)
    print(f"qualitrace dev: home {settings.home}, exports {settings.exports}\n"
          f"                UI on http://127.0.0.1:{cmd[-1]}  ({' '.join(cmd)})", flush=True)
    os.chdir(REPO_ROOT)
    os.execve(cmd[0], cmd, env)
    return 0  # not reached
