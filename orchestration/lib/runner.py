"""`qualitrace run`: materialise every asset of the code location in-process.

Holds the home's run lock for the whole run (a second run waits `--wait` seconds, then
stops with exit 3), prints one line per materialised asset, writes the full event log to
`<home>/logs/run-<ts>.log`, and ends with a summary read from the warehouse.

Exit codes: 0 done; 1 a blocking check stopped the run; 2 another failure; 3 busy.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from orchestration.lib import dbt_warm, freshness
from orchestration.lib.partial_build import PARTIAL_PREFIX, UNCHANGED_META
from orchestration.lib.pii import pii_salt
from orchestration.lib.quality.after_run import LAUNCHED_BY_TAG
from orchestration.lib.settings import Settings, get_settings, home_write_problem
from orchestration.lib.warehouse import (
    WarehouseBusy,
    connect,
    kept_open,
    run_lock,
    stored_relations,
)

EXIT_OK, EXIT_BLOCKED, EXIT_FAILED, EXIT_BUSY, EXIT_NO_INPUT = 0, 1, 2, 3, 4

MULTI_ASSET_STEPS = ("dbt_models", "publish_marts")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

LOG_FLUSH_S = 1.0  # the run log is flushed at least this often, and at every step boundary
# the events that start or end a step or the run; not STEP_OUTPUT (one per asset and per
# check: a one-file run has ~1,300 events)
STEP_BOUNDARIES = frozenset({"STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED",
                             "STEP_UP_FOR_RETRY", "STEP_RESTARTED"})


def flushes_log(kind: str) -> bool:
    """Whether an event of this kind is written through to the run log at once."""
    return kind in STEP_BOUNDARIES or kind.startswith(("PIPELINE_", "RUN_"))

LAYERS = ("raw", "staging", "intermediate", "governance", "marts_build", "marts")


@dataclass
class RunProgress:
    """What the run did, gathered from Dagster's event stream as it happens."""

    total_assets: int
    out: TextIO
    log: TextIO
    done: int = 0
    step_started: dict[str, float] = field(default_factory=dict)
    checks_passed: list[str] = field(default_factory=list)
    checks_failed: list[tuple[str, str, str, bool, str]] = field(default_factory=list)
    dbt_tests: dict[str, str] = field(default_factory=dict)  # failed check -> dbt unique_id
    step_failures: list[tuple[str, str]] = field(default_factory=list)
    skipped_steps: list[str] = field(default_factory=list)
    evaluations: list = field(default_factory=list)
    materialized: set[str] = field(default_factory=set)
    run_id: str = ""
    live: int = 0
    unchanged_since: dict | None = None  # set when dbt, gate and publish were skipped
    flushed: float = 0.0  # time.monotonic() of the log's last flush

    def __call__(self, entry) -> None:
        try:
            self._handle(entry)
        except Exception as e:  # noqa: BLE001 - progress must never break the run
            self.log.write(f"(progress display error: {e!r})\n")

    def _handle(self, entry) -> None:
        ev = entry.dagster_event
        stamp = datetime.fromtimestamp(entry.timestamp, UTC).strftime("%H:%M:%S")
        kind = ev.event_type_value if ev else "LOG"
        msg = (ev.message if ev and ev.message else entry.user_message) or ""
        self.log.write(f"{stamp} {entry.step_key or '-':<28} {kind:<26} {msg}\n")
        # written through at step and run boundaries, else at most every LOG_FLUSH_S: a reader
        # following the log sees each step's start and end at once, everything else within a
        # second (a flush per event showed in profiles, not in the run's wall time)
        now = time.monotonic()
        if flushes_log(kind) or now - self.flushed >= LOG_FLUSH_S:
            self.log.flush()
            self.flushed = now
        if ev is None:
            text = entry.user_message or ""
            if text.startswith(freshness.UNCHANGED_PREFIX):
                self.unchanged_since = _unchanged_record(text)
                self._say(f"         dbt_models: nothing changed since run "
                          f"{self.unchanged_since.get('run_id', '?')[:8]}: nothing to build, "
                          f"check or publish")
            elif text.startswith(PARTIAL_PREFIX):
                self._say(f"         dbt_models: {text}")
            elif text.startswith("dbt built: ") and self.out.isatty():
                self.live += 1
                self.out.write(f"\r         {text.split()[2]}: {self.live} models built ...")
                self.out.flush()
            return
        step = ev.step_key or ""
        if kind == "STEP_START":
            self.step_started[step] = time.monotonic()
            if step in MULTI_ASSET_STEPS:
                self._say(f"         {step}: running ...")
        elif kind == "ASSET_MATERIALIZATION":
            mat = ev.event_specific_data.materialization
            self.materialized.add(mat.asset_key.to_user_string())
            self.done += 1
            rows = mat.metadata.get("dagster/row_count")
            rows_txt = f"{rows.value:>12,} rows" if rows is not None else " " * 17
            if UNCHANGED_META in mat.metadata:
                rows_txt = f"{'unchanged':>17}"
            width = len(str(self.total_assets))
            took = ""
            if step not in MULTI_ASSET_STEPS:
                took = f" {time.monotonic() - self.step_started.get(step, time.monotonic()):7.1f}s"
            self._say(f"[{self.done:>{width}}/{self.total_assets}] "
                      f"{mat.asset_key.to_user_string():<48}{rows_txt}{took}")
        elif kind == "STEP_SUCCESS" and step in MULTI_ASSET_STEPS and not (
                step == "dbt_models" and self.unchanged_since is not None):
            took = time.monotonic() - self.step_started.get(step, time.monotonic())
            self._say(f"         {step}: done in {took:.1f}s")
        elif kind == "ASSET_CHECK_EVALUATION":
            ce = ev.event_specific_data
            self.evaluations.append(ce)
            name = f"{ce.asset_key.to_user_string()}:{ce.check_name}"
            if ce.passed:
                self.checks_passed.append(name)
            else:
                severity = getattr(ce.severity, "value", str(ce.severity))
                reason = _check_reason(ce)
                blocking = bool(getattr(ce, "blocking", False)) and severity == "ERROR"
                self.checks_failed.append((ce.check_name, ce.asset_key.to_user_string(),
                                           severity, blocking, reason))
                uid = (getattr(ce, "metadata", {}) or {}).get("unique_id")
                if uid is not None:
                    self.dbt_tests[ce.check_name] = str(getattr(uid, "value", uid))
                mark = "BLOCKING" if blocking else severity
                self._say(f"         check failed ({mark}): {name}: {reason}")
        elif kind == "STEP_FAILURE":
            text = _error_text(ev.step_failure_data.error) or _first_line(msg)
            self.step_failures.append((step, text))
            self._say(f"         step failed: {step}: {text}")
        elif kind == "STEP_SKIPPED":
            self.skipped_steps.append(step)

    def _say(self, line: str) -> None:
        if self.live and self.out.isatty():
            self.out.write("\r\x1b[K")
            self.live = 0
        self.out.write(line + "\n")
        self.out.flush()


