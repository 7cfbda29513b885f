"""The plant overlay: additions merged over the shipped dictionary; conflicts name both files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.dictionary.loader import DictionaryError
from orchestration.lib.dictionary.normalize import lookup_key
from orchestration.lib.quality import build_suites


def overlay(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_extends_vocabularies_units_headers_provinces_keywords(tmp_path):
    f = overlay(tmp_path, "plant.yml", """
vocabularies:
  channel:
    complaint_site: {label_zh: 投诉网站, label_en: Complaint website, spellings: [黑猫投诉, NHTSA]}
    hotline: {spellings: [客服电话]}
units:
  quantity:
    roll: {factor: 1, spellings: [卷]}
  temperature:
    "°C": {spellings: [摄氏]}
headers:
  crm.complaints.channel: [投诉来源]
provinces:
  "330000": [浙江杭州]
problem_keywords:
  QD05: {zh: [咔咔响], en: [rattling]}
problem_ignore_phrases: [散热…还行, "no noise at all"]
missing_thresholds:
  - {system: crm, entity: complaints, field: province, warn_rate: 0.5, error_rate: 0.9}
check_overrides:
  stg_crm__complaints:
    missing_rate__province: {severity: ERROR}
review: {anything: [is, ignored]}
""")
    d = load_dictionary(overlays=[f])
    channel = {v.canonical: v for v in d.vocabulary("channel").values}
    assert channel["complaint_site"].spellings == ["黑猫投诉", "NHTSA"]
    assert "客服电话" in channel["hotline"].spellings and "400热线" in channel["hotline"].spellings
    assert any(u.unit == "roll" and u.spellings == ["卷"] for u in d.unit_kind("quantity").units)
    assert "投诉来源" in d.entity("crm", "complaints").field("channel").aliases
    assert "浙江杭州" in next(p for p in d.provinces if p.code == "330000").aliases
    qd05 = next(t for _, t in d.problem_types() if t.code == "QD05")
    assert "咔咔响" in qd05.keywords_zh and "rattling" in qd05.keywords_en
    assert {"散热…还行", "no noise at all"} <= set(d.problems.ignore_phrases)
    assert d.threshold("crm", "complaints", "province").warn_rate == 0.5
    spec = {s.name: s for s in build_suites(d)["stg_crm__complaints"]}["missing_rate__province"]
    assert spec.severity == "ERROR" and spec.params["warn"] == 0.5 and spec.source == "plant.yml"
    # the shipped dictionary is untouched
    assert "complaint_site" not in {v.canonical for v in load_dictionary(overlays=[]).vocabulary("channel").values}


@pytest.mark.parametrize("text, needles", [
    ("vocabularies: {channel: {email: {spellings: [微信]}}}", ["'微信'", "vocabularies.yml", "wechat"]),
    ("units: {mass: {g: {factor: 0.5}}}", ["factor of mass unit 'g'", "units.yml", "0.001"]),
    ("vocabularies: {channel: {wechat: {label_en: Chat}}}",
     ["label_en of channel value 'wechat'", "vocabularies.yml", "'WeChat'"]),
    ("vocabularies: {severity: {'10': {value: 9}}}", ["value of severity value '10'", "10.0"]),
    ("problem_keywords: {QD05: {zh: [冒烟]}}", ["'冒烟'", "problems.yml", "SF01", "QD05"]),
    ("problem_keywords: {SF01: {zh: [冒烟], en: [SMOKE]}}", []),  # the same meaning again
    ("units: {mass: {g: {factor: 0.001, spellings: [克重]}}}", []),
    ("units: {quantity: {roll: {factor: 1, colour: red}}}", ["unknown keys", "colour"]),
    ("units: {quantity: {roll: {factor: 1, spellings: [kg]}, box: {factor: 10, spellings: [卷]}}}", []),
    ("headers: {crm.complaints.channel: [状态]}", ["'状态'", "crm.yml", "status"]),
    ("provinces: {'110000': [广东]}", ["'广东'", "provinces.yml", "440000"]),
    ("vocabularies: {nope: {a: {spellings: [b]}}}", ["unknown vocabulary"]),
    ("problem_keywords: {XX99: {zh: [坏]}}", ["unknown problem code"]),
    ("problem_ignore_phrases: [冒烟]", ["'冒烟'", "problems.yml", "SF01", "ignore phrase"]),
    ("problem_keywords: {QD04: {zh: [没有驱动问题]}}", ["'没有驱动问题'", "problems.yml", "QD04"]),
    ("problem_ignore_phrases: [没有驱动问题]", []),  # the same meaning again
    ("colours: {}", ["unknown section"]),
])
def test_conflicting_redefinition_names_both_files(tmp_path, text, needles):
    f = overlay(tmp_path, "plant.yml", text)
    if not needles:  # kg is a mass unit, not a quantity one: no conflict within a kind
        load_dictionary(overlays=[f])
        return
    with pytest.raises(DictionaryError) as exc:
        load_dictionary(overlays=[f])
    msg = str(exc.value)
    assert "plant.yml" in msg
    for n in needles:
        assert n in msg, msg


def test_two_overlay_files_that_disagree(tmp_path):
    a = overlay(tmp_path, "a.yml", "vocabularies: {channel: {hotline: {spellings: [抖音]}}}")
    b = overlay(tmp_path, "b.yml", "vocabularies: {channel: {app: {spellings: [抖音]}}}")
    with pytest.raises(DictionaryError) as exc:
        load_dictionary(overlays=[a, b])
    assert "a.yml" in str(exc.value) and "b.yml" in str(exc.value)


@pytest.mark.parametrize("a_text, b_text, needles", [
    ("vocabularies: {channel: {site: {label_en: Complaint site}}}",
     "vocabularies: {channel: {site: {label_en: Forum}}}", ["label_en of channel value 'site'"]),
    ("units: {quantity: {roll: {factor: 1}}}", "units: {quantity: {roll: {factor: 50}}}",
     ["factor of quantity unit 'roll'"]),
    (("missing_thresholds: [{system: crm, entity: complaints, field: province, warn_rate: 0.5, "
     "error_rate: 0.9}]"),
     ("missing_thresholds: [{system: crm, entity: complaints, field: province, warn_rate: 0.2, "
     "error_rate: 0.9}]"), ["threshold of crm.complaints.province"]),
    ("check_overrides: {stg_crm__complaints: {missing_rate__province: {severity: ERROR}}}",
     "check_overrides: {stg_crm__complaints: {missing_rate__province: {severity: WARN}}}",
     ["override of stg_crm__complaints.missing_rate__province"]),
    ("problem_keywords: {QD05: {en: [rattling]}}", "problem_keywords: {QD01: {en: [Rattling]}}",
     ["keyword 'Rattling'", "QD05"]),
])
def test_two_overlay_files_redefining_an_addition(tmp_path, a_text, b_text, needles):
    a, b = overlay(tmp_path, "a.yml", a_text), overlay(tmp_path, "b.yml", b_text)
    load_dictionary(overlays=[a, a])  # one file's meaning, read twice, is no conflict
    with pytest.raises(DictionaryError) as exc:
        load_dictionary(overlays=[a, b])
    msg = str(exc.value)
    assert f"{a}" in msg and f"{b}" in msg, msg
    for n in needles:
        assert n in msg, msg


def test_home_overlay_found_through_qualitrace_home(tmp_path, monkeypatch):
    (tmp_path / "dictionary").mkdir()
    overlay(tmp_path / "dictionary", "x.yml", "vocabularies: {shift: {night: {spellings: [大夜班]}}}")
    monkeypatch.setenv("QUALITRACE_HOME", str(tmp_path))
    monkeypatch.delenv("QUALITRACE_DICTIONARY", raising=False)
    d = load_dictionary()
    assert "大夜班" in next(v for v in d.vocabulary("shift").values if v.canonical == "night").spellings


new_spelling = st.text(alphabet=st.characters(whitelist_categories=("Lo",)), min_size=2, max_size=6)


@settings(max_examples=25, deadline=None)
@given(new_spelling)
def test_a_new_spelling_is_known_after_the_overlay_and_only_there(tmp_path_factory, spelling):
    base = load_dictionary(overlays=[])
    known = {lookup_key(s) for v in base.vocabulary("status").values for s in (v.canonical, *v.spellings)}
    f = overlay(tmp_path_factory.mktemp("o"), "p.yml",
                f"vocabularies: {{status: {{closed: {{spellings: ['{spelling}']}}}}}}")
    if lookup_key(spelling) in known and lookup_key(spelling) not in {
            lookup_key(s) for v in base.vocabulary("status").values if v.canonical == "closed"
            for s in (v.canonical, *v.spellings)}:
        with pytest.raises(DictionaryError):
            load_dictionary(overlays=[f])
        return
    d = load_dictionary(overlays=[f])
    closed = next(v for v in d.vocabulary("status").values if v.canonical == "closed")
    assert spelling in closed.spellings


def test_delivery_silence_hours_is_a_threshold_a_plant_may_set(tmp_path):
    shipped = load_dictionary(overlays=[]).delivery_silence_hours
    weekly = overlay(tmp_path, "weekly.yml", "delivery_silence_hours: 200\n")
    assert shipped != 200 and load_dictionary(overlays=[weekly]).delivery_silence_hours == 200
    daily = overlay(tmp_path, "daily.yml", "delivery_silence_hours: 30\n")
    with pytest.raises(DictionaryError) as exc:
        load_dictionary(overlays=[weekly, daily])
    assert "weekly.yml" in str(exc.value) and "daily.yml" in str(exc.value)
    bad = overlay(tmp_path, "bad.yml", "delivery_silence_hours: soon\n")
    with pytest.raises(DictionaryError, match="bad.yml: delivery_silence_hours: expected"):
        load_dictionary(overlays=[bad])


def test_word_classes_extend_and_a_keyword_naming_no_class_is_an_error(tmp_path):
    """problem_word_classes adds words to a class (every `{part}` keyword then covers them);
    a keyword naming a class nobody defined is an error naming the file."""
    f = overlay(tmp_path, "plant.yml", "problem_word_classes: {part: [subwoofer], hinge: [hinge]}\n"
                                       "problem_keywords: {QD10: {en: ['{hinge}…snapped']}}\n")
    d = load_dictionary(overlays=[f])
    assert "subwoofer" in d.problems.word_classes["part"] and "picture" in d.problems.word_classes["part"]
    assert "{hinge}…snapped" in next(t for _, t in d.problem_types() if t.code == "QD10").keywords_en
    bad = overlay(tmp_path, "other.yml", "problem_keywords: {QD10: {en: ['{hinges}…snapped']}}\n")
    with pytest.raises(DictionaryError, match="other.yml: problem_keywords.QD10.en: keyword "
                                              "'{hinges}…snapped' names word class 'hinges'"):
        load_dictionary(overlays=[bad])


def test_serial_patterns_extend_and_are_checked(tmp_path):
    """A plant's serial form is added by `serial_patterns`; the gate's pattern check then
    accepts both forms; a pattern whose example does not fit, or a shipped name given another
    regex, is an error naming the file."""
    f = overlay(tmp_path, "plant.yml", "serial_patterns:\n"
                "  - {name: plant_sn, regex: '^AP\\d{13}$', example: AP200-250303-0017,\n"
                "     description_en: model date number, description_zh: 型号日期流水号}\n")
    d = load_dictionary(overlays=[f])
    assert [p.name for p in d.serial_patterns][-1] == "plant_sn"
    spec = next(s for s in build_suites(d)["stg_mes__serials"] if s.name == "pattern__serial_no")
    assert re.fullmatch(spec.params["regex"], "AP2002503030017")
    assert re.fullmatch(spec.params["regex"], "SNP000700012345")
    bad = overlay(tmp_path, "bad.yml", "serial_patterns:\n"
                  "  - {name: other, regex: '^AP\\d{13}$', example: AP-1,\n"
                  "     description_en: x, description_zh: x}\n")
    with pytest.raises(DictionaryError, match=r"serial_patterns\[\d+\]\.example: 'AP-1' does not match"):
        load_dictionary(overlays=[bad])


def test_timestamp_formats_extend_and_a_shipped_name_keeps_its_form(tmp_path):
    f = overlay(tmp_path, "plant.yml", "timestamp_formats:\n"
                "  - {name: us_date, kind: strptime, format: '%m/%d/%Y', regex: '\\d{1,2}/\\d{1,2}/\\d{4}',\n"
                "     example: 07/09/2025, applies_to: date}\n")
    d = load_dictionary(overlays=[f])
    assert d.timestamp_formats[-1].name == "us_date"  # tried after the shipped forms


@pytest.mark.parametrize("text", [
    ("serial_patterns: [{name: sn, regex: '^X\\d{5}$', example: X12345, description_en: x,"
    " description_zh: x}]"),
    ("timestamp_formats: [{name: iso_date, kind: strptime, format: '%d-%m-%Y',"
    " regex: '\\d{2}-\\d{2}-\\d{4}', example: 07-09-2025}]"),
])
def test_a_shipped_pattern_name_keeps_its_form(tmp_path, text):
    with pytest.raises(DictionaryError) as exc:
        load_dictionary(overlays=[overlay(tmp_path, "clash.yml", text + "\n")])
    assert "clash.yml" in str(exc.value) and "codes.yml" in str(exc.value)


def test_no_value_markers_extend_widen_and_may_not_hide_a_known_spelling(tmp_path):
    """A plant's placeholder is added for some field types or all; adding types to a marker
    known for fewer widens it; a marker that is a known spelling of a field it applies to (a
    status, a yes/no answer) is an error naming the overlay file and the field."""
    from orchestration.lib.dictionary.tables import build_tables

    f = overlay(tmp_path, "plant.yml", "no_value_markers:\n"
                "  - {marker: 未关闭, types: [timestamp]}\n  - TBD\n"
                "  - {marker: 无, types: [boolean, pass_fail]}\n")  # shipped 无 lacks these two
    with pytest.raises(DictionaryError, match=r"plant\.yml: no_value_markers: '无' is a known "
                                              r"spelling of erp\.\w+\.\w+ \(boolean\)"):
        load_dictionary(overlays=[f])
    f = overlay(tmp_path, "plant.yml", "no_value_markers:\n"
                "  - {marker: 未关闭, types: [timestamp]}\n  - TBD\n"
                "  - {marker: 无, types: [timestamp]}\n")
    d = load_dictionary(overlays=[f])
    m = {x.marker: x for x in d.no_value_markers}
    assert m["未关闭"].applies_to("timestamp") and not m["未关闭"].applies_to("status")
    assert m["TBD"].types is None and not m["TBD"].applies_to("string")
    assert [x.marker for x in d.no_value_markers].count("无") == 1
    rows = set(build_tables(d)["no_value_markers"][["marker", "field_type"]].itertuples(
        index=False, name=None))
    assert {("未关闭", "timestamp"), ("tbd", "date"), ("Tbd", "vocab"), ("TBD", "decimal")} <= rows
    assert ("未关闭", "status") not in rows and not any(ft in ("string", "code") for _, ft in rows)
    assert ("TBD", "unit") in rows  # a placeholder unit is no unit
    for text, needle in [
        ("no_value_markers: [{marker: open, types: [status]}]", "known spelling of crm.complaints.status"),
        ("no_value_markers: [{marker: Pcs, types: [unit]}]", "known spelling of erp.shipments.unit"),
        ("no_value_markers: [{marker: x, types: [string]}]", "no_value_markers[0].types.0"),
        ("no_value_markers: {x: 1}", "expected a list of markers"),
    ]:
        with pytest.raises(DictionaryError) as exc:
            load_dictionary(overlays=[overlay(tmp_path, "bad.yml", text + "\n")])
        assert needle in str(exc.value) and "bad.yml" in str(exc.value)
