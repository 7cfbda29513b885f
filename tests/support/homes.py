"""Helpers over a pipeline home: copy one, digest its published marts."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb

from orchestration.lib.publish import MARTS
from orchestration.lib.settings import Settings, get_settings


def marts_digest(settings: Settings, source: str = "table") -> dict[str, str]:
    """Hash of the sorted rows of every published mart (floats to 9 significant digits)."""
    out = {}
    con = duckdb.connect(str(settings.warehouse), read_only=True) if source == "table" \
        else duckdb.connect()
    try:
        for mart in MARTS:
            rel = f"marts.{mart}" if source == "table" else \
                f"read_parquet('{settings.parquet_dir / (mart + '.parquet')}')"
            rows = con.execute(f"select * from {rel}").fetchall()
            norm = sorted(tuple(f"{v:.9g}" if isinstance(v, float) else repr(v) for v in r)
                          for r in rows)
            out[mart] = hashlib.sha256(repr(norm).encode()).hexdigest()
    finally:
        con.close()
    return out


def copy_home(src: Settings, dst: Path) -> Settings:
    """A copy of a home (warehouse, salt, Parquet, dbt's partial-parse state), no locks."""
    shutil.copytree(src.home, dst, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("logs", ".*.lock", "dagster", "bin"))
    return get_settings(dst, src.exports)


def query(home: Path | Settings, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of `sql` on a home's warehouse (a home folder or its Settings), read-only."""
    warehouse = home.warehouse if isinstance(home, Settings) else Path(home) / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def home_resources(settings: Settings) -> dict:
    """The code location's resources pointed at `settings`' home, for in-process runs."""
    from orchestration.lib.home_resource import RESOURCE_KEY, QualitraceHome

    return {RESOURCE_KEY: QualitraceHome(home=str(settings.home), exports=str(settings.exports))}
