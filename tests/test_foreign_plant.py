"""A plant nobody here wrote the generator for publishes on its first run (issue 12).

The exports are tests/fixtures/foreign_plant/exports (hand-written; see
tests/fixtures/write_foreign_plant.py): a CAPA opened from an internal finding (no complaint
link), channel / status / shift / unit / inspection-type spellings the shipped dictionary does
not know, a complaint source without province, serial or batch columns, a 1-row entity, a
GBK file with Chinese headers, serial numbers of a form no shipped pattern fits, and an
optional time in a form the dictionary does not know, and placeholders where a value belongs
(`-`, `N/A`, `无` shipped; the plant's `未关闭` not). The real CLI runs the real pipeline
(dbt, GX, publish).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.support.homes import query
from tests.support.runs import qualitrace

pytestmark = pytest.mark.integration
# the tests share one home and run in file order: the overlay test (which re-runs) comes last

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "foreign_plant" / "exports"
COMPLAINT_IDS = {"TS-25031001", "TS-25031002", "TS-25031003", "NH-7001", "NH-7002"}
UNKNOWN = {("channel", "NHTSA"), ("channel", "黑猫投诉"), ("status", "处理反馈"),
           ("status", "厂家受理"), ("status", "信息审核"), ("shift", "常日班"),
           ("unit", "卷"), ("base_unit", "卷"), ("unit", "摄氏"), ("inspection_type", "首检"),
           ("equipment_type", "点焊机")}
PLANT_SERIALS = {"AP200-250303-0017", "AP200-250303-0018", "AP500-250303-0005"}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("foreign")
    exports, home = root / "exports", root / "home"
    shutil.copytree(FIXTURE, exports)
    proc = qualitrace("run", "--home", str(home), "--exports", str(exports))
    return exports, home, proc


def test_first_run_publishes(first_run):
    _, home, proc = first_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "BLOCKING" not in proc.stdout
    published = {r[0] for r in query(home, "select complaint_id from marts.complaint_trace")}
    assert published == COMPLAINT_IDS


def test_unlinked_capa_and_optional_columns_do_not_block(first_run):
    _, home, _ = first_run
    rows = dict(query(home, "select capa_no, complaint_id from staging.stg_qms__capa"))
    assert rows == {"CAPA-25-007": None, "CAPA-25-008": "TS-25031001"}
    # the register source has no province / serial / batch columns: its complaints are kept
    kept = query(home, "select complaint_id, province_code, batch_code, trace_method "
                       "from marts.complaint_trace where complaint_id like 'NH-%' order by 1")
    assert kept == [("NH-7001", None, None, "none"), ("NH-7002", None, None, "none")]
    # a 1-row entity is judged like any other, and never by a rate
    assert query(home, "select count(*) from staging.stg_erp__suppliers") == [(1,)]
    blocking = query(home, "select check_name, asset from governance.check_results "
                           "where not passed and severity = 'ERROR'")
    assert blocking == []


def test_unknown_spellings_are_gaps_and_warnings_not_losses(first_run):
    _, home, _ = first_run
    gaps = query(home, "select field, value_seen, occurrences, example_file, example_row "
                       "from governance.dictionary_gaps")
    seen = {(g[0], g[1]) for g in gaps}
    assert UNKNOWN <= seen, UNKNOWN - seen
    nhtsa = next(g for g in gaps if g[:2] == ("channel", "NHTSA"))
    assert nhtsa[2] == 2 and nhtsa[3] == "crm/complaints_20250311.csv" and nhtsa[4] == 2
    # the record flows on, the canonical column NULL and the spelling kept
    trace = {r[0]: r[1:] for r in query(
        home, "select complaint_id, status, status_raw from marts.complaint_trace")}
    assert trace["TS-25031002"] == (None, "厂家受理") and trace["NH-7002"] == ("open", "open")
    # serials of a form no pattern fits: the serials export's rows (its business key) are
    # quarantined with the reason and value, listed as gaps; the complaint keeps its serial
    # as typed and flows on untraced
    quarantined = query(home, "select reason_code, source_file, source_row from governance.quarantine "
                              "order by source_row")
    assert quarantined == [("invalid_serial", "mes/serials_20250304.csv", n) for n in (2, 3, 4)]
    # the run's summary says the rows wait for a serial pattern, and where the draft is
    _, _, proc = first_run
    hint = next(line for line in proc.stdout.splitlines() if "wait for this plant" in line)
    assert hint.strip().startswith("3 of them wait for this plant's forms in the dictionary "
                                   "(invalid_serial 3: serial numbers of a form no serial "
                                   "pattern reads)")
    assert str(home / "reports" / "dictionary_suggestions.yml") in hint
    assert f"copy it to {home / 'dictionary'}/" in hint
    draft = yaml.safe_load((home / "reports" / "dictionary_suggestions.yml").read_text(
        encoding="utf-8"))
    assert [p["regex"] for p in draft["serial_patterns"]] == [r"^AP\d{13}$"]
    serial_gaps = {g[1] for g in gaps if g[0] == "serial_no"}
    assert serial_gaps == PLANT_SERIALS | {"AP500 250303 0005"}
    assert query(home, "select trace_method from marts.complaint_trace "
                       "where complaint_id = 'TS-25031003'") == [("none",)]
    # an optional time in no known form costs its field, never the shipment
    assert query(home, "select delivered_at, delivered_at_unparsed from staging.stg_erp__shipments "
                       "where shipment_no = 'DN-0503'") == [(None, "07.03.2025 16:20")]
    assert ("delivered_at", "07.03.2025 16:20") in {(g[0], g[1]) for g in gaps}
    # a shipped placeholder is no value: no gap, nothing unparsed, the row kept
    assert query(home, "select delivered_at, delivered_at_unparsed from staging.stg_erp__shipments "
                       "where shipment_no = 'DN-0504'") == [(None, None)]
    assert query(home, "select serial_no, serial_no_as_typed from staging.stg_crm__complaints "
                       "where complaint_id = 'TS-25031002'") == [(None, None)]
    capa = {r[0]: r[1:] for r in query(home, "select capa_no, closed_at, closed_at_unparsed "
                                              "from staging.stg_qms__capa")}
    assert capa == {"CAPA-25-007": (None, "未关闭"), "CAPA-25-008": (None, None)}
    placeholders = {(g[0], g[1]) for g in gaps if g[1] in ("-", "N/A", "无", "未关闭")}
    assert placeholders == {("closed_at", "未关闭")}  # the plant's own: a gap until added
    assert query(home, "select count(*) > 0 from marts.forward_trace "
                       "where shipment_no = 'DN-0503' and customer_code = 'K-1003'") == [(True,)]
    qty = query(home, "select qty, unit, unit_is_known from staging.stg_mes__material_consumption "
                      "where material_lot = 'ML25030202'")
    assert qty == [(None, "卷", False)]  # never guessed
    # one WARN alert per field with gaps, not one per spelling
    alerts = [json.loads(x) for x in (home / "alerts.jsonl").read_text().splitlines()]
    gap_alerts = [a for a in alerts if a["check_name"].startswith("dictionary_gap__")]
    assert all(a["severity"] == "WARN" for a in gap_alerts)
    keys = [(a["check_name"], a["asset"]) for a in gap_alerts if a.get("event") == "new"]
    assert len(keys) == len(set(keys))
    assert ("dictionary_gap__channel", "staging/stg_crm__complaints") in keys
    assert ("dictionary_gap__status", "staging/stg_qms__capa") in keys
    assert ("dictionary_gap__delivered_at", "staging/stg_erp__shipments") in keys


def test_a_machine_type_of_the_plant_own_gets_its_process_window(first_run):
    """点焊机 is no equipment type the dictionary knows: the machine and its spec row keep the
    spelling (equipment_type NULL, a gap), the window still applies to the machine, and its
    excursion reaches the complaint about the batch made on that line at that hour."""
    _, home, _ = first_run
    assert query(home, "select equipment_id, parameter, lsl, usl, spec_scope "
                       "from intermediate.int_equipment_specs where equipment_id = 'WLD-01'") == [
        ("WLD-01", "pressure", 350.0, 450.0, "equipment_type")]
    assert query(home, "select equipment_id, value, batch_code from intermediate.int_readings_excursions "
                       "where equipment_id = 'WLD-01'") == [("WLD-01", 480.0, "20250303-L01-001")]
    [(ids,)] = query(home, "select excursion_equipment_ids from marts.complaint_trace "
                           "where complaint_id = 'TS-25031001'")
    assert "WLD-01" in ids.split(",")


def test_a_batch_shipped_beyond_its_output_warns_and_publishes(first_run):
    _, home, _ = first_run
    assert query(home, "select units_produced, units_shipped from marts.batch_quality "
                       "where batch_code = '20250303-L01-001'") == [(118, 130)]
    warned = query(home, "select severity, passed from governance.check_results "
                         "where check_name like 'at_most_batch_quality_units_shipped%'")
    assert warned == [("WARN", False)]


def test_a_status_report_keeps_what_it_does_not_export(first_run):
    """A later export of the same complaint without the province, serial, batch and customer
    columns updates what it holds (closed) and keeps what it does not hold: the complaint
    still traces to its batch. The manifest says which fields the report lacked."""
    _, home, _ = first_run
    row = query(home, "select status, status_raw, province_code, batch_code, trace_method "
                      "from marts.complaint_trace where complaint_id = 'TS-25031001'")
    assert row == [("closed", "已结案", "330000", "20250303-L01-001", "batch_code")]
    assert query(home, "select cast(updated_at as varchar), customer_key is not null, "
                       "customer_phone_masked from intermediate.int_complaints_distinct "
                       "where complaint_id = 'TS-25031001'") == [
        ("2025-03-12 09:30:00", True, "139****5678")]
    absent = query(home, "select fields_absent from raw._file_manifest "
                         "where path = 'crm/complaints_20250312.csv'")[0][0].split(",")
    assert {"province", "batch_no", "serial_no", "customer_phone"} <= set(absent)
    assert "status" not in absent
    # both versions stay in staging (governance reconciles every delivered row)
    assert query(home, "select count(*) from staging.stg_crm__complaints "
                       "where complaint_id = 'TS-25031001'") == [(2,)]


def test_a_unit_in_a_header_is_the_unit_of_its_values(first_run):
    """`读数(℉)` with no unit column: the readings are in °F, converted like any other."""
    _, home, _ = first_run
    rows = query(home, "select cast(ts as varchar), value, unit, unit_is_known "
                       "from staging.stg_mes__process_readings "
                       "where _source_file = 'mes/process_readings_20250305.csv' order by ts")
    assert [(r[0], round(r[1], 6), r[2], r[3]) for r in rows] == [
        ("2025-03-05 01:00:00", 240.0, "°F", True), ("2025-03-05 03:00:00", 242.0, "°F", True)]
    detail = query(home, "select detail from raw._file_manifest "
                         "where path = 'mes/process_readings_20250305.csv'")[0][0]
    assert "unit '°F' from the header" in detail


def test_report_links_the_same_suggestions(first_run):
    _, home, _ = first_run
    page = (home / "reports" / "index.html").read_text(encoding="utf-8")
    assert 'href="dictionary_suggestions.yml"' in page
    patch = yaml.safe_load((home / "reports" / "dictionary_suggestions.yml").read_text(
        encoding="utf-8"))
    found = {(x["field"], x["value"]) for x in patch["review"]["unknown_spellings"]}
    assert ("crm.complaints.channel", "NHTSA") in found and ("qms.capa.status", "厂家受理") in found


def test_overlay_from_suggest_reconforms_without_redelivery(first_run):
    exports, home, _ = first_run
    patch = home / "suggested.yml"
    proc = qualitrace("dictionary", "suggest", "--exports", str(exports), "--home", str(home),
                      "--out", str(patch))
    assert proc.returncode == 0, proc.stderr
    suggested = yaml.safe_load(patch.read_text(encoding="utf-8"))
    review_items = suggested["review"]
    spelled = {(x["field"].rsplit(".", 1)[1], x["value"]) for x in review_items["unknown_spellings"]}
    assert UNKNOWN <= spelled, UNKNOWN - spelled
    assert any(h["header"] == "Vehicle Make" for h in review_items["unknown_headers"])
    assert "mes.process_specs.equipment_id" in {b["field"] for b in review_items["always_blank"]}
    unparsed = {x["field"]: x["examples"] for x in review_items["values_in_no_known_form"]}
    assert unparsed == {"erp.shipments.delivered_at": ["07.03.2025 16:20"]}
    # 07.03: no number above 12 says which is the day, so both orders wait for the owner
    assert "timestamp_formats" not in suggested
    [choice] = review_items["timestamp_form_choices"]
    assert choice["fields"] == ["erp.shipments.delivered_at"]
    assert (choice["day_first"]["format"], choice["month_first"]["format"]) == (
        "%d.%m.%Y %H:%M", "%m.%d.%Y %H:%M")
    # a text without a digit where a time belongs is a placeholder, for that field type only
    assert suggested["no_value_markers"] == [{"marker": "未关闭", "types": ["timestamp"]}]
    # the plant's serial form: one pattern of its shape, with an example from the exports
    serial_patterns = suggested["serial_patterns"]
    assert [p["regex"] for p in serial_patterns] == [r"^AP\d{13}$"]
    assert serial_patterns[0]["example"] in PLANT_SERIALS
    assert {x["field"] for x in review_items["unmatched_serials"]} == {
        "mes.serials.serial_no", "crm.complaints.serial_no"}
    # the patch as written is a valid overlay
    (home / "dictionary").mkdir(exist_ok=True)
    (home / "dictionary" / "plant.yml").write_text(patch.read_text(encoding="utf-8"),
                                                   encoding="utf-8")
    assert qualitrace("dictionary", "--home", str(home)).returncode == 0
    # the owner's review: accept the suggestions, naming the two new channels' value
    reviewed = review(suggested)
    (home / "dictionary").mkdir(exist_ok=True)
    (home / "dictionary" / "plant.yml").write_text(
        yaml.safe_dump(reviewed, allow_unicode=True, sort_keys=False), encoding="utf-8")
    check = qualitrace("dictionary", "--home", str(home))
    assert check.returncode == 0, check.stderr
    again = qualitrace("run", "--home", str(home), "--exports", str(exports))
    assert again.returncode == 0, again.stdout[-3000:]
    left = {(g[0], g[1]) for g in query(home, "select field, value_seen from "
                                              "governance.dictionary_gaps")}
    assert not (UNKNOWN & left), UNKNOWN & left
    trace = dict(query(home, "select complaint_id, status from marts.complaint_trace"))
    assert trace["TS-25031002"] == "in_progress" and trace["NH-7001"] == "in_progress"
    assert query(home, "select qty from staging.stg_mes__material_consumption "
                       "where material_lot = 'ML25030202'") == [(12.0,)]
    channels = dict(query(home, "select channel_raw, channel from "
                                "intermediate.int_complaints_distinct"))
    assert channels["NHTSA"] == channels["黑猫投诉"] == "complaint_site"
    # the serials conform under the plant's pattern, and the complaint traces by its serial
    assert query(home, "select count(*) from governance.quarantine") == [(0,)]
    assert {r[0] for r in query(home, "select serial_no from staging.stg_mes__serials")} == {
        s.replace("-", "") for s in PLANT_SERIALS}
    assert query(home, "select batch_code, trace_method from marts.complaint_trace "
                       "where complaint_id = 'TS-25031003'") == [("20250303-L02-001", "serial")]
    # the machine type conformed: the same window, the same excursion
    assert query(home, "select equipment_type, lsl, usl from intermediate.int_equipment_specs "
                       "where equipment_id = 'WLD-01'") == [("spot_welder", 350.0, 450.0)]
    assert query(home, "select count(*) from intermediate.int_readings_excursions "
                       "where equipment_id = 'WLD-01'") == [(1,)]
    # the owner added the plant's time form: the shipment's time is read (plant local, UTC+8)
    assert query(home, "select cast(delivered_at as varchar), delivered_at_unparsed from "
                       "staging.stg_erp__shipments where shipment_no = 'DN-0503'") == [
        ("2025-03-07 08:20:00", None)]
    # the plant's placeholder is no value now: not a gap, nothing unparsed
    assert query(home, "select closed_at, closed_at_unparsed from staging.stg_qms__capa "
                       "where capa_no = 'CAPA-25-007'") == [(None, None)]
    assert ("closed_at", "未关闭") not in left


def review(suggested: dict) -> dict:
    """What a quality owner does with the patch: keep what the tool applied (close header
    aliases), and decide what it listed for review (a new channel value, status meanings, a
    unit's kind and factor), using the spellings it found."""
    out = {k: v for k, v in suggested.items() if k != "review"}
    found: dict[str, list[str]] = {}
    for item in suggested["review"]["unknown_spellings"]:
        found.setdefault(item["field"].rsplit(".", 1)[1], []).append(item["value"])
    assert "vocabularies" not in out and "units" not in out  # meanings are the owner's call
    out["vocabularies"] = {
        "channel": {"complaint_site": {"label_zh": "投诉网站", "label_en": "Complaint website",
                                       "spellings": sorted(set(found["channel"]))}},
        "status": {"in_progress": {"spellings": sorted(set(found["status"]))}},
        "shift": {"day": {"spellings": sorted(set(found["shift"]))}},
        "inspection_type": {"IPQC": {"spellings": sorted(set(found["inspection_type"]))}},
        "equipment_type": {"spot_welder": {"label_zh": "点焊机", "label_en": "Spot welder",
                                           "spellings": sorted(set(found["equipment_type"]))}},
    }
    # the order the review left open: day first, as the plant's ERP writes dates
    out["timestamp_formats"] = [c["day_first"] for c in suggested["review"]["timestamp_form_choices"]]
    out["units"] = {"quantity": {"roll": {"factor": 1, "spellings": ["卷"]}},
                    "temperature": {"°C": {"spellings": ["摄氏"]}}}
    return out

