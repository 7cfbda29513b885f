"""Per-stage seconds of one `qualitrace run`, from the event log the runner writes.

The runner writes every Dagster event to `<home>/logs/run-<ts>.log` as
`HH:MM:SS <step key> <EVENT TYPE> <message>`; STEP_SUCCESS messages carry the step's own
duration (`... in 3.67s`). Steps map to stages by key: the dictionary and `raw__*` steps
are ingest; dbt steps are dbt build (a dbt step building `marts_build` counts as marts);
GX / reconcile check steps and the validation report are the quality gate; publish and `marts__*` steps are marts.
The dbt tests run inside `dbt build`: their wall time (the union of their execution
intervals in dbt's run_results.json) is moved from dbt build to the quality gate.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

STAGES = ("ingest", "dbt_build", "quality_gate", "marts", "other")
LINE = re.compile(r"^(?P<hms>\d\d:\d\d:\d\d) (?P<step>\S+)\s+(?P<kind>STEP_[A-Z_]+)\s+(?P<msg>.*)$")
DURATION = re.compile(r' in (?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>[\d.]+)s)?(?:(?P<ms>[\d.]+)ms)?\.$')
LOG_PATH = re.compile(r"\blog (?P<path>/\S+?\.log)\)?$", re.MULTILINE)


def parse_duration(msg: str) -> float | None:
    """Seconds from Dagster's `format_duration` text at the end of a STEP_SUCCESS message."""
    m = DURATION.search(msg)
    if not m or not any(m.groupdict().values()):
        return None
    g = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    return g["h"] * 3600 + g["m"] * 60 + g["s"] + g["ms"] / 1000


def stage_of(step: str) -> str:
    """The benchmark stage a Dagster step key belongs to."""
    s = step.lower()
    if s.startswith(("dictionary", "raw__", "ingest")):
        return "ingest"
    if s.startswith(("gx_", "check", "quality")) or s.endswith(
            ("_reconcile", "_check", "_checks", "__report")):
        return "quality_gate"
    if "marts" in s or s.startswith("publish"):
        return "marts"
    if s.startswith(("dbt", "staging", "intermediate", "governance")):
        return "dbt_build"
    return "other"


def _secs(hms: str) -> int:
    t = dt.datetime.strptime(hms, "%H:%M:%S")
    return t.hour * 3600 + t.minute * 60 + t.second


def step_seconds(log_text: str) -> dict[str, dict]:
    """{step key: {seconds, status}} from a runner event log."""
    started: dict[str, int] = {}
    steps: dict[str, dict] = {}
    for line in log_text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        step, kind = m["step"], m["kind"]
        if kind == "STEP_START":
            started[step] = _secs(m["hms"])
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            secs = parse_duration(m["msg"]) if kind == "STEP_SUCCESS" else None
            if secs is None and step in started:
                secs = (_secs(m["hms"]) - started[step]) % 86400
            steps[step] = {"seconds": round(secs or 0.0, 3),
                           "status": "success" if kind == "STEP_SUCCESS" else "failure"}
        elif kind == "STEP_SKIPPED":
            steps.setdefault(step, {"seconds": 0.0, "status": "skipped"})
    return steps


def union_seconds(intervals: list[tuple[dt.datetime, dt.datetime]]) -> float:
    """Total length of the union of [start, end] intervals."""
    total, cur_a, cur_b = 0.0, None, None
    for a, b in sorted(intervals):
        if cur_b is None or a > cur_b:
            if cur_b is not None:
                total += (cur_b - cur_a).total_seconds()
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_b is not None:
        total += (cur_b - cur_a).total_seconds()
    return total


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def dbt_test_seconds(run_results: dict) -> float:
    """Wall seconds during which at least one dbt test was executing."""
    spans = []
    for r in run_results.get("results", []):
        if not str(r.get("unique_id", "")).startswith("test."):
            continue
        for t in r.get("timing", []):
            if t.get("name") == "execute" and t.get("started_at") and t.get("completed_at"):
                spans.append((_ts(t["started_at"]), _ts(t["completed_at"])))
    return union_seconds(spans)


def run_results_since(home: Path, since: float) -> list[dict]:
    """Every dbt run_results.json under the home written after `since` (epoch seconds)."""
    out = []
    for p in sorted(home.rglob("run_results.json")):
        if p.stat().st_mtime >= since:
            try:
                out.append(json.loads(p.read_text(encoding="utf-8")))
            except (OSError, json.JSONDecodeError):
                continue
    return out


def find_log(stdout: str, home: Path, since: float) -> Path | None:
    """The run's event log: named in its stdout, else the newest under <home>/logs."""
    m = LOG_PATH.search(stdout)
    if m and Path(m["path"]).exists():
        return Path(m["path"])
    logs = [p for p in (home / "logs").glob("run-*.log") if p.stat().st_mtime >= since]
    return max(logs, key=lambda p: p.stat().st_mtime) if logs else None


def stages(log_text: str, wall_s: float, run_results: list[dict] | None = None) -> dict:
    """Seconds per stage; `other` is the wall time outside any step (start-up, summary)."""
    steps = step_seconds(log_text)
    out = {k: 0.0 for k in STAGES}
    for step, info in steps.items():
        out[stage_of(step)] += info["seconds"]
    tests = sum(dbt_test_seconds(r) for r in (run_results or []))
    moved = min(tests, out["dbt_build"])
    out["dbt_build"] -= moved
    out["quality_gate"] += moved
    out["other"] += max(0.0, wall_s - sum(info["seconds"] for info in steps.values()))
    return {"stage_s": {k: round(v, 2) for k, v in out.items()},
            "dbt_test_s": round(tests, 2),
            "steps": steps}
