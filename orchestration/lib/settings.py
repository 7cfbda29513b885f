"""Where Qualitrace keeps its things: one home folder per plant.

`--home` / QUALITRACE_HOME (default ./.qualitrace) holds the warehouse, reports, alerts
and Dagster's own state; `--exports` / QUALITRACE_EXPORTS (default <home>/exports) is the
folder the plant's systems deliver into.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DICTIONARY_DIR = REPO_ROOT / "data_dictionary"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"


@dataclass(frozen=True)
class Settings:
    home: Path
    exports: Path

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def alerts_file(self) -> Path:
        return self.home / "alerts.jsonl"

    @property
    def parquet_dir(self) -> Path:
        """Parquet copies of the published marts, one file per mart."""
        return self.home / "marts"

    @property
    def dbt_target(self) -> Path:
        return self.home / "dbt" / "target"

    @property
    def dbt_log(self) -> Path:
        return self.home / "dbt" / "logs"

    @property
    def dictionary_tables(self) -> Path:
        """The dictionary tables as Parquet, read by dbt at compile time (macro
        dictionary_table, $QUALITRACE_DICTIONARY_TABLES)."""
        return self.home / "dbt" / "dictionary"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    def ensure(self) -> Settings:
        for p in (self.home, self.reports, self.dbt_target, self.dbt_log):
            p.mkdir(parents=True, exist_ok=True)
        # <home>/marts is the pointer to the published version (a symlink, see publish.py);
        # before the first publish it is a plain empty folder
        if not self.parquet_dir.is_symlink():
            self.parquet_dir.mkdir(parents=True, exist_ok=True)
        return self


def docs_site_enabled() -> bool:
    """QUALITRACE_DOCS_SITE=0 (or off/false/no) skips the dbt docs site after publish."""
    return os.environ.get("QUALITRACE_DOCS_SITE", "1").strip().lower() not in (
        "0", "off", "false", "no")


def home_write_problem(home: Path) -> str | None:
    """None when `home` can be created and written; else one line saying why not."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"cannot write to the Qualitrace home {home}: {exc.strerror or exc}"
    return None


def get_settings(home: str | os.PathLike | None = None,
                 exports: str | os.PathLike | None = None) -> Settings:
    """Explicit arguments win, then QUALITRACE_HOME / QUALITRACE_EXPORTS, then defaults."""
    h = Path(home or os.environ.get("QUALITRACE_HOME") or ".qualitrace").expanduser().resolve()
    e = exports or os.environ.get("QUALITRACE_EXPORTS") or (h / "exports")
    return Settings(home=h, exports=Path(e).expanduser().resolve())
