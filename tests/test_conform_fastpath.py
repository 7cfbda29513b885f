"""Fast paths of the conformance macros give byte-identical results to the general expressions.

Every pair below is compiled by real dbt (one `dbt compile --inline` against a warehouse
holding the published dictionary) and run in DuckDB over the same values; the fast/new
expression must equal the reference one on every value (NULL = NULL, NaN = NaN):

- conform_text_code / conform_lookup_key / conform_number: plain-value fast path vs the
  `*_general` expressions (the unchanged originals);
- conform_timestamp / conform_local_timestamp / conform_date: the 'YYYY-MM-DD HH:MM:SS' /
  'YYYY-MM-DD' fast path plus the DuckDB general path (normalised text computed once) vs
  `default__conform_timestamp_general` (the portable original: text repeated per branch);
- conform_batch_code / conform_serial: DuckDB (candidate / key computed once) vs default__;
- staging_base helpers: is_blank (DuckDB ord() shortcut) vs `nullif(trim(x), '') is null`,
  and with no-value markers vs default__is_blank and the Python mirror normalize.is_no_value,
  unit lookups with a precomputed `unit_key` vs recomputed, conform_unit_value with
  `value_is_number=true` vs reading the number back through conform_number.
"""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.lib.dictionary import load_dictionary, publish
from orchestration.lib.dictionary.testing import SPLIT, compile_inline

PROPS = settings(max_examples=25, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# name -> (new / fast expression, reference expression), inline Jinja over input_values(id, v, u, d)
PAIRS: dict[str, tuple[str, str]] = {
    "text_code": ("{{ conform_text_code('v') }}", "{{ conform_text_code_general('v') }}"),
    "lookup_key": ("{{ conform_lookup_key('v') }}", "{{ conform_lookup_key_general('v') }}"),
    "number": ("{{ conform_number('v') }}", "{{ conform_number_general('v') }}"),
    "number_of_double": ("{{ conform_number('d') }}", "{{ conform_number_general('d') }}"),
    "ts_utc": ("{{ conform_timestamp('v') }}", "{{ qualitrace.default__conform_timestamp_general('v', 'utc') }}"),
    "ts_local": ("{{ conform_local_timestamp('v') }}",
                 "{{ qualitrace.default__conform_timestamp_general('v', 'local') }}"),
    "dt": ("{{ conform_date('v') }}", "cast({{ qualitrace.default__conform_timestamp_general('v', 'local') }} as date)"),
    "ts_general_once": ("{{ qualitrace.duckdb__conform_timestamp_general('v', 'utc') }}",
                        "{{ qualitrace.default__conform_timestamp_general('v', 'utc') }}"),
    "batch_code": ("{{ conform_batch_code('v') }}", "{{ qualitrace.default__conform_batch_code('v') }}"),
    "serial": ("{{ conform_serial('v') }}", "{{ qualitrace.default__conform_serial('v') }}"),
    "is_blank": ("{{ qualitrace.duckdb__is_blank('v') }}", "(nullif(trim(v), '') is null)"),
    # with the shipped no-value markers of a timestamp field (`-`, `N/A`, `无` …)
    "is_blank_markers": (("{{ qualitrace.duckdb__is_blank('v', no_value_markers()['timestamp'], "
                         "no_value_markers()['timestamp:ords']) }}"),
                         "{{ qualitrace.default__is_blank('v', no_value_markers()['timestamp']) }}"),
    "is_blank_batch": (("{{ qualitrace.duckdb__is_blank('v', no_value_markers()['batch_code'], "
                       "no_value_markers()['batch_code:ords']) }}"),
                       "{{ qualitrace.default__is_blank('v', no_value_markers()['batch_code']) }}"),
    "unit_known": ("{{ unit_is_known('u', 'any', unit_key=conform_lookup_key('u')) }}",
                   "{{ unit_is_known('u', 'any') }}"),
    "unit_kind": ("{{ unit_kind_of('u', unit_key=conform_lookup_key('u')) }}", "{{ unit_kind_of('u') }}"),
    "unit_value": ("{{ conform_unit_value(conform_number('v'), 'u', 'any', value_is_number=true, unit_key=conform_lookup_key('u')) }}",
                   "{{ conform_unit_value(conform_number('v'), 'u', 'any') }}"),
    "qty_value": ("{{ conform_unit_value('d', 'u', 'quantity', default_unit='pcs', value_is_number=true, unit_key=conform_lookup_key('u')) }}",
                  "{{ conform_unit_value('d', 'u', 'quantity', default_unit='pcs') }}"),
}
# whole staging models compiled inline (raw source relation replaced by a test table)
MODELS = {"serials": "{{ staging_base('mes', 'serials') }}"}
# a raw value of these shapes must take the fast path (checked on the compiled SQL below)
FAST_TIMESTAMP = "2024-03-15 14:02:11"

FW = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}
SPACES = ["", " ", "  ", "\t", "\n", "\r", "\f", "\v", "\u3000", "\u00a0"]


