"""`benchmarks/run.py --engine spark`: the dbt build on Apache Spark beside the DuckDB run.

Measured in the same harness run, on the same exports: the DuckDB pipeline (`qualitrace run`,
which also lands the exports) and then `qualitrace spark` (Spark in the dbt process, local[2]):
its wall and CPU time, the time outside dbt's own `elapsed_time` (the landing export, then
Python and dbt start-up and parse; the JVM and Spark session start inside dbt's elapsed time,
at its first query), dbt's elapsed time on Spark against the DuckDB run's dbt step, and a
row-level parity check of every table afterwards (not timed).
Results: benchmarks/results/spark/<scale>.json and the Spark table in benchmarks/README.md.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

START, END = "<!-- spark:start -->", "<!-- spark:end -->"


def dbt_elapsed(home: Path) -> float | None:
    """dbt's own elapsed seconds of the Spark build (run_results.json)."""
    path = home / "spark" / "dbt_target" / "run_results.json"
    if not path.exists():
        return None
    return round(float(json.loads(path.read_text(encoding="utf-8")).get("elapsed_time", 0.0)), 1)


def landing_seconds(stdout: str) -> float | None:
    """Seconds the landing export took, as `qualitrace spark` prints them."""
    m = re.search(r"landing exported in ([0-9.]+) s", stdout)
    return float(m.group(1)) if m else None


def parity(home: Path) -> dict:
    """Every dbt table of the Spark build against the DuckDB build (engine_parity)."""
    from orchestration.lib.engine_parity import compare_dbt_tables
    from orchestration.lib.spark import spark_paths

    results = compare_dbt_tables(home / "warehouse.duckdb", spark_paths(home).table_glob)
    return {"tables": len(results), "equal": sum(r.equal for r in results),
            "unequal": [r.describe()[:500] for r in results if not r.equal]}


def _fmt(v, spec: str = ".1f") -> str:
    return "–" if v is None else format(v, spec)


def table(results: list[dict]) -> str:
    head = ("| scale | input rows | DuckDB pipeline s | DuckDB dbt s | Spark build s | Spark dbt s "
            "| outside dbt s (landing export / rest) | Spark CPU s | Spark peak RSS MB "
            "| tables equal | run at (UTC) |")
    rows = [head, "|" + "---|" * 11]
    for r in sorted(results, key=lambda r: r["scale"]):
        s = r.get("spark", {})
        p = r.get("parity", {})
        rows.append(
            f"| {r['scale']:g} | {_fmt(r.get('input_rows'), ',')} | {_fmt(r.get('duckdb_pipeline_s'))} "
            f"| {_fmt(r.get('duckdb_dbt_s'))} | {_fmt(s.get('wall_s'))}"
            f"{'' if s.get('returncode') == 0 else ' (exit ' + str(s.get('returncode')) + ')'} "
            f"| {_fmt(s.get('dbt_elapsed_s'))} | {_fmt(s.get('landing_s'))} / {_fmt(s.get('startup_s'))} "
            f"| {_fmt(s.get('cpu_s'))} | {_fmt(s.get('peak_rss_mb'), '.0f')} "
            f"| {p.get('equal', '–')} of {p.get('tables', '–')} "
            f"| {str(r.get('finished_at', ''))[:16]} |")
    return "\n".join(rows)


def load(results_dir: Path) -> list[dict]:
    from qtbench.report import load_results

    return load_results(results_dir / "spark")


def update_readme(readme: Path, results: list[dict]) -> None:
    block = "\n".join([START, table(results) if results else "(no Spark results yet)", END])
    text = readme.read_text(encoding="utf-8")
    if START in text and END in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _m: block, text,
                      flags=re.DOTALL)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    readme.write_text(text, encoding="utf-8")
