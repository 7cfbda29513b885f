"""Benchmark harness (benchmarks/qtbench): the parts that do not need a pipeline run."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

from qtbench import dayfiles, floor, report, stages
from qtbench.measure import run_measured, tree_rss_bytes

# --- a tiny plant export in every format the floor must convert -------------------------

def _write_text(path: Path, rows: list[list[str]], encoding: str, delim: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delim, lineterminator="\n").writerows(rows)


@pytest.fixture()
def exports(tmp_path: Path) -> Path:
    root = tmp_path / "exports"
    readings = [["equipment_id", "ts", "parameter", "value", "unit"]] + [
        ["SMT-L01-01", f"2024-01-{d:02d} 0{h}:00:00", "temperature", "21.5", "℃"]
        for d in (1, 2) for h in range(4)]
    _write_text(root / "mes/process_readings_20240101.csv", readings[:5], "utf-8", ",")
    _write_text(root / "mes/process_readings_20240103.csv", [readings[0]] + readings[5:], "utf-8", ",")
    _write_text(root / "erp/shipments_20240101.tsv",
                [["发货单号", "行号", "收货省份"], ["FH1", "1", "广东省"], ["FH2", "1", "上海"]], "gbk", "\t")
    _write_text(root / "erp/shipments_20240102.tsv",
                [["发货单号", "行号", "收货省份"], ["FH3", "1", "浙江"], ["FH4", "2", "北京"]], "gb18030", "\t")
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    for r in (["inspection_id", "result", "defect_code"], ["I1", "合格", None], ["I2", "NG", "D7"]):
        ws.append(r)
    (root / "qms").mkdir(parents=True)
    wb.save(root / "qms/inspections_20231229.xlsx")
    (root / "crm").mkdir(parents=True)
    (root / "crm/complaints_20240105.jsonl").write_text(
        '{"complaint_id": "CS1", "description": "发热"}\n{broken\n'
        '{"complaint_id": "CS2", "description": "noise", "severity": "高"}\n', encoding="utf-8")
    (root / "crm/complaints_20240112.jsonl").write_text("\n", encoding="utf-8")  # empty delivery
    return root


def test_floor_converts_every_format_and_loads_every_row(exports: Path, tmp_path: Path):
    manifest = floor.prepare_floor(exports, tmp_path / "floor")
    by_source = {f["source"]: f for f in manifest["files"]}
    assert "crm/complaints_20240112.jsonl" not in by_source  # empty: nothing to load
    assert by_source["mes/process_readings_20240101.csv"]["converted"] is False
    assert by_source["erp/shipments_20240101.tsv"]["converted"] is True
    converted = (tmp_path / "floor" / by_source["erp/shipments_20240101.tsv"]["path"]).read_text("utf-8")
    assert converted.splitlines()[1] == "FH1,1,广东省"
    result = floor.load_floor(tmp_path / "floor", tmp_path / "floor.duckdb")
    # 4 + 4 readings, 2 + 2 shipments, 2 inspections, 2 complaints (the broken line skipped)
    assert result["rows"] == 16
    assert result["tables"] == 6
    assert result["errors"] == []


def test_floor_runs_as_its_own_process_and_reports_json(exports: Path, tmp_path: Path):
    floor.prepare_floor(exports, tmp_path / "floor")
    import os
    m = run_measured([sys.executable, "-m", "qtbench.floor", str(tmp_path / "floor"),
                      str(tmp_path / "f.duckdb")], env={**os.environ, "PYTHONPATH": str(BENCH)})
    assert m.returncode == 0, m.stdout
    assert json.loads(m.stdout.strip().splitlines()[-1])["rows"] == 16
    assert m.peak_rss_mb > 10 and m.cpu_s > 0


def test_detect_encoding(tmp_path: Path):
    p = tmp_path / "a.csv"
    p.write_bytes("省份\n".encode("gbk"))
    assert floor.detect_encoding(p) == "gb18030"
    p.write_bytes("\ufeff省份\n".encode("utf-8"))
    assert floor.detect_encoding(p) == "utf-8-sig"


# --- one new day of files ---------------------------------------------------------------

def test_new_day_takes_a_days_share_of_the_latest_delivery(exports: Path):
    day = dayfiles.write_day(exports)
    assert day["day"] == "2024-01-13"  # the day after the last delivery (complaints 01-12)
    files = {f["path"]: f for f in day["files"]}
    # readings: latest file covers 2 days (01-01 -> 01-03), 4 rows -> 2 rows, one day later
    new_readings = exports / "mes/process_readings_20240113.csv"
    rows = list(csv.reader(new_readings.open(encoding="utf-8")))
    assert rows[0] == ["equipment_id", "ts", "parameter", "value", "unit"]
    assert [r[1] for r in rows[1:]] == ["2024-01-03 02:00:00", "2024-01-03 03:00:00"]
    assert files["mes/process_readings_20240113.csv"]["rows"] == 2
    # shipments: latest file covers one day (01-01 -> 01-02): all its rows, same encoding
    # and delimiter, rows unchanged (they arrive again as that day's changed rows)
    text = (exports / "erp/shipments_20240113.tsv").read_bytes().decode("gb18030")
    assert text.splitlines() == ["发货单号\t行号\t收货省份", "FH3\t1\t浙江", "FH4\t2\t北京"]
    # master data (delivered once) and empty deliveries are not repeated
    assert not any(p.startswith("qms/inspections") for p in files)
    assert sum(f["rows"] for f in day["files"]) == day["rows"]


def test_a_single_file_is_the_next_day_of_one_entity_only(exports: Path):
    before = {p.relative_to(exports).as_posix() for p in exports.glob("*/*")}
    one = dayfiles.write_single_file(exports, "shipments")
    after = {p.relative_to(exports).as_posix() for p in exports.glob("*/*")}
    assert after - before == {"erp/shipments_20240113.tsv"} and one["day"] == "2024-01-13"
    assert one["rows"] == 2 == one["files"][0]["rows"]
    # new records: the day's rows with new business keys (beyond FH4, the largest delivered)
    text = (exports / "erp/shipments_20240113.tsv").read_bytes().decode("gb18030")
    assert text.splitlines() == ["发货单号\t行号\t收货省份", "FH7\t1\t浙江", "FH8\t2\t北京"]
    # complaints were delivered on one good day only (the later file is empty): not periodic
    with pytest.raises(ValueError, match="no periodic delivery of complaints"):
        dayfiles.write_single_file(exports, "complaints")


def test_a_single_file_after_a_day_is_no_copy_of_that_day(exports: Path):
    day = {f["path"] for f in dayfiles.write_day(exports)["files"]}
    one = dayfiles.write_single_file(exports, "shipments")["files"][0]["path"]
    assert "erp/shipments_20240113.tsv" in day and one == "erp/shipments_20240114.tsv"
    assert ((exports / one).read_bytes().splitlines()[1:]
            != (exports / "erp/shipments_20240113.tsv").read_bytes().splitlines()[1:])


def test_new_keys_are_beyond_every_key_taken():
    assert dayfiles.new_keys(["CS0000006", "CS0000007", "x"], ["CS0012345", "CS0000006"]) == {
        "CS0000006": "CS0012351", "CS0000007": "CS0012352", "x": "x-N"}
    assert dayfiles.new_keys([7], [7, 9]) == {7: "16"}


def test_shift_ts_leaves_other_forms_alone():
    assert dayfiles.shift_ts("2024-02-29 23:59:59") == "2024-03-01 23:59:59"
    assert dayfiles.shift_ts("2024-02-30 25:61:00") == "2024-02-30 25:61:00"
    assert dayfiles.parse_name(Path("complaints_20240311_3.csv")) == ("complaints", dt.date(2024, 3, 11))


# --- stages from the runner's event log ------------------------------------------------

LOG = """\
23:34:12 dictionary__tables           STEP_START                 Started execution of step "dictionary__tables".
23:34:15 dictionary__tables           STEP_SUCCESS               Finished execution of step "dictionary__tables" in 3.67s.
23:34:15 raw__mes__process_readings   STEP_START                 Started execution of step "raw__mes__process_readings".
23:34:15 raw__mes__process_readings   STEP_SUCCESS               Finished execution of step "raw__mes__process_readings" in 533ms.
23:34:16 dbt_models                   STEP_START                 Started execution of step "dbt_models".
23:39:08 dbt_models                   STEP_SUCCESS               Finished execution of step "dbt_models" in 4m52s.
23:39:08 gx_intermediate__int_batches STEP_START                 Started execution of step "gx_intermediate__int_batches".
23:39:10 gx_intermediate__int_batches STEP_FAILURE               Execution of step "gx_intermediate__int_batches" failed.
23:39:10 dbt_marts_build              STEP_SKIPPED               Skipping step dbt_marts_build
23:39:10 publish_marts                STEP_SKIPPED               Skipping step publish_marts
"""


def test_step_seconds_and_stage_split():
    steps = stages.step_seconds(LOG)
    assert steps["dictionary__tables"] == {"seconds": 3.67, "status": "success"}
    assert steps["raw__mes__process_readings"]["seconds"] == 0.533
    assert steps["dbt_models"]["seconds"] == 292.0
    assert steps["gx_intermediate__int_batches"] == {"seconds": 2.0, "status": "failure"}
    assert steps["publish_marts"]["status"] == "skipped"
    run_results = {"results": [
        {"unique_id": "test.qt.a", "timing": [
            {"name": "execute", "started_at": "2024-01-01T00:00:00Z", "completed_at": "2024-01-01T00:00:10Z"}]},
        {"unique_id": "test.qt.b", "timing": [
            {"name": "execute", "started_at": "2024-01-01T00:00:05Z", "completed_at": "2024-01-01T00:00:20Z"}]},
        {"unique_id": "model.qt.c", "timing": [
            {"name": "execute", "started_at": "2024-01-01T00:00:00Z", "completed_at": "2024-01-01T00:01:00Z"}]},
    ]}
    s = stages.stages(LOG, wall_s=310.0, run_results=[run_results])
    assert s["dbt_test_s"] == 20.0
    assert s["stage_s"]["ingest"] == pytest.approx(4.2, abs=0.01)
    assert s["stage_s"]["dbt_build"] == 272.0
    assert s["stage_s"]["quality_gate"] == 22.0
    assert s["stage_s"]["marts"] == 0.0
    assert s["stage_s"]["other"] == pytest.approx(310 - 3.67 - 0.533 - 292 - 2, abs=0.01)


@pytest.mark.parametrize("step,stage", [
    ("raw__crm__complaints", "ingest"), ("dictionary__tables", "ingest"),
    ("dbt_models", "dbt_build"), ("dbt_marts_build", "marts"), ("publish_marts", "marts"),
    ("gx_staging__stg_crm__complaints", "quality_gate"),
    ("governance__file_manifest_rows_reconcile", "quality_gate"), ("something_new", "other"),
    ("governance__report", "quality_gate"),
])
def test_stage_of(step: str, stage: str):
    assert stages.stage_of(step) == stage


def test_parse_duration_forms():
    assert stages.parse_duration('step "x" in 0.83ms.') == pytest.approx(0.00083)
    assert stages.parse_duration('step "x" in 2.1s.') == 2.1
    assert stages.parse_duration('step "x" in 1h4m.') == 3840
    assert stages.parse_duration('step "x" failed.') is None


def test_find_log_prefers_the_path_named_in_stdout(tmp_path: Path):
    log = tmp_path / "logs" / "run-1.log"
    log.parent.mkdir()
    log.write_text("x")
    out = f"materialising 90 assets (run 6065810c, log {log})\n"
    assert stages.find_log(out, tmp_path, 0) == log
    assert stages.find_log("", tmp_path, 0) == log


# --- measurement and report ------------------------------------------------------------

def test_run_measured_counts_the_whole_tree():
    code = ("import subprocess, sys; x = bytearray(80 * 2**20); "
            "subprocess.run([sys.executable, '-c', 'import time; y = bytearray(120 * 2**20); time.sleep(0.8)']);"
            "print('done')")
    m = run_measured([sys.executable, "-c", code], interval=0.05)
    assert m.returncode == 0 and m.stdout.strip() == "done"
    assert m.max_single_rss_mb >= 120
    assert m.tree_rss_mb >= 200  # parent and child alive together
    assert m.peak_rss_mb == max(m.max_single_rss_mb, m.tree_rss_mb)
    assert tree_rss_bytes(999_999_999) == 0


def _result(scale: float, **kw) -> dict:
    r = {"scale": scale, "input_rows": 1000, "floor_s": 1.0, "pipeline_s": 3.0, "gate_s": 0.5,
         "pipeline_over_floor": 3.0, "gate_over_pipeline": 0.17, "incremental_s": 0.6,
         "incremental_over_full": 0.2, "no_change_s": 0.5, "peak_rss_mb": 900.0,
         "pipeline": {"returncode": 0, "stage_s": {"ingest": 1, "dbt_build": 1, "quality_gate": 0.5,
                                                   "marts": 0.3, "other": 0.2}},
         "latency": {"query": {"trace": {"query": {"median_ms": 4.0}}},
                     "command": {"trace": {"median_ms": 900.0}, "where_used": {"median_ms": 1600.0}}},
         "machine": report.machine(), "versions": report.versions(),
         "finished_at": "2026-11-21T23:59:00+00:00", "reference_small_pipeline_s": 20.0}
    r.update(kw)
    r["targets"] = report.verdicts(r)
    return r


def test_verdicts_apply_the_targets_for_the_scale():
    big = _result(10, pipeline_over_floor=5.0)
    assert big["targets"]["pipeline_over_floor_le_4"]["met"] is False
    assert big["targets"]["gate_over_pipeline_le_0.25"]["met"] is True
    assert big["targets"]["peak_rss_under_4096_mb"]["met"] is True
    one = _result(1, single_file_s=16.0)
    assert one["targets"]["incremental_over_full_le_0.25"]["met"] is True
    assert one["targets"]["single_file_le_15_s"]["met"] is False
    assert one["targets"]["no_change_le_small_plus_5_s"]["met"] is True
    assert one["targets"]["where_used_command_median_le_1500_ms"]["met"] is False
    assert one["targets"]["where_used_query_median_under_100_ms"]["met"] is None


def test_readme_block_is_replaced_not_duplicated(tmp_path: Path):
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\nprose stays\n")
    report.update_readme(readme, [_result(0.01)])
    report.update_readme(readme, [_result(0.01), _result(1)])
    text = readme.read_text()
    assert text.startswith("# Benchmarks\n\nprose stays\n")
    assert text.count(report.START) == 1
    table_rows = [ln for ln in text.splitlines() if ln.startswith(("| 0.01 ", "| 1 "))]
    assert len(table_rows) == 2
    assert "MISSED" in text and "cores" in text


# --- latency helpers -------------------------------------------------------------------

def test_pick_ids_prefers_a_traced_complaint_and_the_most_shipped_lot(tmp_path: Path):
    import duckdb
    from qtbench import latency
    marts = tmp_path / "marts"
    marts.mkdir()
    con = duckdb.connect()
    con.execute(f"""copy (select * from (values ('C1', null), ('C2', '20240315-L02-003'))
                 t(complaint_id, batch_code)) to '{marts}/complaint_trace.parquet'""")
    con.execute(f"""copy (select * from (values ('supplier_lot', 'ML-1'), ('supplier_lot', 'ML-2'),
                 ('supplier_lot', 'ML-2'), ('equipment', 'SMT-L01-01'))
                 t(suspect_kind, suspect_id)) to '{marts}/forward_trace.parquet'""")
    assert latency.pick_ids(marts) == {"complaint_id": "C2", "lot": "ML-2"}
    assert latency.pick_ids(tmp_path) == {"complaint_id": None, "lot": None}


def test_command_latency_reports_median_and_failures():
    from qtbench import latency
    ok = latency.command_latency([sys.executable, "-c", "pass"], repeats=3)
    assert ok["n"] == 3 and ok["min_ms"] <= ok["median_ms"] <= ok["max_ms"]
    bad = latency.command_latency([sys.executable, "-c", "import sys; sys.exit('no marts')"], repeats=3)
    assert bad["error"].startswith("exit 1: no marts") and bad["failures"] == 3
    assert "median_ms" not in bad


def test_spark_table_shows_every_stage_and_the_parity():
    """The Spark row shows the same five stages as the DuckDB table (the stage names the
    runner's log split gives), and which tables and marts equal the DuckDB run."""
    from qtbench import spark
    record = {"scale": 0.1, "input_rows": 690774, "duckdb_pipeline_s": 34.9, "duckdb_dbt_s": 12.3,
              "finished_at": "2026-12-05T20:06:43",
              "spark": {"wall_s": 157.0, "returncode": 0, "dbt_elapsed_s": 129.3, "cpu_s": 45.2,
                        "peak_rss_mb": 5471, "stage_s": dict(zip(stages.STAGES,
                                                                 (4.7, 115.0, 27.7, 1.0, 8.5)))},
              "parity": {"equal": 46, "tables": 47, "marts_equal": 8, "marts": 8}}
    old = {"scale": 1, "spark": {"wall_s": 300.0}}  # `qualitrace spark` alone: no stages
    rows = spark.table([record, old]).splitlines()
    assert len(rows) == 3
    assert "| 4.7 / 115.0 / 27.7 / 1.0 / 8.5 |" in rows[2], rows[2]
    assert "| 46 of 47 | 8 of 8 |" in rows[2]


def test_repeated_single_file_runs_report_the_median_run_and_any_failure():
    from qtbench.measure import median_run

    runs = [{"wall_s": w, "returncode": 0, "label": i} for i, w in enumerate([15.9, 14.2, 16.8, 14.9, 15.1])]
    m = median_run(runs)
    assert (m["wall_s"], m["label"], m["returncode"]) == (15.1, 4, 0)
    assert m["runs_wall_s"] == [15.9, 14.2, 16.8, 14.9, 15.1]
    # an even count: the lower middle, a run that happened
    assert median_run(runs[:4])["wall_s"] == 14.9
    # a failed repeat shows, whatever the median
    runs[2]["returncode"] = 1
    assert median_run(runs)["returncode"] == 1
    assert median_run(runs[:1])["wall_s"] == 15.9
    with pytest.raises(ValueError):
        median_run([])
