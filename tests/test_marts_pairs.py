"""Combined suspects, built by real dbt over a hand-planted plant with a two-factor cause.

Three lines run three shifts for 24 days; every batch ships 1000 units. Abnormal noise (QD05)
is planted on line L03's night shift only: each L03 night batch draws four complaints, every
other batch one complaint in six. L03 alone and the night shift alone both look suspicious, each
diluted by the healthy rest; the pair `line+shift` / `L03+night` must rank first. A one-factor
cause (overheating, QD04, on every L01 batch whatever the shift) must rank the line first and
produce no pair with it. The marts are built exactly as in test_marts_fixture_plant: upstream
relations written into a fresh DuckDB file, then `dbt build` of the marts and their support
models with their schema tests.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from tests.test_marts_fixture_plant import dbt_build_marts, write_upstream

pytestmark = pytest.mark.integration  # builds dbt over a plant

T0 = dt.datetime(2024, 5, 6, 0, 0)  # a Monday
LINES = ("L01", "L02", "L03")
SHIFTS = (("day", "白", 8), ("swing", "中", 16), ("night", "夜", 0))


def two_factor_plant() -> dict[str, pd.DataFrame]:
    batches, genealogy, shipments, complaints = [], [], [], []
    n = 0
    for day in range(24):
        for line in LINES:
            for shift, shift_raw, hour in SHIFTS:
                n += 1
                start = T0 + dt.timedelta(days=day, hours=hour)
                code = f"{start:%Y%m%d}-{line}-{n:03d}"
                batches.append({
                    "batch_code": code, "product_code": "P1", "product_model": "M1",
                    "work_order_no": f"WO{n:04d}", "line": line, "shift": shift,
                    "shift_raw": shift_raw, "operator_id": f"OP{n % 4}", "batch_start": start,
                    "batch_end": start + dt.timedelta(hours=7), "units_produced": 1000,
                    "units_good": 995, "units_shipped": 1000})
                genealogy.append({"batch_code": code, "material_code": "M-FAN",
                                  "supplier_code": "S1", "material_lot": f"ML-FAN-{day // 6}",
                                  "supplier_lot": f"SL-{day // 6}", "qty": 1000.0})
                shipments.append({
                    "shipment_no": f"SH{n:04d}", "line_no": 1, "customer_code": f"C{n % 5}",
                    "province_code": "440000", "region": "华南", "product_code": "P1",
                    "batch_code": code, "qty": 1000, "shipped_at": start + dt.timedelta(days=1),
                    "carrier": "FastWay", "promised_date": (start + dt.timedelta(days=4)).date(),
                    "delivered_at": None})

    def complain(batch, ptype):
        k = len(complaints) + 1
        complaints.append({
            "complaint_id": f"CP{k:05d}", "duplicate_ids": None,
            "received_at": batch["batch_start"] + dt.timedelta(days=9), "status": "open",
            "status_raw": "新建", "province_code": "440000", "region": "华南",
            "product_model": "M1", "problem_type_code": ptype, "problem_category": ptype[:2],
            "secondary_problem_codes": None, "problem_evidence": None, "severity": 5,
            "batch_code": batch["batch_code"],
            "trace_method": "batch_code", "batch_code_typed": batch["batch_code"],
            "batch_code_flag": None, "customer_key": f"k{k}", "serial_no": None})

    for i, b in enumerate(batches):
        if b["line"] == "L03" and b["shift"] == "night":
            for _ in range(4):
                complain(b, "QD05")
        elif i % 6 == 0:
            complain(b, "QD05")
        if b["line"] == "L01":
            for _ in range(2):
                complain(b, "QD04")
        elif i % 9 == 0:
            complain(b, "QD04")

    receipts = pd.DataFrame([
        {"receipt_no": f"R{i}", "line_no": 1, "material_code": "M-FAN", "supplier_code": "S1",
         "supplier_lot": g["supplier_lot"], "material_lot": g["material_lot"], "qty": 50000.0,
         "unit": "pcs", "received_at": T0}
        for i, g in enumerate({g["material_lot"]: g for g in genealogy}.values())])
    return {
        "int_batches_enriched": pd.DataFrame(batches),
        "int_batch_genealogy": pd.DataFrame(genealogy),
        "int_batch_excursions": pd.DataFrame(columns=[
            "batch_code", "equipment_id", "parameter", "excursion_count", "first_ts", "last_ts"]),
        "int_readings_excursions": pd.DataFrame(columns=[
            "equipment_id", "line", "parameter", "ts", "value", "lsl", "usl", "batch_code"]),
        "int_spc_violations": pd.DataFrame(columns=[
            "violation_key", "equipment_id", "line", "parameter", "rule", "points_flagged", "max_abs_z",
            "window_start", "window_end", "batch_codes"]),
        "int_complaints_batch_resolved": pd.DataFrame(complaints),
        "stg_erp__shipments": pd.DataFrame(shipments),
        "stg_qms__inspections": pd.DataFrame([
            {"inspection_id": f"FQC{i}", "inspection_type": "FQC", "batch_code": b["batch_code"],
             "material_lot": None, "passed": True, "inspected_at": b["batch_end"]}
            for i, b in enumerate(batches)]),
        "stg_erp__purchase_receipts": receipts,
        "stg_erp__suppliers": pd.DataFrame([{"supplier_code": "S1", "supplier_name": "S1",
                                             "province_code": "440000", "qualified": True}]),
        "stg_erp__products": pd.DataFrame([{"product_code": "P1", "model": "M1",
                                            "product_line": "X"}]),
        "stg_mes__equipment": pd.DataFrame([
            {"equipment_id": f"E{i}", "equipment_name": "fan press", "equipment_type": "press",
             "line": line} for i, line in enumerate(LINES, start=1)]),
    }


@pytest.fixture(scope="module")
def ranking(tmp_path_factory):
    work = tmp_path_factory.mktemp("marts_pairs")
    warehouse = work / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    write_upstream(con, two_factor_plant())
    con.close()
    proc = dbt_build_marts(warehouse, work)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    con = duckdb.connect(str(warehouse), read_only=True)
    yield con
    con.close()


def test_the_planted_pair_ranks_first(ranking):
    top = ranking.execute(
        "select suspect_kind, suspect_id, lift, conditional_p_value from "
        "marts_build.suspect_ranking where problem_type_code = 'QD05' order by rank, "
        "suspect_kind limit 3").df()
    assert (top.suspect_kind[0], top.suspect_id[0]) == ("line+shift", "L03+night"), top
    assert top.conditional_p_value[0] < 0.01
    parts = ranking.execute(
        "select suspect_kind, suspect_id, lift from marts_build.suspect_ranking "
        "where problem_type_code = 'QD05' and suspect_kind in ('line', 'shift') "
        "and suspect_id in ('L03', 'night')").df()
    assert len(parts) == 2 and (top.lift[0] > parts.lift).all()  # the pair explains more


def test_pair_exposure_counts(ranking):
    r = ranking.execute(
        "select * from marts_build.suspect_ranking where problem_type_code = 'QD05' "
        "and suspect_id = 'L03+night'").df().iloc[0]
    total = ranking.execute("select count(*) from intermediate.int_complaints_batch_resolved "
                            "where problem_type_code = 'QD05'").fetchone()[0]
    assert (r.units_exposed, r.complaints_exposed) == (24 * 1000, 24 * 4)
    assert r.complaints_exposed + r.complaints_unexposed == total
    assert r.units_exposed + r.units_unexposed == 24 * 9 * 1000


def test_a_one_factor_cause_makes_no_pair(ranking):
    df = ranking.execute(
        "select suspect_kind, suspect_id, rank from marts_build.suspect_ranking "
        "where problem_type_code = 'QD04' and rank is not null order by rank").df()
    assert (df.suspect_kind[0], df.suspect_id[0]) == ("line", "L01")
    assert not df.suspect_id.str.contains("L01+", regex=False).any(), df


def test_a_ranked_pair_traces_forward_to_its_batches(ranking):
    df = ranking.execute(
        "select distinct batch_code, line from marts_build.forward_trace "
        "where suspect_kind = 'line+shift' and suspect_id = 'L03+night'").df()
    assert len(df) == 24 and set(df.line) == {"L03"}
    shifts = ranking.execute(
        "select distinct b.shift from marts_build.forward_trace f join "
        "intermediate.int_batches_enriched b using (batch_code) "
        "where f.suspect_id = 'L03+night'").fetchall()
    assert shifts == [("night",)]
