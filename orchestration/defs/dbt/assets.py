"""dbt models as Dagster assets: one `dbt build` of every model (`dbt_models`).

The marts are built into `marts_build` (green) in the same invocation; the GX checks
(blocking) sit on the staging/intermediate/governance keys and `publish` (blue) depends
directly on each of them, so a failed ERROR check stops publish and the published marts stay.
dbt unit tests are not part of a run (dbt's advice for production); the test suite runs them.
"""


import contextlib
import functools
import os
import re
import time
from collections.abc import Iterable, Iterator

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.lib.dbt_project import (
    TESTS_SCOPE_ENV,
    adopt_background_parse,
    dbt_env,
    ensure_dictionary_files,
    get_dbt_project,
    guarded_dbt_executable,
    staging_tests_scope,
    widen_output_pipe,
)
from orchestration.lib.dbt_selection import remember_selections
from orchestration.lib.dbt_translator import QualitraceDbtTranslator
from orchestration.lib.engine import DUCKDB, SPARK
from orchestration.lib.home_resource import QualitraceHome
from orchestration.lib.pii import ENV_VAR as SALT_ENV
from orchestration.lib.pii import pii_salt
from orchestration.lib.settings import Settings
from orchestration.lib.warehouse import connect, release, stored_relations, warehouse_lock

PROJECT = get_dbt_project()
TRANSLATOR = QualitraceDbtTranslator()
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
PROGRESS_PREFIX = "dbt built: "  # live progress lines, read by `qualitrace run`


class DbtBuildFailed(RuntimeError):
    """`dbt build` reported errors; the message names the failing nodes."""


class QualitraceDbtCli(DbtCliResource):
    """dbt's CLI, without dagster-dbt's in-process dbt adapter.

    dagster-dbt opens a dbt adapter in the Dagster process before every invocation (profile,
    project and adapter loading: about 3-4 s here), used only to fetch column metadata and
    row counts on request. Row counts come from the build itself (each table says its count in
    dbt's log: macros/adapters/report_row_count.sql), on Spark from `_row_counts`, so it is
    skipped.
    """

    def _initialize_dbt_core_adapter(self, args):
        return None

    @functools.cached_property
    def _cli_version(self):
        """dbt-core's version from the package metadata: dagster-dbt runs `dbt --version`
        (a 2 s interpreter start) on every invocation to learn it. The executable is this
        environment's dbt (see `guarded_dbt_executable`), so the two agree."""
        from importlib.metadata import version as dist_version

        from packaging.version import parse

        return parse(dist_version("dbt-core"))


def _run_results(invocation) -> list[dict]:
    try:
        return invocation.get_artifact("run_results.json").get("results", [])
    except Exception:  # noqa: BLE001 - no artifact when dbt died before writing it
        return []


def _failures(results: list[dict]) -> list[str]:
    return [
        f"{r.get('unique_id')}: {r.get('status')}: "
        f"{' '.join(_ANSI.sub('', r.get('message') or '').split())[:400]}"
        for r in results if r.get("status") in ("error", "fail", "runtime error")
    ]


def recovered_check_results(planned: Iterable[dg.AssetCheckKey], received: Iterable[str],
                            results: list[dict], nodes: dict) -> list[dg.AssetCheckResult]:
    """Check results dbt wrote to run_results.json whose event never reached Dagster (a
    line of dbt's output spliced by another writer is dropped by dagster-dbt's parser): built
    from the artifact, so a verdict, a failed ERROR above all, is never silently missing."""
    by_name = {key.name: key for key in planned}
    seen = set(received)
    recovered = []
    for result in results:
        node = nodes.get(result.get("unique_id", ""), {})
        key = by_name.get(node.get("name", ""))
        status = result.get("status")
        if key is None or key.name in seen or node.get("resource_type") != "test" \
                or status not in ("pass", "fail", "warn", "error"):
            continue
        warn = str(node.get("config", {}).get("severity", "error")).lower() == "warn"
        recovered.append(dg.AssetCheckResult(
            asset_key=key.asset_key, check_name=key.name, passed=status == "pass",
            severity=dg.AssetCheckSeverity.WARN if warn else dg.AssetCheckSeverity.ERROR,
            metadata={"status": status, "failures": result.get("failures"),
                      "recovered_from": "run_results.json"}))
    return recovered


ROWS_SAID = "qualitrace_rows="  # macros/adapters/report_row_count.sql


def _node_id(raw_event: dict) -> str | None:
    """The unique_id of the dbt node a line of dbt's JSON log is about, if any."""
    return ((raw_event.get("data") or {}).get("node_info") or {}).get("unique_id")


