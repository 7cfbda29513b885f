"""`qualitrace` command line: generate a sample plant, run the pipeline, trace complaints."""

from __future__ import annotations

import argparse
import atexit
import os
import sys


def _add_spark_cluster(p, prefix: str = "") -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument("--spark-master", help=f"{prefix}an existing cluster (spark://host:7077); "
                       "default: $QUALITRACE_SPARK_MASTER, else Spark inside dbt's process "
                       "(local[2])")
    where.add_argument("--local-cluster", type=int, metavar="WORKERS",
                       help=f"{prefix}start a standalone master and WORKERS workers on "
                            "127.0.0.1 for this run (from the pyspark package)")


def _add_home(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", help="Qualitrace home (default: $QUALITRACE_HOME or ./.qualitrace)")
    p.add_argument("--exports", help="exports root (default: $QUALITRACE_EXPORTS or <home>/exports)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qualitrace",
        description="Link every customer complaint to the production that made the product.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write a realistic sample plant's exports")
    g.add_argument("--out", required=True, help="exports root to write (erp/ mes/ qms/ crm/)")
    g.add_argument("--scale", type=float, default=0.01, help="1 = a mid-size plant-year")
    g.add_argument("--seed", type=int, default=7)

    r = sub.add_parser("run", help="materialise every asset in dependency order")
    _add_home(r)
    r.add_argument("--wait", type=float, default=0.0,
                   help="seconds to wait if another run holds this home (default: stop at once)")
    r.add_argument("--rebuild", action="store_true",
                   help="rebuild and re-check everything even if no file, dictionary or code "
                        "changed since the last successful run (which is otherwise skipped)")
    r.add_argument("--engine", choices=["duckdb", "spark"], default=None,
                   help="engine that builds the dbt models (default: $QUALITRACE_ENGINE or "
                        "duckdb); spark needs `make spark-env`")
    _add_spark_cluster(r, "with --engine spark: ")

    t = sub.add_parser("trace", help="trace one complaint backward to batch, machines, lots")
    _add_home(t)
    t.add_argument("complaint_id")
    t.add_argument("--json", action="store_true", help="print the result as JSON")

    w = sub.add_parser("where-used", help="trace a lot, supplier, batch or machine forward")
    _add_home(w)
    w.add_argument("kind", metavar="[KIND]",
                   help="lot, supplier, batch or equipment; may be left out: found from the id")
    w.add_argument("id", nargs="?", help="the lot, supplier, batch or machine id")
    w.add_argument("--from", dest="date_from",
                   help="shipped at or after (YYYY-MM-DD, UTC; equipment: batches produced from)")
    w.add_argument("--to", dest="date_to",
                   help="shipped at or before (YYYY-MM-DD, UTC; equipment: batches produced until)")
    w.add_argument("--json", action="store_true", help="print the result as JSON")
    w.add_argument("--all-batches", action="store_true",
                   help="equipment: every batch of its line, not only those with an excursion")
    w.add_argument("--limit", type=int, default=None,
                   help="rows per list in text output (default 50, 0 = all)")

    holds_help = ("the hold list: batches and lots to hold, units in stock, in transit and "
                  "in the field, and why")
    for name, text in (("holds", holds_help),
                       ("escalations", "open escalations (data_dictionary/escalations.yml)"),
                       ("suspects", ("ranked suspects per problem type with lift, p and q "
                                    "(only those passing the false discovery rate)"))):
        e = sub.add_parser(name, help=text)
        _add_home(e)
        fmt = e.add_mutually_exclusive_group()
        fmt.add_argument("--json", action="store_true", help="print JSON records")
        fmt.add_argument("--csv", action="store_true", help="print CSV")
        if name == "escalations":
            e.add_argument("--all", action="store_true", help="resolved ones too")
        if name == "suspects":
            e.add_argument("--problem", help="one problem type (QD04)")
            e.add_argument("--fdr", type=float, default=None,
                           help="false discovery rate: show suspects with q <= FDR (0.05)")
            e.add_argument("--all", action="store_true",
                           help="every suspect, ranked or not, whatever its q-value")

    sp = sub.add_parser("spark", help="build the dbt project on Apache Spark from this home's "
                                      "landing (after `qualitrace run`) and compare with DuckDB")
    _add_home(sp)
    _add_spark_cluster(sp)
    sp.add_argument("--compare", action="store_true",
                    help="compare every table with the DuckDB build, row for row")

    sub.add_parser("prepare", help="parse the dbt project for Dagster (only when it changed)")

    d = sub.add_parser("dev", help="start the Dagster UI on http://127.0.0.1:3000")
    _add_home(d)
    d.add_argument("--port", type=int, default=3000)

    dic = sub.add_parser("dictionary", help="validate the data dictionary (with the plant's "
                                            "overlay in <home>/dictionary/) and render its docs")
    _add_home(dic)
    dsub = dic.add_subparsers(dest="dictionary_command")
    sg = dsub.add_parser("suggest", help="profile a folder of exports (landing nothing) and "
                                         "write a reviewable dictionary patch")
    sg.add_argument("--exports", required=True, help="folder of exports to profile")
    sg.add_argument("--home", help="Qualitrace home whose overlay counts as known "
                                   "(default: $QUALITRACE_HOME or ./.qualitrace)")
    sg.add_argument("--out", help="patch to write (default: <home>/reports/"
                                  "dictionary_suggestions.yml)")
    sg.add_argument("--max-rows", type=int, default=50_000,
                    help="rows profiled per file (default 50000)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cmd = args.command
    if cmd == "generate":
        from orchestration.lib.generator.cli import main as generate_main
        return generate_main(args)
    if cmd == "run":
        from orchestration.lib.runner import main as run_main
        return run_main(args)
    if cmd in ("trace", "where-used"):
        from orchestration.lib.trace import main as trace_main
        return trace_main(args)
    if cmd in ("holds", "escalations", "suspects"):
        from orchestration.lib.marts_cli import main as marts_main
        return marts_main(args)
    if cmd == "spark":
        from orchestration.lib.spark_cli import main as spark_main
        return spark_main(args)
    if cmd == "prepare":
        from orchestration.lib.dbt_project import main as prepare_main
        return prepare_main()
    if cmd == "dev":
        from orchestration.lib.devserver import main as dev_main
        return dev_main(args)
    if cmd == "dictionary":
        from orchestration.lib.dictionary.cli import main as dictionary_main
        return dictionary_main(args)
    raise AssertionError(cmd)


def entry() -> None:
    """The `qualitrace` command (and `python -m orchestration.cli`): `main()`, then the exit
    handlers and a flush of both streams, then the process ends without the interpreter's
    teardown. A run imports about 4,600 modules (Dagster, dbt, GX, pandas, SciPy); freeing
    them one by one took 1.2 s after every `qualitrace run` had printed its summary. Every
    file the commands write is closed by then (logging's handlers by its exit handler).
    An exception from `main()` still ends the process the usual way, with its traceback."""
    code = main()
    if code is None:
        code = 0
    elif not isinstance(code, int):  # as sys.exit() treats a message
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            pass
    os._exit(code)


if __name__ == "__main__":
    entry()
