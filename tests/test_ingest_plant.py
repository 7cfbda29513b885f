"""Issue 4 acceptance on the generator's plant: reconciliation per file, duplicates,
whole-file quarantine, truth's ingest-level row rejects, format/encoding equivalence."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from bad_inputs.corpus import write_jsonl, write_xlsx

from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.ingest import entity_specs, ingest_entity
from orchestration.lib.ingest.errors import ALL_REASONS
from orchestration.lib.settings import get_settings
from orchestration.lib.warehouse import connect

INGEST_REASONS = set(ALL_REASONS)


@pytest.fixture(scope="module")
def ingested(plant, tmp_path_factory):
    """The session's generated plant (read-only), ingested into a home of this module."""
    home = tmp_path_factory.mktemp("ingest_home")
    settings = get_settings(home, plant.exports)
    dictionary = load_dictionary()
    summaries = {s.table: ingest_entity(settings, dictionary, s.system, s.name)
                 for s in entity_specs(dictionary)}
    return settings, dictionary, summaries, plant.truth


def _q(settings, sql, params=()):
    with connect(settings) as con:
        return con.execute(sql, list(params)).fetchall()


def test_rows_read_equal_rows_landed_plus_quarantined_per_file(ingested):
    settings, dictionary, _, truth = ingested
    with connect(settings) as con:
        manifest = con.execute("SELECT path, sha256, rows_read, rows_landed, rows_quarantined, "
                               "status FROM raw._file_manifest").fetchall()
        landed = {(f, sha): n for f, sha, n in con.execute(" UNION ALL ".join(
            f'SELECT _source_file, _file_sha256, count(*) FROM raw."{s.table}" GROUP BY ALL'
            for s in entity_specs(dictionary))).fetchall()}
        quarantined = {(f, sha): n for f, sha, n in con.execute(
            "SELECT source_file, file_sha256, count(*) FROM raw._quarantine "
            "WHERE source_row IS NOT NULL GROUP BY ALL").fetchall()}
    assert len(manifest) == len(truth["generated_files"])
    expected_rows = {f["path"]: f["rows"] for f in truth["generated_files"]}
    for path, sha, read, n_landed, n_quarantined, status in manifest:
        assert read == n_landed + n_quarantined, path
        assert (landed.get((path, sha), 0), quarantined.get((path, sha), 0)) == \
            (n_landed, n_quarantined), path
        if status == "loaded":
            assert read == expected_rows[path], path


def test_redelivered_file_is_a_duplicate_and_not_landed_twice(ingested):
    settings, _, _, truth = ingested
    assert truth["redelivered_files"], "the plant should hold a re-delivered file"
    for r in truth["redelivered_files"]:
        (status, dup_of, landed), = _q(settings, "SELECT status, duplicate_of, rows_landed "
                                                 "FROM raw._file_manifest WHERE path = ?",
                                       (r["path"],))
        assert (status, dup_of, landed) == ("duplicate_delivery", r["duplicate_of"], 0)
        system = r["path"].split("/")[0]
        tables = [t for (t,) in _q(settings, "SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema = 'raw'")
                  if t.startswith(f"{system}__")]
        for t in tables:
            (n,), = _q(settings, f'SELECT count(*) FROM raw."{t}" WHERE _source_file = ?',
                       (r["path"],))
            assert n == 0


def test_file_lacking_a_required_column_is_quarantined_whole(ingested):
    settings, _, _, truth = ingested
    generated = {f["path"] for f in truth["generated_files"]}
    files = [f for f in truth["quarantine"]["files"] if f["path"] in generated]
    assert files, "the plant should hold a file lacking a required column"
    for f in files:
        rows = _q(settings, "SELECT source_row, reason_code, detail FROM raw._quarantine "
                            "WHERE source_file = ?", (f["path"],))
        assert [(r[0], r[1]) for r in rows] == [(None, f["reason_code"])]
        if f.get("missing_column"):
            assert f["missing_column"] in rows[0][2]
        (status,), = _q(settings, "SELECT status FROM raw._file_manifest WHERE path = ?",
                        (f["path"],))
        assert status == "quarantined"


def test_truths_ingest_level_row_rejects_are_quarantined(ingested):
    settings, _, _, truth = ingested
    generated = {f["path"] for f in truth["generated_files"]}
    expected = {(r["path"], r["source_row"], r["reason_code"]) for r in truth["quarantine"]["rows"]
                if r["reason_code"] in INGEST_REASONS and r["path"] in generated}
    got = set(_q(settings, "SELECT source_file, source_row, reason_code FROM raw._quarantine "
                           "WHERE source_row IS NOT NULL"))
    assert expected <= got
    assert got <= expected | {g for g in got if g[2] not in INGEST_REASONS}


