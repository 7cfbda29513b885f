"""`make bench [SCALE=1]`: measure Qualitrace against DuckDB alone at one plant scale.

In one run and one process tree (every measured command is a child of this process):
  1. the floor: DuckDB `read_csv(all_varchar=true)` of the same exports as UTF-8 csv;
  2. the full pipeline from an empty home (`qualitrace run`), split into stages;
  3. an incremental run after one new day of files;
  4. a no-change re-run;
  4b. a run after one new complaints file (a CRM drop through the day: its latency to the
      published marts and alerts);
  5. `qualitrace trace` / `where-used` latency (median of 50), command and query.
Writes benchmarks/results/<scale>.json and the table in benchmarks/README.md.
`--engine spark`: the floor, the DuckDB pipeline, then the same pipeline with dbt on Apache
Spark (`qualitrace run --engine spark`, Spark in the dbt process, local[2]) into a second home
over the same exports, and a row-level parity check of dbt's tables and the published marts
(qtbench/spark.py); writes benchmarks/results/spark/<scale>.json and the Spark table in
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from qtbench import dayfiles, floor, latency, report, stages
from qtbench import spark as spark_bench
from qtbench.measure import Measured, median_run, run_measured

BIN = Path(os.path.abspath(sys.executable)).parent  # the venv's bin (no symlink resolving)
QUALITRACE = str(BIN / "qualitrace")


def say(msg: str) -> None:
    print(f"[bench {dt.datetime.now(dt.UTC):%H:%M:%S}] {msg}", flush=True)


def scale_tag(scale: float) -> str:
    return f"{scale:g}"


def ensure_exports(cache: Path, scale: float, seed: int) -> tuple[Path, float | None]:
    """Generated exports for (scale, seed), cached; returns (folder, generate seconds or None)."""
    exports = cache / "exports"
    stamp = cache / "generated.json"
    if stamp.exists() and (exports / "truth.json").exists():
        meta = json.loads(stamp.read_text(encoding="utf-8"))
        if meta.get("scale") == scale and meta.get("seed") == seed:
            say(f"exports cached at {exports}")
            return exports, None
    if exports.exists():
        shutil.rmtree(exports)
    say(f"generating scale {scale:g} (seed {seed}) into {exports}")
    m = run_measured([QUALITRACE, "generate", "--out", str(exports), "--scale", str(scale),
                      "--seed", str(seed)])
    if m.returncode != 0:
        raise SystemExit(f"bench: qualitrace generate failed (exit {m.returncode}):\n{m.stdout[-2000:]}")
    stamp.write_text(json.dumps({"scale": scale, "seed": seed, "seconds": round(m.wall_s, 1)}),
                     encoding="utf-8")
    return exports, m.wall_s


def link_tree(src: Path, dest: Path) -> None:
    """Copy `src` to `dest` with hard links (falls back to copies across devices)."""
    for p in src.rglob("*"):
        target = dest / p.relative_to(src)
        if p.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(p, target)
        except OSError:
            shutil.copy2(p, target)


def measured_dict(m: Measured) -> dict:
    return {"wall_s": round(m.wall_s, 2), "cpu_s": round(m.cpu_s, 2), "peak_rss_mb": m.peak_rss_mb,
            "max_single_rss_mb": m.max_single_rss_mb, "tree_rss_mb": m.tree_rss_mb,
            "returncode": m.returncode}


def run_pipeline(label: str, home: Path, exports: Path, logs: Path, *extra: str) -> dict:
    """One `qualitrace run` as a child process, measured, with its stages."""
    say(f"{label}: qualitrace run --home {home} --exports {exports} {' '.join(extra)}".rstrip())
    since = time.time() - 1
    load = os.getloadavg()[0]
    m = run_measured([QUALITRACE, "run", "--home", str(home), "--exports", str(exports), *extra],
                     log_path=logs / f"{label}.out")
    out = measured_dict(m)
    out["load_avg_at_start"] = round(load, 2)
    log = stages.find_log(m.stdout, home, since)
    if log is not None:
        out.update(stages.stages(log.read_text(encoding="utf-8", errors="replace"), m.wall_s,
                                 stages.run_results_since(home, since)))
        out["event_log"] = str(log)
    # start-up: interpreter + loading the code location, until the first asset runs
    out["startup_s"] = next((round(t, 2) for t, ln in m.lines if ln.startswith("materialising")), None)
    tail = [ln.rstrip() for _t, ln in m.lines[-6:]]
    out["stdout_tail"] = tail
    say(f"{label}: exit {m.returncode} in {m.wall_s:.1f}s, peak RSS {m.peak_rss_mb:.0f} MB, "
        f"stages {out.get('stage_s')}")
    if m.returncode != 0:
        say(f"{label}: last lines:\n    " + "\n    ".join(tail))
    return out


def raw_rows_read(home: Path) -> int | None:
    """Rows the pipeline read, from its file manifest (None if unavailable)."""
    import duckdb
    db = home / "warehouse.duckdb"
    if not db.exists():
        return None
    try:
        con = duckdb.connect(str(db), read_only=True)
        try:
            return int(con.execute("select coalesce(sum(rows_read), 0) from raw._file_manifest")
                       .fetchone()[0])
        finally:
            con.close()
    except Exception:  # noqa: BLE001 - a missing ledger is reported as unknown
        return None


def checkpoint(work: Path, result: dict) -> None:
    """Partial figures so far, in <work>/result.json (survives an interrupted run)."""
    (work / "result.json").write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str)
                                      + "\n", encoding="utf-8")


def ratio(a, b) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def per_s(rows, secs) -> float | None:
    return round(rows / secs, 1) if rows and secs else None


def measure_latency(home: Path, exports: Path, repeats: int) -> dict:
    """trace / where-used: whole command `repeats` times, and the query in-process."""
    ids = latency.pick_ids(home / "marts")
    say(f"latency: {repeats}x trace {ids['complaint_id']}, where-used lot {ids['lot']}")
    lat: dict = {"ids": ids, "command": {}, "query": {}}
    base = ["--home", str(home), "--exports", str(exports)]
    if ids["complaint_id"]:
        lat["command"]["trace"] = latency.command_latency(
            [QUALITRACE, "trace", *base, ids["complaint_id"]], repeats)
    if ids["lot"]:
        lat["command"]["where_used"] = latency.command_latency(
            [QUALITRACE, "where-used", *base, "lot", ids["lot"]], repeats)
    try:
        lat["query"] = latency.query_latency(home, exports, ids["complaint_id"], ids["lot"], repeats)
    except Exception as e:  # noqa: BLE001 - record, keep the other figures
        lat["query"] = {"error": f"{type(e).__name__}: {e}"}
    say(f"latency: command {json.dumps(lat['command'])[:400]}")
    say(f"latency: query {json.dumps(lat['query'])[:400]}")
    return lat


def dbt_elapsed(home: Path) -> float | None:
    """dbt's own elapsed seconds of a run's dbt step (run_results.json), on either engine."""
    found = sorted((home / "dbt" / "target").glob("*/run_results.json"))
    total = [json.loads(p.read_text(encoding="utf-8")).get("elapsed_time") for p in found]
    return round(sum(t for t in total if t), 1) if total else None


def bench_spark(args, result: dict, full: dict, home: Path, exports: Path, logs: Path,
                tag: str) -> int:
    """The pipeline with dbt on Spark beside the DuckDB run just measured (see the module
    docstring): a second home over the same exports, the same salt (set in main)."""
    result["engine"] = "spark"
    result["duckdb_pipeline_s"] = full["wall_s"]
    result["duckdb_dbt_s"] = dbt_elapsed(home)
    result["duckdb_stage_s"] = full.get("stage_s")
    if full["returncode"] not in (0, 1):
        raise SystemExit(f"bench: the DuckDB run failed (exit {full['returncode']})")
    spark_home = home.parent / "home-spark"
    s = run_pipeline("spark", spark_home, exports, logs, "--engine", "spark")
    s["dbt_elapsed_s"] = dbt_elapsed(spark_home)
    result["spark"] = s
    if s["returncode"] in (0, 1):
        say("spark: comparing dbt's tables and the published marts with the DuckDB run")
        result["parity"] = spark_bench.parity(home, spark_home)
        say(f"spark: {result['parity']['equal']} of {result['parity']['tables']} tables and "
            f"{result['parity']['marts_equal']} of {result['parity']['marts']} marts equal")
    result["finished_at"] = dt.datetime.now(dt.UTC).isoformat()
    text = json.dumps(result, indent=1, ensure_ascii=False, default=str) + "\n"
    out = args.results / "spark" / f"{tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    spark_bench.update_readme(args.readme, spark_bench.load(args.results))
    say(f"wrote {out} and the Spark table in {args.readme}")
    print(spark_bench.table([result]))
    return 0 if s["returncode"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=50, help="trace / where-used repetitions")
    ap.add_argument("--single-files", type=int, default=5,
                    help="new complaints files, one per run; the figure is the median run")
    ap.add_argument("--cache", type=Path, default=BENCH_DIR / "cache",
                    help="where generated exports and work homes live (gitignored)")
    ap.add_argument("--results", type=Path, default=BENCH_DIR / "results")
    ap.add_argument("--readme", type=Path, default=BENCH_DIR / "README.md")
    ap.add_argument("--full-only", action="store_true",
                    help="floor and full run only (no incremental, no-change, single file, "
                         "latency)")
    ap.add_argument("--record-failures", action="store_true",
                    help="write results/<scale>.json and the README row even if the run failed "
                         "(exit 2+; a run stopped by a blocking check, exit 1, is always recorded)")
    ap.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb",
                    help="spark: after the DuckDB run, the pipeline with dbt on Apache Spark "
                         "(local[2]) in a second home")
    ap.add_argument("--readme-only", action="store_true",
                    help="only regenerate the README table from results/*.json")
    args = ap.parse_args(argv)
    if args.single_files < 1:
        ap.error("--single-files must be at least 1")
    if args.readme_only:
        report.update_readme(args.readme, report.load_results(args.results))
        spark_bench.update_readme(args.readme, spark_bench.load(args.results))
        say(f"rewrote the table in {args.readme}")
        return 0

    tag = scale_tag(args.scale)
    # the pipeline's bytecode written ahead (as `make` does): with PYTHONDONTWRITEBYTECODE set,
    # every measured command would otherwise compile the orchestration modules again
    compileall.compile_dir(REPO / "orchestration", quiet=1, workers=0)
    if args.engine == "spark":  # both homes key customers alike, so their marts compare
        os.environ["QUALITRACE_PII_SALT"] = "bench-engine-parity"
    cache = args.cache / tag
    cache.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    result: dict = {"scale": args.scale, "seed": args.seed, "started_at": started.isoformat(),
                    "machine": report.machine(), "versions": report.versions(),
                    "load_avg_at_start": round(os.getloadavg()[0], 2)}

    gen_exports, gen_s = ensure_exports(cache, args.scale, args.seed)
    result["generate_s"] = round(gen_s, 1) if gen_s else None

    # Fresh work area: the pipeline's exports (hard links of the cache) and an empty home.
    work = cache / "work"
    if work.exists():
        shutil.rmtree(work)
    exports, home, logs = work / "exports", work / "home", work / "logs"
    logs.mkdir(parents=True)
    link_tree(gen_exports, exports)

    # 1. Floor.
    floor_dir = cache / "floor"
    if not (floor_dir / floor.MANIFEST).exists():
        say(f"floor: converting non-UTF-8 / xlsx / jsonl exports to UTF-8 csv in {floor_dir}")
        floor.prepare_floor(gen_exports, floor_dir)
    say("floor: DuckDB read_csv(all_varchar) of every file into a fresh database")
    env = {**os.environ, "PYTHONPATH": str(BENCH_DIR)}
    fm = run_measured([sys.executable, "-m", "qtbench.floor", str(floor_dir), str(work / "floor.duckdb")],
                      env=env)
    if fm.returncode != 0:
        raise SystemExit(f"bench: floor load failed (exit {fm.returncode}):\n{fm.stdout[-2000:]}")
    fl = json.loads(fm.stdout.strip().splitlines()[-1])
    (work / "floor.duckdb").unlink(missing_ok=True)
    result["floor"] = {**measured_dict(fm), "load_s": fl["seconds"], "rows": fl["rows"],
                       "tables": fl["tables"], "errors": fl["errors"]}
    result["floor_s"] = fl["seconds"]
    result["input_rows"] = fl["rows"]
    result["floor_rows_per_s"] = per_s(fl["rows"], fl["seconds"])
    say(f"floor: {fl['rows']:,} rows from {fl['tables']} files in {fl['seconds']:.2f}s "
        f"(process {fm.wall_s:.1f}s, peak RSS {fm.peak_rss_mb:.0f} MB)")

    # 2. Full pipeline from empty.
    full = run_pipeline("full", home, exports, logs)
    result["pipeline"] = full
    result["pipeline_s"] = full["wall_s"]
    result["pipeline_rows_read"] = raw_rows_read(home)
    result["pipeline_rows_per_s"] = per_s(result["input_rows"], full["wall_s"])
    st = full.get("stage_s", {})
    result["gate_s"] = st.get("quality_gate")
    result["pipeline_over_floor"] = ratio(full["wall_s"], result["floor_s"])
    result["gate_over_pipeline"] = ratio(st.get("quality_gate"), full["wall_s"])
    peaks = [result["floor"]["peak_rss_mb"], full["peak_rss_mb"]]
    checkpoint(work, result)
    if args.engine == "spark":
        return bench_spark(args, result, full, home, exports, logs, tag)

    if full["returncode"] in (0, 1) and not args.full_only:  # 1 = a blocking check stopped it
        # 3. One new day of files.
        day = dayfiles.write_day(exports)
        say(f"incremental: {len(day['files'])} new files for {day['day']} ({day['rows']:,} rows)")
        inc = run_pipeline("incremental", home, exports, logs)
        result["incremental"] = {**inc, "new_day": day}
        result["incremental_s"] = inc["wall_s"]
        result["incremental_rows_per_s"] = per_s(day["rows"], inc["wall_s"])
        result["incremental_over_full"] = ratio(inc["wall_s"], full["wall_s"])
        checkpoint(work, result)

        # 4. Nothing changed.
        nc = run_pipeline("no_change", home, exports, logs)
        result["no_change"] = nc
        result["no_change_s"] = nc["wall_s"]
        checkpoint(work, result)

        # 4b. New complaints files, one per run, as a CRM drops them through the day: the
        # median of --single-files runs (one run's wall time varies by about a second).
        singles = []
        for i in range(1, args.single_files + 1):
            one = dayfiles.write_single_file(exports, "complaints")
            say(f"single file {i} of {args.single_files}: {one['files'][0]['path']} "
                f"({one['rows']:,} rows)")
            singles.append({**run_pipeline(f"single_file_{i}", home, exports, logs),
                            "new_file": one})
        sf = median_run(singles)
        say(f"single file: median {sf['wall_s']:.2f} s of {sf['runs_wall_s']}")
        result["single_file"] = sf
        result["single_file_s"] = sf["wall_s"]
        result["single_file_over_full"] = ratio(sf["wall_s"], full["wall_s"])
        peaks += [inc["peak_rss_mb"], nc["peak_rss_mb"], *(r["peak_rss_mb"] for r in singles)]
        checkpoint(work, result)

        # 5. Trace / where-used latency.
        result["latency"] = measure_latency(home, exports, args.repeats)
    else:
        why = "--full-only" if args.full_only else f"the full run failed (exit {full['returncode']})"
        say(f"skipping incremental, no-change, single file and latency: {why}")
        result["skipped"] = why

    # Results.
    result["peak_rss_mb"] = max(peaks)
    result["finished_at"] = dt.datetime.now(dt.UTC).isoformat()
    small = args.results / "0.01.json"
    if small.exists() and args.scale != 0.01:
        result["reference_small_pipeline_s"] = json.loads(small.read_text())["pipeline_s"]
    elif args.scale == 0.01:
        result["reference_small_pipeline_s"] = result["pipeline_s"]
    result["targets"] = report.verdicts(result)
    text = json.dumps(result, indent=1, ensure_ascii=False, default=str) + "\n"
    (work / "result.json").write_text(text, encoding="utf-8")
    # exit 1 = a blocking check failed: every stage still ran; recorded, marked in the table
    if full["returncode"] in (0, 1) or args.record_failures:
        args.results.mkdir(parents=True, exist_ok=True)
        out = args.results / f"{tag}.json"
        out.write_text(text, encoding="utf-8")
        report.update_readme(args.readme, report.load_results(args.results))
        say(f"wrote {out} and the table in {args.readme}")
    else:
        say(f"the full run failed: figures kept in {work / 'result.json'} only "
            f"(not in results/ or the README; --record-failures to record them)")
    print(report.table([result]))
    print(report.verdict_lines([result]))
    return 0 if full["returncode"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
