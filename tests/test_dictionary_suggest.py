"""`qualitrace dictionary suggest` on hand-written exports: nothing landed, a reviewable patch
that the overlay loader accepts as is."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.dictionary.suggest import build_patch, profile_exports

REPO_ROOT = Path(__file__).resolve().parents[1]


def exports(tmp_path: Path) -> Path:
    root = tmp_path / "exports"
    (root / "crm").mkdir(parents=True)
    (root / "mes").mkdir()
    # GBK, Chinese headers; a header one letter off a known alias (Serial Numbr), one unknown
    # (微信号), an unknown channel, a batch code in no known form
    (root / "crm" / "complaints_20250401.csv").write_bytes(
        "客诉单号,渠道,受理时间,问题描述,状态,批号,微信号,Serial Numbr\n"
        "K1,抖音,2025-04-01 10:00,屏幕一直闪烁不停,新建,X-2025-0401,wx1,\n"
        "K2,抖音,2025-04-01 11:00,屏幕闪烁，按键失灵,处理中,,wx2,\n"
        "K3,400热线,2025-04-01 12:00,机器冒烟了,已关闭,,,\n".encode("gbk"))
    (root / "mes" / "production_batches_20250401.csv").write_text(
        "batch,product_code,line,shift,start_time,end_time,qty_produced,qty_good\n"
        "20250401-L1-1,P0001,L1,白班,2025-04-01 08:00,2025-04-01 16:00,100,\n"
        "20250401-L1-2,P0001,L1,大夜,2025-04-01 20:00,2025-04-02 04:00,100,\n", encoding="utf-8")
    (root / "crm" / "notes.txt").write_text("not an export", encoding="utf-8")
    return root


def test_profile_and_patch(tmp_path):
    d = load_dictionary(overlays=[])
    root = exports(tmp_path)
    prof = profile_exports(root, d)
    assert prof.files == 3 and prof.rows == 5
    patch = build_patch(prof, d, root)
    # a close variant of a known header is applied; an unrelated one waits for review
    assert patch["headers"] == {"crm.complaints.serial_no": ["Serial Numbr"]}
    review = patch["review"]
    assert [h["header"] for h in review["unknown_headers"]] == ["微信号"]
    spell = {(x["field"], x["value"]): x for x in review["unknown_spellings"]}
    assert spell[("crm.complaints.channel", "抖音")]["rows"] == 2
    assert spell[("crm.complaints.channel", "抖音")]["example"] == "crm/complaints_20250401.csv:2"
    assert ("mes.production_batches.shift", "大夜") in spell
    assert ("mes.production_batches.shift", "白班") not in spell  # known
    assert review["always_blank"] == [{"field": "mes.production_batches.qty_good", "rows": 2}]
    assert review["unmatched_batch_codes"][0]["examples"] == ["X-2025-0401"]
    assert review["files_matching_no_entity"][0]["file"] == "crm/notes.txt"
    # 屏幕闪烁 is no keyword of the shipped taxonomy: its words come back as candidates
    words = {c["word"] for c in review["keyword_candidates"]}
    assert "闪烁" in words
    assert not (root / ".." / "home").exists()


def test_cli_writes_a_patch_the_overlay_accepts(tmp_path):
    root = exports(tmp_path)
    home, out = tmp_path / "home", tmp_path / "patch.yml"
    run = subprocess.run([sys.executable, "-m", "orchestration.cli", "dictionary", "suggest",
                          "--exports", str(root), "--home", str(home), "--out", str(out)],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert "unknown spellings: 2 in 2 fields" in run.stdout and str(out) in run.stdout
    assert not (home / "warehouse.duckdb").exists()  # nothing landed
    patch = yaml.safe_load(out.read_text(encoding="utf-8"))
    (home / "dictionary").mkdir(parents=True)
    (home / "dictionary" / "plant.yml").write_text(out.read_text(encoding="utf-8"),
                                                   encoding="utf-8")
    check = subprocess.run([sys.executable, "-m", "orchestration.cli", "dictionary",
                            "--home", str(home)], cwd=REPO_ROOT, capture_output=True, text=True,
                           timeout=300, check=False)
    assert check.returncode == 0, check.stderr
    assert "plant overlay merged" in check.stdout
    d = load_dictionary(overlays=[home / "dictionary" / "plant.yml"])
    assert "Serial Numbr" in d.entity("crm", "complaints").field("serial_no").aliases
    assert patch["review"]["overlay_draft"]["vocabularies"]["channel"]["TODO_canonical"] == {
        "spellings": ["抖音"]}


def test_missing_folder_is_a_clear_error(tmp_path):
    run = subprocess.run([sys.executable, "-m", "orchestration.cli", "dictionary", "suggest",
                          "--exports", str(tmp_path / "nope")], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 2 and "no such folder" in run.stderr


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=4),
                          st.text("0123456789", min_size=1, max_size=9)), min_size=1, max_size=5),
       st.sampled_from(["", "-", " ", "/"]))
def test_a_serial_shape_matches_its_serial_and_is_narrow(runs, sep):
    """The pattern `suggest` writes for a serial fits that serial however it was separated,
    and only serials of the same shape (same run lengths; the leading letters literal)."""
    from orchestration.lib.dictionary.normalize import serial_key
    from orchestration.lib.dictionary.suggest import serial_shape

    typed = sep.join(runs)
    key = serial_key(typed)
    shape = serial_shape(key)
    if shape is None:
        assert key is None or not any(c.isdigit() for c in key)
        return
    assert re.fullmatch(shape, key)
    longer = key + "7"  # one digit more never fits a shape of exact run lengths
    assert not re.fullmatch(shape, longer)


def test_placeholders_are_no_value_and_a_plants_own_is_suggested(tmp_path):
    """Shipped placeholders (`-`, `N/A`, `无`) are blanks to the profile: no unknown spelling,
    and a field holding only them is always blank. A text without a digit where a time or
    number belongs (`未关闭`, `see notes`) comes back as a no-value marker for that field type,
    not as a form to add; a value with digits stays a form to add."""
    root = tmp_path / "exports"
    (root / "qms").mkdir(parents=True)
    (root / "qms" / "capa_20250402.csv").write_text(
        "CAPA No,Status,Open Date,Close Date,Batch Ref\n"
        "C1,处理中,2025-04-01 10:00,未关闭,-\n"
        "C2,已关闭,2025-04-01 11:00,02.04.2025,N/A\n"
        "C3,处理中,2025-04-01 12:00,未关闭,无\n"
        "C4,处理中,2025-04-01 12:00,see notes,—\n", encoding="utf-8")
    d = load_dictionary(overlays=[])
    prof = profile_exports(root, d)
    patch = build_patch(prof, d, root)
    review = patch["review"]
    assert "unknown_spellings" not in review and "unmatched_batch_codes" not in review
    assert {"field": "qms.capa.batch_ref", "rows": 4} in review["always_blank"]
    assert patch["no_value_markers"] == [{"marker": "未关闭", "types": ["timestamp"]},
                                         {"marker": "see notes", "types": ["timestamp"]}]
    assert review["values_in_no_known_form"][0]["examples"] == ["02.04.2025"]
    overlay = tmp_path / "plant.yml"
    overlay.write_text(yaml.safe_dump({"no_value_markers": patch["no_value_markers"]},
                                      allow_unicode=True), encoding="utf-8")
    d2 = load_dictionary(overlays=[overlay])
    again = build_patch(profile_exports(root, d2), d2, root)
    assert "no_value_markers" not in again


def test_a_csv_report_title_is_read_past_as_ingest_does(tmp_path):
    root = tmp_path / "exports"
    (root / "crm").mkdir(parents=True)
    (root / "crm" / "complaints_20250403.csv").write_bytes(
        ("客诉明细报表\n导出时间: 2025-04-03,筛选: 全部\n\n"
         "客诉单号,渠道,受理时间,问题描述,状态\n"
         "K1,抖音,2025-04-01 10:00,屏幕一直闪烁不停,新建\n").encode("gbk"))
    d = load_dictionary(overlays=[])
    prof = profile_exports(root, d)
    assert prof.rows == 1 and not prof.unknown_headers
    assert prof.unknown_values[("crm", "complaints", "channel", "抖音")]["example"] == \
        "crm/complaints_20250403.csv:5"


def test_a_semicolon_csv_is_profiled_with_the_delimiter_ingest_reads_it_with(tmp_path):
    root = tmp_path / "exports"
    (root / "crm").mkdir(parents=True)
    (root / "crm" / "complaints_20250404.csv").write_text(
        "complaint_id;channel;received_at;description;status\n"
        "K2;TikTok;2025-04-02 10:00;screen flickers, then goes black;new\n", encoding="utf-8")
    d = load_dictionary(overlays=[])
    prof = profile_exports(root, d)
    assert prof.rows == 1 and not prof.unknown_headers
    assert prof.unknown_values[("crm", "complaints", "channel", "TikTok")]["example"] == \
        "crm/complaints_20250404.csv:2"


def test_times_the_conformance_reads_are_not_forms_to_add(tmp_path):
    """The profile reads a time as the conformance does (normalize.time_text): an SQL Server
    fraction, a PLC's 14 digits, a Chinese 12-hour clock, clock units, a dotted date are
    known forms; a day-first date is not (ambiguous: the plant adds its form)."""
    from tests.test_conform import OTHER_SYSTEMS_TIMES

    root = tmp_path / "exports"
    (root / "mes").mkdir(parents=True)
    lines = [f"B{i},P0001,L1,A,{v},{v},10,10" for i, (v, _) in enumerate(OTHER_SYSTEMS_TIMES)]
    lines.append("BX,P0001,L1,A,15.03.2025 08:00,2025-03-15 16:00,10,10")
    (root / "mes" / "production_batches_20250405.csv").write_text(
        "batch,product_code,line,shift,start_time,end_time,qty_produced,qty_good\n"
        + "\n".join(lines) + "\n", encoding="utf-8")
    d = load_dictionary(overlays=[])
    patch = build_patch(profile_exports(root, d), d, root)
    unread = patch["review"]["values_in_no_known_form"]
    assert [(u["field"], u["examples"]) for u in unread] == [
        ("mes.production_batches.start_time", ["15.03.2025 08:00"])]
    # a day above 12 settles the order: the form is suggested as certain, and the patch as
    # written is a valid overlay whose form reads the value
    assert [f["format"] for f in patch["timestamp_formats"]] == ["%d.%m.%Y %H:%M"]
    assert "timestamp_form_choices" not in patch["review"]
    overlay = tmp_path / "plant.yml"
    overlay.write_text(yaml.safe_dump(patch, allow_unicode=True), encoding="utf-8")
    d2 = load_dictionary(overlays=[overlay])
    assert "values_in_no_known_form" not in build_patch(profile_exports(root, d2), d2, root).get(
        "review", {})


def test_closest_spelling_needs_a_shared_run_not_scattered_characters():
    """The closest canonical value offered for an unknown spelling: similar, and sharing at
    least two characters in a row (written here; no plant's data)."""
    from orchestration.lib.dictionary.suggest import closest_spelling

    assert closest_spelling("合格品", ["合格", "不合格", "pass"]) == "合格"
    assert closest_spelling("点焊机", ["点胶机", "贴片机", "回流焊"]) is None  # spot welder, dispenser
    assert closest_spelling("a", ["pa", "kpa", "mpa"]) is None  # amperes are no pascals
    assert closest_spelling("smt placer", ["smt_placer", "reflow oven"]) == "smt_placer"
    assert closest_spelling("hotlne", ["hotline", "wechat"]) == "hotline"
    assert closest_spelling("", ["hotline"]) is None


def plant_coded_exports(tmp_path: Path) -> Path:
    """A plant whose batch numbers are its own sequence (`PB-0001`): no date, line or
    sequence a pattern with groups could read. MES batches carry the line and times."""
    root = tmp_path / "exports"
    (root / "mes").mkdir(parents=True)
    (root / "erp").mkdir()
    (root / "mes" / "production_batches_20250401.csv").write_text(
        "Batch No.,Product Code,Line,Shift,Start,End,Output\n"
        "PB-0001,P0001,L1,A,2025-04-01 08:00,2025-04-01 16:00,100\n"
        "pb-0002,P0001,L2,B,2025-04-01 16:00,2025-04-02 00:00,90\n"
        "批号:PB-0003,P0001,L1,C,2025-04-02 00:00,2025-04-02 08:00,80\n", encoding="utf-8")
    (root / "erp" / "shipments_20250402.csv").write_text(
        "Delivery No,Line Number,Customer No,Product Code,Batch Number,Quantity,Ship Date\n"
        "DN-1,1,K-1,P0001,PB-0001,50,2025-04-02 10:00\n"
        "DN-2,1,K-2,P0001,PB 0002,40,2025-04-02 11:00\n", encoding="utf-8")
    return root


def test_a_plants_own_batch_codes_get_a_pattern_that_keeps_them(tmp_path):
    """Batch codes with no date or line in them (a plant's own sequence) are suggested as a
    pattern without groups, from the batches' own key only (shipments follow it); the patch
    validates, and with it every form of those codes matches."""
    from orchestration.lib.dictionary.suggest import Knowledge

    d = load_dictionary(overlays=[])
    root = plant_coded_exports(tmp_path)
    patch = build_patch(profile_exports(root, d), d, root)
    assert patch["batch_patterns"] == [{
        "system": "mes", "name": "mes_production_batches_1", "regex": r"^PB\-\d{4}$",
        "example": "PB-0001",
        "description_en": patch["batch_patterns"][0]["description_en"],
        "description_zh": patch["batch_patterns"][0]["description_zh"]}]
    fields = {x["field"] for x in patch["review"]["unmatched_batch_codes"]}
    assert fields == {"mes.production_batches.batch", "erp.shipments.batch_no"}
    overlay = tmp_path / "plant.yml"
    overlay.write_text(yaml.safe_dump({"batch_patterns": patch["batch_patterns"]},
                                       allow_unicode=True), encoding="utf-8")
    merged = load_dictionary(overlays=[overlay])
    pattern = merged.batch_patterns[-1]
    assert pattern.verbatim and pattern.year_group is None
    k = Knowledge(merged)
    assert all(k.batch_matches(v) for v in ("PB-0001", "pb-0002", "批号:PB-0003"))
    # another shape stays unmatched, as in SQL (spaces go, the dash it lost is not guessed)
    assert not k.batch_matches("PB-00001") and not k.batch_matches("PB 0002")
    # the canonical-form check accepts a kept code, still rejects anything else
    from orchestration.lib.quality.suites import canonical_batch_regex

    rx = re.compile(canonical_batch_regex(merged))
    assert rx.search("PB-0001") and rx.search("20250401-L01-001")
    assert not rx.search("PB-00001") and not rx.search("X-2025-0401")
    assert canonical_batch_regex(d) == d.canonical_batch_regex  # shipped: unchanged


def test_a_batch_pattern_with_some_groups_is_an_error(tmp_path):
    overlay = tmp_path / "plant.yml"
    overlay.write_text(yaml.safe_dump({"batch_patterns": [{
        "system": "mes", "name": "half", "regex": r"^PB(\d{6})-(\d{4})$", "example": "PB250401-0001",
        "description_en": "x", "description_zh": "x", "year_group": 1, "year_digits": 2}]}),
        encoding="utf-8")
    from orchestration.lib.dictionary.loader import DictionaryError

    try:
        load_dictionary(overlays=[overlay])
    except DictionaryError as exc:
        assert "all needed, or none" in str(exc)
    else:
        raise AssertionError("a pattern with a year group but no line group was accepted")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=4),
                          st.text("0123456789", min_size=1, max_size=9),
                          st.sampled_from(["-", "/", ".", "_", "#"])), min_size=1, max_size=6))
def test_a_batch_shape_matches_its_code_and_is_narrow(runs):
    from orchestration.lib.dictionary.suggest import batch_shape

    key = "".join(runs)
    shape = batch_shape(key)
    if shape is None:
        assert not any(c.isdigit() for c in key)
        return
    assert re.fullmatch(shape, key)
    assert not re.fullmatch(shape, key + "7") and not re.fullmatch(shape, "7" + key)