def _unchanged_record(text: str) -> dict:
    import json

    try:
        record = json.loads(text[len(freshness.UNCHANGED_PREFIX):])
    except ValueError:
        record = None
    return record if isinstance(record, dict) else {}


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in _ANSI.sub("", text or "").splitlines() if ln.strip()]
    for ln in lines:  # skip Dagster's wrapper line if a cause follows
        if not ln.startswith("dagster._core.errors") and "Error occurred while" not in ln:
            return ln[:400]
    return lines[0][:400] if lines else "unknown error"


def _error_text(err) -> str:
    """The innermost cause of a Dagster SerializableErrorInfo, on one line."""
    if err is None:
        return ""
    while getattr(err, "cause", None) is not None:
        err = err.cause
    return _first_line(err.message)


def _check_reason(ce) -> str:
    if getattr(ce, "description", None):
        return _first_line(ce.description)
    md = {k: getattr(v, "value", v) for k, v in (getattr(ce, "metadata", {}) or {}).items()}
    if "unique_id" in md:  # a dbt test: say what failed, not dagster-dbt's internals
        n = md.get("dagster_dbt/failed_row_count")
        return (f"dbt test {ce.check_name} on {ce.asset_key.to_user_string()}: "
                + (f"{n} failing row(s)" if n is not None else f"status {md.get('status')}")
                + f" [{md['unique_id']}]")
    parts = [f"{k}={v}" for k, v in list(md.items())[:4]
             if k not in ("Execution Duration", "invocation_id")]
    return ", ".join(parts) or "no detail"


