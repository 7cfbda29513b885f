"""The data dictionary: schema validation, coverage of EXPORTS.md, publish, docs, CLI, asset."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.dictionary import (
    DictionaryError,
    load_dictionary,
    normalize_header,
    publish,
)
from orchestration.lib.dictionary.docs import render
from orchestration.lib.settings import DICTIONARY_DIR

REPO_ROOT = Path(__file__).resolve().parents[1]
EXPORTS_MD = REPO_ROOT.parent / "shared" / "spec" / "EXPORTS.md"
REQUIRED_REASON_CODES = {
    "missing_required_column", "missing_required_field", "invalid_timestamp", "invalid_date",
    "invalid_number", "malformed_row", "unreadable_file", "empty_file",
    "duplicate_header", "encoding_error", "invalid_batch_code", "formula_cell",
}


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "(（"
        depth -= ch in ")）"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [p.strip() for p in parts + [cur] if p.strip()]


def parse_exports_md(text: str) -> dict[tuple[str, str], dict]:
    """{(system, entity): {business_key, columns: {name: (required, [zh aliases])}}}."""
    out: dict[tuple[str, str], dict] = {}
    system = None
    for line in text.splitlines():
        m = re.match(r"^## (ERP|MES|QMS|CRM) \(`(\w+)/`\)", line)
        if m:
            system = m.group(2)
            continue
        if line.startswith("## "):
            system = None
        m = re.match(r"^\| `(\w+)` \| ([^|]+) \| (.+) \|\s*$", line)
        if not (system and m):
            continue
        entity, key, cols = m.groups()
        key_fields = [k for k in re.findall(r"[a-z_]+", key) if k not in ("where", "set")]
        columns = {}
        for item in _split_top_level(cols):
            m2 = re.match(r"([a-z_]+)(?=\s*\(|\\\*|\s*$|\s+in\s|\s+—)", item)
            if not m2:
                continue  # prose after a dash, e.g. "a batch in QMS form otherwise"
            name = m2.group(1)
            required = "\\*" in item or item.rstrip().endswith("*")
            zh = re.search(r"\(([^)]*)\)", item)
            aliases = []
            if zh:
                head = zh.group(1).split(":")[0]
                if re.search(r"[\u4e00-\u9fff]", head):
                    aliases = [a.strip() for a in head.split("/") if a.strip()]
            columns[name] = (required, aliases)
        out[(system, entity)] = {"business_key": key_fields, "columns": columns}
    return out


@pytest.fixture(scope="module")
def dictionary():
    return load_dictionary()


@pytest.fixture(scope="module")
def exports_spec():
    assert EXPORTS_MD.exists(), f"EXPORTS.md not found at {EXPORTS_MD}"
    return parse_exports_md(EXPORTS_MD.read_text(encoding="utf-8"))


def test_exports_md_parsed_fully(exports_spec):
    assert len(exports_spec) == 16
    assert exports_spec[("crm", "complaints")]["columns"]["complaint_id"] == (
        True, ["客诉单号", "工单号"])


def test_every_exports_md_field_is_in_the_dictionary(dictionary, exports_spec):
    assert {(e.system, e.name) for e in dictionary.entities} == set(exports_spec)
    problems = []
    for (system, name), spec in exports_spec.items():
        entity = dictionary.entity(system, name)
        assert entity.table == f"{system}__{name}"
        fields = {f.name: f for f in entity.fields}
        for col, (required, zh_aliases) in spec["columns"].items():
            if col not in fields:
                problems.append(f"{system}/{name}.{col}: missing")
                continue
            if fields[col].required != required:
                problems.append(f"{system}/{name}.{col}: required={fields[col].required}, spec {required}")
            header_map = entity.header_map()
            for alias in zh_aliases:
                if header_map.get(normalize_header(alias)) != col:
                    problems.append(f"{system}/{name}.{col}: alias {alias!r} not mapped")
        for col in fields:
            if col not in spec["columns"]:
                problems.append(f"{system}/{name}.{col}: not in EXPORTS.md")
        if set(entity.business_key) != set(spec["business_key"]):
            problems.append(f"{system}/{name}: business key {entity.business_key} vs {spec['business_key']}")
    assert not problems, "\n".join(problems)


def test_fields_are_fully_described(dictionary):
    for e in dictionary.entities:
        for f in e.fields:
            assert f.description_en and f.description_zh and f.owner, f"{e.table}.{f.name}"
            assert any(re.search(r"[\u4e00-\u9fff]", a) for a in f.aliases), f"{e.table}.{f.name}: no zh alias"
            assert any(re.match(r"^[A-Za-z]", a) for a in f.aliases), f"{e.table}.{f.name}: no en alias"
    pii = {(e.table, f.name) for e in dictionary.entities for f in e.fields if f.pii}
    assert pii == {("crm__complaints", "customer_name"), ("crm__complaints", "customer_phone")}


def test_header_map_normalises_noise(dictionary):
    hm = dictionary.entity("crm", "complaints").header_map()
    for seen in ["Complaint ID", " complaint_id ", "ＣＯＭＰＬＡＩＮＴ＿ＩＤ", "客诉单号", " 客诉单号　", "Complaint-ID"]:
        assert hm.get(normalize_header(seen)) == "complaint_id", seen
    assert normalize_header("  Received   At ") == "received_at"
    assert dictionary.entity("mes", "serials").required_fields == ["serial_no", "batch"]
    # a header wrapped in its spreadsheet cell, an abbreviation's period, a label's colon
    batches = dictionary.entity("mes", "production_batches").header_map()
    for seen, field in [("开始\n时间", "start_time"), ("开始 时间", "start_time"),
                        ("产出\r\n数量", "qty_produced"), ("Start\nTime", "start_time"),
                        ("Shift.", "shift"), ("班次：", "shift"), ("WO No.", "work_order_no")]:
        assert batches.get(normalize_header(seen)) == field, seen
    assert normalize_header("Batch No.") == "batch_no" and normalize_header("No.") == "no"


def test_taxonomy_matches_exports_md(dictionary):
    text = EXPORTS_MD.read_text(encoding="utf-8")
    spec = dict(re.findall(r"^\| `([A-Z]{2}\d{2})` \| ([^|]+?) \|", text, flags=re.MULTILINE))
    assert len(spec) == 22
    ours = {t.code: t.name_zh for _, t in dictionary.problem_types()}
    assert ours == spec
    assert dictionary.problems.categories[0].prefix == "SF"


def test_reference_sections(dictionary):
    assert len(dictionary.provinces) == 34
    assert {p.region for p in dictionary.provinces} == {"华东", "华南", "华北", "华中", "西南", "西北", "东北"}
    assert REQUIRED_REASON_CODES <= set(dictionary.reason_code_map())
    assert {"channel", "status", "inspection_type", "pass_fail", "severity", "shift", "line"} <= {
        v.domain for v in dictionary.vocabularies}
    temp = dictionary.unit_kind("temperature")
    f = next(u for u in temp.units if u.unit == "°F")
    assert abs(212 * f.factor + f.offset - 100) < 1e-9
    t = dictionary.threshold("crm", "complaints", "batch_no")
    assert t and t.warn_rate <= t.error_rate


def _broken_copy(tmp_path: Path, rel: str, old: str, new: str) -> Path:
    dst = tmp_path / "dd"
    shutil.copytree(DICTIONARY_DIR, dst)
    p = dst / rel
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return dst


@pytest.mark.parametrize("rel,old,new,expect", [
    ("entities/crm.yml", "type: vocab, required: true, vocabulary: channel",
     "type: vocabb, required: true, vocabulary: channel", ["entities/crm.yml", "entities[0].fields[1].type"]),
    ("entities/erp.yml", "business_key: [product_code]", "business_key: [product_cod]",
     ["entities/erp.yml", "business_key", "product_cod"]),
    ("entities/mes.yml", "aliases: [操作员, 操作员工号,", "aliases: [产线, 操作员工号,",
     ["entities/mes.yml", "production_batches.operator_id", "'产线'"]),
    ("units.yml", "{unit: g, factor: 0.001", "{unit: g, factor: 0",
     ["units.yml", "unit_kinds[1].units[1].factor"]),
    ("codes.yml", "example: B24031502003", "example: B2403150200",
     ["codes.yml", "batch_patterns[1].example"]),
    ("codes.yml", "canonical_line_regex: '^L[0-9]{2}$'", "canonical_line_regex: '^L[0-9]{3}$'",
     ["codes.yml", "canonical_line_regex", "'L02'"]),
    ("codes.yml", "canonical_batch_regex: '^[0-9]{8}-L[0-9]{2}-[0-9]{3}$'\n", "",
     ["codes.yml", "canonical_batch_regex: needed"]),
    ("governance.yml", "field: carrier,", "field: carrierz,",
     ["governance.yml", "missing_thresholds[", "erp__shipments has no field 'carrierz'"]),
    ("problems.yml", "- code: QD02", "- code: QD2",
     ["problems.yml", "problems.categories[1].types[1].code"]),
    ("vocabularies.yml", "{canonical: swing, label_zh: 中班, label_en: Swing, spellings: [中,",
     "{canonical: swing, label_zh: 中班, label_en: Swing, spellings: [早,",
     ["vocabularies.yml", "shift", "'早'"]),
])
def test_validator_names_file_and_key(tmp_path, rel, old, new, expect):
    with pytest.raises(DictionaryError) as exc:
        load_dictionary(_broken_copy(tmp_path, rel, old, new))
    msg = str(exc.value)
    for part in expect:
        assert part in msg, f"{part!r} not in:\n{msg}"


def test_invalid_yaml_names_the_file(tmp_path):
    d = _broken_copy(tmp_path, "provinces.yml", "provinces:", "provinces: [")
    with pytest.raises(DictionaryError, match=r"provinces\.yml: not valid YAML"):
        load_dictionary(d)


def test_publish_replaces_tables_in_one_transaction(dictionary, tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    counts = publish(dictionary, con)
    counts2 = publish(dictionary, con)  # idempotent
    assert counts == counts2
    assert counts["entities"] == 16 and counts["provinces"] == 34 and counts["problem_types"] == 22
    for table, n in counts.items():
        assert con.execute(f'select count(*) from dictionary."{table}"').fetchone()[0] == n
    assert con.execute("select code from dictionary.province_aliases where alias_normalized = 'GUANGDONG'").fetchone() == ("440000",)
    assert con.execute("select count(*) from dictionary.field_aliases where alias = '客诉单号'").fetchone()[0] >= 1
    con.close()


def test_docs_render_every_entity_field_alias_and_code(dictionary, tmp_path):
    html, md = render(dictionary, tmp_path)
    text_md, text_html = md.read_text(encoding="utf-8"), html.read_text(encoding="utf-8")
    for e in dictionary.entities:
        assert f"{e.system}/{e.name}" in text_md
        for f in e.fields:
            assert f"| {f.name} |" in text_md
            for a in f.aliases:
                assert a in text_md, a
    for _, t in dictionary.problem_types():
        assert t.code in text_html and t.name_zh in text_html and t.name_en in text_html
    for v in dictionary.vocabularies:
        for val in v.values:
            assert val.canonical in text_md
    assert "广东省" in text_html and "Guangdong" in text_html


def test_cli_validates_and_renders(tmp_path, capsys):
    from orchestration.cli import main
    assert main(["dictionary", "--home", str(tmp_path)]) == 0
    assert (tmp_path / "reports" / "dictionary.html").exists()
    assert "16 entities" in capsys.readouterr().out


def test_cli_exits_1_with_file_and_key(tmp_path, capsys):
    from types import SimpleNamespace

    from orchestration.lib.dictionary.cli import main
    bad = _broken_copy(tmp_path, "entities/qms.yml", "business_key: [capa_no]", "business_key: [capa]")
    rc = main(SimpleNamespace(home=str(tmp_path / "h"), exports=None, dictionary=bad))
    assert rc == 1
    err = capsys.readouterr().err
    assert "entities/qms.yml" in err and "'capa' is not a field of qms__capa" in err


def test_dagster_asset_publishes_tables_and_docs(tmp_path):
    import dagster as dg

    from orchestration.defs.dictionary.assets import dictionary_tables
    from orchestration.lib.home_resource import QualitraceHome

    result = dg.materialize([dictionary_tables],
                            resources={"qualitrace": QualitraceHome(home=str(tmp_path))})
    assert result.success
    mats = [e.materialization for e in result.get_asset_materialization_events()]
    assert mats[0].asset_key == dg.AssetKey(["dictionary", "tables"])
    assert mats[0].metadata["rows/entities"].value == 16
    assert (tmp_path / "reports" / "dictionary.md").exists()
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    assert con.execute("select count(*) from dictionary.fields").fetchone()[0] > 100
    con.close()


def test_an_unchanged_dictionary_is_not_published_again(tmp_path, monkeypatch):
    """A run whose dictionary and code match the last publication leaves the tables, Parquet
    files and pages in place; any of them missing, or another dictionary, publishes again."""
    import shutil

    import dagster as dg

    from orchestration.defs.dictionary.assets import dictionary_tables
    from orchestration.lib.home_resource import QualitraceHome
    from orchestration.lib.settings import get_settings

    settings = get_settings(tmp_path, tmp_path / "exports")

    def run() -> tuple[str, dict]:
        result = dg.materialize([dictionary_tables],
                                resources={"qualitrace": QualitraceHome(home=str(tmp_path))})
        assert result.success
        meta = result.get_asset_materialization_events()[0].materialization.metadata
        return _published(settings), {k: v.value for k, v in meta.items() if k.startswith("rows/")}

    first_mtime, first_rows = run()
    con = duckdb.connect(str(settings.warehouse))  # another step's table in the schema
    con.execute("create table dictionary.escalation_rules as select 1 as rule")
    con.close()
    second_mtime, second_rows = run()
    assert second_mtime == first_mtime and second_rows == first_rows  # nothing rewritten
    (settings.reports / "dictionary.html").unlink()
    third_mtime, third_rows = run()
    assert third_mtime != first_mtime and third_rows == first_rows
    assert (settings.reports / "dictionary.html").is_file()
    con = duckdb.connect(str(settings.warehouse))
    con.execute("delete from dictionary.fields where true")  # tables that no longer match
    con.close()
    fourth_mtime, _ = run()
    assert fourth_mtime != third_mtime
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    assert con.execute("select count(*) from dictionary.fields").fetchone()[0] == first_rows["rows/fields"]
    con.close()
    # another dictionary (a plant overlay adds a channel spelling): published again
    overlay = tmp_path / "dictionary"
    overlay.mkdir()
    (overlay / "channels.yml").write_text(
        "vocabularies:\n  channel:\n    hotline: {spellings: [客服热线新号]}\n", encoding="utf-8")
    monkeypatch.setenv("QUALITRACE_HOME", str(tmp_path))
    fifth_mtime, _ = run()
    assert fifth_mtime != fourth_mtime
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    assert con.execute("select count(*) from dictionary.vocabularies "
                       "where spelling = '客服热线新号'").fetchone()[0] == 1
    con.close()
    shutil.rmtree(overlay)
    assert run()[0] != fifth_mtime  # the overlay removed: the shipped dictionary again


def _published(settings) -> float:
    """When the Parquet folder of the dictionary was last written."""
    from orchestration.lib.dictionary.tables import STAMP

    return (settings.dictionary_tables / STAMP).stat().st_mtime_ns
