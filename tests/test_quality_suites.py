"""build_suites: expectation suites generated from the real data dictionary + hand-written."""

from __future__ import annotations

import pytest

from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.quality import ERROR, WARN, build_suites
from orchestration.lib.quality.suites import SuiteError


@pytest.fixture(scope="module")
def dictionary():
    return load_dictionary()


@pytest.fixture(scope="module")
def suites(dictionary):
    return build_suites(dictionary)


def by_name(specs):
    return {s.name: s for s in specs}


def test_every_entity_has_a_staging_suite(dictionary, suites):
    for e in dictionary.entities:
        assert f"stg_{e.system}__{e.name}" in suites, e.table


def test_required_fields_not_null_error(dictionary, suites):
    """not_null (ERROR) only where a NULL would be a pipeline fault: a required field that is
    neither coded (an unknown spelling is a gap, kept) nor converted through a unit field (an
    unknown unit leaves the value NULL on purpose)."""
    from orchestration.lib.quality.suites import CODED_TYPES

    for e in dictionary.entities:
        specs = by_name(suites[f"stg_{e.system}__{e.name}"])
        for f in e.fields:
            coded = f.type in CODED_TYPES and not f.pii
            if f.required and not coded and not f.unit_field:
                s = specs[f"not_null__{f.name}"]
                assert s.severity == ERROR and s.kind == "not_null" and s.columns == (f.name,)
            else:
                assert f"not_null__{f.name}" not in specs, (e.table, f.name)


def test_coded_fields_gap_warns_and_conformance_fault_blocks(dictionary, suites):
    specs = by_name(suites["stg_crm__complaints"])
    gap = specs["dictionary_gap__channel"]
    assert gap.severity == WARN and gap.columns == ("channel", "channel_as_typed")
    fault = specs["conformed__channel"]
    assert fault.severity == ERROR and fault.kind == "conformance"
    from orchestration.lib.dictionary.normalize import lookup_key
    assert lookup_key("400 热线") in fault.params["known_keys"]
    assert lookup_key("NHTSA") not in fault.params["known_keys"]
    # provinces are known by name, short name, pinyin and abbreviation
    prov = specs["conformed__province"].params["known_keys"]
    assert {lookup_key("广东省"), lookup_key("广东"), lookup_key("GD")} <= set(prov)
    # pattern-conformed codes only warn on gaps (no list of known spellings to judge by)
    assert "conformed__batch_no" not in specs and "dictionary_gap__batch_no" in specs
    unit = by_name(suites["stg_erp__purchase_receipts"])["dictionary_gap__unit"]
    assert unit.columns == ("unit", "unit_is_known") and unit.severity == WARN


def test_optional_fields_never_block_by_default(dictionary, suites):
    for e in dictionary.entities:
        for s in suites[f"stg_{e.system}__{e.name}"]:
            col = s.columns[0].removesuffix("_as_typed") if s.columns else ""
            f = next((f for f in e.fields if f.name == col), None)
            # a conformance fault (a known spelling lost by the SQL) is a pipeline bug that
            # would make marts wrong, whichever field it hits: it blocks
            if f is not None and not f.required and s.kind != "conformance":
                assert s.severity == WARN, (e.table, s.name)
    capa = by_name(suites["stg_qms__capa"])["missing_rate__complaint_id"]
    assert capa.severity == WARN and capa.params["min_rows"] >= 20


def test_business_key_compound_uniqueness(dictionary, suites):
    e = dictionary.entity("erp", "shipments")
    specs = by_name(suites["stg_erp__shipments"])
    s = specs["unique_per_file__shipment_no__line_no"]
    assert s.kind == "unique" and s.columns == (*e.business_key, "_source_file")
    # several versions of one complaint in one file differ by updated_at
    c = by_name(suites["stg_crm__complaints"])["unique_per_file__complaint_id"]
    assert c.columns == ("complaint_id", "updated_at", "_source_file")
    inter = by_name(suites["int_complaints_deduplicated"])
    assert inter["unique__complaint_id"].severity == ERROR