class PairRunner:
    def __init__(self):
        root = Path(tempfile.mkdtemp(prefix="qualitrace-fastpath-"))
        warehouse = root / "warehouse.duckdb"
        con = duckdb.connect(str(warehouse))
        try:
            publish(load_dictionary(), con)
        finally:
            con.close()
        texts = [e for pair in PAIRS.values() for e in pair] + list(MODELS.values())
        parts = compile_inline(f"\n{SPLIT}\n".join(texts), warehouse, root).split(SPLIT)
        assert len(parts) == len(texts)
        self.sql = {}
        for i, name in enumerate(PAIRS):
            self.sql[name] = (parts[2 * i].strip(), parts[2 * i + 1].strip())
        self.models = {name: re.sub(r'"\w+"\."raw"\."mes__serials"', "raw_serials", parts[2 * len(PAIRS) + i])
                       for i, name in enumerate(MODELS)}
        self.con = duckdb.connect()
        self.con.execute("create temp table input_values(id integer, v varchar, u varchar, d double)")

    def mismatches(self, name: str, rows: list[tuple]) -> list[tuple]:
        """rows: (v, u, d); returns [(v, u, d, new, ref)] where new is distinct from ref."""
        self.con.execute("delete from input_values")
        self.con.executemany("insert into input_values values (?, ?, ?, ?)",
                             [(i, *r) for i, r in enumerate(rows)])
        new, ref = self.sql[name]
        out = self.con.execute(
            f"select v, u, d, n, r from (select id, v, u, d, {new} as n, {ref} as r from input_values) "
            "where n is distinct from r order by id").fetchall()
        # NaN is equal to NaN for DuckDB, but make the rule explicit for doubles
        return [o for o in out if not (isinstance(o[3], float) and isinstance(o[4], float)
                                       and math.isnan(o[3]) and math.isnan(o[4]))]

    def check(self, name: str, values, units=None, doubles=None):
        n = len(values)
        rows = list(zip(values, units or [None] * n, doubles or [None] * n))
        bad = self.mismatches(name, rows)
        assert bad == [], f"{name}: fast path differs from the reference on {bad[:5]}"


@pytest.fixture(scope="module")
def pairs() -> PairRunner:
    return PairRunner()


# ---------------------------------------------------------------- strategies
@st.composite
def noisy(draw, text: str) -> str:
    """Width, case and space noise around / inside a value."""
    out = []
    for ch in text:
        if ch.isascii() and ch.isalpha() and draw(st.integers(0, 4)) == 0:
            ch = ch.swapcase()
        if ch in FW and draw(st.integers(0, 5)) == 0:
            ch = FW[ch]
        out.append(ch)
        if draw(st.integers(0, 12)) == 0:
            out.append(draw(st.sampled_from(SPACES[1:])))
    pad = st.sampled_from(SPACES) if draw(st.integers(0, 2)) == 0 else st.just("")
    return draw(pad) + "".join(out) + draw(pad)


two = st.integers(0, 99).map(lambda n: f"{n:02d}")
year = st.integers(0, 9999).map(lambda n: f"{n:04d}")


