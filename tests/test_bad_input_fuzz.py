"""Property-based fuzzing of the ingest readers (issue 8, item 7): whatever the bytes, the
only exception a reader raises is `IngestError`, and a file is always either landed (rows
reconcile) or quarantined with a documented reason."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from bad_inputs.corpus import DICTIONARY, HEADER, ROWS, write_xlsx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.lib.ingest import IngestError, find_spec, ingest_file, map_header
from orchestration.lib.ingest.discover import DeliveredFile
from orchestration.lib.ingest.encoding import fingerprint
from orchestration.lib.ingest.errors import ALL_REASONS
from orchestration.lib.ingest.landing import prepare
from orchestration.lib.ingest.readers import read_jsonl
from orchestration.lib.settings import get_settings

SPEC = find_spec(DICTIONARY, "crm", "complaints")
FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
_counter = itertools.count()

# text that looks like CSV: header words, delimiters, quotes, newlines, CJK, odd bytes
csv_alphabet = st.sampled_from(list(",\t;\"'\n\r =") + HEADER + ["客诉单号", "受理时间", "数",
                                                                   "\u3000", "\ufeff", "\x00"])
csvish = st.lists(csv_alphabet, max_size=60).map("".join)
encodings = st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"])


def _delivered(path: Path, fmt: str) -> DeliveredFile:
    st_ = path.stat()
    return DeliveredFile(path, f"crm/{path.name}", "crm", "complaints", "20240101", 0, fmt,
                         st_.st_size, st_.st_mtime)


def _prepare_only(data: bytes, ext: str, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"complaints_20240101.{ext}"
        p.write_bytes(data)
        df = _delivered(p, fmt)
        try:
            prepare(df, fingerprint(p, text=fmt not in ("xlsx", "xls")), SPEC, Path(d) / "work")
        except IngestError as exc:
            assert exc.reason_code in ALL_REASONS and df.rel_path in str(exc)


@FUZZ
@given(data=st.binary(max_size=400), ext=st.sampled_from(["csv", "tsv", "jsonl", "xlsx", "xls"]))
def test_random_bytes_raise_only_ingest_error(data, ext):
    _prepare_only(data, ext, {"csv": "csv", "tsv": "tsv"}.get(ext, ext))


@pytest.fixture(scope="module")
def fuzz_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("fuzz")
    s = get_settings(home / "home", home / "exports")
    (s.exports / "crm").mkdir(parents=True)
    return s


@settings(FUZZ, max_examples=30)
@given(text=csvish, encoding=encodings, prefix=st.booleans())
def test_csvish_text_lands_or_is_quarantined(text, encoding, prefix, fuzz_home):
    s = fuzz_home
    body = (",".join(HEADER) + "\n" if prefix else "") + text
    try:
        data = body.encode(encoding)
    except UnicodeEncodeError:
        data = body.encode("utf-8")
    p = s.exports / "crm" / f"complaints_20240101_{next(_counter)}.csv"
    p.write_bytes(data)
    res = ingest_file(s, SPEC, _delivered(p, "csv"))
    assert res.status in ("loaded", "quarantined", "duplicate_delivery")  # one shared home
    assert res.rows_read == res.rows_landed + res.rows_quarantined


@FUZZ
@given(lines=st.lists(st.one_of(
    st.fixed_dictionaries({"complaint_id": st.text(max_size=5), "received_at": st.integers(),
                           "description": st.one_of(st.text(), st.none(), st.floats())},
                          optional={"x": st.lists(st.integers(), max_size=2)}).map(
        lambda d: __import__("json").dumps(d, ensure_ascii=False)),
    st.text(max_size=30)), max_size=8))
def test_jsonl_lines_only_ingest_error_or_rows(lines, fuzz_home):
    p = fuzz_home.exports / "crm" / f"complaints_20240101_{next(_counter)}.jsonl"
    p.write_text("\n".join(l.replace("\n", " ").replace("\r", " ") for l in lines),
                 encoding="utf-8")
    try:
        read = read_jsonl(p, "utf-8", SPEC, "crm/complaints_20240101.jsonl")
    except IngestError as exc:
        assert exc.reason_code in ALL_REASONS
        return
    assert read.rows_read == len(read.rows) + len(read.quarantine)


def _valid_xlsx() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x.xlsx"
        write_xlsx(p, HEADER, ROWS)
        return p.read_bytes()


XLSX = _valid_xlsx()


def _valid_xls() -> bytes:
    import xlwt

    with tempfile.TemporaryDirectory() as d:
        wb = xlwt.Workbook(encoding="utf-8")
        ws = wb.add_sheet("data")
        for r, row in enumerate([HEADER, *ROWS]):
            for c, v in enumerate(row):
                ws.write(r, c, v)
        wb.save(str(Path(d) / "x.xls"))
        return (Path(d) / "x.xls").read_bytes()


XLS = _valid_xls()


WORKBOOKS = {"xlsx": XLSX, "xls": XLS}


@FUZZ
@pytest.mark.parametrize("fmt", list(WORKBOOKS))
@given(data=st.data())
def test_damaged_workbooks_raise_only_ingest_error(fmt, data):
    valid = WORKBOOKS[fmt]
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 255)),
                               min_size=1, max_size=6))
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(valid))))
    damaged = bytearray(valid)
    for i, b in flips:
        damaged[i] = b
    _prepare_only(bytes(damaged[:cut] if cut is not None else damaged), fmt, fmt)


@FUZZ
@given(headers=st.lists(st.one_of(st.none(), st.text(max_size=12), st.sampled_from(
    HEADER + ["客诉单号", " COMPLAINT ID ", "Ｃｏｍｐｌａｉｎｔ ＩＤ", ""])), max_size=8))
def test_map_header_raises_only_ingest_error(headers):
    try:
        cols = map_header(headers, SPEC, "crm/x.csv")
    except IngestError as exc:
        assert exc.reason_code in ALL_REASONS
        return
    assert set(SPEC.required) <= set(cols.field_at)
    assert len(set(cols.field_at.values())) == len(cols.field_at)
