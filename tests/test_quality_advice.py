"""Owner and action per failing check; dictionary gaps grouped for the report (pure functions)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.quality.advice import (
    DICTIONARY_OWNER,
    PLATFORM,
    action_for,
    dictionary_fix_hint,
    group_gaps,
    limits,
    owner_of,
    owners_by_system,
)
from orchestration.lib.quality.report import render_html

OWNERS = owners_by_system(load_dictionary())


def test_owners_come_from_the_dictionary():
    assert set(OWNERS) == {"crm", "erp", "mes", "qms"}
    assert "Customer-service" in OWNERS["crm"]


def test_owner_follows_the_source_system_of_the_failure():
    assert owner_of("staging/stg_mes__process_readings", "missing_rate", "", OWNERS) == OWNERS["mes"]
    file_msg = ("governance.file_manifest: 2 files have status quarantined: "
                "'crm/complaints_20240311_3.csv' (missing required column(s): channel); "
                "'erp/shipments_20240102.csv' (empty file)")
    assert owner_of("governance/file_manifest", "file_status", file_msg, OWNERS) == \
        f"{OWNERS['crm']}; {OWNERS['erp']}"
    assert owner_of("staging/stg_crm__complaints", "dictionary_gap", "", OWNERS) == \
        f"{OWNERS['crm']}; {DICTIONARY_OWNER}"
    assert owner_of("intermediate/int_batches_enriched", "unique", "", OWNERS) == PLATFORM
    assert owner_of("staging/stg_crm__complaints", "conformance", "", OWNERS) == PLATFORM


def test_every_failure_gets_an_action():
    assert "Re-deliver the complete file" in action_for("delivery_shrank", "ERROR", "delivery_shrank")
    assert "Fix the file" in action_for("file_status", "WARN", "quarantined_files")
    assert "Nothing is lost" in action_for("file_status", "WARN", "deleted_files")
    assert "overlay" in action_for("dictionary_gap", "WARN", "dictionary_gap__unit")
    assert action_for("missing_rate", "ERROR", "x") != action_for("missing_rate", "WARN", "x")
    assert action_for("some_future_kind", "WARN", "x").startswith("See the message")


def test_limits_never_print_none():
    assert limits(0.0, None) == "warn > 0.0"
    assert limits(None, 0.5) == "error > 0.5"
    assert limits(0.05, 0.5) == "warn > 0.05, error > 0.5"
    assert limits(None, None) == "no threshold"


GAP = st.tuples(st.sampled_from(["crm", "mes"]), st.just("e"), st.sampled_from(["unit", "status"]),
                st.sampled_from(["unknown_unit", "unknown_status"]),
                st.text("abc", min_size=1, max_size=3), st.integers(1, 50), st.just("f.csv"))


@given(st.lists(GAP, max_size=30, unique_by=lambda g: g[:5]))
def test_gap_groups_reconcile_with_the_rows(rows):
    groups = group_gaps(rows, OWNERS, top=2)
    assert sum(g.values for g in groups) == len(rows)
    assert sum(g.rows for g in groups) == sum(r[5] for r in rows)
    assert [g.rows for g in groups] == sorted((g.rows for g in groups), reverse=True)
    for g in groups:
        assert len(g.examples) == min(2, g.values)
        assert [n for _, n in g.examples] == sorted((n for _, n in g.examples), reverse=True)


def test_report_groups_gaps_and_names_owner_and_action():
    d = {"runs": [("r1", None, 2, 0, 1, 1)], "alerts": [], "quarantine": None,
         "redelivered": None, "missing": [], "duplicates": [], "owners": OWNERS,
         "latest": [("governance/file_manifest", "delivery_shrank", "ERROR", False, 1.0, "t",
                     ("governance.file_manifest: 1 re-delivered files ...: "
                     "['erp/shipments_20240114.tsv 287 -> 1 rows']"), "delivery_shrank"),
                    ("staging/stg_crm__complaints", "missing_required__description", "WARN",
                     False, 0.005, "warn > 0.0", "3 of 596 rows missing", "missing_rate")],
         "gaps": [("unit", "deg.C", 3, None, "mes/r.csv")],
         "gap_rows": [("mes", "process_readings", "unit", "unknown_unit", "deg.C", 3, "mes/r.csv"),
                      ("mes", "process_readings", "unit", "unknown_unit", "℃.", 1, "mes/r.csv"),
                      ("crm", "complaints", "status", "unknown_status", "处理反馈", 7, "crm/c.csv")]}
    from datetime import UTC, datetime
    page = render_html(d, None, None, datetime.now(UTC))
    assert "what to do" in page and "Re-deliver the complete file" in page
    assert OWNERS["erp"] in page and OWNERS["crm"] in page  # shipments file -> ERP's team
    assert "deg.C ×3, ℃. ×1" in page and "units.yml" in page
    assert page.index("处理反馈 ×7") < page.index("deg.C ×3")  # biggest group first
    assert "None" not in page.split('id="failing"')[1].split("</table>")[0]


def test_rows_a_dictionary_pattern_would_lift_are_named_with_the_draft_to_review():
    hint = dictionary_fix_hint({"invalid_serial": 3, "invalid_timestamp": 4,
                                "invalid_batch_code": 1200}, "/h/reports/dictionary_suggestions.yml",
                               "/h/dictionary")
    assert hint.startswith("1,203 of them wait for this plant's forms in the dictionary "
                           "(invalid_batch_code 1,200: batch codes of a form no batch pattern "
                           "reads; invalid_serial 3: ")
    assert "invalid_timestamp" not in hint  # a dictionary addition does not lift those
    assert ("review the draft /h/reports/dictionary_suggestions.yml, copy it to /h/dictionary/"
            in hint)
    assert hint.endswith("nothing to re-deliver")
    # no draft written: the command that writes one
    assert "`qualitrace dictionary suggest`" in dictionary_fix_hint(
        {"invalid_serial": 2}, None, "/h/dictionary")


def test_no_hint_when_no_row_waits_for_a_pattern():
    assert dictionary_fix_hint({}, None, "/h/dictionary") is None
    assert dictionary_fix_hint({"invalid_timestamp": 4, "malformed_row": 1}, "/x.yml",
                               "/h/dictionary") is None
    assert dictionary_fix_hint({"invalid_serial": 0}, None, "/h/dictionary") is None