def test_unknown_headers_are_kept_and_reported(ingested):
    settings, _, _, truth = ingested
    gaps = {(r["system"], r["entity"], r["value_seen"]) for r in truth["dictionary_gaps"]
            if r["field"] == "header"}
    got = set(_q(settings, "SELECT system, entity, header_seen FROM raw._header_gaps"))
    assert gaps <= got
    for system, entity, header in gaps:
        (n,), = _q(settings, f'SELECT count(*) FROM raw."{system}__{entity}" '
                             "WHERE json_extract_string(_extra, ?) IS NOT NULL",
                   ("$." + json.dumps(header),))
        assert n > 0


def test_second_run_loads_nothing_and_a_new_file_only_its_rows(ingested, tmp_path):
    settings, dictionary, _, _ = ingested
    again = [ingest_entity(settings, dictionary, s.system, s.name)
             for s in entity_specs(dictionary)]
    assert sum(s.new_files for s in again) == 0 and sum(s.rows_landed for s in again) == 0
    exports = tmp_path / "exports"
    (exports / "erp").mkdir(parents=True)
    for f in (settings.exports / "erp").glob("work_orders_*"):
        shutil.copy2(f, exports / "erp" / f.name)
    s2 = get_settings(tmp_path / "home", exports)
    first = ingest_entity(s2, dictionary, "erp", "work_orders")
    assert first.new_files > 0
    src = min((exports / "erp").glob("work_orders_*.csv"))
    header, *rows = src.read_bytes().splitlines(keepends=True)
    (exports / "erp" / "work_orders_20991231.csv").write_bytes(header + b"".join(rows[:2]))
    s = ingest_entity(s2, dictionary, "erp", "work_orders")
    assert s.new_files == 1 and s.rows_landed == 2
    assert s.rows_landed + first.rows_landed == _q(
        s2, "SELECT count(*) FROM raw.erp__work_orders")[0][0]


def test_gbk_xlsx_jsonl_land_the_same_values_as_utf8_csv(ingested, tmp_path):
    settings, dictionary, _, truth = ingested
    src = next(f for f in truth["generated_files"] if f["entity"] == "complaints"
               and f["format"] == "csv" and f["encoding"] == "utf-8"
               and f["path"] not in {q["path"] for q in truth["quarantine"]["files"]})
    text = (settings.exports / src["path"]).read_text(encoding="utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    exports = tmp_path / "exports"
    crm = exports / "crm"
    crm.mkdir(parents=True)
    (crm / "complaints_20240101.csv").write_text(text, encoding="utf-8")
    try:
        gbk = text.encode("gb18030")
    except UnicodeEncodeError:  # pragma: no cover - generator text is GB18030-encodable
        pytest.fail("generated text not GB18030-encodable")
    (crm / "complaints_20240102.csv").write_bytes(gbk)
    write_xlsx(crm / "complaints_20240103.xlsx", header, rows)
    write_jsonl(crm / "complaints_20240104.jsonl",
                [{h: v for h, v in zip(header, r) if v != ""} for r in rows])
    s2 = get_settings(tmp_path / "home", exports)
    summary = ingest_entity(s2, dictionary, "crm", "complaints")
    assert [f.status for f in summary.files] == ["loaded"] * 4
    fields = [f.name for f in dictionary.entity("crm", "complaints").fields]
    by_file = {}
    for name in ("complaints_20240101.csv", "complaints_20240102.csv",
                 "complaints_20240103.xlsx", "complaints_20240104.jsonl"):
        by_file[name] = _q(s2, f"SELECT {', '.join(fields)}, _extra, _source_row "
                               "FROM raw.crm__complaints WHERE _source_file = ? "
                               "ORDER BY _source_row", ("crm/" + name,))
    base = by_file["complaints_20240101.csv"]
    assert len(base) == len(rows)
    for name, got in by_file.items():
        assert [r[:-2] for r in got] == [r[:-2] for r in base], name
        assert [_extra(r[-2]) for r in got] == [_extra(r[-2]) for r in base], name


def _extra(text):
    """_extra without null values (jsonl leaves empty keys out)."""
    values = {k: v for k, v in (json.loads(text) if text else {}).items() if v is not None}
    return values or None
