"""Backfilling one delivery day re-lands that day's files and no other (reland_delivery_day,
a partition per delivery day), launched through the Dagster UI's GraphQL API."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.ingest.reland import delivery_days
from orchestration.lib.runner import home_instance
from tests.support.dagster_ui import launch_run, ui_runs
from tests.support.homes import copy_home

pytestmark = pytest.mark.integration


def _manifest(settings) -> dict[str, tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return {r[0]: r[1:] for r in con.execute(
            "select path, sha256, status, first_seen, rows_landed from raw._file_manifest "
            "where status <> 'superseded'").fetchall()}


def _raw_rows(settings) -> dict[str, int]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' "
            "and table_name not like '\\_%' escape '\\'").fetchall()]
        return {t: con.execute(f'select count(*) from raw."{t}"').fetchone()[0] for t in tables}


def test_the_run_registers_every_delivery_day_as_a_partition(pipeline_home):
    instance = dg.DagsterInstance.from_config(str(pipeline_home.dagster_home))
    try:
        known = set(instance.get_dynamic_partitions("delivery_day"))
    finally:
        instance.dispose()
    assert known == set(delivery_days(pipeline_home, load_dictionary()))


def test_backfilling_one_day_relands_only_that_days_files(pipeline_home, tmp_path, monkeypatch):
    settings = copy_home(pipeline_home, tmp_path / "home")
    days = delivery_days(settings, load_dictionary())
    day = days[len(days) // 2]
    instance = home_instance(settings)
    try:
        instance.add_dynamic_partitions("delivery_day", days)  # as the copied home's run did
    finally:
        instance.dispose()
    before, rows_before = _manifest(settings), _raw_rows(settings)
    of_day = {p for p in before if f"_{day}" in p.rsplit("/", 1)[-1]}
    assert of_day and len(of_day) < len(before)

    monkeypatch.setenv("QUALITRACE_HOME", str(settings.home))
    monkeypatch.setenv("QUALITRACE_EXPORTS", str(settings.exports))
    run_id = launch_run(settings.dagster_home, job="reland_delivery_day",
                        tags={"dagster/partition": day})
    assert [(r.run_id, r.status) for r in ui_runs(settings.dagster_home)] == [(run_id, "SUCCESS")]

    after = _manifest(settings)
    assert after.keys() == before.keys()
    relanded = {p for p in after if after[p][2] != before[p][2]}  # first_seen renewed
    assert relanded == of_day
    assert all(after[p][:2] == before[p][:2] and after[p][3] == before[p][3] for p in of_day)
    assert _raw_rows(settings) == rows_before  # the same content, landed once

    instance = home_instance(settings)
    try:
        records = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
        reported = {r.event_log_entry.dagster_event.asset_key.to_user_string():
                    r.event_log_entry.dagster_event.event_specific_data.materialization
                    .metadata["delivery_day"].value for r in records}
    finally:
        instance.dispose()
    entities = {p.split("/")[0] + "__" + p.rsplit("/", 1)[-1].split(f"_{day}")[0]
                for p in of_day}
    assert reported == {f"raw/{e}": day for e in entities}
