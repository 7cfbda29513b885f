"""`benchmarks/run.py --engine spark`: the pipeline with dbt on Apache Spark beside DuckDB.

Measured in the same harness run, on the same exports: the DuckDB pipeline (`qualitrace run`)
into one home, then `qualitrace run --engine spark` (Spark in the dbt process, local[2]) into
a second home: wall and CPU time, stages (ingest / dbt / gate / marts / other, the same split
as the DuckDB table), dbt's own elapsed time on each engine, and afterwards (not timed) a
row-level parity check of every dbt table and every published mart (engine_parity; the
times each home landed the files left out).
Results: benchmarks/results/spark/<scale>.json and the Spark table in benchmarks/README.md.
"""

from __future__ import annotations

import re
from pathlib import Path

from .stages import STAGES

START, END = "<!-- spark:start -->", "<!-- spark:end -->"


def parity(duck_home: Path, spark_home: Path) -> dict:
    """Every dbt table of the Spark run against the DuckDB run, and the published marts."""
    from orchestration.lib.engine_parity import INGEST_TIMES, compare_dbt_tables, compare_published
    from orchestration.lib.publish import MARTS
    from orchestration.lib.spark import spark_paths

    tables = compare_dbt_tables(duck_home / "warehouse.duckdb", spark_paths(spark_home).table_glob,
                                ignore=INGEST_TIMES)
    marts = compare_published(duck_home / "marts", spark_home / "marts", MARTS,
                              ignore=INGEST_TIMES)
    return {"tables": len(tables), "equal": sum(r.equal for r in tables),
            "marts": len(marts), "marts_equal": sum(r.equal for r in marts),
            "unequal": [r.describe()[:500] for r in tables + marts if not r.equal]}


def _fmt(v, spec: str = ".1f") -> str:
    return "–" if v is None else format(v, spec)


def _stages(stage_s: dict | None) -> str:
    stage_s = stage_s or {}
    return " / ".join(_fmt(stage_s.get(k)) for k in STAGES)


def table(results: list[dict]) -> str:
    head = ("| scale | input rows | DuckDB pipeline s | DuckDB dbt s | Spark pipeline s "
            "| Spark stages s (ingest / dbt / gate / marts / other) | Spark dbt s "
            "| Spark CPU s | Spark peak RSS MB | tables equal | marts equal | run at (UTC) |")
    rows = [head, "|" + "---|" * 12]
    for r in sorted(results, key=lambda r: r["scale"]):
        s = r.get("spark", {})
        p = r.get("parity", {})
        if "stage_s" not in s:  # an older record: the dbt build alone (`qualitrace spark`)
            continue
        rows.append(
            f"| {r['scale']:g} | {_fmt(r.get('input_rows'), ',')} | {_fmt(r.get('duckdb_pipeline_s'))} "
            f"| {_fmt(r.get('duckdb_dbt_s'))} | {_fmt(s.get('wall_s'))}"
            f"{'' if s.get('returncode') == 0 else ' (exit ' + str(s.get('returncode')) + ')'} "
            f"| {_stages(s.get('stage_s'))} | {_fmt(s.get('dbt_elapsed_s'))} "
            f"| {_fmt(s.get('cpu_s'))} | {_fmt(s.get('peak_rss_mb'), '.0f')} "
            f"| {p.get('equal', '–')} of {p.get('tables', '–')} "
            f"| {p.get('marts_equal', '–')} of {p.get('marts', '–')} "
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