@st.composite
def timestamp_texts(draw):
    y, mo, d, h, mi, s = draw(year), draw(two), draw(two), draw(two), draw(two), draw(two)
    if draw(st.booleans()):  # mostly real calendar values, also around DST years of Asia/Shanghai
        y = str(draw(st.sampled_from([1940, 1986, 1987, 1991, 1999, 2000, 2024, 2038, 2099, 2170])))
        mo, d = f"{draw(st.integers(1, 12)):02d}", f"{draw(st.integers(1, 31)):02d}"
        h, mi, s = f"{draw(st.integers(0, 23)):02d}", f"{draw(st.integers(0, 59)):02d}", f"{draw(st.integers(0, 59)):02d}"
    forms = [
        f"{y}-{mo}-{d} {h}:{mi}:{s}", f"{y}-{mo}-{d}", f"{y}-{mo}-{d}T{h}:{mi}:{s}",
        f"{y}-{mo}-{d} {h}:{mi}", f"{y}-{mo}-{d} {h}:{mi}:{s}.{draw(st.integers(0, 999999))}",
        f"{y}-{mo}-{d}T{h}:{mi}:{s}{draw(st.sampled_from(['Z', '+08:00', '-0530', '+08', ' Z']))}",
        f"{int(y)}/{int(mo)}/{int(d)} {int(h)}:{mi}", f"{y}年{int(mo)}月{int(d)}日 {h}:{mi}",
        f"{y}年{int(mo)}月{int(d)}日{h}:{mi}:{s}", f"{y}{mo}{d}", f"{y}-{int(mo)}-{int(d)} {h}:{mi}:{s}",
        str(draw(st.integers(10**8, 10**13))), f"{draw(st.floats(10000, 99999)):.6f}",
        f"{y}-{mo}-{d}  {h}:{mi}:{s}", f"{y}-{mo}-{d} {h}:{mi}:{s} ",
    ]
    form = draw(st.sampled_from(forms))
    return draw(noisy(form)) if draw(st.integers(0, 2)) == 0 else form


number_texts = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**20, 10**20).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.text(alphabet="0123456789-+.,eE \t１２３．，　nainf", max_size=12),
    st.integers(0, 10**9).map(lambda n: f"{n:,}"),
)

code_texts = st.one_of(
    st.text(max_size=12),
    st.text(alphabet="abcXYZ019-_ #:./ａｂ１\t\u3000\u00a0ßµΣ号批", max_size=14),
    st.sampled_from(["SNP000700012345", "sn-p0007-00012345", "序列号:ＳＮＰ０００７０００１２３４５", "S/N SNP000700012345",
                     "20240315-L02-003", "20240315-L2-3", "B24031502003", "LOT#20240315/L2/3", "240315L2003",
                     "批号：２４０３１５Ｌ２００３", "20240230-L2-003", "20240315|2|3", "SERIALSNP000700012345",
                     "BATCH20240315-L02-003", "kg", "KG", " kg ", "℃", "°F", "m/min", "ΜM", "µm", "pcs", "打"]),
)

EDGE_TIMESTAMPS = [
    None, "", " ", "\u3000", "\t", "2024-03-15 14:02:11", "2024-02-30 25:61:00", "2024-02-29 23:59:59",
    "2023-02-29 00:00:00", "0000-00-00 00:00:00", "9999-99-99 99:99:99", "9999-12-31 23:59:59",
    "0001-01-01 00:00:00", "1986-05-04 02:30:00", "1991-04-14 02:30:00", "1991-09-15 01:30:00",
    "２０２４-０３-１５ １４:０２:１１", "2024-03-15T14:02:11", "2024-03-15 14:02:11.5", "2024-03-15 14:02:11+08:00",
    " 2024-03-15 14:02:11", "2024-03-15 14:02:11 ", "2024-03-15  14:02:11", "2024-03-15", "2024-3-5", "20240315",
    "2024/3/15 14:02", "2024年3月15日 14:02", "2024年3月15日14:02", "1710482531000", "1710482531", "45366.5843865741",
    "2024-03-15 14:02", "2024-03-15\t14:02:11", "2024-03-15 24:00:00", "soon", "2024-03-15 14:02:1",
    "1991-12-31 23:59:59", "1992-01-01 00:00:00", "1991-12-31", "1992-01-01", "2100-03-15 02:30:00",
    "1899-12-31 00:00:00", "1991-09-15 00:30:00",
]