def reported_row_count(raw_event: dict) -> tuple[str, int] | None:
    """(model's unique_id, rows) when this line of dbt's JSON log is a table's row count said
    by the `report_row_count` post-hook; None for any other line."""
    info = raw_event.get("info") or {}
    msg = info.get("msg")
    if info.get("name") != "JinjaLogInfo" or not isinstance(msg, str) \
            or not msg.startswith(ROWS_SAID):
        return None
    unique_id = _node_id(raw_event)
    try:
        rows = int(msg[len(ROWS_SAID):].strip())
    except ValueError:
        return None
    return (unique_id, rows) if unique_id else None


def _with_row_count(event, rows: int):
    """A model's Output or AssetMaterialization with Dagster's row count; other events as
    they are."""
    if isinstance(event, (dg.Output, dg.AssetMaterialization)):
        return event.with_metadata({**event.metadata, "dagster/row_count": rows})
    return event


def _row_counts(settings, keys: list[dg.AssetKey]) -> dict[dg.AssetKey, int]:
    """Row counts of the tables among `keys` (views are skipped: counting one runs it;
    a Spark table read in place counts from its Parquet files)."""
    counts = {}
    with connect(settings, read_only=True) as con:
        tables = stored_relations(con)
        for key in keys:
            schema, name = key.path[0], key.path[-1]
            if (schema, name) in tables:
                counts[key] = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
    return counts


