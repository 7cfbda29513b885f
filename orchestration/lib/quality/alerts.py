"""Alerts: `governance.alerts`, de-duplicated by (check, asset, signature).

A failing check opens an alert (or re-opens a resolved one) and delivers it once: to the log,
to `<home>/alerts.jsonl` and, when QUALITRACE_ALERT_WEBHOOK is set, as a JSON POST retried
with exponential backoff. Repeats only bump `last_seen` and `occurrences`. An alert is
resolved when its check passes again, or fails with another signature (that one is new).
Delivery never fails the run.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass

from orchestration.lib.quality.model import CheckOutcome
from orchestration.lib.settings import Settings
from orchestration.lib.warehouse import connect

log = logging.getLogger("qualitrace.alerts")

ALERTS_DDL = """
CREATE TABLE IF NOT EXISTS governance.alerts (
    dedup_key    VARCHAR PRIMARY KEY,   -- check|asset|signature
    check_name   VARCHAR NOT NULL,
    asset        VARCHAR NOT NULL,
    signature    VARCHAR,
    severity     VARCHAR NOT NULL,
    message      VARCHAR,
    first_seen   TIMESTAMP NOT NULL,    -- UTC
    last_seen    TIMESTAMP NOT NULL,
    occurrences  INTEGER NOT NULL,
    resolved_at  TIMESTAMP,             -- NULL while the check still fails this way
    last_run_id  VARCHAR
)
"""


@dataclass
class Alert:
    dedup_key: str
    check_name: str
    asset: str
    signature: str
    severity: str
    message: str
    first_seen: str
    last_seen: str
    occurrences: int
    event: str  # "new" or "reopened"
    run_id: str | None = None
    observed_value: float | None = None
    threshold: str | None = None
    extra: dict | None = None  # more payload fields (an escalation's rule, recipients, ...)

    def payload(self) -> dict:
        out = dict(self.__dict__, source="qualitrace")
        out.update(out.pop("extra", None) or {})
        return out


def raise_alerts(settings: Settings, outcomes: Iterable[CheckOutcome],
                 run_id: str | None = None, webhook: str | None = None) -> list[Alert]:
    """Upsert governance.alerts from this run's outcomes; deliver the new ones; return them."""
    from orchestration.lib.quality.results import ensure_tables, utcnow

    outcomes = list(outcomes)
    now = utcnow()
    fresh: list[Alert] = []
    with connect(settings) as con:
        ensure_tables(con)
        # Every alert row is read once; the outcomes are applied in order to that state and
        # only the rows that change are written (a passing check with no open alert costs
        # nothing).
        state = {r[0]: {"check": r[1], "asset": r[2], "first": r[3], "n": r[4],
                        "resolved": r[5]}
                 for r in con.execute("SELECT dedup_key, check_name, asset, first_seen, "
                                      "occurrences, resolved_at FROM governance.alerts"
                                      ).fetchall()}
        open_by_check: dict[tuple[str, str], set[str]] = {}
        for k, st in state.items():
            if st["resolved"] is None:
                open_by_check.setdefault((st["check"], st["asset"]), set()).add(k)
        con.execute("BEGIN TRANSACTION")
        try:
            for o in outcomes:
                open_keys = open_by_check.get((o.check_name, o.asset), set())
                stale = [k for k in sorted(open_keys) if o.passed or k != o.dedup_key]
                for k in stale:
                    con.execute("UPDATE governance.alerts SET resolved_at = ?, last_run_id = ? "
                                "WHERE dedup_key = ?", [now, run_id, k])
                    state[k]["resolved"] = now
                    open_keys.discard(k)
                if o.passed:
                    continue
                row = state.get(o.dedup_key)
                if row is None:
                    con.execute(
                        "INSERT INTO governance.alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, NULL, ?)",
                        [o.dedup_key, o.check_name, o.asset, o.signature, o.severity,
                         o.message, now, now, run_id])
                    event, first, n = "new", now, 1
                    state[o.dedup_key] = {"check": o.check_name, "asset": o.asset,
                                          "first": now, "n": 1, "resolved": None}
                else:
                    con.execute(
                        "UPDATE governance.alerts SET last_seen = ?, occurrences = occurrences + 1,"
                        " severity = ?, message = ?, resolved_at = NULL, last_run_id = ? "
                        "WHERE dedup_key = ?", [now, o.severity, o.message, run_id, o.dedup_key])
                    was_resolved = row["resolved"]
                    row["n"] += 1
                    row["resolved"] = None
                    if was_resolved is None:
                        open_by_check.setdefault((o.check_name, o.asset), set()).add(
                            o.dedup_key)
                        continue  # a repeat of an open alert: no delivery
                    event, first, n = "reopened", row["first"], row["n"]
                open_by_check.setdefault((o.check_name, o.asset), set()).add(o.dedup_key)
                fresh.append(Alert(o.dedup_key, o.check_name, o.asset, o.signature, o.severity,
                                   o.message, str(first), str(now), n, event, run_id,
                                   o.observed_value, o.threshold,
                                   o.details.get("alert_payload") if o.details else None))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    deliver(settings, fresh, webhook=webhook)
    return fresh


def deliver(settings: Settings, alerts: list[Alert], webhook: str | None = None,
            retries: int | None = None, backoff: float | None = None) -> None:
    """Log, append to alerts.jsonl, POST to the webhook. Never raises."""
    if not alerts:
        return
    url = webhook or os.environ.get("QUALITRACE_ALERT_WEBHOOK")
    retries = retries if retries is not None else int(
        os.environ.get("QUALITRACE_ALERT_RETRIES", "4"))
    backoff = backoff if backoff is not None else float(
        os.environ.get("QUALITRACE_ALERT_BACKOFF", "0.5"))
    for a in alerts:
        (log.error if a.severity == "ERROR" else log.warning)(
            "ALERT %s %s on %s: %s", a.severity, a.check_name, a.asset, a.message)
    try:
        settings.alerts_file.parent.mkdir(parents=True, exist_ok=True)
        with settings.alerts_file.open("a", encoding="utf-8") as fh:
            for a in alerts:
                fh.write(json.dumps(a.payload(), ensure_ascii=False, default=str) + "\n")
    except OSError as exc:
        log.error("could not append alerts to %s: %s", settings.alerts_file, exc)
    if url:
        for a in alerts:
            post_json(url, a.payload(), retries=retries, backoff=backoff)


def post_json(url: str, payload: dict, retries: int = 4, backoff: float = 0.5,
              timeout: float = 5.0) -> bool:
    """POST `payload`; retry connection errors, 5xx and 429 with exponential backoff.

    Returns True when delivered; logs and returns False otherwise (never raises).
    """
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    for attempt in range(retries + 1):
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "qualitrace-alerts"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                if 200 <= resp.status < 300:
                    return True
                reason = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code}"
            if exc.code < 500 and exc.code != 429:
                log.error("alert webhook %s refused %s: %s", url, payload.get("dedup_key"),
                          reason)
                return False
        except Exception as exc:  # noqa: BLE001 - network errors of every kind
            reason = f"{type(exc).__name__}: {exc}"
        if attempt < retries:
            time.sleep(backoff * (2 ** attempt))
    log.error("alert webhook %s: gave up on %s after %d attempts (%s)", url,
              payload.get("dedup_key"), retries + 1, reason)
    return False
