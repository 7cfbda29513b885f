"""Re-landing one delivery day: the files whose names carry that date (`<entity>_<YYYYMMDD>...`)
are landed again as if new, and nothing else is read. Used by the `reland_delivery_day`
job (one partition per delivery day), so a data engineer can re-run or backfill one day from
the Dagster UI after fixing a reader or the dictionary."""

from __future__ import annotations

from typing import Any

from orchestration.lib.ingest.discover import DeliveredFile, discover
from orchestration.lib.ingest.landing import (
    IngestSummary,
    _columns_by_table,
    ensure_governance_tables,
    ensure_raw_table,
    ingest_entity,
)
from orchestration.lib.ingest.spec import find_spec
from orchestration.lib.settings import Settings
from orchestration.lib.warehouse import connect


def delivery_day(file: DeliveredFile) -> str | None:
    """The partition key of a delivered file: its delivery date, YYYYMMDD."""
    return file.delivered_on if file.entity is not None else None


def delivery_days(settings: Settings, dictionary: Any) -> list[str]:
    """Every delivery day under the exports root, oldest first."""
    return sorted({d for f in discover(settings.exports, dictionary)
                   if (d := delivery_day(f)) is not None})


def reland_day(settings: Settings, dictionary: Any, day: str) -> list[IngestSummary]:
    """Land the files delivered on `day` again; one summary per entity that has such files.

    Per entity, in one transaction: the rows those files landed, their quarantined rows,
    header gaps and manifest entries are removed; then they are ingested like new files
    (a file whose content another file already delivered is again a duplicate delivery).
    """
    files = [f for f in discover(settings.exports, dictionary) if delivery_day(f) == day]
    if not files:
        raise ValueError(f"no delivered file of day {day} under {settings.exports} "
                         f"(names <entity>_{day}[_<n>].<ext>)")
    by_entity: dict[tuple[str, str], list[DeliveredFile]] = {}
    for f in files:
        by_entity.setdefault((f.system, f.entity), []).append(f)
    summaries = []
    for (system, entity), day_files in sorted(by_entity.items()):
        spec = find_spec(dictionary, system, entity)
        paths = sorted(f.rel_path for f in day_files)
        marks = ", ".join("?" * len(paths))
        with connect(settings) as con:
            have = _columns_by_table(con)
            ensure_governance_tables(con, have)
            ensure_raw_table(con, spec, have)
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f'DELETE FROM raw."{spec.table}" WHERE _source_file IN ({marks})',
                            paths)
                for table, column in (("_quarantine", "source_file"),
                                      ("_header_gaps", "source_file"),
                                      ("_file_manifest", "path")):
                    con.execute(f"DELETE FROM raw.{table} WHERE system = ? AND entity = ? "
                                f"AND {column} IN ({marks})", [system, entity, *paths])
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
        summaries.append(ingest_entity(settings, dictionary, system, entity,
                                       files=sorted(day_files, key=lambda f: f.sort_key)))
    return summaries
