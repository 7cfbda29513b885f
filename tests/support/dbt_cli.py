"""dbt's command line for tests that build a hand-made warehouse with real dbt commands.

Each command goes through the warm dbt server `qualitrace run` uses (orchestration/lib/
dbt_warm.py): one server per test process, started on first use, forks a child per command
that has already imported dbt, so a command skips dbt's start-up (2-3 s of its 4-7 s on this
project). The child is a fresh process that runs the same dbt command line with the
command's own environment; if the server cannot be reached, the guard runs dbt itself.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import tempfile
import time
from pathlib import Path

from orchestration.lib import dbt_warm
from orchestration.lib.dbt_project import dbt_cli_path, guard_script, write_executable
from orchestration.lib.settings import DBT_PROJECT_DIR

_READY_S = 60  # the server binds its socket once dbt is imported
_server: tuple[Path, str] | None = None  # (guard script, server address)


def _warm_dbt() -> tuple[Path, str]:
    global _server
    if _server is None:
        before = os.environ.get(dbt_warm.ADDRESS_ENV)
        warm = dbt_warm.start()
        # start() points this process's dbt at the server; only run_dbt's commands go there
        if before is None:
            os.environ.pop(dbt_warm.ADDRESS_ENV, None)
        else:
            os.environ[dbt_warm.ADDRESS_ENV] = before
        atexit.register(warm.stop)
        guard = write_executable(Path(tempfile.mkdtemp(prefix="qt-test-dbt-")) / "dbt",
                                 guard_script([dbt_cli_path()]))
        deadline = time.monotonic() + _READY_S
        while not Path(warm.address).exists() and warm.proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        _server = (guard, warm.address)
    return _server


def run_dbt(warehouse: Path, work: Path, *args: str,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """`dbt <args>` on the project against `warehouse`, target and logs under `work`."""
    guard, address = _warm_dbt()
    env = {**os.environ, "QUALITRACE_WAREHOUSE": str(warehouse),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", dbt_warm.ADDRESS_ENV: address}
    return subprocess.run(
        [str(guard), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
         str(DBT_PROJECT_DIR), "--target-path", str(work / "target"), "--log-path",
         str(work / "logs"), "--no-use-colors"],
        env=env, capture_output=True, text=True, cwd=DBT_PROJECT_DIR, timeout=timeout,
        check=False)
