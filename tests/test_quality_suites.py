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
    for e in dictionary.entities:
        specs = by_name(suites[f"stg_{e.system}__{e.name}"])
        for f in e.fields:
            if f.required:
                s = specs[f"not_null__{f.name}"]
                assert s.severity == ERROR and s.kind == "not_null" and s.columns == (f.name,)
            else:
                assert f"not_null__{f.name}" not in specs


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
    assert status.severity == ERROR  # status is required
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
