"""`qualitrace spark`: the dbt project built on Apache Spark from a home's landing.

Reads the landing of the last `qualitrace run` (exported as Parquet), builds every model on
Spark (in this process, on an existing cluster, or on a standalone cluster started for the
build), writes the tables as Parquet under <home>/spark/warehouse and, with --compare, checks
each against the DuckDB build row for row. The whole pipeline on Spark (gate and publishing
included) is `qualitrace run --engine spark` (lib/engine.py).
"""

from __future__ import annotations

import argparse

from orchestration.lib.settings import get_settings


def main(args: argparse.Namespace) -> int:
    from orchestration.lib.engine_parity import compare_dbt_tables
    from orchestration.lib.spark import (
        SparkNotInstalled,
        run_spark_build,
        spark_paths,
        spark_python,
        start_standalone_cluster,
    )

    settings = get_settings(args.home, args.exports)
    if not settings.warehouse.exists():
        print(f"qualitrace spark: no warehouse at {settings.warehouse}: run `qualitrace run "
              f"--home {settings.home}` first (ingest lands the exports)")
        return 2
    try:
        spark_python()
    except SparkNotInstalled as exc:
        print(f"qualitrace spark: {exc}")
        return 2
    paths = spark_paths(settings.home)
    cluster = None
    master = args.spark_master
    if args.local_cluster:
        print(f"starting a Spark standalone master and {args.local_cluster} workers on 127.0.0.1 ...",
              flush=True)
        cluster = start_standalone_cluster(paths.root / "cluster", workers=args.local_cluster)
        master = cluster.master_url
        print(f"Spark master {master}; Spark UI {cluster.ui_url}", flush=True)
    else:
        print(f"Spark: {master or 'local[2] in the dbt process'} (driver UI http://127.0.0.1:4040 "
              "while the build runs)", flush=True)
    try:
        build = run_spark_build(settings, master=master, echo=lambda line: print(line, flush=True))
    finally:
        if cluster is not None:
            cluster.stop()
    landed = sum(build.landing_rows.values())
    print(f"Spark build {'passed' if build.ok else 'FAILED'} in {build.seconds:.0f} s "
          f"({landed} landing rows from {len(build.landing_rows)} tables); tables: "
          f"{paths.warehouse}; dbt log: {build.log}")
    if not build.ok:
        return 1
    if args.compare:
        results = compare_dbt_tables(settings.warehouse, paths.table_glob)
        if not results:
            print(f"nothing to compare: {settings.warehouse} holds no DuckDB build of the dbt "
                  "models (its last run used --engine spark); run `qualitrace run` without it "
                  "in another home over the same exports")
            return 1
        for r in results:
            if not r.equal:
                print(r.describe())
        same = sum(r.equal for r in results)
        print(f"compared with the DuckDB build: {same} of {len(results)} tables equal row for row")
        return 0 if same == len(results) else 1
    return 0
