"""Results: machine and versions, target verdicts, the README table."""

from __future__ import annotations

import json
import os
import platform
import re
from importlib import metadata
from pathlib import Path

START, END = "<!-- results:start -->", "<!-- results:end -->"
PACKAGES = ("dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "duckdb", "great-expectations",
            "pandas", "pyarrow")


def machine() -> dict:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    cpu = ""
    try:
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), "")
    except OSError:
        pass
    return {"cores": os.cpu_count(), "memory_gb": round(mem_kb / 2**20, 1), "cpu": cpu,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version()}


def versions() -> dict:
    out = {}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def verdicts(r: dict) -> dict:
    """Each target of issue 7 that applies to this scale: met (bool) with the figures."""
    out = {}
    scale = r["scale"]
    if scale >= 10:
        out["pipeline_over_floor_le_4"] = _v(r.get("pipeline_over_floor"), 4)
        out["gate_over_pipeline_le_0.25"] = _v(r.get("gate_over_pipeline"), 0.25)
        out["peak_rss_under_4096_mb"] = _v(r.get("peak_rss_mb"), 4096, strict=True)
    if scale <= 0.01:
        out["pipeline_le_30_s"] = _v(r.get("pipeline_s"), 30)
    if scale == 1:
        out["incremental_over_full_le_0.25"] = _v(r.get("incremental_over_full"), 0.25)
        out["single_file_le_15_s"] = _v(r.get("single_file_s"), 15)  # issue 16
        base = r.get("reference_small_pipeline_s")
        out["no_change_le_small_plus_5_s"] = _v(r.get("no_change_s"), base + 5 if base else None)
    lat = r.get("latency", {})
    for name in ("trace", "where_used"):
        q = lat.get("query", {}).get(name, {}).get("query", {}).get("median_ms")
        c = lat.get("command", {}).get(name, {}).get("median_ms")
        out[f"{name}_query_median_under_100_ms"] = _v(q, 100, strict=True)
        out[f"{name}_command_median_le_1500_ms"] = _v(c, 1500)
    return out


def _v(value, limit, strict: bool = False) -> dict:
    if value is None or limit is None:
        return {"met": None, "value": value, "limit": limit}
    met = value < limit if strict else value <= limit
    return {"met": bool(met), "value": value, "limit": limit}


def _fmt(v, spec: str = ".1f") -> str:
    if v is None:
        return "–"
    return format(v, spec) if isinstance(v, (int, float)) else str(v)


def table(results: list[dict]) -> str:
    """Markdown table, one row per scale, from results/<scale>.json contents."""
    head = ("| scale | input rows | floor s | pipeline s | ingest / dbt / gate / marts / other s "
            "| CPU s floor / pipeline | pipeline/floor | gate/pipeline | +1 day s | incr/full | no-change s | +1 file s "
            "| trace ms (query / cmd) | where-used ms (query / cmd) | peak RSS MB | load avg | run at (UTC) |")
    sep = "|" + "---|" * (head.count("|") - 1)
    rows = [head, sep]
    for r in sorted(results, key=lambda r: r["scale"]):
        st = r.get("pipeline", {}).get("stage_s", {})
        lat = r.get("latency", {})

        def lat_txt(name: str, lat: dict = lat) -> str:
            q = lat.get("query", {}).get(name, {}).get("query", {}).get("median_ms")
            c = lat.get("command", {}).get(name, {}).get("median_ms")
            return f"{_fmt(q)} / {_fmt(c, '.0f')}"
        stages = " / ".join(_fmt(st.get(k)) for k in ("ingest", "dbt_build", "quality_gate", "marts", "other"))
        def flag(key: str, r: dict = r) -> str:
            rc = r.get(key, {}).get("returncode")
            return "" if rc in (0, None) else f" (exit {rc})"
        rows.append("| " + " | ".join([
            f"{r['scale']:g}", f"{r.get('input_rows') or 0:,}", _fmt(r.get("floor_s"), ".2f"),
            _fmt(r.get("pipeline_s")) + flag("pipeline"), stages,
            f"{_fmt(r.get('floor', {}).get('cpu_s'))} / {_fmt(r.get('pipeline', {}).get('cpu_s'))}",
            _fmt(r.get("pipeline_over_floor")),
            _fmt(r.get("gate_over_pipeline"), ".2f"), _fmt(r.get("incremental_s")) + flag("incremental"),
            _fmt(r.get("incremental_over_full"), ".2f"), _fmt(r.get("no_change_s")) + flag("no_change"),
            _fmt(r.get("single_file_s")) + flag("single_file"),
            lat_txt("trace"), lat_txt("where_used"), _fmt(r.get("peak_rss_mb"), ".0f"),
            _fmt(r.get("load_avg_at_start"), ".1f"), r.get("finished_at", "")[:16]]) + " |")
    return "\n".join(rows)


def verdict_lines(results: list[dict]) -> str:
    lines = []
    for r in sorted(results, key=lambda r: r["scale"]):
        for name, v in r.get("targets", {}).items():
            mark = {True: "met", False: "MISSED", None: "not measured"}[v["met"]]
            lines.append(f"- scale {r['scale']:g}: `{name}`: {mark} "
                         f"({_fmt(v['value'], '.2f')} vs {_fmt(v['limit'], '.2f')})")
    return "\n".join(lines)


def load_results(results_dir: Path) -> list[dict]:
    out = []
    for p in sorted(results_dir.glob("*.json")):
        try:
            out.append(json.loads(p.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    return out


def update_readme(readme: Path, results: list[dict]) -> None:
    """Replace the generated block between the markers (append the block if missing).

    Targets are re-evaluated against the scale-0.01 result shown in the same table."""
    small = next((r for r in results if r["scale"] == 0.01), None)
    for r in results:
        if small is not None and small.get("pipeline_s"):
            r["reference_small_pipeline_s"] = small["pipeline_s"]
        r["targets"] = verdicts(r)
    latest = max(results, key=lambda r: r.get("finished_at", ""), default=None)
    m = latest["machine"] if latest else machine()
    v = latest["versions"] if latest else versions()
    block = "\n".join([
        START,
        (f"Machine: {m['cores']} cores, {m['memory_gb']} GB memory, {m.get('cpu') or 'cpu unknown'}, "
        f"{m.get('os', '')}, Python {m.get('python', '')}.  "),
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if val) + ".",
        "",
        table(results) if results else "(no results yet)",
        "",
        ("`(exit 1)` after a run's seconds: a blocking check stopped that run and the steps "
         "after it were skipped, so its time is a lower bound for a complete run (see the "
         "notes below)."),
        "",
        "Targets:",
        "",
        verdict_lines(results) or "(none evaluated yet)",
        END,
    ])
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if START in text and END in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _m: block, text, flags=re.DOTALL)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    readme.write_text(text, encoding="utf-8")