def dbt_test_examples(settings: Settings, unique_id: str, limit: int = 3) -> str | None:
    """Example failing rows of a dbt test after dbt has finished: its compiled SQL from the
    latest run_results.json, run read-only on the warehouse. None when unavailable."""
    import json as _json

    from orchestration.lib.warehouse import connect

    results = sorted(settings.dbt_target.glob("*/run_results.json"),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    code = None
    for path in results:
        try:
            doc = _json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        code = next((r.get("compiled_code") for r in doc.get("results", [])
                     if r.get("unique_id") == unique_id and r.get("compiled_code")), None)
        if code:
            break
    if not code:
        return None
    try:
        with connect(settings, read_only=True) as con:
            cur = con.execute(f"select * from ({code}) as failing limit {int(limit)}")
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
    except Exception:  # noqa: BLE001 - examples are a courtesy; the failure stands
        return None
    shown = ["{" + ", ".join(f"{c}={v!r}" for c, v in zip(cols, r)) + "}" for r in rows]
    return "e.g. " + "; ".join(shown) if shown else None


def main(args) -> int:
    """Entry point for `qualitrace run` (args: home, exports, wait)."""
    settings = get_settings(getattr(args, "home", None), getattr(args, "exports", None))
    # Everything that loads later (definitions, assets) reads the same home and exports.
    os.environ["QUALITRACE_HOME"] = str(settings.home)
    os.environ["QUALITRACE_EXPORTS"] = str(settings.exports)
    problem = home_write_problem(settings.home)
    if problem:  # one line, no traceback (exit 2: the run could not start)
        print(f"qualitrace run: {problem} (choose another --home or fix its permissions)",
              file=sys.stderr, flush=True)
        return EXIT_FAILED
    try:
        with run_lock(settings, timeout=float(getattr(args, "wait", 0) or 0)), \
                _engine_for_run(settings, args) as ready:
            if not ready:
                return EXIT_FAILED
            return run(settings, sys.stdout, rebuild=bool(getattr(args, "rebuild", False)))
    except WarehouseBusy as e:
        print(f"qualitrace run: stopped: {e}", file=sys.stderr, flush=True)
        return EXIT_BUSY


@contextlib.contextmanager
def _engine_for_run(settings: Settings, args):
    """The engine of this run (lib/engine.py) in the environment every later step reads;
    with --local-cluster, a Spark standalone cluster for the run's duration. Yields False
    (after saying why) when the engine cannot be used."""
    from orchestration.lib.engine import (
        ENGINE_ENV,
        MASTER_ENV,
        SPARK,
        EngineError,
        resolve_engine,
    )

    try:
        engine = resolve_engine(getattr(args, "engine", None))
    except EngineError as e:
        print(f"qualitrace run: {e}", file=sys.stderr, flush=True)
        yield False
        return
    master, workers = getattr(args, "spark_master", None), getattr(args, "local_cluster", None)
    if engine != SPARK:
        if master or workers:
            print("qualitrace run: --spark-master and --local-cluster need --engine spark",
                  file=sys.stderr, flush=True)
            yield False
            return
        os.environ[ENGINE_ENV] = engine
        yield True
        return
    from orchestration.lib.spark import SparkNotInstalled, spark_paths, spark_python

    try:
        spark_python()
    except SparkNotInstalled as e:
        print(f"qualitrace run: --engine spark: {e}", file=sys.stderr, flush=True)
        yield False
        return
    cluster = None
    if workers:
        from orchestration.lib.spark import start_standalone_cluster

        print(f"starting a Spark standalone master and {workers} workers on 127.0.0.1 ...",
              flush=True)
        cluster = start_standalone_cluster(spark_paths(settings.home).root / "cluster",
                                           workers=workers)
        master = cluster.master_url
        print(f"Spark master {master}; Spark UI {cluster.ui_url}", flush=True)
    os.environ[ENGINE_ENV] = engine
    if master:
        os.environ[MASTER_ENV] = master
    print(f"engine: Apache Spark ({master or 'local[2] in the dbt process'}); dbt's tables: "
          f"{spark_paths(settings.home).warehouse}", flush=True)
    try:
        yield True
    finally:
        if cluster is not None:
            cluster.stop()


def _no_deliveries(settings: Settings) -> str | None:
    """A message when the exports folder holds no delivery at all, else None."""
    from orchestration.lib.dictionary import load_dictionary
    from orchestration.lib.ingest.discover import discover

    found = discover(settings.exports, load_dictionary())
    if any(f.entity for f in found):
        return None
    other = len([f for f in found if f.reason])
    return (f"no export files under {settings.exports}: expected "
            f"<erp|mes|qms|crm>/<entity>_<YYYYMMDD>[_<n>].<csv|tsv|txt|xlsx|jsonl>"
            + (f" ({other} other path(s) found; see `qualitrace dictionary suggest`)"
               if other else "") + "; nothing was run or published")


def run(settings: Settings, out: TextIO, selection: list | None = None,
        rebuild: bool = False) -> int:
    """Materialise everything (or the `selection` of asset keys, with their checks); print
    progress and a summary; return the exit code.

    When nothing the marts are computed from changed since the last publish, the pipeline's
    dbt step builds nothing and Dagster skips the gate and publish (lib/freshness.py), unless
    `rebuild` (the run tag `qualitrace/rebuild`)."""
    settings.ensure()
    if not settings.exports.is_dir():
        print(f"qualitrace run: no exports folder at {settings.exports} "
              f"(generate one with `qualitrace generate --out {settings.exports}`)",
              file=sys.stderr)
        return EXIT_FAILED
    if selection is None:
        problem = _no_deliveries(settings)
        if problem:  # nothing to run on: say so, publish nothing (the old marts stay)
            print(f"qualitrace run: {problem}", file=sys.stderr, flush=True)
            return EXIT_NO_INPUT
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for private in (logs, settings.home / "dbt"):  # dbt's command line carries the salt
        private.mkdir(parents=True, exist_ok=True)
        private.chmod(0o700)
    log_path = logs / f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}.log"
    started = time.monotonic()
    # the warehouse stays open between steps (dbt's step closes it while dbt runs)
    with kept_open(settings):
        with open(log_path, "w", encoding="utf-8") as log:
            out.write(f"qualitrace run: home {settings.home}\n"
                      f"               exports {settings.exports}\n")
            out.flush()
            progress, success = _execute(settings, out, log, selection, rebuild)
            _record_governance(settings, progress, log)
        elapsed = time.monotonic() - started
        _summary(settings, progress, out, log_path, elapsed)
    blocking = [c for c in progress.checks_failed if c[3]]
    if blocking:
        name, asset, _sev, _b, reason = blocking[0]
        examples = (dbt_test_examples(settings, progress.dbt_tests[name])
                    if name in progress.dbt_tests else None)
        print(f"stopped: blocking check {name} on {asset} failed: {reason}"
              + (f"; {examples}" if examples else ""), file=out)
        return EXIT_BLOCKED
    if not success:
        step, text = (progress.step_failures or [("run", "failed (see the log)")])[0]
        print(f"failed: {step}: {text} (log: {log_path})", file=out)
        return EXIT_FAILED
    return EXIT_OK


