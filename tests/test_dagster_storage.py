"""The home's Dagster instance: its event log keeps engines open, in Dagster's own files.

Real Dagster runs against real SQLite files: what one instance writes, a second instance
(the UI's, or Dagster's stock storage class) reads, and a home written before this storage
keeps its run history.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from orchestration.lib.dagster_storage import (
    KEPT_RUN_SHARDS,
    PooledSqliteEventLogStorage,
    QualitraceRunStorage,
)
from orchestration.lib.devserver import write_instance_config
from orchestration.lib.settings import get_settings


@dg.asset(check_specs=[dg.AssetCheckSpec("rows_present", asset="batches")])
def batches():
    yield dg.Output(3)
    yield dg.AssetCheckResult(check_name="rows_present", passed=True)


@dg.asset
def shipments(batches):
    return batches + 1


def _instance(settings) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(settings.dagster_home))


def test_events_land_in_dagsters_files_and_read_back(tmp_path):
    settings = get_settings(tmp_path / "a home: with spaces", tmp_path / "exports")
    write_instance_config(settings)
    instance = _instance(settings)
    try:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        result = dg.materialize([batches, shipments], instance=instance)
        assert result.success
        runs_dir = settings.dagster_home / "history" / "runs"
        assert (runs_dir / f"{result.run_id}.db").is_file()
        assert (runs_dir / "index.db").is_file()
        assert (settings.dagster_home / "history" / "runs.db").is_file()
        written = len(instance.all_logs(result.run_id))
        # its connections commit without an fsync per event (WAL + synchronous=NORMAL)
        storage = instance.event_log_storage
        for shard in ("index", result.run_id):
            with storage._connect(shard) as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    finally:
        instance.dispose()

    # Dagster's stock storage class over the same directory sees every event and the asset
    # index (materialisations, check results): the files are Dagster's own
    stock = SqliteEventLogStorage(str(runs_dir))
    try:
        assert len(stock.get_logs_for_run(result.run_id)) == written
        latest = stock.get_latest_materialization_events([dg.AssetKey("shipments")])
        assert latest[dg.AssetKey("shipments")].run_id == result.run_id
        checks = stock.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("batches"), "rows_present"), limit=5)
        assert [c.run_id for c in checks] == [result.run_id]
    finally:
        stock.dispose()


def test_a_second_instance_sees_events_while_the_first_keeps_its_engines(tmp_path):
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    write_instance_config(settings)
    writer, reader = _instance(settings), _instance(settings)
    try:
        first = dg.materialize([batches, shipments], instance=writer)
        # the reader (the UI's process, say) sees the run and its materialisations at once
        assert reader.get_run_by_id(first.run_id).is_success
        assert reader.get_latest_materialization_event(dg.AssetKey("shipments")).run_id \
            == first.run_id
        second = dg.materialize([batches, shipments], instance=reader)
        assert writer.get_latest_materialization_event(dg.AssetKey("shipments")).run_id \
            == second.run_id
    finally:
        writer.dispose()
        reader.dispose()


def test_engines_are_kept_for_the_index_and_the_latest_runs_only(tmp_path):
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    write_instance_config(settings)
    instance = _instance(settings)
    try:
        runs = [dg.materialize([batches], instance=instance).run_id
                for _ in range(KEPT_RUN_SHARDS + 2)]
        kept = list(instance.event_log_storage._engines)
        assert "index" in kept
        assert [s for s in kept if s != "index"] == runs[-KEPT_RUN_SHARDS:]
        # an evicted run's events are still read (a new engine is opened for it)
        assert instance.all_logs(runs[0])
    finally:
        instance.dispose()
    assert not instance.event_log_storage._engines


def test_a_home_written_before_keeps_its_run_history(tmp_path):
    """Homes created with Dagster's default storage (no storage keys in dagster.yaml) use
    the same directories: after the new dagster.yaml their runs and assets are still there."""
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    settings.dagster_home.mkdir(parents=True)
    (settings.dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    old = _instance(settings)
    try:
        assert not isinstance(old.event_log_storage, PooledSqliteEventLogStorage)
        before = dg.materialize([batches, shipments], instance=old).run_id
    finally:
        old.dispose()
    write_instance_config(settings)
    new = _instance(settings)
    try:
        assert isinstance(new.event_log_storage, PooledSqliteEventLogStorage)
        assert isinstance(new.run_storage, QualitraceRunStorage)
        assert new.get_run_by_id(before).is_success
        assert new.get_latest_materialization_event(dg.AssetKey("shipments")).run_id == before
        after = dg.materialize([batches, shipments], instance=new).run_id
        assert {r.run_id for r in new.get_runs()} == {before, after}
    finally:
        new.dispose()


def test_run_storage_knows_a_stored_plan_snapshot_by_its_id(tmp_path):
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    write_instance_config(settings)
    instance = _instance(settings)
    try:
        storage = instance.run_storage
        assert isinstance(storage, QualitraceRunStorage)
        result = dg.materialize([batches, shipments], instance=instance)
        plan_id = instance.get_run_by_id(result.run_id).execution_plan_snapshot_id
        assert plan_id and storage.has_execution_plan_snapshot(plan_id)
        assert storage.get_execution_plan_snapshot(plan_id) is not None
        assert not storage.has_execution_plan_snapshot("0" * 40)
        # the same plan again: Dagster finds it stored and the second run reuses it
        again = dg.materialize([batches, shipments], instance=instance)
        assert instance.get_run_by_id(again.run_id).execution_plan_snapshot_id == plan_id
    finally:
        instance.dispose()


def test_the_index_tables_are_looked_up_once_not_per_event(tmp_path, monkeypatch):
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    write_instance_config(settings)
    looked_up = []
    stock_has_table = SqliteEventLogStorage.has_table

    def counting(self, table_name):
        looked_up.append(table_name)
        return stock_has_table(self, table_name)

    monkeypatch.setattr(SqliteEventLogStorage, "has_table", counting)
    instance = _instance(settings)
    try:
        for _ in range(3):
            assert dg.materialize([batches, shipments], instance=instance).success
        storage = instance.event_log_storage
        assert looked_up  # Dagster asks (asset event tags, asset checks) ...
        assert len(looked_up) == len(set(looked_up))  # ... and each table is looked up once
        assert storage.has_table("asset_check_executions")
        assert not storage.has_table("no_such_table")
        assert not storage.has_table("no_such_table")  # a no is asked again, never remembered
        assert looked_up.count("no_such_table") == 2
        # the check results still reach the asset-check index
        history = storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("batches"), "rows_present"), limit=5)
        assert len(history) == 3
    finally:
        instance.dispose()
