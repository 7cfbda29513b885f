"""Problem classification (dbt macros over dictionary.problem_keywords, run in DuckDB)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from orchestration.lib.dictionary import load_dictionary, normalize_header
from orchestration.lib.dictionary.testing import ConformRunner

LABELLED = Path(__file__).parent / "data" / "labelled_descriptions.tsv"


@pytest.fixture(scope="module")
def runner() -> ConformRunner:
    return ConformRunner()


def classify(runner, texts: list[str]) -> list[dict]:
    return runner.run("classify", [(t,) for t in texts])


def load_labelled() -> list[dict]:
    """TSV: description, primary code, secondary codes (comma-separated, may be empty)."""
    rows = []
    with LABELLED.open(encoding="utf-8") as fh:
        for n, row in enumerate(csv.reader(fh, delimiter="\t"), start=1):
            if not row or row[0].startswith("#"):
                continue
            assert len(row) in (2, 3), f"{LABELLED.name} line {n}: {row}"
            rows.append({"line": n, "text": row[0], "primary": row[1].strip(),
                         "secondary": [c for c in (row[2] if len(row) > 2 else "").split(",") if c.strip()]})
    return rows


def _decode(raw: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ValueError("undecodable")


def read_complaint_descriptions(exports: Path) -> dict[str, str]:
    """complaint_id -> description from every CRM complaints file (any format, either language)."""
    header_map = load_dictionary().entity("crm", "complaints").header_map()
    out: dict[str, str] = {}
    for path in sorted((exports / "crm").glob("complaints_*")):
        suffix = path.suffix.lower()
        try:
            if suffix == ".xlsx":
                df = pd.read_excel(path, dtype=str, engine="openpyxl")
            elif suffix == ".jsonl":
                lines = [json.loads(line) for line in _decode(path.read_bytes()).splitlines() if line.strip()]
                df = pd.DataFrame([{k: (None if v is None else str(v)) for k, v in r.items()} for r in lines])
            else:
                sep = "," if suffix == ".csv" else "\t"
                df = pd.read_csv(io.StringIO(_decode(path.read_bytes())), sep=sep, dtype=str,
                                 keep_default_na=False, on_bad_lines="skip")
        except Exception:  # noqa: BLE001, S112 - a deliberately broken delivery: not this test's concern
            continue
        df = df.rename(columns=lambda c: header_map.get(normalize_header(c), c))
        if "complaint_id" not in df or "description" not in df:
            continue
        for cid, desc in zip(df["complaint_id"], df["description"]):
            if isinstance(cid, str) and isinstance(desc, str) and desc.strip():
                out.setdefault(cid.strip(), desc)
    return out


def test_labelled_set_is_big_and_varied():
    rows = load_labelled()
    assert len(rows) >= 200
    codes = {r["primary"] for r in rows}
    assert len(codes - {"UNCLASSIFIED"}) == 22 and "UNCLASSIFIED" in codes
    assert sum(bool(r["secondary"]) for r in rows) >= 20
    assert sum(any("\u4e00" <= c <= "\u9fff" for c in r["text"]) for r in rows) >= 80
    assert sum(r["text"].isascii() for r in rows) >= 60


def test_labelled_descriptions_at_least_90_percent(runner):
    rows = load_labelled()
    got = classify(runner, [r["text"] for r in rows])
    misses = [(r["line"], r["text"], r["primary"], g["problem_type_code"])
              for r, g in zip(rows, got) if g["problem_type_code"] != r["primary"]]
    accuracy = 1 - len(misses) / len(rows)
    report = "\n".join(f"  line {n}: {want} != {have}: {text}" for n, text, want, have in misses)
    assert accuracy >= 0.90, f"accuracy {accuracy:.3f}; misses:\n{report}"


def test_precedence_and_secondary(runner):
    got = classify(runner, [
        "屏幕有划痕，而且充电时冒烟了",            # safety outranks the first-mentioned defect
        "快递晚了三天，外壳还有划痕",                # first mentioned wins, the other is kept
        "Arrived late and the box was crushed; the unit itself has a deep scratch",
        "没有异响，但是不开机",                      # negated keyword does not count
        "请问发票什么时候开",                        # nothing matches
        "",
    ])
    assert [g["problem_type_code"] for g in got] == ["SF01", "DL01", "DL01", "QD02", "UNCLASSIFIED", "UNCLASSIFIED"]
    assert got[0]["secondary_problem_codes"] == "QD01"
    assert got[1]["secondary_problem_codes"] == "QD01"
    assert set(got[2]["secondary_problem_codes"].split(",")) == {"DL02", "QD01"}
    assert got[3]["secondary_problem_codes"] is None
    assert [g["problem_category"] for g in got[:5]] == ["SF", "DL", "DL", "QD", "UNCLASSIFIED"]


def test_generator_complaints_at_least_95_percent(runner, plant):
    truth = plant.truth["complaints"]
    descriptions = read_complaint_descriptions(plant.exports)
    ids = [cid for cid in truth if cid in descriptions]
    assert len(ids) >= 0.8 * len(truth), "could not read most complaint descriptions"
    got = classify(runner, [descriptions[c] for c in ids])
    misses = [(c, descriptions[c], truth[c]["problem_type_code"], g["problem_type_code"])
              for c, g in zip(ids, got) if g["problem_type_code"] != truth[c]["problem_type_code"]]
    accuracy = 1 - len(misses) / len(ids)
    report = "\n".join(f"  {c}: {want} != {have}: {text}" for c, text, want, have in misses[:40])
    assert accuracy >= 0.95, f"accuracy {accuracy:.3f} on {len(ids)}; misses:\n{report}"


def test_evidence_names_the_keywords_that_decided(runner):
    got = classify(runner, ["屏幕有划痕，没有异响，而且充电时冒烟了", "产品有问题，请尽快联系我",
                            "XP的驱动没有，风扇声音比较大"])
    assert got[0]["problem_evidence"] == "划痕→QD01; 冒烟→SF01"  # the negated 异响 is not evidence
    assert got[1]["problem_evidence"] is None and got[1]["problem_type_code"] == "UNCLASSIFIED"
    assert got[2]["problem_evidence"] == "xp的驱动→FN03; 声音比较大→QD05"


def test_a_keyword_with_a_gap_holds_within_one_clause(runner):
    """`摄像头…不能用` (FN02: one part failing) outranks the bare `不能用` (QD02: the unit) only
    when both stand in the same clause; typographic and tokenised apostrophes match `'`."""
    got = classify(runner, ["摄像头 不知道为什么不能用，点击也没有", "摄像头很清楚，但是开机以后整个不能用",
                            "the second one didn’t work either", 'that one didn " t work either',
                            "there is no composite video output"])
    assert [g["problem_type_code"] for g in got] == ["FN02", "QD02", "QD02", "QD02", "FN02"]
    assert got[0]["problem_evidence"] == "摄像头 不知道为什么不能用→FN02"


def test_an_ignore_phrase_hides_the_keyword_inside_it(runner):
    """problems.yml ignore_phrases: 没有驱动问题 says there is no driver problem (没有…驱动 is
    FN03), "busy signal" is the phone line of a hotline (signal is QD03)."""
    got = classify(runner, ["买回来直接上Vista系统非常完美，没有驱动问题。", "没有XP的驱动，很麻烦",
                            "always got a busy signal", "the signal keeps dropping"])
    assert [g["problem_type_code"] for g in got] == ["UNCLASSIFIED", "FN03", "UNCLASSIFIED", "QD03"]
    assert got[0]["problem_evidence"] is None


def test_word_classes_pair_any_part_with_any_failure(runner):
    """problems.yml word_classes: `{part}…{failing}` (FN02, a part failing) pairs every part
    with every failure, so phrasings no keyword lists still type; the bare failure stays QD02
    (the whole unit), a battery failing is QD09, a control that works only sometimes QD08.
    Written here, not taken from a labelled set."""
    got = classify(runner, ["After six weeks the tuner just went out.",
                            "the speakerphone quit on me during a call",
                            "then it simply stopped working",
                            "We lost the audio halfway through every film",
                            "the rechargeable battery failed within a month",
                            "the volume knob is finicky, you have to wiggle it",
                            "the remote is great and the screen is sharp"])
    assert [g["problem_type_code"] for g in got] == ["FN02", "FN02", "QD02", "FN02", "QD09",
                                                     "QD08", "UNCLASSIFIED"]
    assert got[0]["problem_evidence"] == "tuner just went out→FN02"  # the words that decided
    assert got[3]["problem_evidence"] == "lost the audio→FN02"


def test_word_class_regex_expands_every_word_like_a_keyword():
    from orchestration.lib.dictionary.tables import keyword_regex

    classes = {"part": ["remote control", "fan"], "failing": ["died", "no longer work*"]}
    rx = re.compile(keyword_regex("{part}…{failing}", "en", classes))
    assert rx.search("the remote control died") and rx.search("both fans no longer working")
    assert not rx.search("the fanatic died") and not rx.search("the fan, however, died")
    with pytest.raises(ValueError, match="no word class 'parts'"):
        keyword_regex("{parts}…{failing}", "en", classes)


def test_chinese_word_classes_cover_pairings_no_keyword_lists(runner):
    """problems.yml word_classes for Chinese: a part failing (FN02) apart from the whole unit
    (QD02), cooling not good enough (QD04), a package opened or soiled (DL02), a listing the
    goods differ from (FN01), a control that responds only sometimes (QD08), an installer that
    will not go on (FN03); 用不了多少 ("won't take much") is no failure. Written here, not taken
    from a labelled set."""
    got = classify(runner, ["用了两周，读卡器突然失灵了", "收到第三天就完全不能用了",
                            "夏天散热明显不理想", "外箱被划开过，里面泡沫也少",
                            "网页介绍是金属机身，实物却是塑料的", "触控板有时不太灵敏",
                            "win7怎么也装不进去", "配个好点的鼠标也用不了多少钱"])
    assert [g["problem_type_code"] for g in got] == ["FN02", "QD02", "QD04", "DL02", "FN01",
                                                     "QD08", "FN03", "UNCLASSIFIED"]
    assert got[0]["problem_evidence"] == "读卡器突然失灵→FN02"