def _record_governance(settings: Settings, progress: RunProgress, log: TextIO) -> None:
    """After every run, blocked ones included: `close_run` (check results, report), as the
    `governance_after_stopped_run` sensor does for runs started elsewhere."""
    if not progress.run_id:
        return
    try:
        from orchestration.lib.quality.after_run import close_run

        instance = home_instance(settings)
        try:
            # nothing rebuilt: the report still describes the published marts
            close_run(settings, instance, progress.run_id, render=not progress.unchanged_since)
        finally:
            instance.dispose()
    except Exception as e:  # noqa: BLE001 - the report must not turn a good run red
        import traceback
        traceback.print_exc(file=log)
        progress.out.write(f"(governance report not refreshed: {_first_line(str(e))})\n")


def _execute(settings: Settings, out: TextIO, log: TextIO,
             selection: list | None = None, rebuild: bool = False) -> tuple[RunProgress, bool]:
    handler = logging.StreamHandler(log)
    handler.setLevel(logging.INFO)
    saved = []
    for name in ("dagster", "dagster_dbt", "dbt", "qualitrace"):
        lg = logging.getLogger(name)
        saved.append((lg, lg.propagate))
        lg.addHandler(handler)
        lg.propagate = False
    warm = _start_warm_dbt(settings, log)  # first: its imports overlap the steps before dbt
    try:
        return _execute_quietly(settings, out, log, selection, rebuild)
    finally:
        if warm is not None:
            warm.stop()
        for lg, propagate in saved:
            lg.removeHandler(handler)
            lg.propagate = propagate


