"""Ingest assets and `exports_sensor` as Dagster sees them; warehouse locking under
concurrent processes."""

from __future__ import annotations

import multiprocessing as mp
import time

import dagster as dg
import pytest
from bad_inputs.corpus import csv_text

from orchestration.defs.ingest.assets import ingest_assets
from orchestration.defs.ingest.definitions import defs as ingest_defs
from orchestration.defs.ingest.sensors import exports_sensor
from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.ingest import ingest_entity
from orchestration.lib.settings import get_settings
from orchestration.lib.warehouse import connect, warehouse_lock
from tests.support.homes import home_resources

CRM_HEADER = ["complaint_id", "channel", "received_at", "description", "status"]
CRM_ROWS = [["CS1", "APP", "2024-03-15 10:00:00", "不开机", "open"],
            ["CS2", "微信", "2024-03-15 11:00:00", "漏水", "closed"]]


@pytest.fixture()
def home(tmp_path, monkeypatch):
    exports = tmp_path / "exports"
    (exports / "crm").mkdir(parents=True)
    (exports / "mes").mkdir()
    (exports / "crm" / "complaints_20240315.csv").write_text(
        csv_text(CRM_HEADER, CRM_ROWS), encoding="utf-8")
    (exports / "mes" / "equipment_20240101.csv").write_text(
        "equipment_id,equipment_type,line\nEQ1,贴片机,L1\n", encoding="utf-8")
    monkeypatch.setenv("QUALITRACE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("QUALITRACE_EXPORTS", str(exports))
    return get_settings()


@dg.asset(deps=[dg.AssetKey(["raw", "crm__complaints"])], key=["staging", "downstream_probe"])
def downstream_probe() -> None:
    """Stands for the dbt models downstream of a raw table (selection test only)."""


def test_sixteen_assets_with_keys_groups_kinds_and_pool():
    specs = {a.key: a for a in ingest_assets}
    assert len(specs) == 16
    a = specs[dg.AssetKey(["raw", "crm__complaints"])]
    assert a.group_names_by_key[a.key] == "ingest_crm"
    assert {"python", "duckdb"} <= set(a.specs_by_key[a.key].kinds)
    assert a.op.pool == "warehouse"
    sensor = next(iter(ingest_defs.sensors))
    assert sensor.name == "exports_sensor"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_materialize_lands_files_and_reports_counts(home):
    result = dg.materialize(ingest_assets, instance=dg.DagsterInstance.ephemeral(),
                            resources=home_resources(home))
    assert result.success
    mats = {m.asset_key.to_user_string(): m.metadata
            for m in result.get_asset_materialization_events()
            for m in [m.event_specific_data.materialization]}
    assert mats["raw/crm__complaints"]["rows_landed"].value == 2
    assert mats["raw/mes__equipment"]["dagster/row_count"].value == 1
    assert mats["raw/erp__products"]["files"].value == 0
    with connect(home) as con:  # every raw table exists, even without files
        n = con.execute("SELECT count(*) FROM information_schema.tables WHERE "
                        "table_schema = 'raw' AND table_name NOT LIKE '\\_%' ESCAPE '\\'"
                        ).fetchone()[0]
    assert n == 16


def _evaluate(defs):
    with dg.build_sensor_context(definitions=defs, instance=dg.DagsterInstance.ephemeral(),
                                 resources=defs.resources) as ctx:
        return exports_sensor(ctx)


def test_sensor_requests_the_pipeline_for_new_files_then_skips(home):
    """A run of every asset (the dbt step then rebuilds only what the files reach), named by
    the files: the same files never start a second run."""
    defs = dg.Definitions(assets=[*ingest_assets, downstream_probe], sensors=[exports_sensor],
                          resources=home_resources(home))
    first = _evaluate(defs)
    assert isinstance(first, dg.RunRequest)
    assert first.asset_selection is None  # the sensor's target: every asset
    assert first.tags["qualitrace/new_entities"] == "crm__complaints,mes__equipment"
    assert _evaluate(defs).run_key == first.run_key  # same files -> same run key
    dictionary = load_dictionary()
    ingest_entity(home, dictionary, "crm", "complaints")
    ingest_entity(home, dictionary, "mes", "equipment")
    skip = _evaluate(defs)
    assert isinstance(skip, dg.SkipReason) and "no new files" in skip.skip_message
    (home.exports / "mes" / "equipment_20240102.csv").write_text(
        "equipment_id,equipment_type,line\nEQ2,回流焊,L2\n", encoding="utf-8")
    again = _evaluate(defs)
    assert again.tags["qualitrace/new_entities"] == "mes__equipment"
    assert again.run_key != first.run_key


def _hold_lock(home_dir: str, exports: str, seconds: float, ready) -> None:
    settings = get_settings(home_dir, exports)
    with warehouse_lock(settings):
        ready.set()
        time.sleep(seconds)


def test_sensor_skips_while_the_warehouse_is_busy(home):
    defs = dg.Definitions(assets=ingest_assets, sensors=[exports_sensor],
                          resources=home_resources(home))
    ingest_entity(home, load_dictionary(), "crm", "complaints")
    ctx = mp.get_context("fork")
    ready = ctx.Event()
    p = ctx.Process(target=_hold_lock, args=(str(home.home), str(home.exports), 30.0, ready))
    p.start()
    try:
        assert ready.wait(10)
        t0 = time.monotonic()
        result = _evaluate(defs)
        assert isinstance(result, dg.SkipReason) and "busy" in result.skip_message
        assert time.monotonic() - t0 < 5
    finally:
        p.terminate()
        p.join(15)


def _ingest_in_process(home_dir: str, exports: str, system: str, entity: str, q) -> None:
    try:
        s = ingest_entity(get_settings(home_dir, exports), load_dictionary(), system, entity)
        q.put((entity, s.rows_landed, None))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the test
        q.put((entity, 0, repr(exc)))


def test_concurrent_processes_never_fail_on_the_duckdb_lock(home):
    """Like the multiprocess executor: several ingest steps at once on one warehouse."""
    for day in range(1, 5):
        (home.exports / "crm" / f"complaints_2024040{day}.csv").write_text(
            csv_text(CRM_HEADER, [[f"CS{day}{i}", "APP", "2024-04-01", "x", "open"]
                                  for i in range(50)]), encoding="utf-8")
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    jobs = [("crm", "complaints"), ("mes", "equipment"), ("erp", "products"),
            ("qms", "capa")]
    procs = [ctx.Process(target=_ingest_in_process,
                         args=(str(home.home), str(home.exports), s, e, q)) for s, e in jobs]
    for p in procs:
        p.start()
    results = {}
    for _ in procs:
        entity, landed, error = q.get(timeout=120)
        results[entity] = (landed, error)
    for p in procs:
        p.join(30)
    assert all(err is None for _, err in results.values()), results
    assert results["complaints"][0] == 202 and results["equipment"][0] == 1


def test_a_system_that_stopped_delivering_warns_on_its_raw_assets(home):
    """delivery_silence: fresh after landing; once crm's newest file is older than the limit
    (governance.yml delivery_silence_hours), every crm raw asset warns; never blocking."""
    from orchestration.defs.ingest.checks import CHECK, delivery_silence

    def evaluate():
        result = dg.materialize([*ingest_assets, delivery_silence],
                                instance=dg.DagsterInstance.ephemeral(),
                                resources=home_resources(home))
        assert result.success
        return {e.asset_key.to_user_string(): e for e in
                result.get_asset_check_evaluations()
                if e.check_name == CHECK}

    first = evaluate()
    assert len(first) == 16 and all(e.passed for e in first.values())
    assert first["raw/erp__products"].description == "erp: no file delivered yet"
    limit = load_dictionary().delivery_silence_hours
    with connect(home) as con:
        con.execute(f"UPDATE raw._file_manifest SET first_seen = first_seen - INTERVAL "
                    f"{int(limit) + 5} HOUR WHERE system = 'crm'")
    later = evaluate()
    silent = {k for k, e in later.items() if not e.passed}
    assert silent == {"raw/crm__complaints"}
    e = later["raw/crm__complaints"]
    assert e.severity == dg.AssetCheckSeverity.WARN and not e.blocking
    assert e.description.startswith("crm: silent: newest file landed ") and \
        f"limit {limit:g} h" in e.description
    assert later["raw/mes__equipment"].passed


def test_the_code_location_sees_an_overlay_added_while_it_runs(home):
    """current_dictionary() is cached per file stamp; the home's overlay files are part of it."""
    from orchestration.defs.ingest.assets import current_dictionary

    shipped = current_dictionary().delivery_silence_hours
    assert current_dictionary() is current_dictionary()  # cached while nothing changed
    (home.home / "dictionary").mkdir(parents=True, exist_ok=True)
    (home.home / "dictionary" / "plant.yml").write_text(
        f"delivery_silence_hours: {shipped + 100:g}\n", encoding="utf-8")
    assert current_dictionary().delivery_silence_hours == shipped + 100
