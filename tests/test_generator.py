"""The sample plant generator: determinism, every export variant present, truth consistent
with the files, planted causes visible in the raw data and strong in the numbers."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import unicodedata
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from scipy.stats import fisher_exact

from orchestration.lib.generator import generate
from orchestration.lib.generator.plant import Sizes, exposed, simulate
from orchestration.lib.generator.readings import to_canonical
from orchestration.lib.generator.reference import EQUIPMENT_TYPES

SCALE, SEED = 0.01, 5


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "exports"
    summary = generate(out, SCALE, SEED)
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    return out, truth, summary


@pytest.fixture(scope="module")
def tables(gen):
    out, truth, _ = gen
    return {f["path"]: read_export(out, f) for f in truth["generated_files"]}


def read_export(root: Path, f: dict) -> tuple[list[str], list[tuple[int, list]]]:
    """(header, [(source_row, values)]) of one export, as the contract describes the file."""
    path = root / f["path"]
    if f["format"] == "xlsx":
        ws = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        return [str(h) for h in rows[0]], [(i, r) for i, r in enumerate(rows[1:], start=2)]
    text = path.read_bytes().decode(f["encoding"])
    if f["format"] == "jsonl":
        out, header = [], []
        for i, line in enumerate(text.splitlines(), start=1):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                out.append((i, None))
                continue
            header += [k for k in obj if k not in header]
            out.append((i, obj))
        return header, [(i, None if o is None else [o.get(h) for h in header]) for i, o in out]
    rows = list(csv.reader(io.StringIO(text), delimiter="," if f["format"] == "csv" else "\t"))
    return rows[0], [(i, r) for i, r in enumerate(rows[1:], start=2)]


def norm(h: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", h).split()).casefold()


def column(tables, entity: str, *names: str) -> list:
    """All values of a column (by any of its header spellings) across files of an entity."""
    want = {norm(n) for n in names}
    vals = []
    for path, (header, rows) in tables.items():
        if entity and f"/{entity}_" not in path:
            continue
        idx = [i for i, h in enumerate(header) if norm(h) in want]
        for _n, r in rows:
            if r is not None:
                vals += [r[i] for i in idx if i < len(r) and r[i] not in (None, "")]
    return vals


def test_same_seed_gives_identical_bytes(gen, tmp_path):
    out, _, _ = gen
    again = tmp_path / "again"
    generate(again, SCALE, SEED)

    def digests(root):
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file()}
    assert digests(out) == digests(again)


def test_summary_and_file_layout(gen):
    out, truth, summary = gen
    names = {f["path"] for f in truth["generated_files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"truth.json"}
    assert names == on_disk
    entities = {(f["system"], f["entity"]) for f in truth["generated_files"]}
    assert len(entities) == 16
    for p in names:
        assert re.fullmatch(r"(erp|mes|qms|crm)/[a-z_]+_\d{8}(_\d+)?\.(csv|tsv|txt|xlsx|jsonl)", p), p
    assert summary["distinct_complaints"] == truth["distinct_complaints"] >= 300
    assert summary["rows"]["process_readings"] >= 20000


def test_every_file_variant_appears(gen):
    out, truth, _ = gen
    files = truth["generated_files"]
    assert {f["format"] for f in files} == {"csv", "tsv", "txt", "xlsx", "jsonl"}
    assert {f["encoding"] for f in files} >= {"utf-8", "utf-8-sig", "gbk", "gb18030"}
    assert {f["header_language"] for f in files} == {"en", "zh"}
    for f in files:
        raw = (out / f["path"]).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") == (f["encoding"] == "utf-8-sig"), f["path"]
        if f["encoding"] in ("gbk", "gb18030") and f["header_language"] == "zh":
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")


def test_every_value_form_appears(tables):
    cells = [str(v) for _p, (_h, rows) in tables.items() for _n, r in rows if r for v in r if v is not None]
    headers = [h for _p, (hs, _r) in tables.items() for h in hs]
    assert any(h != h.strip() for h in headers) and any(re.search(r"[Ａ-Ｚａ-ｚ]", h) for h in headers)
    assert any(h.isascii() and h != h.lower() for h in headers)
    ts_forms = {
        "iso_space": r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "slash": r"\d{4}/\d{1,2}/\d{1,2} \d{2}:\d{2}",
        "cn": r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", "iso_offset": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00",
        "epoch_ms": r"1\d{12}", "excel": r"4\d{4}\.\d+",
        "date_iso": r"\d{4}-\d{2}-\d{2}", "date_slash": r"\d{4}/\d{1,2}/\d{1,2}", "date_compact": r"20\d{6}",
        "date_cn": r"\d{4}年\d{1,2}月\d{1,2}日",
        "batch_mes_short_line": r"\d{8}-L\d-\d{3}", "batch_mes_short_seq": r"\d{8}-L\d{2}-\d{1,2}",
        "batch_erp": r"B\d{11}", "batch_qms": r"LOT#\d{8}/L\d+/\d+", "batch_crm_plain": r"\d{6}L\d\d{3}",
        "batch_crm_dashed": r"\d{6}-l\d-\d{3}", "batch_crm_fullwidth": r"批号：[０-９]{6}Ｌ[０-９]+",
        "batch_crm_prefix": r"Batch No\. \d{6}L\d+", "serial": r"SNP\d{12}", "serial_lower": r"snp\d{12}",
        "material_lot": r"ML\d{10}", "batch_erp_fullwidth": r"Ｂ[０-９]{11}", "batch_erp_lower": r"b\d{11} ",
    }
    for name, rx in ts_forms.items():
        assert any(re.fullmatch(rx, c) for c in cells), f"no value in form {name} ({rx})"


def test_every_contract_spelling_appears(tables):
    units = set(map(str, column(tables, "", "unit", "单位", "base_unit", "基本单位")))
    expected_units = ["pcs", "PCS", "个", "件", "只", "台", "EA", "g", "克", "kg", "千克", "公斤", "lb", "mm", "毫米",
                      "cm", "in", "inch", '"', "℃", "°C", "C", "摄氏度", "°F", "F", "K", "kPa", "MPa", "bar", "psi",
                      "Pa", "mm/s", "m/min", "cm/s", "%RH", "%", "RH%"]
    assert not [u for u in expected_units if u not in units]
    provinces = set(column(tables, "", "province", "省份", "收货省份"))
    assert {"广东省", "广东", "Guangdong", "GD"} & provinces and any(p.endswith("省") for p in provinces)
    assert any(p.isascii() and len(p) == 2 for p in provinces) and any(p.isascii() and len(p) > 2 for p in provinces)
    assert set(column(tables, "production_batches", "shift", "班次")) == set("早中夜ABC")
    lines = set(map(str, column(tables, "", "line", "产线")))
    for rx in (r"L\d", r"\d", r"\d号线", r"L0\d"):
        assert any(re.fullmatch(rx, v) for v in lines), rx
    sev = set(map(str, column(tables, "complaints", "severity", "严重程度")))
    assert any(s.isdigit() for s in sev) and {"紧急", "高", "中", "低"} <= sev
    assert {"Critical", "High", "Medium", "Low"} <= sev
    verdicts = set(map(str, column(tables, "inspections", "result", "判定")))
    assert {"合格", "不合格", "PASS", "FAIL", "OK", "NG", "Y", "N", "1", "0"} <= verdicts
    channels = set(column(tables, "complaints", "channel", "渠道"))
    assert {"400热线", "hotline", "微信", "WeChat", "邮件", "email", "门店", "store", "电商平台", "marketplace", "APP"} <= channels
    assert {"新建", "处理中", "已关闭", "open", "in_progress", "closed"} <= set(column(tables, "complaints", "status", "状态"))
    assert {"IQC", "IPQC", "FQC", "OQC", "来料", "过程", "成品", "出货"} <= set(
        column(tables, "inspections", "inspection_type", "检验类型"))
    assert {"temperature", "温度", "pressure", "压力", "speed", "速度", "humidity", "湿度"} <= set(
        column(tables, "process_readings", "parameter", "参数"))
    types = set(column(tables, "equipment", "equipment_type", "设备类型"))
    assert {t[1] for t in EQUIPMENT_TYPES.values()} <= types and {t[2] for t in EQUIPMENT_TYPES.values()} <= types
    descs = column(tables, "complaints", "description", "问题描述")
    assert any(d.isascii() for d in descs) and any(not re.search(r"[A-Za-z]", d) for d in descs)


def test_truth_complaints_match_crm_files(gen, tables):
    out, truth, _ = gen
    ids = set()
    for path, (header, rows) in tables.items():
        if "/complaints_" in path:
            ids |= {r[0] for _n, r in rows if r}
    truth_ids = set(truth["complaints"])
    assert ids <= truth_ids
    # the only ids not parseable from the files are in broken jsonl lines, still there as text
    for cid in truth_ids - ids:
        assert truth["complaints"][cid]["quarantine_reason"] == "malformed_row"
        broken = [q for q in truth["quarantine"]["rows"] if q["reason_code"] == "malformed_row"]
        assert any(cid in (out / q["path"]).read_text(encoding="utf-8").splitlines()[q["source_row"] - 1]
                   for q in broken)
    distinct = {c["distinct_complaint_id"] for c in truth["complaints"].values() if not c["quarantined"]}
    assert len(distinct) == truth["distinct_complaints"]
    for group in truth["duplicate_groups"]:
        assert group == sorted(group) and all(truth["complaints"][c]["distinct_complaint_id"] == group[0] for c in group)
        assert len({truth["complaints"][c]["true_batch_code"] for c in group}) == 1
    batches = {r[0] for p, (_h, rows) in tables.items() if "/production_batches_" in p for _n, r in rows}
    canon = {re.sub(r"^(\d{8})-L(\d+)-(\d+)$", lambda m: f"{m[1]}-L{int(m[2]):02d}-{int(m[3]):03d}", b) for b in batches}
    assert {c["true_batch_code"] for c in truth["complaints"].values()} <= canon
    derivable = sum(c["batch_derivable"] for c in truth["complaints"].values()) / len(truth["complaints"])
    assert 0.55 < derivable < 0.85
    codes = {c["problem_type_code"] for c in truth["complaints"].values()}
    assert "UNCLASSIFIED" in codes and any(c.startswith("SF") for c in codes)
    assert any(c["secondary_problem_codes"] for c in truth["complaints"].values())


def test_duplicates_share_customer_product_and_day(gen, tables):
    _, truth, _ = gen
    by_id = {}
    for path, (header, rows) in tables.items():
        if "/complaints_" in path and "_2." not in path:
            hs = [norm(h) for h in header]
            for _n, r in rows:
                if r and r[0] not in by_id:
                    by_id[r[0]] = dict(zip(hs, r))
    assert truth["duplicate_groups"]
    for group in truth["duplicate_groups"]:
        recs = [by_id[c] for c in group]
        phones = {r.get("customer_phone") or r.get("联系电话") for r in recs}
        models = {r.get("product_model") or r.get("产品型号") for r in recs}
        assert len(phones) == 1 and len(models) == 1


def test_quarantine_truth_points_at_real_defects(gen, tables):
    out, truth, _ = gen
    q = truth["quarantine"]
    assert {r["reason_code"] for r in q["rows"]} == {"invalid_timestamp", "missing_required_field",
                                                       "malformed_row"}
    for r in q["rows"]:
        header, rows = tables[r["path"]]
        row = dict(rows)[r["source_row"]]
        hs = [norm(h) for h in header]
        if r["reason_code"] == "malformed_row":
            assert row is None
            continue
        rec = dict(zip(hs, row))
        if r["reason_code"] == "invalid_timestamp":
            ts = rec.get("received_at", rec.get("受理时间", rec.get("ts")))
            assert not re.fullmatch(r"\d{4}[-/年]\d{1,2}[-/月]\d{1,2}日? \d{2}:\d{2}(:\d{2})?", str(ts)) or \
                not _valid_ts(str(ts)), ts
        elif r["reason_code"] == "missing_required_field":
            assert any(v in (None, "") for k, v in rec.items() if k in ("description", "问题描述"))
    assert q["files"] and all(f["reason_code"] == "missing_required_column" for f in q["files"])
    for f in q["files"]:
        header, _ = tables[f["path"]]
        assert not {"channel", "渠道"} & {norm(h) for h in header}
    for red in truth["redelivered_files"]:
        assert (out / red["path"]).read_bytes() == (out / red["duplicate_of"]).read_bytes()
        assert red["path"] != red["duplicate_of"]
    gaps = {(g["field"], g["value_seen"]) for g in truth["dictionary_gaps"]}
    assert ("unit", "deg.C") in gaps and any(f == "header" for f, _ in gaps)
    for u in truth["status_updates"]:
        header, rows = tables[u["path"]]
        row = dict(rows)[u["source_row"]]
        assert row[0] == u["complaint_id"]
        files_with_id = [p for p, (_h, rs) in tables.items() if "/complaints_" in p
                         and any(rr and rr[0] == u["complaint_id"] for _n, rr in rs)]
        first = min(files_with_id)
        assert first <= u["path"]


def _valid_ts(s: str) -> bool:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y年%m月%d日 %H:%M"):
        try:
            dt.datetime.strptime(s, fmt)
            return True
        except ValueError:
            pass
    return False


def test_excursions_are_in_the_readings_and_nowhere_else(gen, tables):
    _, truth, _ = gen
    specs = {}
    for p, (header, rows) in tables.items():
        if "/process_specs_" in p:
            for _n, r in rows:
                specs[(r[0], r[1] or "", r[2])] = r
    sizes = Sizes.of(SCALE)
    plant = simulate(sizes, np.random.default_rng([SEED, 1]))
    eq = {e.equipment_id: e for e in plant.equipment}
    windows = [(e["equipment_id"], e["parameter"], dt.datetime.fromisoformat(e["start"][:-1]) + dt.timedelta(hours=8),
                dt.datetime.fromisoformat(e["end"][:-1]) + dt.timedelta(hours=8)) for e in truth["excursions"]]
    assert len(windows) >= 3 and all(e["batch_codes"] for e in truth["excursions"])
    inside = outside_bad = 0
    for p, (header, rows) in tables.items():
        if "/process_readings_" not in p:
            continue
        for _n, (eid, ts, param, value, unit) in rows:
            if unit == "deg.C" or not _valid_ts(ts):
                continue
            param = {"温度": "temperature", "压力": "pressure", "速度": "speed", "湿度": "humidity"}.get(param, param)
            v = to_canonical(param, float(value), unit)
            _t, lsl, usl, _u = plant.specs.get((eid, param)) or plant.specs[(eq[eid].type_key, param)]
            t = dt.datetime.strptime(ts, "%Y-%m-%d %H:%M:%S")
            in_window = any(w[0] == eid and w[1] == param and w[2] <= t <= w[3] for w in windows)
            if in_window:
                inside += 1
                assert v > usl, (eid, ts, value, unit)
            elif not (lsl <= v <= usl):
                outside_bad += 1
    assert inside >= 3 and outside_bad == 0


def test_planted_causes_visible_in_raw_data(gen, tables):
    _, truth, _ = gen
    causes = {c["suspect_kind"]: c for c in truth["planted_causes"]}
    assert set(causes) == {"equipment", "supplier_lot", "carrier", "product_model", "shift", "operator"}
    assert len({c["problem_type_code"] for c in causes.values()}) == 6
    lots = {unicodedata.normalize("NFKC", str(v)).strip().upper() for v in column(tables, "material_consumption", "material_lot", "物料批次")}
    assert causes["supplier_lot"]["suspect_id"] in lots
    assert causes["carrier"]["suspect_id"] in set(column(tables, "shipments", "carrier", "承运商"))
    assert causes["product_model"]["suspect_id"] in set(column(tables, "products", "model", "型号"))
    assert causes["operator"]["suspect_id"] in set(column(tables, "production_batches", "operator_id", "操作员"))
    assert causes["equipment"]["suspect_id"] in set(column(tables, "equipment", "equipment_id", "设备编号"))


def test_planted_causes_rank_first_in_their_problem_type(gen):
    """Units shipped exposed vs not, one-sided Fisher test: each cause beats every other suspect."""
    _, truth, _ = gen
    plant = simulate(Sizes.of(SCALE), np.random.default_rng([SEED, 1]))
    for cause, best, p_best, p_cause in planted_ranking(plant, truth):
        assert best == (cause["suspect_kind"], cause["suspect_id"]), (cause["problem_type_code"], best, p_best, p_cause)


def planted_ranking(plant, truth):
    """For each planted cause: (cause, strongest suspect, its p-value, the cause's p-value)."""
    counts: dict[tuple, int] = {}
    for cid, c in truth["complaints"].items():
        if not c["quarantined"] and c["distinct_complaint_id"] == cid:
            key = (c["shipment_no"], c["true_batch_code"], c["problem_type_code"])
            counts[key] = counts.get(key, 0) + 1
    lines = plant.ship_lines
    total_units = sum(sl.qty for sl in lines)
    supplier_of = {lo.lot_code: lo.supplier for lo in plant.lots}

    def suspects(sl):
        b = sl.batch
        out = {("line", f"L{b.line:02d}"), ("shift", b.shift), ("operator", b.operator),
               ("carrier", sl.carrier), ("product_model", b.product[1])}
        out |= {("supplier_lot", lot) for _m, lot, _q in b.lots}
        out |= {("supplier", supplier_of[lot]) for _m, lot, _q in b.lots}
        if exposed(plant, "equipment", sl):
            out.add(("equipment", plant.causes["equipment"]["suspect_id"]))
        return out

    sus_of = [suspects(sl) for sl in lines]
    result = []
    for cause in truth["planted_causes"]:
        ptype = cause["problem_type_code"]
        comp = [counts.get((sl.shipment_no, sl.batch.code, ptype), 0) for sl in lines]
        total_c = sum(comp)
        stats: dict[tuple, tuple[int, int]] = {}
        for i, sl in enumerate(lines):
            for s in sus_of[i]:
                u, c = stats.get(s, (0, 0))
                stats[s] = (u + sl.qty, c + comp[i])
        pvals = {}
        for s, (u, c) in stats.items():
            if u < total_units and c:
                pvals[s] = fisher_exact([[c, u - c], [total_c - c, total_units - u - (total_c - c)]],
                                        alternative="greater")[1]
        best = min(pvals, key=lambda s: (pvals[s], s))
        result.append((cause, best, pvals[best], pvals.get((cause["suspect_kind"], cause["suspect_id"]))))
    return result


def test_readings_stream_in_chunks_deterministically(tmp_path, monkeypatch):
    from orchestration.lib.generator import readings
    from orchestration.lib.generator.exports import periods
    monkeypatch.setattr(readings, "CHUNK_ROWS", 2000)
    plant = simulate(Sizes.of(SCALE), np.random.default_rng([SEED, 1]))
    pers = [(a, b, f"mes/process_readings_{d:%Y%m%d}.csv") for a, b, d in periods(plant)][:2]

    def digest(root):
        recs = readings.write_readings(plant, root, pers, np.random.default_rng(3))
        for r in recs:
            assert (root / r["path"]).read_bytes().count(b"\n") - 1 == r["rows"]
        return [hashlib.sha256((root / r["path"]).read_bytes()).hexdigest() for r in recs]
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