# ---------------------------------------------------------------- the fast path is taken
def test_fast_timestamp_path_is_compiled(pairs):
    fast, _ = pairs.sql["ts_utc"]
    assert "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}" in fast
    assert fast.index("'%Y-%m-%d %H:%M:%S'") < fast.index("list_transform")  # before the general path
    pairs.check("ts_utc", [FAST_TIMESTAMP])
    got = pairs.con.execute(f"select {fast} from (select '{FAST_TIMESTAMP}' as v)").fetchone()[0]
    assert str(got) == "2024-03-15 06:02:11"
    # plant zone in its fixed-offset era: a plain 8-hour shift, the time-zone conversion before it
    era = fast[fast.index("'%Y-%m-%d %H:%M:%S'"):]
    assert ">= '1992-01-01'" in fast and "interval" in era.split("when regexp_full_match")[0]


# ---------------------------------------------------------------- examples
@pytest.mark.parametrize("name", ["ts_utc", "ts_local", "dt", "ts_general_once"])
def test_timestamp_edge_cases(pairs, name):
    pairs.check(name, EDGE_TIMESTAMPS)


def test_number_edge_cases(pairs):
    values = [None, "", " ", "12", "-12", "12.50", "1,234.5", " 12 ", "\t12", "１２", "1e5", "1E-5", "nan", "NaN",
              "inf", "-inf", "+3", ".5", "5.", "0x10", "1_000", "12abc", "-", "1 2", "1\u00a02", "9" * 400,
              "-0", "0.1", "1e400", "\v7", "１２．５", "1，234"]
    pairs.check("number", values)
    doubles = [None, 0.0, -0.0, 0.1, 1e20, 1e-320, 5e-324, 1.7976931348623157e308, float("inf"), float("-inf"),
               float("nan"), 123456789.123456789, -42.0, 2 ** 53 + 1.0]
    pairs.check("number_of_double", [None] * len(doubles), doubles=doubles)


def test_code_and_blank_edge_cases(pairs):
    values = [None, "", " ", "\u3000", "\u00a0", "\t", "\n", "a", " a", "a ", "ab c", "ＡＢ", "ß", "µm", "Σ",
              "kg", "\u3000kg\u3000", "\va", "~", "!", "\x7f", "\x00x", "x\u3000", "号"]
    for name in ("text_code", "lookup_key", "is_blank"):
        pairs.check(name, values)


MARKER_TEXTS = ["-", " - ", "-\t", "--", "—", "N/A", "n/a", "N/a", "n/A", " NA ", "na", "Na", "#N/A",
                "null", "NULL", "Null", "none", "None", "无", " 无", "无 ", "\u3000无", "暂无", "不详",
                "未关闭", "-1", "- 1", "N/A1", "x", "", " ", None]


def test_markers_read_as_blank_like_the_python_mirror(pairs, dictionary):
    """The DuckDB path, the portable path and normalize.is_no_value agree on every text."""
    from orchestration.lib.dictionary.normalize import is_no_value, marker_variants

    pairs.check("is_blank_markers", MARKER_TEXTS)
    variants = {v for m in dictionary.no_value_markers if m.applies_to("timestamp")
                for v in marker_variants(m.marker)}
    pairs.con.execute("delete from input_values")
    pairs.con.executemany("insert into input_values values (?, ?, null, null)",
                          list(enumerate(MARKER_TEXTS)))
    got = dict(pairs.con.execute(f"select id, {pairs.sql['is_blank_markers'][0]} from input_values").fetchall())
    want = {i: is_no_value(v, variants) for i, v in enumerate(MARKER_TEXTS)}
    assert got == want
    assert want[MARKER_TEXTS.index(" NA ")] and not want[MARKER_TEXTS.index("-1")]
    assert not want[MARKER_TEXTS.index("未关闭")]  # a plant's own marker, not shipped


