"""The dbt project on Apache Spark (issue 17): what a Spark build reads and where it writes.

A Spark build reads the same landing and dictionary tables as the DuckDB build, as Parquet:
  <home>/spark/landing/<schema>/<table>/part-0.parquet   landing (raw.*), written by
                                                          `export_landing` from the warehouse
  <home>/dbt/dictionary/<name>.parquet                    the dictionary tables (written for
                                                          every run already)
The dbt hook `spark_register_sources` (dbt_project/macros/adapters/spark_sources.sql) registers
every dbt source as an external Parquet table over those paths at the start of each Spark
invocation, so the models read them through `source()` exactly as on DuckDB. The models'
tables are Parquet under <home>/spark/warehouse/<schema>.db/<table>/, which any DuckDB client
reads in place (`SparkPaths.table_glob`).

The landing is copied out of the DuckDB warehouse for now; ingest writing Parquet that both
engines read in place is the next step (README, "When one machine is not enough").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import duckdb

LANDING_SCHEMAS = ("raw",)


@dataclass(frozen=True)
class SparkPaths:
    """Where a home's Spark build keeps its files."""

    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def metastore(self) -> Path:
        return self.root / "metastore_db"

    @property
    def driver_log(self) -> Path:
        """The Spark driver's own log (dbt_project/spark-log4j2.properties)."""
        return self.root / "spark-driver.log"

    def table_glob(self, schema: str, table: str) -> str:
        """The Parquet files of a table the Spark build wrote (for read_parquet)."""
        return str(self.warehouse / f"{schema}.db" / table / "*.parquet")


def spark_paths(home: Path) -> SparkPaths:
    return SparkPaths(Path(home) / "spark")


def export_landing(warehouse: Path, landing: Path) -> dict[str, int]:
    """Write every table of the warehouse's landing schemas as Parquet under `landing`
    (`<schema>/<table>/part-0.parquet`, replacing what was there). Timestamps are written as
    instants (UTC), which Spark reads as its `timestamp` type. Returns rows per table."""
    counts: dict[str, int] = {}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?)) and table_type = 'BASE TABLE' "
            "order by 1, 2", [list(LANDING_SCHEMAS)]).fetchall()
        for schema, table in tables:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table]).fetchall()
            select = ", ".join(
                f'cast("{c}" as timestamptz) as "{c}"' if t == "TIMESTAMP" else f'"{c}"'
                for c, t in columns)
            target = landing / schema / table
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            con.execute(f"copy (select {select} from \"{schema}\".\"{table}\") "
                        f"to '{target / 'part-0.parquet'}' (format parquet)")
            counts[f"{schema}.{table}"] = con.execute(
                f'select count(*) from "{schema}"."{table}"').fetchone()[0]
    finally:
        con.close()
    return counts


def present_sources(paths: SparkPaths, dictionary_tables: Path) -> list[str]:
    """`schema.table` of every source with files: landing tables exported, dictionary tables
    written."""
    found = [f"{d.parent.name}.{d.name}" for d in sorted(paths.landing.glob("*/*"))
             if any(d.glob("*.parquet"))]
    found += [f"dictionary.{f.stem}" for f in sorted(Path(dictionary_tables).glob("*.parquet"))]
    return found


def spark_env(paths: SparkPaths, dictionary_tables: Path,
              master: str | None = None) -> dict[str, str]:
    """Environment for a `dbt --target spark` invocation (read by dbt_project/profiles.yml and
    the source-registration hook). Spark's own log goes to a file, out of dbt's output
    (dagster-dbt parses that output line by line)."""
    from orchestration.lib.settings import DBT_PROJECT_DIR

    env = {
        "QUALITRACE_DICTIONARY_TABLES": str(dictionary_tables),
        "QUALITRACE_SPARK_SOURCES": ",".join(present_sources(paths, dictionary_tables)),
        "QUALITRACE_SPARK_LANDING": str(paths.landing),
        "QUALITRACE_SPARK_WAREHOUSE": str(paths.warehouse),
        "QUALITRACE_SPARK_METASTORE": str(paths.metastore),
        "QUALITRACE_SPARK_LOG4J": str(DBT_PROJECT_DIR / "spark-log4j2.properties"),
        "QUALITRACE_SPARK_DRIVER_LOG": str(paths.driver_log),
    }
    if master:
        env["QUALITRACE_SPARK_MASTER"] = master
    return env


@dataclass
class SparkBuild:
    """The outcome of one `dbt build --target spark` over a home's landing."""

    returncode: int
    seconds: float
    landing_rows: dict[str, int]
    log: Path
    landing_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0


SPARK_VENV = ".venv-spark"
SPARK_PYTHON_ENV = "QUALITRACE_SPARK_PYTHON"


class SparkNotInstalled(RuntimeError):
    """No Python environment with dbt-spark and pyspark."""


