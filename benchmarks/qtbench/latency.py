"""`qualitrace trace` / `where-used` latency: whole command (subprocess) and query only."""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

import duckdb


def pick_ids(parquet_dir: Path) -> dict[str, str | None]:
    """A complaint traced to a batch and a supplier lot that reached customers."""
    con = duckdb.connect(":memory:")
    try:
        def first(sql: str) -> str | None:
            try:
                row = con.execute(sql).fetchone()
            except duckdb.Error:
                return None
            return str(row[0]) if row else None
        ct = str(parquet_dir / "complaint_trace.parquet").replace("'", "''")
        ft = str(parquet_dir / "forward_trace.parquet").replace("'", "''")
        complaint = first(f"select complaint_id from read_parquet('{ct}') "
                          f"order by batch_code is null, complaint_id limit 1")
        lot = first(f"select suspect_id from read_parquet('{ft}') where suspect_kind = 'supplier_lot' "
                    f"group by 1 order by count(*) desc, 1 limit 1")
        return {"complaint_id": complaint, "lot": lot}
    finally:
        con.close()


def summarise(samples_s: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples_s)
    return {"median_ms": round(statistics.median(ms), 1), "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 1),
            "min_ms": round(ms[0], 1), "max_ms": round(ms[-1], 1), "n": len(ms)}


def command_latency(cmd: list[str], repeats: int, env: dict | None = None) -> dict:
    """Wall time of `cmd` as a fresh process, `repeats` times. Failed invocations are
    counted (`failures`, first `error`) and left out of the statistics."""
    samples, failures, error = [], 0, None
    for _ in range(repeats):
        t0 = time.monotonic()
        p = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
        took = time.monotonic() - t0
        if p.returncode == 0:
            samples.append(took)
        else:
            failures += 1
            error = error or f"exit {p.returncode}: {(p.stderr or p.stdout).strip()[-300:]}"
    out: dict = summarise(samples) if samples else {}
    if failures:
        out.update(failures=failures, error=error)
    return {**out, "cmd": cmd}


def query_latency(home: Path, exports: Path, complaint_id: str | None, lot: str | None,
                  repeats: int) -> dict:
    """In-process time of the trace library's query functions (marts already open), and of
    opening the marts plus one query."""
    from orchestration.lib.settings import get_settings
    from orchestration.lib.trace import open_marts, trace_complaint, where_used
    settings = get_settings(home, exports)
    out: dict = {}
    jobs = {"trace": (lambda con: trace_complaint(con, complaint_id)) if complaint_id else None,
            "where_used": (lambda con: where_used(con, "lot", lot)) if lot else None}
    for name, fn in jobs.items():
        if fn is None:
            out[name] = {"error": "no id to query (mart empty?)"}
            continue
        con = open_marts(settings)
        try:
            fn(con)  # warm-up
            samples = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn(con)
                samples.append(time.perf_counter() - t0)
        finally:
            con.close()
        cold = []
        for _ in range(min(repeats, 20)):
            t0 = time.perf_counter()
            con = open_marts(settings)
            fn(con)
            con.close()
            cold.append(time.perf_counter() - t0)
        out[name] = {"query": summarise(samples), "open_and_query": summarise(cold)}
    return out