def _execute_quietly(settings: Settings, out: TextIO, log: TextIO,
                     selection: list | None, rebuild: bool = False) -> tuple[RunProgress, bool]:
    _parse_dbt_meanwhile(settings)  # first: it overlaps loading the code location and ingest
    import dagster as dg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out.write("loading the code location (dbt manifest, dictionary, checks) ...\n")
        out.flush()
        try:
            from orchestration.lib.dbt_project import ensure_manifest

            ensure_manifest()  # `qualitrace prepare`: parse only when the dbt project changed
            from orchestration.definitions import defs
            job = defs.resolve_implicit_global_asset_job_def()
            keys = defs.resolve_asset_graph().executable_asset_keys
            if selection is not None:
                selection = [dg.AssetKey.from_coercible(k) for k in selection]
                keys = [k for k in keys if k in set(selection)]
            total = len(keys)
        except Exception as e:  # noqa: BLE001 - report in one line, full trace in the log
            import traceback
            traceback.print_exc(file=log)
            progress = RunProgress(total_assets=0, out=out, log=log)
            progress.step_failures.append(("code location", _first_line(str(e))))
            return progress, False
        progress = RunProgress(total_assets=total, out=out, log=log)
        instance = home_instance(settings)
        try:
            _release_abandoned_runs(instance, log)
            success = _run_once(out, log, job, instance, total, selection, rebuild, progress)
        finally:
            instance.dispose()
    return progress, success


def home_instance(settings: Settings):
    """The home's persistent Dagster instance (`<home>/dagster`, the one `qualitrace dev`
    serves): CLI runs, their materialisations and check results show in the UI."""
    import dagster as dg

    from orchestration.lib.devserver import write_instance_config

    write_instance_config(settings)
    return dg.DagsterInstance.from_config(str(settings.dagster_home))


def _release_abandoned_runs(instance, log: TextIO) -> None:
    """Runs of this CLI left unfinished (the process was killed) are marked failed and their
    `warehouse` pool slot is freed; otherwise the next run would wait for it forever. Safe:
    the caller holds the home's run lock, so no other CLI run is alive."""
    import dagster as dg
    from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES

    runs = instance.get_runs(filters=dg.RunsFilter(statuses=NOT_FINISHED_STATUSES,
                                                   tags={LAUNCHED_BY_TAG: "cli"}))
    for stale in runs:
        instance.report_run_failed(stale, message="the qualitrace run process ended "
                                                  "before this run finished (killed?)")
        instance.event_log_storage.free_concurrency_slots_for_run(stale.run_id)
        log.write(f"released abandoned run {stale.run_id}\n")


def _start_warm_dbt(settings: Settings, log: TextIO):
    """A warm dbt for this run (lib/dbt_warm.py), except on Spark (dbt runs in the Spark
    environment) or with QUALITRACE_NO_WARM_DBT set; None when not started."""
    from orchestration.lib.dbt_project import DBT_STEPS
    from orchestration.lib.engine import ENGINE_ENV, SPARK

    if os.environ.get(ENGINE_ENV) == SPARK or os.environ.get(dbt_warm.OFF_ENV):
        return None
    try:
        return dbt_warm.start(settings.dbt_target / DBT_STEPS[0] / "partial_parse.msgpack")
    except Exception as e:  # noqa: BLE001 - only an optimisation: dbt starts itself otherwise
        log.write(f"(warm dbt not started: {e!r})\n")
        return None