@contextlib.contextmanager
def _env_while_dbt_starts(values: dict[str, str]):
    """`values` in this process's environment only while dbt starts (dagster-dbt hands dbt a
    copy of os.environ), then the previous values again: nothing leaks into later steps."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


FIRST_SLICE_S = 0.05  # storing the events `first` between two reads of dbt's output


def _for_a_while(items: Iterator, seconds: float) -> Iterator:
    """The next items of `items` for about `seconds` (at least one, if any is left)."""
    until = time.monotonic() + seconds
    for item in items:
        yield item
        if time.monotonic() >= until:
            return


def events_in_dagster_order(lines: Iterable, pending: Iterator, to_events, live: bool,
                            slice_s: float = FIRST_SLICE_S) -> Iterator:
    """dbt's events (`to_events(line)`: a list per line of dbt's log) and the standing events
    `pending` (the models a partial build leaves out), in an order Dagster accepts: a
    multi-asset's outputs must come in topological order, and a model dbt builds may read one
    left standing, so every standing event comes before dbt's first. Until dbt reports its
    first node, standing events go in slices of about `slice_s` between dbt's lines (dbt
    starts meanwhile). Not `live` (Spark: counted after dbt exits), only the standing events
    are yielded here; dbt's are the caller's, from what `to_events` returned."""
    for line in lines:
        produced = to_events(line)
        if produced and live:
            yield from pending
            yield from produced
        else:
            yield from _for_a_while(pending, slice_s)
    yield from pending


def run_dbt_build(context: dg.AssetExecutionContext, settings: Settings,
                  step: str, extra_args: tuple[str, ...] = (), first: Iterable = (),
                  engine: str = DUCKDB, master: str | None = None,
                  tested_files: Iterable[str] | None = None) -> Iterator:
    """`dbt build` of the selected models under the warehouse lock; events with row counts,
    after the events `first` (the models left out of a partial build). `tested_files`: the
    delivered files whose rows the staging tests read (a partial build; lib/freshness.py),
    None: every row.

    `first` is read before dbt starts (it may read the warehouse) and handed to Dagster while
    dbt starts and builds: storing those few hundred events took about a second after dbt
    had finished, while this process only waited for dbt. dbt's own events follow as dbt
    reports each node done, with the row count each table said in dbt's log (DuckDB lets no
    other process open the warehouse while dbt runs, so it cannot be counted from here): stored
    while dbt builds, not in a burst after it (186 events, 0.7 s, in a one-file run).

    On Spark (`engine`, `master`: lib/engine.py) the landing is exported as Parquet first,
    dbt runs in the Spark environment with the `spark` target, and its tables are then
    linked into the warehouse as views over their Parquet files, so the gate and publishing
    read them as they read a DuckDB build.
    """
    from orchestration.lib.quality.gx_engine import prewarm

    env = {**dbt_env(settings), SALT_ENV: pii_salt(settings), **staging_tests_scope(tested_files)}
    if engine == SPARK:
        from orchestration.lib import spark

        dbt = QualitraceDbtCli(project_dir=PROJECT, target=SPARK,
                               dbt_executable=str(spark.spark_dbt_executable(settings)))
    else:
        dbt = QualitraceDbtCli(project_dir=PROJECT,
                               dbt_executable=str(guarded_dbt_executable(settings)))
        adopt_background_parse(settings, step)
    ensure_dictionary_files(settings)
    args = ["build", "--no-use-colors", "--exclude-resource-type", "unit_test", *extra_args]
    first = list(first)
    release(settings)  # dbt opens the file in its own process
    with warehouse_lock(settings):
        if engine == SPARK:
            rows = spark.export_landing(settings.warehouse, spark.spark_paths(settings.home).landing)
            context.log.info(f"Spark ({master or 'local[2] in the dbt process'}): landing "
                             f"exported as Parquet, {sum(rows.values())} rows of {len(rows)} tables")
            env.update(spark.spark_run_env(settings, master))  # names the exported tables
        # The home and the salt reach dbt through its environment only (the salt is not on
        # the command line, which any user can list); removed again once dbt has started.
        with _env_while_dbt_starts(env):
            invocation = dbt.cli(args, context=context, raise_on_error=False,
                                 target_path=settings.dbt_target / step)
        widen_output_pipe(invocation.process)  # dbt does not wait while this thread stores events
        # GX's import (3 s of CPU) overlaps dbt, which runs in its own process; started once
        # dbt is on its way, as this thread shares the interpreter with it
        prewarm()
        # `first` goes to Dagster while dbt starts, all of it before dbt's first event
        # (events_in_dagster_order); dbt's events follow as dbt reports its nodes, except on
        # Spark, where the tables are counted once dbt has exited
        pending = iter(first)
        yield from _for_a_while(pending, FIRST_SLICE_S * 10)  # dbt starts: it writes little
        live = engine != SPARK
        events, rows = [], {}

        def to_events(raw) -> list:
            reported = reported_row_count(raw.raw_event)
            if reported is not None:
                rows[reported[0]] = reported[1]
                return []
            unique_id = _node_id(raw.raw_event)
            produced = []
            for event in raw.to_default_asset_events(
                    manifest=invocation.manifest, context=context, project=invocation.project,
                    dagster_dbt_translator=invocation.dagster_dbt_translator,
                    target_path=invocation.target_path):
                if unique_id in rows:
                    event = _with_row_count(event, rows[unique_id])
                produced.append(event)
                if isinstance(event, dg.Output):
                    context.log.info(f"{PROGRESS_PREFIX}{step} "
                                     f"{context.asset_key_for_output(event.output_name).to_user_string()}")
            events.extend(produced)
            return produced

        yield from events_in_dagster_order(invocation.stream_raw_events(), pending, to_events,
                                           live)
        if not live:
            keys = [e.asset_key for e in events
                    if isinstance(e, (dg.Output, dg.AssetMaterialization))
                    and getattr(e, "asset_key", None)]
            if not keys:
                keys = [context.asset_key_for_output(e.output_name)
                        for e in events if isinstance(e, dg.Output)]
            linked = spark.link_spark_tables(settings)
            context.log.info(f"Spark build linked into the warehouse: {len(linked)} tables read "
                             f"in place from {spark.spark_paths(settings.home).warehouse}")
            counts = _row_counts(settings, keys) if settings.warehouse.exists() else {}
    if not live:
        for event in events:
            key = (context.asset_key_for_output(event.output_name)
                   if isinstance(event, dg.Output) else getattr(event, "asset_key", None))
            yield _with_row_count(event, counts[key]) if key in counts else event
    results = _run_results(invocation)
    received = {e.check_name for e in events if isinstance(e, dg.AssetCheckResult)}
    for lost in recovered_check_results(context.selected_asset_check_keys, received, results,
                                        invocation.manifest.get("nodes", {})):
        context.log.warning(f"dbt test {lost.check_name}: its event did not reach Dagster; "
                            f"verdict taken from run_results.json")
        yield lost
    if not invocation.is_successful():
        failed = _failures(results)
        detail = "; ".join(failed[:5]) if failed else str(invocation.get_error())
        raise DbtBuildFailed(f"dbt build ({step}) failed: {detail} "
                             f"(full log: {settings.dbt_target / step / 'dbt.log'})")


def build_dbt_models():
    """Every dbt model in one `dbt build`: staging, intermediate, governance and the marts
    into `marts_build` (green), with their data tests.

    One invocation, not one per layer: each dbt start costs seconds (interpreter, manifest,
    adapter) on every run. The quality gate (GX checks, reconciliation) guards `publish`,
    which depends directly on every gated asset: a failed ERROR check leaves `marts_build`
    rebuilt but unpublished, and the published marts (blue) unchanged.
    """
    remember_selections(PROJECT.manifest_path.parent)  # lib/dbt_selection.py

    @dbt_assets(
        manifest=PROJECT.manifest_path,
        project=PROJECT,
        dagster_dbt_translator=TRANSLATOR,
        name="dbt_models",
        pool="warehouse",
    )
    def dbt_models(context: dg.AssetExecutionContext, qualitrace: QualitraceHome):
        """dbt build of every model (staging, intermediate, governance, marts_build) and
        its data tests; nothing when a full build would compute what was last published
        (lib/freshness.py): Dagster then skips the gate, publish and the report."""
        import json

        from orchestration.lib import freshness, partial_build

        settings = qualitrace.settings()
        engine = qualitrace.engine_name()
        manifest = json.loads(PROJECT.manifest_path.read_text(encoding="utf-8"))
        decision = freshness.before_build(
            settings, pii_salt(settings), context.run.run_id,
            full_build=set(context.selected_asset_keys) == set(context.assets_def.keys),
            rebuild=freshness.rebuild_requested(context.run.tags),
            known_sources=partial_build.raw_sources(manifest), engine=engine)
        if decision.unchanged:
            context.log.info(freshness.UNCHANGED_PREFIX + json.dumps(decision.unchanged))
            return
        # on Spark every model is rebuilt: its staging tables are rewritten whole (Parquet
        # tables cannot delete a file's rows), so nothing downstream can stand
        if not decision.partial or engine == SPARK:
            yield from run_dbt_build(context, settings, "dbt_models", engine=engine,
                                     master=qualitrace.master())
            return
        rebuild, keep = partial_build.models_to_keep(manifest, decision.changed_sources)
        scoped = bool(staging_tests_scope(decision.new_files)[TESTS_SCOPE_ENV])
        context.log.info(
            f"{partial_build.PARTIAL_PREFIX}"
            f"{', '.join('raw.' + n for n in decision.changed_sources)}: {len(rebuild)} of "
            f"{len(rebuild) + len(keep)} models; the other {len(keep)} and their tests stand "
            f"as run {decision.since_run} published them; the staging tests judged file by "
            + (f"file read the files delivered since ({len(decision.new_files)})" if scoped
               else "file read every row (the files delivered since: unknown or too many)"))
        # the models left out never depend on a rebuilt one: reported first, as Dagster
        # takes a multi-asset's outputs in dependency order
        yield from run_dbt_build(
            context, settings, "dbt_models", tuple(partial_build.exclude_args(manifest, keep)),
            first=_standing_results(context, settings, manifest, keep, decision.since_run),
            tested_files=decision.new_files)

    return dbt_models


def _standing_results(context: dg.AssetExecutionContext, settings: Settings, manifest: dict,
                      keep: set[str], since_run: str) -> Iterator:
    """The models a partial build left out, reported as they stand: an output marked unchanged
    (so the gate and publish, which wait for every model, run) and each of their tests'
    verdicts from the run that built them."""
    from orchestration.lib import partial_build
    from orchestration.lib.quality.results import dagster_check_verdicts

    by_id = {s.metadata.get("dagster_dbt/unique_id"): s for s in context.assets_def.specs
             if s.key in context.selected_asset_keys}
    specs = [by_id[u] for u in partial_build.in_build_order(manifest, keep) if u in by_id]
    for spec in specs:
        yield dg.Output(None, output_name=context.assets_def.get_output_name_for_asset_key(
            spec.key), metadata={partial_build.UNCHANGED_META: since_run})
    verdicts = dagster_check_verdicts(settings, since_run)
    kept_keys = {s.key for s in specs}
    missing = []
    for check in context.assets_def.check_specs:
        if check.asset_key not in kept_keys:
            continue
        verdict = verdicts.get((check.name, "/".join(check.asset_key.path)))
        if verdict is None:
            missing.append(check.name)
            continue
        passed, severity, message = verdict
        yield dg.AssetCheckResult(
            asset_key=check.asset_key, check_name=check.name, passed=passed,
            severity=dg.AssetCheckSeverity.WARN if severity == "WARN"
            else dg.AssetCheckSeverity.ERROR,
            description=partial_build.carried_note(since_run, message),
            metadata={partial_build.UNCHANGED_META: since_run})
    if missing:
        context.log.warning(f"{len(missing)} test verdicts of run {since_run} not found "
                            f"(not re-run, inputs unchanged): {', '.join(missing[:10])}")

