"""`marts.escalations` across runs: the firings of this run merged with the previous table.

Pure: (previous rows, this run's firings, now) -> (new rows, opened, resolved). A rule and key
that fires again keeps its first_seen and only moves last_seen (no new alert); one that no
longer fires is resolved (status `resolved`, resolved_at); one that fires after being
resolved is re-opened. Resolved rows stay as history.
"""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd

from orchestration.lib.escalation.evaluate import Firing

COLUMNS = {
    "escalation_id": "VARCHAR",        # rule|escalation_key (primary key)
    "rule": "VARCHAR",
    "rule_kind": "VARCHAR",
    "escalation_key": "VARCHAR",
    "severity": "VARCHAR",
    "window_start": "TIMESTAMP",
    "window_end": "TIMESTAMP",
    "complaints": "BIGINT",
    "evidence": "VARCHAR",             # JSON: counts and ids
    "summary": "VARCHAR",
    "recipients": "VARCHAR",
    "problem_type_code": "VARCHAR",
    "suspect_kind": "VARCHAR",
    "suspect_id": "VARCHAR",
    "first_seen": "TIMESTAMP",         # UTC, the run that first saw it
    "last_seen": "TIMESTAMP",          # UTC, the latest run that saw it
    "resolved_at": "TIMESTAMP",        # UTC, NULL while open
    "times_opened": "BIGINT",
    "status": "VARCHAR",               # open | resolved
}


def escalation_id(rule: str, key: str) -> str:
    return f"{rule}|{key}"


def merge_state(previous: pd.DataFrame | None, firings: list[Firing], now: datetime
                ) -> tuple[pd.DataFrame, list[Firing], list[dict]]:
    """New `marts.escalations` rows; the firings that opened (new or re-opened); the rows
    that resolved in this run."""
    prev = {} if previous is None or previous.empty else {
        r["escalation_id"]: r for r in previous.to_dict("records")}
    rows: dict[str, dict] = {}
    opened: list[Firing] = []
    for f in firings:
        eid = escalation_id(f.rule, f.escalation_key)
        if eid in rows:  # one firing per key: keep the first
            continue
        old = prev.get(eid)
        was_open = old is not None and old.get("status") == "open"
        if not was_open:
            opened.append(f)
        rows[eid] = {
            "escalation_id": eid, "rule": f.rule, "rule_kind": f.kind,
            "escalation_key": f.escalation_key, "severity": f.severity,
            "window_start": f.window_start, "window_end": f.window_end,
            "complaints": f.complaints,
            "evidence": json.dumps(f.evidence, ensure_ascii=False, sort_keys=True, default=str),
            "summary": f.summary, "recipients": ", ".join(f.recipients),
            "problem_type_code": f.problem_type_code, "suspect_kind": f.suspect_kind,
            "suspect_id": f.suspect_id,
            "first_seen": old["first_seen"] if old is not None else now,
            "last_seen": now, "resolved_at": None,
            "times_opened": int((old or {}).get("times_opened") or 0) + (0 if was_open else 1),
            "status": "open",
        }
    resolved: list[dict] = []
    for eid, old in prev.items():
        if eid in rows:
            continue
        row = dict(old)
        if row.get("status") == "open":
            row["status"] = "resolved"
            row["resolved_at"] = now
            resolved.append(row)
        rows[eid] = row
    table = pd.DataFrame(list(rows.values()), columns=list(COLUMNS))
    table = table.sort_values(["status", "rule", "escalation_key"], ignore_index=True)
    return table, opened, resolved