def _parse_dbt_meanwhile(settings: Settings) -> None:
    """A new home: dbt parses in the background while the code location loads and ingest
    runs (see dbt_project). Started before anything heavy is imported."""
    try:
        from orchestration.lib.dbt_project import DBT_STEPS, start_background_parse

        start_background_parse(settings, DBT_STEPS, pii_salt(settings))
    except Exception as e:  # noqa: BLE001 - only an optimisation: dbt parses itself otherwise
        print(f"(background dbt parse not started: {e})", file=sys.stderr)


def _run_once(out: TextIO, log: TextIO, job, instance, total: int, selection, rebuild: bool,
              progress: RunProgress) -> bool:
    """One Dagster run of the selection. Whether dbt, the gate and publish have anything to
    do is the pipeline's decision (the dbt step, lib/freshness.py), as for runs started
    elsewhere."""
    from dagster._core.utils import make_new_run_id

    run_id = make_new_run_id()
    progress.run_id = run_id
    instance.add_event_listener(run_id, progress)
    n = total if selection is None else len(selection)
    out.write(f"materialising {n} assets (run {run_id[:8]}, log {log.name})\n")
    out.flush()
    tags = {LAUNCHED_BY_TAG: "cli", **({freshness.REBUILD_TAG: "true"} if rebuild else {})}
    try:
        with contextlib.redirect_stdout(log):  # dagster-dbt echoes dbt's log to stdout
            result = job.execute_in_process(
                instance=instance,
                run_id=run_id,
                raise_on_error=False,
                asset_selection=selection,
                run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
                tags=tags,
            )
        return result.success
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc(file=log)
        progress.step_failures.append(("run", _first_line(str(e))))
        return False


def layer_rows(settings: Settings) -> dict[str, int]:
    """Rows per warehouse layer, for the summary, from tables only (a view would be run).

    Staging is views over raw: its valid rows are the raw entity rows less the rows
    staging rejected (`governance.staging_rejects`, one row per rejected raw row)."""
    out: dict[str, int] = {}
    with connect(settings, read_only=True) as con:
        rels = stored_relations(con, LAYERS)
        for schema, name in sorted(rels):
            if schema == "staging" or (schema == "raw" and name.startswith("_")):
                continue  # staging: below; raw ledgers are not data
            n = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
            out[schema] = out.get(schema, 0) + n
        if ("governance", "staging_rejects") in rels and "raw" in out:
            rejected = con.execute("select count(*) from governance.staging_rejects").fetchone()[0]
            out["staging"] = out["raw"] - rejected
    return out


def _query(settings: Settings, sql: str) -> list[tuple]:
    try:
        with connect(settings, read_only=True) as con:
            return con.execute(sql).fetchall()
    except Exception:  # noqa: BLE001 - table not built (yet): nothing to show
        return []


def _summary_loop(settings: Settings, w) -> None:
    """Open escalations and the hold list, as the summary's closing-the-loop lines."""
    esc = _query(settings, "select severity, rule, summary from marts.escalations "
                           "where status = 'open' order by case severity when 'critical' then 0 "
                           "when 'high' then 1 else 2 end, last_seen desc, rule")
    w(f"  escalations open: {len(esc)}" + ("" if esc else " (none)") + "\n")
    for severity, rule, summary in esc[:8]:
        w(f"    [{severity}] {rule}: {summary}\n")
    if len(esc) > 8:
        w(f"    ... {len(esc) - 8} more: qualitrace escalations\n")
    holds = _query(settings, "select suspect_kind, suspect_id, count(*), sum(units_in_stock), "
                             "sum(units_in_transit), sum(units_in_field) from marts.hold_list "
                             "group by 1, 2 order by 4 desc, 1, 2")
    w(f"  holds: {sum(h[2] for h in holds)} batches of {len(holds)} suspects"
      + ("" if holds else " (none)") + "\n")
    for kind, sid, n, stock, transit, in_field in holds[:8]:
        w(f"    {kind} {sid}: {n} batches, {stock or 0:,} in stock, {transit or 0:,} in "
          f"transit, {in_field or 0:,} in the field\n")
    if len(holds) > 8:
        w(f"    ... {len(holds) - 8} more: qualitrace holds\n")


