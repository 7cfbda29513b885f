"""The governance report: rendered from governance tables, opened in headless Chromium."""

from __future__ import annotations

import re

import duckdb
import pytest

from orchestration.lib.quality import (
    ERROR,
    WARN,
    ExpectationSpec,
    raise_alerts,
    record_results,
    render_report,
    validate_model,
)
from orchestration.lib.settings import get_settings
from tests.support.browser import dump_dom, ensure_chromium, text_of


@pytest.fixture(scope="module")
def chromium():
    return ensure_chromium()


@pytest.fixture(scope="module")
def reported_home(tmp_path_factory):
    """A small warehouse with two runs of checks, alerts and governance tables."""
    tmp = tmp_path_factory.mktemp("report")
    s = get_settings(tmp / "home", tmp / "exports")
    s.home.mkdir(parents=True)
    con = duckdb.connect(str(s.warehouse))
    con.execute("CREATE SCHEMA staging; CREATE SCHEMA intermediate; CREATE SCHEMA governance")
    con.execute("CREATE TABLE staging.stg_crm__complaints AS SELECT 'C' || i AS complaint_id, "
                "CASE WHEN i % 4 = 0 THEN NULL ELSE 'M1' END AS product_model, "
                "CASE WHEN i = 3 THEN 'bogus' ELSE 'open' END AS status FROM range(40) t(i)")
    con.execute("CREATE TABLE intermediate.int_complaints_deduplicated AS SELECT 'C' || i AS "
                "complaint_id, CASE WHEN i = 1 THEN 'C7' END AS duplicate_ids FROM range(30) t(i)")
    con.execute("""CREATE TABLE governance.quarantine AS SELECT * FROM (VALUES
        ('crm', 'complaints', 'crm/complaints_20240107.csv', 5, 'missing_required', 'no id', '{}'),
        ('crm', 'complaints', 'crm/complaints_20240107.csv', 9, 'missing_required', 'no id', '{}'),
        ('mes', 'serials', 'mes/serials_20240102.csv', NULL, 'bad_encoding', 'x', NULL))
        t(system, entity, source_file, source_row, reason_code, detail, raw_record)""")
    con.execute("""CREATE TABLE governance.dictionary_gaps AS SELECT * FROM (VALUES
        ('channel', 'Douyin', 3, TIMESTAMP '2024-01-07 00:00:00', 'crm/complaints_20240107.csv'))
        t(field, value_seen, occurrences, first_seen, example_file)""")
    con.execute("""CREATE TABLE governance.file_manifest AS SELECT * FROM (VALUES
        ('crm/complaints_20240107.csv', 'a', 10, 'complaints', 10, 2, 'loaded', NOW()),
        ('crm/complaints_20240107_2.csv', 'a', 10, 'complaints', 10, 0, 'duplicate_delivery',
         NOW())) t(path, sha256, size_bytes, entity, rows_read, rows_quarantined, status,
         first_seen)""")
    con.close()
    stg = [ExpectationSpec("in_set__status", "in_set", ("status",), ERROR,
                           {"value_set": ["open", "closed"]}),
           ExpectationSpec("missing_rate__product_model", "missing_rate", ("product_model",),
                           ERROR, {"warn": 0.05, "error": 0.5})]
    dup = [ExpectationSpec("duplicate_complaints", "duplicate_entries", ("duplicate_ids",), WARN,
                           {"key": "complaint_id"})]
    for run in ("run-1", "run-2"):
        outs = (validate_model(s, "stg_crm__complaints", stg, run)
                + validate_model(s, "int_complaints_deduplicated", dup, run))
        record_results(s, run, outs)
        raise_alerts(s, outs, run)
    s.reports.mkdir(parents=True, exist_ok=True)
    (s.reports / "dictionary.html").write_text("<h1>Data dictionary</h1>")
    render_report(s)
    return s


def test_report_files_exist(reported_home):
    reports = reported_home.reports
    assert (reports / "index.html").exists()
    assert (reports / "validation" / "index.html").exists()
    assert list((reports / "validation" / "validations").rglob("*.html"))


def test_report_shows_what_a_reader_needs(reported_home, chromium, tmp_path):
    dom = dump_dom(chromium, reported_home.reports / "index.html", tmp_path / "profile")
    text = text_of(dom)
    assert "Qualitrace governance report" in text
    assert "BLOCKED: 1 ERROR check(s) failed" in text  # in_set__status
    assert "run-2" in text and "run-1" in text  # trend of both runs
    # failing checks, with the asset linked into the Data Docs
    assert "in_set__status" in text and "bogus" in text
    assert re.search(r'href="validation/validations/stg_crm__complaints/rows/[^"]+\.html"', dom)
    # quarantine by reason, dictionary gaps, duplicates and missing-field rates per source
    assert re.search(r"crm complaints missing_required 2", text)
    assert "Douyin" in text
    assert "duplicate_complaints" in text and re.search(r"complaints 2 1 20 2", text)
    assert re.search(r"staging/stg_crm__complaints product_model 25\.00%", text)
    # alerts: open ones listed once even after two runs
    assert text.count("duplicate_complaints failed") <= 1
    assert 'id="data-docs-link" href="validation/index.html"' in dom
    assert 'id="dictionary-link" href="dictionary.html"' in dom


REMOTE_RESOURCE = re.compile(r"<(?:link|script|img)\b[^>]*(?:src|href)=[\"']https?://",
                             re.IGNORECASE)


def test_data_docs_work_offline_and_explain_the_failure(reported_home, chromium, tmp_path):
    docs = reported_home.reports / "validation"
    pages = sorted(docs.rglob("*.html"))
    assert pages and not [p for p in pages if REMOTE_RESOURCE.search(p.read_text("utf-8"))]
    assert (docs / "static" / "styles" / "qualitrace-offline.css").exists()
    # the index is a static table (GX's is filled by JavaScript from a CDN): failed first
    dom = dump_dom(chromium, docs / "index.html", tmp_path / "profile", offline=True)
    assert "stg_crm__complaints" in dom and "int_complaints_deduplicated" in dom
    failed = text_of(dom.split('id="validations"')[1]).split("✔ passed")[0]
    assert "✖ failed stg_crm__complaints rows" in failed
    page = next((docs / "validations" / "stg_crm__complaints" / "rows").rglob("*.html"))
    assert f'href="{page.relative_to(docs).as_posix()}"' in dom
    # the page a report link lands on says what failed, in the report's words
    dom = dump_dom(chromium, page, tmp_path / "profile2", offline=True)
    assert "expect_column_values_to_be_in_set" in dom or "values must belong" in dom
    checks = text_of(dom.split('class="qt-checks"')[1].split("</table>")[0])
    assert "in_set__status" in checks and "bogus" in checks and "ERROR failed" in checks
