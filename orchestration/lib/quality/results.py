"""`governance.check_results`: the history of every check in every run (owned by Python,
never by dbt)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from orchestration.lib.quality.model import CheckOutcome
from orchestration.lib.settings import Settings
from orchestration.lib.warehouse import connect

CHECK_RESULTS_DDL = """
CREATE TABLE IF NOT EXISTS governance.check_results (
    run_id          VARCHAR   NOT NULL,
    checked_at      TIMESTAMP NOT NULL,   -- UTC
    check_name      VARCHAR   NOT NULL,
    asset           VARCHAR   NOT NULL,   -- Dagster asset key path, e.g. staging/stg_crm__complaints
    severity        VARCHAR   NOT NULL,   -- ERROR | WARN (effective severity of this result)
    passed          BOOLEAN   NOT NULL,
    observed_value  DOUBLE,
    threshold       VARCHAR,
    kind            VARCHAR,
    message         VARCHAR,
    signature       VARCHAR
)
"""


def utcnow() -> datetime:
    """Naive UTC timestamp, as every TIMESTAMP in the warehouse."""
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_tables(con) -> None:
    from orchestration.lib.quality.alerts import ALERTS_DDL

    con.execute("CREATE SCHEMA IF NOT EXISTS governance")
    con.execute(CHECK_RESULTS_DDL)
    con.execute(ALERTS_DDL)


def record_results(settings: Settings, run_id: str, outcomes: Iterable[CheckOutcome],
                   checked_at: datetime | None = None) -> int:
    """Append one row per outcome to governance.check_results; returns rows written."""
    at = checked_at or utcnow()
    rows = [(run_id, at, o.check_name, o.asset, o.severity, bool(o.passed),
             None if o.observed_value is None else float(o.observed_value), o.threshold,
             o.kind, o.message[:4000], o.signature) for o in outcomes]
    if not rows:
        return 0
    import pyarrow as pa

    names = ["run_id", "checked_at", "check_name", "asset", "severity", "passed",
             "observed_value", "threshold", "kind", "message", "signature"]
    types = [pa.string(), pa.timestamp("us"), pa.string(), pa.string(), pa.string(),
             pa.bool_(), pa.float64(), pa.string(), pa.string(), pa.string(), pa.string()]
    batch = pa.table([pa.array([r[i] for r in rows], type=t) for i, t in enumerate(types)],
                     names=names)  # one INSERT for all rows (executemany: ~3 ms a row)
    with connect(settings) as con:
        ensure_tables(con)
        con.register("qt_check_results_batch", batch)
        try:
            con.execute(f"INSERT INTO governance.check_results ({', '.join(names)}) "
                        f"SELECT {', '.join(names)} FROM qt_check_results_batch")
        finally:
            con.unregister("qt_check_results_batch")
    return len(rows)


def record_check_evaluations(settings: Settings, run_id: str, evaluations: Iterable) -> int:
    """Append other Dagster asset-check evaluations (dbt tests, reconciliation) to
    governance.check_results so its history covers every check. Each evaluation needs
    `asset_key`, `check_name`, `passed`, `severity` and optionally `description` (Dagster's
    AssetCheckEvaluation has them). GX checks (gx_*) are skipped: recorded per expectation."""
    outcomes, seen = [], _recorded(settings, run_id)
    for ev in evaluations:
        key = (ev.check_name, "/".join(ev.asset_key.path))
        if ev.check_name.startswith("gx_") or key in seen:  # recorded per expectation / already
            continue
        seen.add(key)
        sev = getattr(ev.severity, "value", str(ev.severity or "ERROR")).upper()
        outcomes.append(CheckOutcome(
            check_name=ev.check_name, asset="/".join(ev.asset_key.path),
            severity="WARN" if sev.startswith("WARN") else "ERROR", passed=bool(ev.passed),
            observed_value=None, threshold="", kind="dagster_check",
            message=(getattr(ev, "description", None) or "")[:4000]))
    return record_results(settings, run_id, outcomes)


def _recorded(settings: Settings, run_id: str) -> set[tuple[str, str]]:
    """(check_name, asset) of the dagster_check rows this run already wrote: the report asset
    records them inside the run, the CLI once more after it (for blocked runs)."""
    return set(dagster_check_verdicts(settings, run_id))


def dagster_check_verdicts(settings: Settings, run_id: str) -> dict[tuple[str, str], tuple]:
    """(check_name, asset) -> (passed, severity, message) of the Dagster checks (dbt tests,
    reconciliation) that run `run_id` recorded; empty when nothing was recorded yet."""
    if not settings.warehouse.exists():
        return {}
    with connect(settings, read_only=True) as con:
        has = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                          "'governance' AND table_name = 'check_results'").fetchone()[0]
        if not has:
            return {}
        rows = con.execute(
            "SELECT check_name, asset, passed, severity, message FROM governance.check_results "
            "WHERE run_id = ? AND kind = 'dagster_check'", [run_id]).fetchall()
    return {(r[0], r[1]): (bool(r[2]), r[3], r[4] or "") for r in rows}
