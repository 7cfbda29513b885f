"""The marts, built by real dbt from a tiny hand-made plant with known answers.

The upstream relations the marts read (intermediate.int_*, staging.stg_*) are written
directly into a fresh DuckDB warehouse; then `dbt build` runs only the marts and their
support models (with their schema tests) against it. The CLI is exercised on the
Parquet copies of the result.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from scipy.stats import fisher_exact

from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.dictionary import publish as publish_dictionary
from orchestration.lib.publish import MARTS
from orchestration.lib.settings import DBT_PROJECT_DIR, REPO_ROOT
from tests.support.contract import mart_columns
from tests.support.dbt_cli import run_dbt

pytestmark = pytest.mark.integration  # builds dbt over a plant

SCHEMA_OF = {"int": "intermediate", "stg": "staging"}

T0 = dt.datetime(2024, 3, 4, 0, 0)  # a Monday


def plant_tables() -> dict[str, pd.DataFrame]:
    batches, genealogy, shipments, excursions, inspections = [], [], [], [], []
    operators = ["OP1", "OP2", "OP3"]
    carriers = ["FastWay", "SlowShip"]
    n = 0
    for day in range(20):
        for li, line in enumerate(["L01", "L02"]):
            seq = 1
            n += 1
            start = T0 + dt.timedelta(days=day, hours=8 * (n % 3))
            code = f"{start:%Y%m%d}-{line}-{seq:03d}"
            product = "P1" if line == "L01" else "P2"
            batches.append({
                "batch_code": code, "product_code": product, "product_model": "M1" if product == "P1" else "M2",
                "work_order_no": f"WO{n:03d}", "line": line, "shift": ["day", "swing", "night"][n % 3],
                "shift_raw": ["早", "中", "夜"][n % 3],
                "operator_id": operators[n % 3], "batch_start": start,
                "batch_end": start + dt.timedelta(hours=6), "units_produced": 1000, "units_good": 990,
                "units_shipped": 1000})
            genealogy.append({"batch_code": code, "material_code": "M-PCB", "supplier_code": "S1",
                                  "material_lot": f"ML-PCB-{day // 5}", "supplier_lot": f"SL-P{day // 5}",
                                  "qty": 1000.0})
            bad = day < 5 and line == "L01"
            genealogy.append({"batch_code": code, "material_code": "M-CONN",
                                  "supplier_code": "S3" if bad else "S2",
                                  "material_lot": "ML-BAD" if bad else f"ML-CONN-{day // 4}",
                                  "supplier_lot": "SL-BAD" if bad else f"SL-C{day // 4}", "qty": 2000.0})
            for k, prov in enumerate(["440000", "110000"]):
                shipments.append({
                    "shipment_no": f"SH{n:03d}{k}", "line_no": 1, "customer_code": f"C{k + 1}",
                    "province_code": prov, "region": "华南" if prov == "440000" else "华北",
                    "product_code": product, "batch_code": code, "qty": 500,
                    "shipped_at": start + dt.timedelta(days=2), "carrier": carriers[k],
                    "promised_date": (start + dt.timedelta(days=5)).date(), "delivered_at": None})
            if line == "L02" and 10 <= day < 14:
                excursions.append({"batch_code": code, "equipment_id": "E3", "parameter": "temperature",
                                       "excursion_count": 4, "first_ts": start, "last_ts": start})
            inspections.append({"inspection_id": f"FQC{n:03d}", "inspection_type": "FQC",
                                    "batch_code": code, "material_lot": None,
                                    "passed": not (day == 3 and line == "L01"),
                                    "inspected_at": start + dt.timedelta(hours=7)})
    complaints = []
    c = 0

    def complain(batch, ptype, province, model, received, method="batch_code"):
        nonlocal c
        c += 1
        complaints.append({
            "complaint_id": f"CP{c:04d}", "duplicate_ids": None, "received_at": received, "status": "open",
            "status_raw": "新建",
            "province_code": province, "region": "华南" if province == "440000" else "华北",
            "product_model": model, "problem_type_code": ptype, "problem_category": ptype[:2],
            "secondary_problem_codes": None, "problem_evidence": None, "severity": 5,
            "batch_code": batch,
            "trace_method": method if batch else "none", "batch_code_typed": batch,
            "batch_code_flag": None, "customer_key": f"k{c}", "serial_no": None})

    for i, b in enumerate(batches):
        recv = b["batch_start"] + dt.timedelta(days=10)
        if b["batch_code"] and b["line"] == "L01" and i < 10:  # ML-BAD batches: QD08
            for _ in range(4):
                complain(b["batch_code"], "QD08", "440000", "M1", recv)
        if b["line"] == "L02" and 20 <= i < 28:  # E3 excursions: QD04
            for _ in range(3):
                complain(b["batch_code"], "QD04", "110000", "M2", recv)
        if i % 4 == 0:  # background
            complain(b["batch_code"], "QD08", "110000", b["product_model"], recv)
            complain(b["batch_code"], "QD04", "440000", b["product_model"], recv)
        if i % 5 < 3:  # SlowShip (every 110000 shipment) damages packages
            complain(b["batch_code"], "DL02", "110000", b["product_model"], recv)
        if i % 7 == 0:
            complain(b["batch_code"], "DL02", "440000", b["product_model"], recv)
    for i in range(12):  # model M2 has a firmware fault; most complaints carry no batch
        complain(None, "FN04", "440000", "M2", T0 + dt.timedelta(days=10 + i))
    complain(None, "FN04", "440000", "M1", T0 + dt.timedelta(days=12))
    complain(None, "UNCLASSIFIED", "440000", "M1", T0 + dt.timedelta(days=12))
    for i in range(10):  # a burst of breakage in the week of 2024-03-11
        complain(None, "QD10", "440000", "M1", T0 + dt.timedelta(days=8, hours=i))
    complain(None, "QD10", "440000", "M1", T0 + dt.timedelta(days=22))

    equipment = pd.DataFrame([
        {"equipment_id": "E1", "equipment_name": "placer", "equipment_type": "SMT placer", "line": "L01"},
        {"equipment_id": "E2", "equipment_name": "oven", "equipment_type": "reflow oven", "line": "L01"},
        {"equipment_id": "E3", "equipment_name": "oven", "equipment_type": "reflow oven", "line": "L02"},
    ])
    receipts = pd.DataFrame([
        {"receipt_no": f"R{i}", "line_no": 1, "material_code": g["material_code"],
             "supplier_code": g["supplier_code"], "supplier_lot": g["supplier_lot"],
             "material_lot": g["material_lot"], "qty": 5000.0, "unit": "pcs", "received_at": T0}
        for i, g in enumerate({g["material_lot"]: g for g in genealogy}.values())])
    iqc = pd.DataFrame([
        {"inspection_id": f"IQC{i}", "inspection_type": "IQC", "batch_code": None, "material_lot": lot,
             "passed": lot != "ML-BAD", "inspected_at": T0}
        for i, lot in enumerate(receipts["material_lot"])])
    spc_start = T0 + dt.timedelta(days=10)
    spc = pd.DataFrame([{"violation_key": f"E3|temperature|WE1|{spc_start}",
                         "equipment_id": "E3", "line": "L02", "parameter": "temperature",
                         "rule": "WE1", "points_flagged": 1, "max_abs_z": 3.4,
                             "window_start": spc_start,
                             "window_end": spc_start + dt.timedelta(hours=1),
                             "batch_codes": batches[21]["batch_code"]}])
    return {
        "int_batches_enriched": pd.DataFrame(batches),
        "int_batch_genealogy": pd.DataFrame(genealogy),
        "int_batch_excursions": pd.DataFrame(excursions),
        "int_readings_excursions": pd.DataFrame(columns=["equipment_id", "line", "parameter", "ts", "value", "lsl", "usl", "batch_code"]),
        "int_spc_violations": spc,
        "int_complaints_batch_resolved": pd.DataFrame(complaints),
        "stg_erp__shipments": pd.DataFrame(shipments),
        "stg_qms__inspections": pd.concat([pd.DataFrame(inspections), iqc], ignore_index=True),
        "stg_erp__purchase_receipts": receipts,
        "stg_erp__suppliers": pd.DataFrame([{"supplier_code": s, "supplier_name": s, "province_code": "440000", "qualified": True} for s in ["S1", "S2", "S3", "S4"]]),
        "stg_erp__products": pd.DataFrame([{"product_code": "P1", "model": "M1", "product_line": "X"}, {"product_code": "P2", "model": "M2", "product_line": "X"}]),
        "stg_mes__equipment": equipment,
    }




def write_upstream(con: duckdb.DuckDBPyConnection,
                   tables: dict[str, pd.DataFrame] | None = None) -> None:
    """Create the upstream relations the marts read (this plant's, or `tables`), in their dbt
    schemas, and the real dictionary tables (supersede reads each entity's business key)."""
    publish_dictionary(load_dictionary(), con)
    for name, df in (plant_tables() if tables is None else tables).items():
        schema = SCHEMA_OF[name.split("_", 1)[0]]
        if name.startswith("stg_") and "_source_file" not in df.columns:  # lineage, as staged
            df = df.assign(_source_file=f"fixture/{name}_20240101.csv",
                           _source_row=range(2, len(df) + 2))
        con.execute(f"create schema if not exists {schema}")
        con.register("df_tmp", df)
        con.execute(f"create or replace table {schema}.{name} as select * from df_tmp")
        con.unregister("df_tmp")


def dbt_build_marts(warehouse: Path, work: Path) -> subprocess.CompletedProcess:
    return run_dbt(warehouse, work, "build", "--select", "path:models/staging/dictionary",
                   "path:models/intermediate/marts_support", "path:models/marts")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(connection to the built warehouse, a home whose marts/ holds the Parquet copies)."""
    work = tmp_path_factory.mktemp("marts_fixture")
    warehouse = work / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    write_upstream(con)
    con.close()
    proc = dbt_build_marts(warehouse, work)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    home = work / "home"
    (home / "marts").mkdir(parents=True)
    con = duckdb.connect(str(warehouse), read_only=True)
    for m in MARTS:
        con.execute(f"copy (select * from marts_build.{m}) to "
                    f"'{home / 'marts' / (m + '.parquet')}' (format parquet)")
    yield con, home
    con.close()


def q(con, sql, params=None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def test_every_mart_has_the_contract_columns(built):
    con, _ = built
    for mart in MARTS:
        have = set(q(con, f"select * from marts_build.{mart} limit 0").columns)
        missing = set(mart_columns(mart)) - have
        assert not missing, f"marts_build.{mart} lacks {sorted(missing)}"


def test_every_model_and_column_documented(built):
    """Each mart and support model has a description, and every column it builds is documented."""
    con, _ = built
    folders = [DBT_PROJECT_DIR / "models" / "marts",
               DBT_PROJECT_DIR / "models" / "intermediate" / "marts_support"]
    docs = {}
    for folder in folders:
        for y in folder.rglob("*.yml"):
            for m in yaml.safe_load(y.read_text(encoding="utf-8")).get("models", []):
                docs[m["name"]] = m
        for model_file in [*folder.rglob("*.sql"), *folder.rglob("*.py")]:
            name = model_file.stem
            assert docs.get(name, {}).get("description", "").strip(), f"{model_file}: no docs"
            schema = "marts_build" if "marts" in model_file.parts[-3:-1] else "intermediate"
            built_cols = set(q(con, f"select * from {schema}.{name} limit 0").columns)
            documented = {c["name"] for c in docs[name].get("columns", [])}
            assert built_cols <= documented, f"{name}: undocumented {sorted(built_cols - documented)}"
            assert all(c.get("description") for c in docs[name]["columns"]), name


def test_planted_suspects_rank_first(built):
    con, _ = built
    top = q(con, "select problem_type_code, suspect_kind, suspect_id from "
                 "marts_build.suspect_ranking where rank = 1")
    firsts = {(r.problem_type_code, r.suspect_kind, r.suspect_id) for r in top.itertuples()}
    assert ("QD08", "supplier_lot", "ML-BAD") in firsts
    assert ("QD04", "equipment", "E3") in firsts
    assert ("FN04", "product_model", "M2") in firsts
    assert ("DL02", "carrier", "SlowShip") in firsts


def test_exposure_counts_and_fisher_p_value(built):
    con, _ = built
    r = q(con, "select * from marts_build.suspect_ranking where problem_type_code = 'QD08' "
               "and suspect_kind = 'supplier_lot' and suspect_id = 'ML-BAD'").iloc[0]
    # 5 batches of 1000 units; 4 planted complaints each + 3 background ones
    assert (r.units_exposed, r.complaints_exposed) == (5000, 23)
    assert r.units_exposed + r.units_unexposed == 40000
    assert r.complaints_exposed + r.complaints_unexposed == 30
    expected = fisher_exact([[23, 5000 - 23], [7, 35000 - 7]], alternative="greater")[1]
    assert r.p_value == pytest.approx(expected, rel=1e-6)
    assert r.lift == pytest.approx((23 / 5000) / (7 / 35000))
    # equipment exposure = batches with an excursion on it, not every batch on its line
    e3 = q(con, "select units_exposed from marts_build.suspect_ranking "
                "where suspect_kind = 'equipment' and suspect_id = 'E3'")
    assert set(e3.units_exposed) == {4000}


def test_ranking_rules(built):
    con, _ = built
    df = q(con, "select * from marts_build.suspect_ranking")
    assert (df.loc[df["rank"].notna(), "complaints_exposed"] >= 3).all()
    assert df.loc[df.complaints_exposed < 3, "rank"].isna().all()
    assert df.p_value.between(0, 1).all()
    for _, g in df[df["rank"].notna()].groupby("problem_type_code"):
        g = g.sort_values("rank")
        assert g["rank"].iloc[0] == 1
        assert g.log10_p_value.is_monotonic_increasing


def test_complaint_trace_backward_chain(built):
    con, _ = built
    c = q(con, "select * from marts_build.complaint_trace where complaint_id = 'CP0001'").iloc[0]
    assert c.batch_code == "20240304-L01-001"
    assert (c["line"], c["shift"], c["operator_id"]) == ("L01", "swing", "OP2")
    assert c.equipment_ids == "E1,E2"
    assert c.material_lots == "ML-BAD,ML-PCB-0"
    assert c.supplier_codes == "S1,S3"
    assert bool(c.fqc_passed) is True
    assert c.carrier == "FastWay"  # its 440000 shipment
    failed = q(con, "select distinct fqc_passed from marts_build.complaint_trace "
                    "where batch_code = '20240307-L01-001'")
    assert list(failed.fqc_passed) == [False]
    hot = q(con, "select excursion_count, excursion_equipment_ids from "
                 "marts_build.complaint_trace where batch_code = '20240314-L02-001' limit 1")
    assert (hot.excursion_count[0], hot.excursion_equipment_ids[0]) == (4, "E3")
    none = q(con, "select count(*) n from marts_build.complaint_trace where batch_code is null "
                  "and trace_method = 'none'")
    assert none.n[0] == 25
    assert q(con, "select count(*) n from marts_build.complaint_trace").n[0] == \
        len(plant_tables()["int_complaints_batch_resolved"])


def test_batch_quality_ppm_and_risk(built):
    con, _ = built
    df = q(con, "select * from marts_build.batch_quality")
    assert len(df) == 40
    assert (df.complaint_ppm == df.complaints / df.units_shipped * 1e6).all()
    assert df.risk_score.between(0, 100).all()
    hot = df[df.batch_code == "20240314-L02-001"].iloc[0]
    assert hot.excursion_count == 4 and hot.risk_score >= 25
    assert sorted(df.loc[df.excursion_count > 0, "batch_code"]) == [
        "20240314-L02-001", "20240315-L02-001", "20240316-L02-001", "20240317-L02-001"]


def test_forward_trace_lot(built):
    con, _ = built
    df = q(con, "select * from marts_build.forward_trace where suspect_kind = 'supplier_lot' "
                "and suspect_id = 'ML-BAD'")
    assert df.batch_code.nunique() == 5 and df.shipment_no.nunique() == 10
    assert df.units_at_risk.sum() == 5000
    assert set(df.supplier_lot) == {"SL-BAD"}
    eq = q(con, "select count(distinct batch_code) n, sum(case when had_excursion then 1 else 0 end) x "
                "from marts_build.forward_trace where suspect_kind = 'equipment' and suspect_id = 'E3'")
    assert eq.n[0] == 20 and eq.x[0] == 8  # 4 excursion batches x 2 shipments


def test_pareto_shares(built):
    con, _ = built
    df = q(con, "select * from marts_build.problem_pareto")
    for period, g in df.groupby("period"):
        assert g.share.sum() == pytest.approx(1.0)
        assert g.sort_values("pareto_rank").cumulative_share.iloc[-1] == pytest.approx(1.0)
        assert g.sort_values("pareto_rank").complaints.is_monotonic_decreasing
    total = q(con, "select complaints from marts_build.problem_pareto where period = 'all'")
    assert total.complaints.sum() == len(plant_tables()["int_complaints_batch_resolved"])


def test_trend_flags_a_burst(built):
    con, _ = built
    df = q(con, "select * from marts_build.complaint_trend where dimension = 'problem_type' "
                "and value = 'QD10'")
    spikes = df[df.is_spike]
    assert [str(w)[:10] for w in spikes.week] == ["2024-03-11"]


def test_supplier_scorecard(built):
    con, _ = built
    df = q(con, "select * from marts_build.supplier_scorecard").set_index("supplier_code")
    assert df.loc["S3", "iqc_reject_rate"] == 1.0 and df.loc["S1", "iqc_reject_rate"] == 0.0
    assert df.loc["S3", "batches_supplied"] == 5 and df.loc["S3", "lots_received"] == 1
    assert df.loc["S3", "complaint_ppm"] > 3 * df.loc["S2", "complaint_ppm"]
    assert df.loc["S4", "batches_supplied"] == 0  # known supplier that supplied nothing
    # attributed by exposure: the bad connector supplier stands out against the other supplier
    # of the same material; the sole PCB supplier has no alternative to be compared with
    assert df.complaint_ppm.idxmax() == "S3"
    assert df.loc["S3", "lift_vs_alternatives"] > 3
    assert df.loc["S2", "lift_vs_alternatives"] < 1
    assert pd.isna(df.loc["S1", "lift_vs_alternatives"])
    assert df.loc["S3", "worst_lot"] == "ML-BAD"
    assert df.loc["S1", "units_shipped_weighted"] == df.loc["S1", "units_shipped"]  # w = 1


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestration.cli", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def test_cli_trace_reads_parquet(built):
    _, home = built
    p = run_cli("trace", "cp0001", "--home", str(home))
    assert p.returncode == 0, p.stderr
    for text in ("Complaint CP0001", "20240304-L01-001", "ML-BAD", "S3", "E1, E2", "Other complaints"):
        assert text in p.stdout
    j = run_cli("trace", "CP0001", "--json", "--home", str(home))
    data = json.loads(j.stdout)
    assert data["complaint"]["batch_code"] == "20240304-L01-001"
    assert len(data["same_batch"]) == 7


def test_cli_where_used_with_window(built):
    _, home = built
    p = run_cli("where-used", "lot", "ML-BAD", "--from", "2024-03-05", "--to", "2024-03-07",
                "--json", "--home", str(home))
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["totals"]["batches"] == 2 and data["totals"]["units_at_risk"] == 2000
    p = run_cli("where-used", "supplier", "S3", "--home", str(home))
    assert "units at risk (shipped)  5,000" in p.stdout


def test_cli_where_used_finds_the_kind_from_the_id(built):
    _, home = built
    bare = run_cli("where-used", "ML-BAD", "--json", "--home", str(home))
    assert bare.returncode == 0, bare.stderr
    named = run_cli("where-used", "lot", "ML-BAD", "--json", "--home", str(home))
    assert json.loads(bare.stdout) == json.loads(named.stdout)
    assert json.loads(run_cli("where-used", "e3", "--json", "--home", str(home)).stdout)["kind"] == "equipment"
    p = run_cli("where-used", "S9", "--home", str(home))
    assert p.returncode == 2 and "is no lot, supplier, batch or machine" in p.stderr and "S1" in p.stderr
    p = run_cli("where-used", "machine", "E3", "--home", str(home))
    assert p.returncode == 2 and "kind must be one of lot, supplier, batch, equipment" in p.stderr


def test_cli_unknown_ids_exit_2(built):
    _, home = built
    p = run_cli("trace", "CP9999X", "--home", str(home))
    assert p.returncode == 2 and "not in marts.complaint_trace" in p.stderr
    p = run_cli("where-used", "supplier", "S9", "--home", str(home))
    assert p.returncode == 2 and "did you mean" in p.stderr and "S1" in p.stderr


def test_cli_where_used_equipment_is_its_excursion_batches_unless_all(built):
    _, home = built
    p = run_cli("where-used", "equipment", "E3", "--json", "--home", str(home))
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert len(data["batches"]) == 4 and all(b["excursion_count"] > 0 for b in data["batches"])
    assert "excursion" in data["scope"]
    every = json.loads(run_cli("where-used", "equipment", "E3", "--all-batches", "--json",
                               "--home", str(home)).stdout)
    assert len(every["batches"]) == 20  # every batch of line L02


def test_cli_where_used_pages_text_output(built):
    _, home = built
    p = run_cli("where-used", "equipment", "E3", "--all-batches", "--limit", "3",
                "--home", str(home))
    assert p.returncode == 0, p.stderr
    assert "Batches (20)" in p.stdout and "... 17 more batches (--limit 0 shows all" in p.stdout
    assert "Traced: every batch made on its line" in p.stdout
    full = run_cli("where-used", "equipment", "E3", "--all-batches", "--limit", "0",
                   "--home", str(home))
    assert "more batches" not in full.stdout


COUNT_COLUMN = ("units_", "complaints", "_count", "inspection", "iqc_rejects", "field_units",
                "batches_", "lots_", "shipments", "customers", "provinces", "occurrences")


def test_counts_are_integers_in_the_marts_and_parquet(built):
    con, home = built
    cols = q(con, "select table_name, column_name, data_type from information_schema.columns "
                  "where table_schema = 'marts_build'")
    counts = cols[cols.column_name.str.contains("|".join(COUNT_COLUMN))
                  & ~cols.column_name.str.contains("ppm|rate|share|lift|_ids|_raw|expected|"
                                                   "weighted|_list$")]
    assert len(counts) > 15
    wrong = counts[~counts.data_type.isin(["BIGINT", "INTEGER"])]
    assert wrong.empty, wrong.to_string()
    import pyarrow.parquet as pq

    for mart in ("batch_quality", "complaint_trend", "supplier_scorecard", "forward_trace"):
        schema = pq.read_schema(home / "marts" / f"{mart}.parquet")
        for name in counts[counts.table_name == mart].column_name:
            assert str(schema.field(name).type) in ("int64", "int32"), (mart, name)


def test_names_beside_codes(built):
    con, _ = built
    c = q(con, "select province_code, province_name, problem_type_code, problem_type_name_zh, "
               "problem_type_name_en from marts_build.complaint_trace "
               "where complaint_id = 'CP0001'").iloc[0]
    assert (c.province_code, c.province_name) == ("440000", "广东省")
    assert (c.problem_type_code, c.problem_type_name_zh, c.problem_type_name_en) == (
        "QD08", "接触不良/连接器失效", "connector or contact failure")
    p = q(con, "select distinct problem_type_code, problem_type_name_en from "
               "marts_build.problem_pareto where problem_type_code = 'DL02'").iloc[0]
    assert p.problem_type_name_en == "damaged package"
    s = q(con, "select supplier_code, supplier_name from marts_build.supplier_scorecard "
               "where supplier_code = 'S3'").iloc[0]
    assert s.supplier_name == "S3"


def test_id_lists_are_list_columns_beside_the_contract_strings(built):
    con, home = built
    import pyarrow.parquet as pq

    # (duplicate_ids is all NULL in this plant: the shared e2e run checks its list twin)
    pairs = {"complaint_trace": ["equipment_ids", "excursion_equipment_ids", "material_lots",
                                 "supplier_codes"],
             "spc_violations": ["batch_codes"]}
    for mart, cols in pairs.items():
        types = dict(con.execute("select column_name, data_type from information_schema.columns "
                                 "where table_schema = 'marts_build' and table_name = ?",
                                 [mart]).fetchall())
        schema = pq.read_schema(home / "marts" / f"{mart}.parquet")
        for col in cols:
            assert types[col] == "VARCHAR" and types[f"{col}_list"] == "VARCHAR[]", (mart, col)
            assert str(schema.field(f"{col}_list").type).startswith("list<"), (mart, col)
            bad = con.execute(
                f"select {col}, {col}_list from marts_build.{mart} where coalesce({col}, '') <> "
                f"coalesce(array_to_string({col}_list, ','), '')").fetchall()
            assert not bad, (mart, col, bad[:3])
        assert con.execute(f"select count(*) from marts_build.{mart} where "
                           f"len({cols[0]}_list) > 0").fetchone()[0] > 0, mart