# ---------------------------------------------------------------- properties
@PROPS
@given(st.lists(timestamp_texts(), min_size=1, max_size=60))
def test_timestamp_fast_path_identical(pairs, values):
    for name in ("ts_utc", "ts_local", "dt"):
        pairs.check(name, values)


@PROPS
@given(st.lists(number_texts, min_size=1, max_size=60))
def test_number_fast_path_identical(pairs, values):
    pairs.check("number", values)


@PROPS
@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), min_size=1, max_size=60))
def test_number_of_a_double_round_trips(pairs, doubles):
    pairs.check("number_of_double", [None] * len(doubles), doubles=doubles)


@PROPS
@given(st.lists(st.one_of(code_texts, code_texts.flatmap(noisy)), min_size=1, max_size=60))
def test_codes_keys_blank_batch_serial_identical(pairs, values):
    for name in ("text_code", "lookup_key", "is_blank", "is_blank_markers", "is_blank_batch",
                 "batch_code", "serial"):
        pairs.check(name, values)


@st.composite
def unit_rows(draw, dictionary):
    kind = draw(st.sampled_from(dictionary.unit_kinds))
    unit = draw(st.sampled_from(kind.units))
    spelling = draw(st.one_of(st.sampled_from([unit.unit, *unit.spellings]), code_texts, st.none()))
    if spelling is not None and draw(st.booleans()):
        spelling = draw(noisy(spelling))
    value = draw(number_texts)
    return value, spelling, draw(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))


@pytest.fixture(scope="module")
def dictionary():
    return load_dictionary()


# DuckDB spends ~1.5 s planning the reference unit expression (350 KB of SQL: the units table
# inlined per lookup) whatever the rows: fewer examples of more rows each test as many values
@settings(PROPS, max_examples=8)
@given(data=st.data())
def test_unit_lookups_with_precomputed_key_identical(pairs, dictionary, data):
    rows = data.draw(st.lists(unit_rows(dictionary), min_size=1, max_size=200))
    values, units, doubles = (list(x) for x in zip(*rows))
    for name in ("unit_known", "unit_kind", "unit_value", "qty_value"):
        pairs.check(name, values, units, doubles)


@PROPS
@given(st.lists(st.one_of(st.none(), code_texts, code_texts.flatmap(noisy)), min_size=1, max_size=80))
def test_staging_conforms_batch_once_per_distinct_value(pairs, batches):
    """staging_base conforms a batch_code field once per distinct raw value and joins it back:
    every row must get conform_batch_code of its own raw value (and the flag / reject rule)."""
    con = pairs.con
    con.execute("create or replace temp table raw_serials(serial_no varchar, batch varchar, produced_at varchar, "
                "_extra varchar, _source_file varchar, _source_row bigint, _file_sha256 varchar, _loaded_at timestamp)")
    rows = [("SNP000700012345", b, "2024-03-15 14:02:11", None, "mes/serials_20240315.csv", i + 2, "x", None)
            for i, b in enumerate(batches + batches[:3])]  # repeated values share one conformance
    con.executemany("insert into raw_serials values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    per_row, _ = pairs.sql["batch_code"]
    _, blank = pairs.sql["is_blank_batch"]  # blank or a no-value marker (`-`, `N/A`)
    bad = con.execute(f"""
        select r.v, m.batch, m.batch_flag, m._reject_reason
        from (select *, {per_row} as want, {blank} as is_blank
              from (select batch as v, _source_row from raw_serials) as raw_serials) as r
        join ({pairs.models["serials"]}) as m using (_source_row)
        where m.batch is distinct from (case when not r.is_blank then r.want end)
           or m.batch_flag is distinct from (case when r.is_blank then null
                                                  when r.want is null then 'unmatched' else 'ok' end)
           or (coalesce(m._reject_reason, '') = 'invalid_batch_code:batch') is distinct from
              (not r.is_blank and r.want is null)
           or (coalesce(m._reject_reason, '') = 'missing_required_field:batch') is distinct from
              r.is_blank
    """).fetchall()
    assert con.execute(f"select count(*) from ({pairs.models['serials']})").fetchone()[0] == len(rows)
    assert bad == [], bad[:5]