def test_vocabulary_values_come_from_dictionary(dictionary, suites):
    specs = by_name(suites["stg_crm__complaints"])
    status = specs["in_set__status"]
    assert set(status.params["value_set"]) == {
        v.canonical for v in dictionary.vocabulary("status").values}
    assert status.severity == ERROR  # status is required (NULLs, i.e. gaps, are not judged)
    assert specs["in_set__province"].severity == WARN  # optional field
    assert set(specs["in_set__province"].params["value_set"]) == {
        p.code for p in dictionary.provinces}
    ptypes = by_name(suites["int_complaints_deduplicated"])["in_set__problem_type_code"]
    assert "QD01" in ptypes.params["value_set"] and "UNCLASSIFIED" in ptypes.params["value_set"]


def test_batch_codes_by_canonical_pattern(suites):
    import re

    s = by_name(suites["stg_mes__production_batches"])["pattern__batch"]
    assert s.kind == "match_regex" and s.severity == ERROR
    assert re.match(s.params["regex"], "20240315-L02-003")
    assert not re.match(s.params["regex"], "20240315-L2-3")
    assert by_name(suites["stg_crm__complaints"])["pattern__batch_no"].severity == WARN


def test_missing_thresholds_from_dictionary(dictionary, suites):
    t = dictionary.threshold("crm", "complaints", "product_model")
    s = by_name(suites["stg_crm__complaints"])["missing_rate__product_model"]
    assert s.kind == "missing_rate"
    assert (s.params["warn"], s.params["error"]) == (t.warn_rate, t.error_rate)
    # required fields without a threshold: blanks in the delivered rows alert (WARN)
    r = by_name(suites["stg_crm__complaints"])["missing_required__complaint_id"]
    assert r.severity == WARN and r.params["source"] == "raw.crm__complaints"
    # a required field with a threshold gets both: after staging, and in the delivered rows
    specs = by_name(suites["stg_crm__complaints"])
    assert {"missing_rate__description", "missing_required__description"} <= set(specs)


def test_row_counts_and_duplicate_checks(suites):
    assert "row_count_vs_previous" in by_name(suites["stg_mes__process_readings"])
    dup = by_name(suites["int_complaints_deduplicated"])["duplicate_complaints"]
    assert dup.kind == "duplicate_entries" and dup.severity == WARN
    red = by_name(suites["governance.file_manifest"])["redelivered_files"]
    assert red.kind == "redelivered_files" and red.params["value"] == "duplicate_delivery"


def test_hand_written_override_disable_and_add(dictionary, tmp_path):
    (tmp_path / "plant.yml").write_text("""
models:
  stg_crm__complaints:
    disable: [pattern__batch_no]
    override: {in_set__status: {severity: WARN}}
    checks:
      - {kind: in_set, column: channel, vocabulary: channel, name: channel_known}
  int_extra:
    checks:
      - {kind: between, column: n, min_value: 0, max_value: 5, severity: WARN}
""", encoding="utf-8")
    suites = build_suites(dictionary, tmp_path)
    specs = by_name(suites["stg_crm__complaints"])
    assert "pattern__batch_no" not in specs
    assert specs["in_set__status"].severity == WARN
    assert "hotline" in specs["channel_known"].params["value_set"]
    assert by_name(suites["int_extra"])["between__n"].params["max_value"] == 5


@pytest.mark.parametrize("body, needle", [
    ("models: {m: {checks: [{kind: nope, column: a}]}}", "models.m.checks[0].kind"),
    ("models: {m: {checks: [{kind: in_set, column: a, vocabulary: nope}]}}", "nope"),
    ("models: {stg_crm__complaints: {disable: [no_such_check]}}", "no_such_check"),
    ("models: {m: {checks: [{kind: not_null, column: a, severity: FATAL}]}}", "severity"),
])
def test_bad_hand_written_suite_names_file_and_key(dictionary, tmp_path, body, needle):
    (tmp_path / "bad.yml").write_text(body, encoding="utf-8")
    with pytest.raises(SuiteError) as exc:
        build_suites(dictionary, tmp_path)
    assert "bad.yml" in str(exc.value) and needle in str(exc.value)


def test_canonical_patterns_come_from_the_dictionary_only(dictionary):
    """The gate's batch and line patterns are codes.yml's, not a copy in Python."""
    from orchestration.lib.quality.suites import _patterns

    pats = _patterns(dictionary)
    assert pats["canonical_batch"] == dictionary.canonical_batch_regex
    assert pats["line"] == dictionary.canonical_line_regex
    changed = dictionary.model_copy(update={"canonical_line_regex": "^LINE[0-9]{2}$"})
    assert _patterns(changed)["line"] == "^LINE[0-9]{2}$"
