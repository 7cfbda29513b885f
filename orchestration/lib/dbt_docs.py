"""The dbt docs site of this home: `<home>/reports/docs/index.html`, one file that opens offline.

`dbt docs generate --static` inlines the manifest and the warehouse catalog (column types) into
a single page, so every model and column of the project, with the descriptions of the model
YAML and the dictionary, can be read from disk without a server or a network. It reuses the
last run's parsed manifest (`--no-compile`) and is rebuilt only when the dbt project changed
since the page was written (about 5 s on two cores).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from orchestration.lib.dbt_project import (
    DBT_STEPS,
    dbt_env,
    guarded_dbt_executable,
    project_fingerprint,
)
from orchestration.lib.settings import DBT_PROJECT_DIR, Settings

STAMP = ".fingerprint"


class DocsError(RuntimeError):
    """`dbt docs generate` failed: the message carries dbt's last lines."""


def docs_index(settings: Settings) -> Path:
    return settings.reports / "docs" / "index.html"


def build_docs_site(settings: Settings, force: bool = False) -> tuple[Path, bool]:
    """Write the static docs page if the project changed (or `force`); (path, rebuilt)."""
    out = docs_index(settings)
    stamp = out.parent / STAMP
    fp = project_fingerprint()
    if not force and out.exists() and stamp.exists() and stamp.read_text().strip() == fp:
        return out, False
    run_target = settings.home / "dbt" / "target" / DBT_STEPS[0]
    work = settings.home / "dbt" / "target" / "docs"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    args = ["--static"]
    if (run_target / "manifest.json").exists():  # the run's manifest: no compile needed
        for name in ("manifest.json", "partial_parse.msgpack"):
            if (run_target / name).exists():
                shutil.copy2(run_target / name, work / name)
        args.append("--no-compile")
    env = {**os.environ, **dbt_env(settings)}
    proc = subprocess.run(
        [str(guarded_dbt_executable(settings)), "docs", "generate", *args, "--project-dir",
         str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path",
         str(work), "--log-path", str(work / "logs"), "--quiet", "--no-use-colors"],
        check=False, env=env, capture_output=True, text=True, cwd=DBT_PROJECT_DIR, timeout=900)
    page = work / "static_index.html"
    if proc.returncode != 0 or not page.exists():
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        raise DocsError(f"`dbt docs generate` failed (exit {proc.returncode}): "
                        + " | ".join(lines[-10:]))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".html.tmp")
    shutil.copyfile(page, tmp)
    tmp.replace(out)
    stamp.write_text(fp + "\n")
    return out, True
