"""The code location: assembly, dbt translation, publish, salt, dev instance config."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.lib.dbt_translator import QualitraceDbtTranslator
from orchestration.lib.devserver import dev_command, write_instance_config, write_workspace
from orchestration.lib.pii import pii_salt
from orchestration.lib.publish import MARTS, PublishError, publish_marts
from orchestration.lib.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs
    return defs


# ---- translator -------------------------------------------------------------------------

def test_translator_keys_groups_owners():
    t = QualitraceDbtTranslator()
    model = {"resource_type": "model", "name": "int_batches_enriched",
             "config": {"schema": "intermediate", "materialized": "table"}, "schema": "intermediate"}
    assert t.get_asset_key(model) == dg.AssetKey(["intermediate", "int_batches_enriched"])
    assert t.get_group_name(model) == "intermediate"
    assert t.get_owners(model) == ["team:data-engineering"]
    mart = {"resource_type": "model", "name": "batch_quality", "config": {"schema": "marts_build"}}
    assert t.get_asset_key(mart) == dg.AssetKey(["marts_build", "batch_quality"])
    raw = {"resource_type": "source", "source_name": "raw", "name": "crm__complaints"}
    assert t.get_asset_key(raw) == dg.AssetKey(["raw", "crm__complaints"])
    assert t.get_group_name(raw) == "ingest_crm"
    for table in ("units", "provinces", "fields"):
        src = {"resource_type": "source", "source_name": "dictionary", "name": table}
        assert t.get_asset_key(src) == dg.AssetKey(["dictionary", "tables"])
    owned = {**model, "config": {**model["config"], "meta": {"owner": "qa@plant.example"}}}
    assert t.get_owners(owned) == ["qa@plant.example"]


# ---- code location ----------------------------------------------------------------------

def test_dbt_assets_have_layer_keys_groups_and_kinds(defs):
    graph = defs.resolve_asset_graph()
    dbt_keys = [k for k in graph.executable_asset_keys
                if graph.get(k).assets_def.node_def.name == "dbt_models"]
    assert {k.path[0] for k in dbt_keys} >= {"staging", "intermediate", "governance",
                                             "marts_build"}
    assert dbt_keys, "no dbt models in the code location"
    for key in dbt_keys:
        node = graph.get(key)
        assert node.group_name == key.path[0], key
        assert {"dbt", "duckdb"} <= set(node.kinds), key
        assert node.owners, key
        assert node.description, key


def test_publish_assets_depend_on_marts_build(defs):
    graph = defs.resolve_asset_graph()
    for name in MARTS:
        node = graph.get(dg.AssetKey(["marts", name]))
        assert node.group_name == "marts"
        assert dg.AssetKey(["marts_build", name]) in node.parent_keys
        assert "parquet" in node.kinds


def test_every_dbt_model_is_built_in_one_step_and_publish_sits_after_the_gate(defs):
    """One `dbt build` for every layer (marts_build included: green); the gate sits between
    it and publish (blue), which is a separate step."""
    graph = defs.resolve_asset_graph()
    staging = [k for k in graph.executable_asset_keys if k.path[0] == "staging"]
    green = [k for k in graph.executable_asset_keys if k.path[0] == "marts_build"]
    blue = [k for k in graph.executable_asset_keys if k.path[0] == "marts"]
    if not green:
        pytest.fail("no marts_build models in the dbt project yet")
    assert graph.get(staging[0]).assets_def is graph.get(green[0]).assets_def
    assert graph.get(blue[0]).assets_def is not graph.get(green[0]).assets_def


def test_reconciliation_check_is_blocking(defs):
    graph = defs.resolve_asset_graph()
    key = dg.AssetCheckKey(dg.AssetKey(["governance", "file_manifest"]), "rows_reconcile")
    assert key in graph.asset_check_keys, "reconciliation check missing (governance.file_manifest?)"
    assert graph.get(key).blocking


def test_dagster_definitions_validate():
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate",
         "-m", "orchestration.definitions"],
        check=False, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


# ---- PII salt ---------------------------------------------------------------------------

def test_salt_created_once_per_home_private(tmp_path, monkeypatch):
    monkeypatch.delenv("QUALITRACE_PII_SALT", raising=False)
    s = get_settings(tmp_path / "home", tmp_path / "exports")
    first = pii_salt(s)
    assert len(first) >= 32
    path = s.home / "pii_salt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pii_salt(s) == first
    other = get_settings(tmp_path / "home2", tmp_path / "exports")
    assert pii_salt(other) != first


def test_salt_from_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("QUALITRACE_PII_SALT", "plant-secret")
    s = get_settings(tmp_path / "home", tmp_path / "exports")
    assert pii_salt(s) == "plant-secret"
    assert not (s.home / "pii_salt").exists()


# ---- publish ----------------------------------------------------------------------------

def _build_marts(settings, names, value):
    settings.home.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("create schema if not exists marts_build")
    for n in names:
        con.execute(f"create or replace table marts_build.{n} as select {value} as v, '{n}' as m")
    con.close()


def test_publish_swaps_all_marts_and_writes_parquet(tmp_path):
    s = get_settings(tmp_path / "home", tmp_path / "exports").ensure()
    _build_marts(s, MARTS, 1)
    counts = publish_marts(s)
    assert counts == {n: 1 for n in MARTS}
    for n in MARTS:
        got = duckdb.sql(f"select v, m from '{s.parquet_dir / (n + '.parquet')}'").fetchall()
        assert got == [(1, n)]
    assert not list(s.parquet_dir.glob(".*tmp*"))


def test_publish_refuses_when_a_mart_is_missing_and_leaves_marts_unchanged(tmp_path):
    s = get_settings(tmp_path / "home", tmp_path / "exports").ensure()
    _build_marts(s, MARTS, 1)
    publish_marts(s)
    con = duckdb.connect(str(s.warehouse))
    con.execute("drop table marts_build.spc_violations")
    con.execute("update marts_build.batch_quality set v = 2")
    con.close()
    with pytest.raises(PublishError, match="spc_violations"):
        publish_marts(s)
    con = duckdb.connect(str(s.warehouse), read_only=True)
    assert con.execute("select v from marts.batch_quality").fetchall() == [(1,)]
    con.close()


# ---- dev server -------------------------------------------------------------------------

def test_dev_instance_runs_one_at_a_time(tmp_path):
    s = get_settings(tmp_path / "home", tmp_path / "exports")
    write_instance_config(s)
    instance = dg.DagsterInstance.from_config(str(s.dagster_home))
    try:
        cfg = instance.get_concurrency_config()
        assert cfg.run_queue_config.max_concurrent_runs == 1
        assert cfg.pool_config.default_pool_limit == 1
    finally:
        instance.dispose()
    workspace = write_workspace(s)
    assert "location_name: qualitrace" in workspace.read_text()
    cmd = dev_command(3123, workspace)
    assert cmd[1:] == ["dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", "3123"]


def test_marts_wait_for_every_gated_asset(defs):
    """A failed blocking check anywhere (GX, reconciliation) holds back publish: every
    published mart is a direct dependent of every gated asset."""
    from orchestration.defs.publish.assets import gate_keys
    gate = gate_keys(defs)
    assert gate, "no asset carries a blocking check"
    assert dg.AssetKey(["governance", "file_manifest"]) in gate
    graph = defs.resolve_asset_graph()
    for name in MARTS:
        key = dg.AssetKey(["marts", name])
        missing = gate - set(graph.get(key).parent_keys) - {key}
        assert not missing, f"{key.to_user_string()} does not wait for {sorted(map(str, missing))}"


def test_published_marts_show_typed_documented_columns_in_dagster(tmp_path):
    import dagster as dg

    from orchestration.defs.publish.assets import column_schemas

    s = get_settings(tmp_path / "home", tmp_path / "exports").ensure()
    con = duckdb.connect(str(s.warehouse))
    con.execute("create schema marts")
    con.execute("create table marts.suspect_ranking as select 'QD04' as problem_type_code, "
                "1::bigint as rank, 0.5::double as q_value")
    con.close()
    schema = column_schemas(s, ("suspect_ranking",))["suspect_ranking"]
    assert isinstance(schema, dg.TableSchema)
    cols = {c.name: c for c in schema.columns}
    assert (cols["rank"].type, cols["q_value"].type) == ("BIGINT", "DOUBLE")
    assert "Benjamini-Hochberg" in cols["q_value"].description