def _summary_dictionary_fix(settings: Settings, quarantined: dict[str, int], w) -> None:
    from orchestration.lib.quality.advice import dictionary_fix_hint
    from orchestration.lib.quality.report import SUGGESTIONS

    draft = settings.reports / SUGGESTIONS
    hint = dictionary_fix_hint(quarantined, str(draft) if draft.is_file() else None,
                               str(settings.home / "dictionary"))
    if hint:
        w(f"  {hint}\n")


def _summary(settings: Settings, p: RunProgress, out: TextIO, log_path: Path,
             elapsed: float) -> None:
    w = out.write
    w(f"\nsummary ({elapsed:.0f}s)\n")
    try:
        rows = layer_rows(settings) if settings.warehouse.exists() else {}
    except Exception as e:  # noqa: BLE001
        rows = {}
        w(f"  rows per layer: unavailable ({_first_line(str(e))})\n")
    if rows:
        w("  rows per layer: " + ", ".join(f"{k} {rows[k]:,}" for k in LAYERS if k in rows) + "\n")
    if p.unchanged_since:
        w(f"  nothing changed since run {p.unchanged_since.get('run_id', '?')[:8]} "
          f"(published {p.unchanged_since.get('published_at', '?')[:19]}): same files, "
          f"dictionary, dbt project, expectations and code, so dbt, the quality gate and "
          f"publish were skipped; the published marts are current\n")
    w(f"  assets materialised: {p.done}/{p.total_assets}"
      + (f", steps skipped: {len(p.skipped_steps)}" if p.skipped_steps else "") + "\n")
    counts = _query(settings, "select count(*), count(*) filter (where passed), count(*) filter "
                              "(where not passed and severity = 'WARN'), count(*) filter (where "
                              "not passed and severity = 'ERROR') from governance.check_results "
                              f"where run_id = '{p.run_id}'") if p.run_id else []
    if counts and counts[0][0]:
        n, ok, warn, err = counts[0]
        w(f"  checks: {n} ({ok} passed, {warn} WARN failed, {err} ERROR failed: the governance "
          f"report's figures)"
          + (" failing on " + ", ".join(sorted({a for _, a, *_ in p.checks_failed})[:5])
             if p.checks_failed else "") + "\n")
    else:
        w(f"  checks: {len(p.checks_passed)} passed, {len(p.checks_failed)} failed"
          + (" (" + ", ".join(f"{a}:{n}" for n, a, *_ in p.checks_failed[:5]) + ")"
             if p.checks_failed else "") + "\n")
    q = _query(settings, "select reason_code, count(*) from governance.quarantine "
                         "group by 1 order by 2 desc, 1")
    if q:
        w(f"  rows quarantined: {sum(n for _, n in q):,} ("
          + ", ".join(f"{r} {n:,}" for r, n in q) + ")\n")
        _summary_dictionary_fix(settings, dict(q), w)
    from orchestration.lib.marts_cli import FDR

    top = _query(settings, "select problem_type_code, suspect_kind, suspect_id, lift, p_value, "
                           "q_value from marts.suspect_ranking where rank = 1 "
                           f"and q_value <= {FDR} order by p_value, lift desc limit 8")
    if top:
        w(f"  top suspects (rank 1 per problem type, false discovery rate q <= {FDR}; "
          f"all: qualitrace suspects):\n")
        for code, kind, sid, lift, pv, qv in top:
            lift_t = f"{lift:.1f}x" if isinstance(lift, (int, float)) else str(lift)
            pv_t = f"{pv:.1e}" if isinstance(pv, (int, float)) else str(pv)
            qv_t = f"{qv:.1e}" if isinstance(qv, (int, float)) else str(qv)
            w(f"    {code:<6} {kind:<13} {sid!s:<24} lift {lift_t:>7}  p {pv_t}  q {qv_t}\n")
    _summary_loop(settings, w)
    w(f"  warehouse: {settings.warehouse}\n  marts (parquet): {settings.parquet_dir}\n"
      f"  reports: {settings.reports} (dashboard.html, index.html)\n  log: {log_path}\n")
    out.flush()