def spark_python() -> str:
    """The Python of the Spark client environment: $QUALITRACE_SPARK_PYTHON, else the
    repository's .venv-spark (`make spark-env`). Spark lives in its own environment because
    importing pyspark beside Great Expectations breaks GX: GX imports pyspark.sql.connect when
    pyspark is installed, and that module calls sys.exit(0) in any process started with
    `python -c` or by pytest-xdist when Spark Connect's extra packages are missing."""
    from orchestration.lib.settings import REPO_ROOT

    configured = os.environ.get(SPARK_PYTHON_ENV)
    candidate = Path(configured) if configured else REPO_ROOT / SPARK_VENV / "bin" / "python"
    if not candidate.exists():
        raise SparkNotInstalled(
            f"no Spark environment at {candidate}: run `make spark-env` (dbt-spark and pyspark "
            f"in {SPARK_VENV}/, Java 17 needed) or set {SPARK_PYTHON_ENV}")
    return str(candidate)


def spark_dbt_command(args: list[str]) -> list[str]:
    """dbt for the Spark target, in the Spark environment (orchestration/lib/spark_dbt.py:
    Python models run in dbt's Spark session). Run it with spark_process_env()."""
    return [spark_python(), "-m", "orchestration.lib.spark_dbt", *args]


def spark_process_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a process of the Spark environment: this repository importable
    (spark_dbt), the same Python for Spark's Python workers."""
    from orchestration.lib.settings import REPO_ROOT

    env = dict(os.environ if base is None else base)
    python = spark_python()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = python
    return env


def run_spark_build(settings, master: str | None = None, extra_args: list[str] | None = None,
                    salt: str | None = None, echo=None, command: str = "build") -> SparkBuild:
    """Export the home's landing as Parquet and build the dbt project on Spark (`master`:
    a cluster URL such as spark://host:7077, default local[2]; `command` "run" builds the
    models without dbt's tests). Output: the Spark build's tables as Parquet under
    <home>/spark/warehouse; dbt's log in <home>/spark/dbt.log."""
    from orchestration.lib.dbt_project import dbt_env, ensure_dictionary_files
    from orchestration.lib.pii import pii_salt
    from orchestration.lib.settings import DBT_PROJECT_DIR
    from orchestration.lib.warehouse import warehouse_lock

    started = time.monotonic()
    paths = spark_paths(settings.home)
    dictionary = ensure_dictionary_files(settings)
    with warehouse_lock(settings):  # a run writing the landing waits, and vice versa
        rows = export_landing(settings.warehouse, paths.landing)
    landing_s = time.monotonic() - started
    if echo is not None:
        echo(f"landing exported in {landing_s:.1f} s: {sum(rows.values())} rows of "
             f"{len(rows)} tables to {paths.landing}")
    target = paths.root / "dbt_target"
    env = spark_process_env({**os.environ, **dbt_env(settings), **spark_env(paths, dictionary, master),
                             "QUALITRACE_PII_SALT": salt or pii_salt(settings)})
    log = paths.root / "dbt.log"
    cmd = spark_dbt_command([command, "--target", "spark", "--project-dir", str(DBT_PROJECT_DIR),
                             "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target),
                             "--log-path", str(target), "--no-use-colors", *(extra_args or [])])
    paths.root.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, cwd=paths.root, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                                errors="replace")
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if echo is not None and _DBT_PROGRESS.search(line):
                echo(line.rstrip())
        proc.wait()
    return SparkBuild(proc.returncode, time.monotonic() - started, rows, log, landing_s)


# dbt's own progress lines ("12 of 229 OK created ...", "Done. PASS=..."), not Spark's logging
_DBT_PROGRESS = re.compile(r"^\S*\s*\d\d:\d\d:\d\d\s+(\d+ of \d+ (?!START)|Done\.|Completed|Finished)")


@dataclass
class StandaloneCluster:
    """A Spark standalone master and workers on 127.0.0.1, started from the pyspark package."""

    master_url: str
    ui_url: str
    processes: list[subprocess.Popen]
    workdir: Path

    def alive_workers(self) -> int:
        with urllib.request.urlopen(self.ui_url + "/json/", timeout=5) as r:
            return int(json.load(r).get("aliveworkers", 0))

    def stop(self) -> None:
        for p in reversed(self.processes):
            if p.poll() is None:
                p.terminate()
        for p in self.processes:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_home() -> Path:
    """The Spark distribution inside the Spark environment's pyspark package (jars,
    bin/spark-class)."""
    out = subprocess.run([spark_python(), "-c", "import os, pyspark; print(os.path.dirname(pyspark.__file__))"],
                         check=True, capture_output=True, text=True, timeout=120)
    return Path(out.stdout.strip().splitlines()[-1])


def start_standalone_cluster(workdir: Path, workers: int = 2, cores: int = 1,
                             memory: str = "1g", timeout: float = 120.0) -> StandaloneCluster:
    """Start `spark-class ...deploy.master.Master` and `workers` x `...deploy.worker.Worker`
    bound to 127.0.0.1; return once every worker registered (else stop them and raise)."""
    home = spark_home()
    spark_class = home / "bin" / "spark-class"
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**spark_process_env(), "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_LOG_DIR": str(workdir / "logs")}
    port, ui = _free_port(), _free_port()
    master_url, ui_url = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui}"
    procs: list[subprocess.Popen] = []

    def launch(name: str, args: list[str]) -> None:
        log = (workdir / f"{name}.log").open("w")
        procs.append(subprocess.Popen([str(spark_class), *args], env=env, stdout=log,
                                      stderr=subprocess.STDOUT, cwd=workdir))

    launch("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                      "--port", str(port), "--webui-port", str(ui)])
    cluster = StandaloneCluster(master_url, ui_url, procs, workdir)
    try:
        _wait(lambda: cluster.alive_workers() >= 0, timeout, "the master's web UI", procs)
        for i in range(workers):
            launch(f"worker-{i}", ["org.apache.spark.deploy.worker.Worker", master_url,
                                   "--host", "127.0.0.1", "--cores", str(cores), "--memory", memory,
                                   "--webui-port", str(_free_port()),
                                   "--work-dir", str(workdir / f"worker-{i}")])
        _wait(lambda: cluster.alive_workers() >= workers, timeout,
              f"{workers} workers to register", procs)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait(ready, timeout: float, what: str, procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError(f"a Spark process exited while waiting for {what}: "
                               f"{' '.join(map(str, dead[0].args[1:2]))} (exit {dead[0].returncode})")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"Spark standalone cluster: no {what} after {timeout:.0f} s")


# ---- the whole pipeline on Spark (`qualitrace run --engine spark`) ----------------------

def spark_dbt_executable(settings) -> Path:
    """An executable that runs dbt in the Spark environment (what dagster-dbt invokes for a
    run on Spark, in place of the DuckDB environment's dbt; `spark_dbt_command`), killed when
    the process that started it dies."""
    from orchestration.lib.dbt_project import guard_script, write_executable

    return write_executable(settings.home / "dbt" / "bin" / "dbt-spark",
                            guard_script(spark_dbt_command([])))


def spark_run_env(settings, master: str | None) -> dict[str, str]:
    """Environment of a dbt invocation on Spark for a pipeline run: where the landing and
    the tables are, the Spark environment's Python for Spark's workers, this repository
    importable; the landing must have been exported (`export_landing`) first."""
    from orchestration.lib.dbt_project import ensure_dictionary_files

    paths = spark_paths(settings.home)
    dictionary = ensure_dictionary_files(settings)
    env = spark_process_env({})
    keep = ("PYTHONPATH", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")
    return {**{k: env[k] for k in keep}, **spark_env(paths, dictionary, master)}


# the schemas a Spark build writes that the gate, publishing and reports read
LINKED_SCHEMAS = ("staging", "intermediate", "marts_build", "governance")


def link_spark_tables(settings) -> list[str]:
    """Make the Spark build's tables readable in the home's DuckDB warehouse, in place: one
    view per table directory (`<schema>.<table>` over its Parquet files), replacing a table
    of that name that a DuckDB build left. Timestamps come back as naive UTC, as the DuckDB
    build writes them (Spark's Parquet timestamps are instants). Returns `schema.table` of
    every view made."""
    from orchestration.lib.warehouse import connect

    paths = spark_paths(settings.home)
    found = [(d.parent.name[:-3], d.name) for d in sorted(paths.warehouse.glob("*.db/*"))
             if d.parent.name[:-3] in LINKED_SCHEMAS and any(d.glob("*.parquet"))]
    linked = []
    with connect(settings) as c:
        kinds = {(s, n): t for s, n, t in c.execute(
            "select table_schema, table_name, table_type from information_schema.tables"
        ).fetchall()}
        for schema, table in found:
            glob = paths.table_glob(schema, table).replace("'", "''")
            columns = c.execute(f"describe select * from read_parquet('{glob}')").fetchall()
            select = ", ".join(
                f'timezone(\'UTC\', "{name}") as "{name}"' if kind == "TIMESTAMP WITH TIME ZONE"
                else f'"{name}"' for name, kind, *_ in columns)
            c.execute(f'create schema if not exists "{schema}"')
            if kinds.get((schema, table)) == "BASE TABLE":
                c.execute(f'drop table "{schema}"."{table}"')
            c.execute(f'create or replace view "{schema}"."{table}" as '
                      f"select {select} from read_parquet('{glob}')")
            linked.append(f"{schema}.{table}")
    return linked

