"""Publish the dictionary as lookup tables in schema `dictionary` (one transaction)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.lib.dictionary.loader import province_aliases, province_prefix_usable
from orchestration.lib.dictionary.model import MARKABLE_TYPES, WORD_CLASS, Dictionary
from orchestration.lib.dictionary.normalize import lookup_key, normalize_header

if TYPE_CHECKING:  # pandas is imported when tables are built, not when this module loads
    import pandas as pd


def _df(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)


def build_tables(d: Dictionary) -> dict[str, pd.DataFrame]:
    """Every `dictionary.*` table as a DataFrame (columns as in data_dictionary/README.md)."""
    t: dict[str, pd.DataFrame] = {}
    t["entities"] = _df([
        {"system": e.system, "entity": e.name, "table_name": e.table, "business_key": ",".join(e.business_key),
             "description_en": e.description_en, "description_zh": e.description_zh, "owner": e.owner,
             "field_count": len(e.fields)}
        for e in d.entities
    ], ["system", "entity", "table_name", "business_key", "description_en", "description_zh",
        "owner", "field_count"])
    t["fields"] = _df([
        {"system": e.system, "entity": e.name, "field": f.name, "ordinal": i + 1, "type": f.type,
             "required": f.required, "pii": f.pii, "in_business_key": f.name in e.business_key,
             "unit_kind": f.unit_kind, "unit_field": f.unit_field, "vocabulary": f.vocabulary,
             "description_en": f.description_en, "description_zh": f.description_zh, "owner": f.owner}
        for e in d.entities for i, f in enumerate(e.fields)
    ], ["system", "entity", "field", "ordinal", "type", "required", "pii", "in_business_key",
        "unit_kind", "unit_field", "vocabulary", "description_en", "description_zh", "owner"])
    alias_rows = []
    for e in d.entities:
        for f in e.fields:
            for a in [f.name, *f.aliases]:
                alias_rows.append({"system": e.system, "entity": e.name, "field": f.name, "alias": a,
                                       "alias_normalized": normalize_header(a),
                                       "language": "zh" if any(ord(c) > 0x2E80 for c in a) else "en"})
    t["field_aliases"] = _df(alias_rows, ["system", "entity", "field", "alias", "alias_normalized",
                                          "language"]).drop_duplicates(
        ["system", "entity", "alias_normalized"])
    voc_rows = []
    for v in d.vocabularies:
        for val in v.values:
            for s in dict.fromkeys([val.canonical, *val.spellings]):
                voc_rows.append({"domain": v.domain, "spelling": s, "spelling_normalized": lookup_key(s),
                                     "canonical": val.canonical, "canonical_value": val.value,
                                     "label_zh": val.label_zh, "label_en": val.label_en,
                                     "unit_kind": val.unit_kind})
    t["vocabularies"] = _df(voc_rows, ["domain", "spelling", "spelling_normalized", "canonical",
                                       "canonical_value", "label_zh", "label_en", "unit_kind"]
                            ).drop_duplicates(["domain", "spelling_normalized"])
    t["vocabulary_domains"] = _df([
        {"domain": v.domain, "canonical_type": v.canonical_type, "description_en": v.description_en,
             "description_zh": v.description_zh} for v in d.vocabularies
    ], ["domain", "canonical_type", "description_en", "description_zh"])
    unit_rows = []
    for k in d.unit_kinds:
        for u in k.units:
            for s in dict.fromkeys([u.unit, *u.spellings]):
                unit_rows.append({"unit_kind": k.kind, "spelling": s, "spelling_normalized": lookup_key(s),
                                      "unit": u.unit, "canonical_unit": k.canonical_unit,
                                      "factor": float(u.factor), "offset": float(u.offset)})
    t["units"] = _df(unit_rows, ["unit_kind", "spelling", "spelling_normalized", "unit",
                                 "canonical_unit", "factor", "offset"]
                     ).drop_duplicates(["unit_kind", "spelling_normalized"])
    t["unit_kinds"] = _df([
        {"unit_kind": k.kind, "canonical_unit": k.canonical_unit, "description_en": k.description_en,
             "description_zh": k.description_zh} for k in d.unit_kinds
    ], ["unit_kind", "canonical_unit", "description_en", "description_zh"])
    t["provinces"] = _df([
        {"code": p.code, "name": p.name, "short_name": p.short_name, "pinyin": p.pinyin, "name_en": p.name_en,
             "abbr": p.abbr, "region": p.region, "region_en": p.region_en} for p in d.provinces
    ], ["code", "name", "short_name", "pinyin", "name_en", "abbr", "region", "region_en"])
    t["province_aliases"] = _df([
        {"alias": a, "alias_normalized": lookup_key(a), "code": p.code,
         "usable_as_prefix": province_prefix_usable(lookup_key(a))}
        for p in d.provinces for a in province_aliases(p)
    ], ["alias", "alias_normalized", "code", "usable_as_prefix"]).drop_duplicates(["alias_normalized"])
    t["batch_label_prefixes"] = _df([
        {"prefix": p, "prefix_normalized": lookup_key(p), "prefix_regex": regex_literal(lookup_key(p))}
        for p in sorted(d.batch_label_prefixes, key=lambda s: -len(lookup_key(s) or ""))
    ], ["prefix", "prefix_normalized", "prefix_regex"])
    t["serial_label_prefixes"] = _df([
        {"prefix": p, "prefix_normalized": lookup_key(p), "prefix_regex": regex_literal(lookup_key(p))}
        for p in sorted(d.serial_label_prefixes, key=lambda s: -len(lookup_key(s) or ""))
    ], ["prefix", "prefix_normalized", "prefix_regex"])
    import datetime as _dt

    t["time_settings"] = _df([{"year_min": d.timestamp_year_min,
                               "year_max": _dt.date.today().year + d.timestamp_years_ahead}],
                             ["year_min", "year_max"])
    t["batch_code_settings"] = _df([{"year_min": d.batch_year_min, "year_max": d.batch_year_max,
                                     "canonical_regex": d.canonical_batch_regex,
                                     "canonical_line_regex": d.canonical_line_regex}],
                                   ["year_min", "year_max", "canonical_regex",
                                    "canonical_line_regex"])
    t["batch_code_patterns"] = _df([
        {"ordinal": i + 1, "system": b.system, "name": b.name, "regex": b.regex, "example": b.example,
             "year_group": b.year_group, "year_digits": b.year_digits, "month_group": b.month_group,
             "day_group": b.day_group, "line_group": b.line_group, "seq_group": b.seq_group,
             "description_en": b.description_en, "description_zh": b.description_zh}
        for i, b in enumerate(d.batch_patterns)
    ], ["ordinal", "system", "name", "regex", "example", "year_group", "year_digits", "month_group",
        "day_group", "line_group", "seq_group", "description_en", "description_zh"])
    # a pattern without groups (a plant's own code, kept as written) has NULL group columns:
    # integers with NULLs, not floats with NaN
    groups = ["year_group", "year_digits", "month_group", "day_group", "line_group", "seq_group"]
    t["batch_code_patterns"][groups] = t["batch_code_patterns"][groups].astype("Int64")
    t["serial_patterns"] = _df([
        {"ordinal": i + 1, "name": s.name, "regex": s.regex, "product_group": s.product_group,
             "example": s.example, "description_en": s.description_en, "description_zh": s.description_zh}
        for i, s in enumerate(d.serial_patterns)
    ], ["ordinal", "name", "regex", "product_group", "example", "description_en", "description_zh"])
    t["no_value_markers"] = _df([  # one row per spelling matched and field type
        {"marker": v, "field_type": ft, "first_code_point": ord(v[0])} for v, ft in sorted(
            (v, ft) for ft in MARKABLE_TYPES for v in d.no_value_spellings(ft))],
        ["marker", "field_type", "first_code_point"])
    t["timestamp_formats"] = _df([
        {"ordinal": i + 1, "name": f.name, "kind": f.kind, "format": f.format, "regex": f.regex,
             "applies_to": f.applies_to, "example": f.example, "local_time": f.local_time}
        for i, f in enumerate(d.timestamp_formats)
    ], ["ordinal", "name", "kind", "format", "regex", "applies_to", "example", "local_time"])
    pt_rows, kw_rows = [], []
    if d.problems:
        classes = d.problems.word_classes
        for c in d.problems.categories:
            for t_ in c.types:
                pt_rows.append({"code": t_.code, "category": c.prefix, "category_zh": c.name_zh,
                                    "category_en": c.name_en, "name_zh": t_.name_zh, "name_en": t_.name_en,
                                    "precedence": c.precedence})
                for lang, kws in (("zh", t_.keywords_zh), ("en", t_.keywords_en)):
                    for kw in kws:
                        kw_rows.append({"code": t_.code, "keyword": kw,
                                            "keyword_normalized": keyword_normalized(kw),
                                            "keyword_regex": keyword_regex(kw, lang, classes), "language": lang,
                                            "precedence": c.precedence})
        for phrase in d.problems.ignore_phrases:  # matched like keywords, standing for no code
            lang = "en" if phrase.isascii() else "zh"
            kw_rows.append({"code": None, "keyword": phrase,
                            "keyword_normalized": keyword_normalized(phrase),
                            "keyword_regex": keyword_regex(phrase, lang, classes), "language": lang,
                            "precedence": None})
    t["problem_types"] = _df(pt_rows, ["code", "category", "category_zh", "category_en", "name_zh",
                                       "name_en", "precedence"])
    t["problem_keywords"] = _df(kw_rows, ["code", "keyword", "keyword_normalized", "keyword_regex",
                                          "language", "precedence"])
    t["problem_negations"] = _df([
        {"prefix": p, "prefix_normalized": problem_text(p),
             "prefix_regex": (r"\b" if p[:1].isascii() and p[:1].isalnum() else "")
             + regex_literal(problem_text(p))}
        for p in (d.problems.negation_prefixes if d.problems else [])
    ], ["prefix", "prefix_normalized", "prefix_regex"])
    t["reason_codes"] = _df([r.model_dump() for r in d.reason_codes],
                            ["code", "description_en", "description_zh", "scope"])
    # only the thresholds governance.yml lists: a required field's blanks are quarantined (and
    # reported by the WARN check missing_required__<field>), so no default threshold exists
    thr = [{"system": m.system, "entity": m.entity, "field": m.field, "warn_rate": m.warn_rate,
            "error_rate": m.error_rate, "source": "dictionary"} for m in d.missing_thresholds]
    t["missing_thresholds"] = _df(thr, ["system", "entity", "field", "warn_rate", "error_rate",
                                        "source"])
    t["meta"] = _df([{"key": "sections", "value": json.dumps(sorted(t))}], ["key", "value"])
    return t


def regex_literal(text: str) -> str:
    """Escape regex metacharacters (RE2- and Python-compatible)."""
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in text)


ENGLISH_SUFFIX = "(?:s|es|ed|d|ing|age)?"


# an apostrophe in a keyword (don't) also matches the typographic one (don’t) and the
# tokenised form some review exports carry (don " t)
APOSTROPHE = "(?:'|’|‘|`| ?\" ?)"
KEYWORD_GAP = "…"
# what may stand between the parts of `A…B`: a few characters of the same clause (Chinese
# packs a clause into fewer characters than English)
GAP_CHARS = {"zh": 12, "en": 30}


def gap_regex(language: str) -> str:
    return r"[^,.;:!?，。；：！？、\n]{0," + str(GAP_CHARS.get(language, 12)) + "}?"


def keyword_parts(keyword: str) -> list[str]:
    """`摄像头…不能用` -> ['摄像头', '不能用']; a plain keyword is one part. A part may end in `*`
    (a stem: `problem*…recogni*`)."""
    return [p.strip() for p in problem_text(keyword).split(KEYWORD_GAP)]


def keyword_normalized(keyword: str) -> str:
    """The keyword as matched, without stem marks: `problem*…recogni*` -> `problem…recogni`."""
    return KEYWORD_GAP.join(p.rstrip("*") for p in keyword_parts(keyword))


def _word_regex(word: str) -> str:
    """One word or phrase of a keyword: literal; at ASCII letters/digits it starts at a word
    boundary and ends at one after an optional English inflection, unless it ends in `*` (a
    stem). RE2's \\b is ASCII-only, so a mixed word (xp驱动) must not demand a boundary next to
    a Chinese character."""
    stem = word.endswith("*")
    word = word.rstrip("*")
    rx = r"\b" if word[:1].isascii() and word[:1].isalnum() else ""
    rx += regex_literal(word).replace("'", APOSTROPHE)
    if not stem and word[-1:].isascii() and word[-1:].isalnum():
        rx += ENGLISH_SUFFIX + r"\b"
    return rx


def keyword_regex(keyword: str, language: str,
                  classes: Mapping[str, Sequence[str]] | None = None) -> str:
    """A problem keyword as a regex over `problem_text`: literal; English keywords start at a
    word boundary and end at one after an optional inflection (`leak` ~ leaks, leaking),
    unless written as a stem with a trailing `*` (`injur*` ~ injury, injured). `A…B` (an
    ellipsis between parts) matches A followed by B later in the same clause (at most 12
    characters in Chinese, 30 in English, and no punctuation between them): 驱动…不全
    matches 驱动版本不全, 摄像头…不能用 matches 摄像头不知道为什么不能用.
    `{name}` stands for any word of the dictionary's word class `name` (problems.word_classes):
    `{part}…{failing}` matches "the remote stopped working" and "picture went out" alike, so a
    rule about parts and failures needs no list of every pairing. An unknown class is a
    ValueError naming the keyword."""
    classes = classes or {}
    rx = ""
    for i, part in enumerate(keyword_parts(keyword)):
        if i:
            rx += gap_regex(language)
        pieces = WORD_CLASS.split(part)  # literal, class, literal, class, ..., literal
        for j, piece in enumerate(pieces):
            if j % 2 == 0:
                if piece:
                    rx += _word_regex(piece)
                continue
            if piece not in classes or not classes[piece]:
                raise ValueError(f"problem keyword {keyword!r}: no word class {piece!r} "
                                 f"(problems.word_classes: {', '.join(sorted(classes)) or 'none'})")
            words = sorted({problem_text(w).strip() for w in classes[piece]}, key=lambda w: (-len(w), w))
            rx += "(?:" + "|".join(_word_regex(w) for w in words if w) + ")"
    return rx


def problem_text(text: str) -> str:
    """Mirror of the `problem_text` macro: width-folded, lower case (inner spaces kept)."""
    from orchestration.lib.dictionary.normalize import fold_width
    return fold_width(text).lower()


def write_files(con, directory: Path) -> list[Path]:
    """Every table of schema `dictionary` on `con` as `<directory>/<name>.parquet`: what dbt's
    compile-time lookups read (macro dictionary_table, $QUALITRACE_DICTIONARY_TABLES), so
    `dbt compile` needs no warehouse contents. Written by DuckDB itself (the same types and
    NULLs as the tables); the directory is replaced whole, never left half-written."""
    directory = Path(directory)
    staging = directory.with_name(directory.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    names = [n for (n,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'dictionary' "
        "order by 1").fetchall()]
    for name in names:
        target = str(staging / f"{name}.parquet").replace("'", "''")
        con.execute(f"copy dictionary.\"{name}\" to '{target}' (format parquet)")
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    staging.rename(directory)
    shutil.rmtree(old, ignore_errors=True)
    return [directory / f"{n}.parquet" for n in names]


def render_files(d: Dictionary, directory: Path) -> list[Path]:
    """The dictionary's tables as Parquet files in `directory`, without a warehouse."""
    import duckdb

    con = duckdb.connect()
    try:
        publish(d, con)
        return write_files(con, directory)
    finally:
        con.close()


def publish(d: Dictionary, con) -> dict[str, int]:
    """Create schema `dictionary` and replace all its tables in one transaction."""
    tables = build_tables(d)
    con.execute("begin transaction")
    try:
        con.execute("create schema if not exists dictionary")
        for name, df in tables.items():
            con.register("_dict_df", df)
            con.execute(f'create or replace table dictionary."{name}" as select * from _dict_df')
            con.unregister("_dict_df")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return {name: len(df) for name, df in tables.items()}


# ---- publishing only what changed ------------------------------------------------------------

STAMP = ".published.json"  # in the Parquet folder: what was published there, and its rows


def publication_stamp(d: Dictionary) -> str:
    """What a publication of `d` is made of: the dictionary's content and the code that turns
    it into tables and pages (this module, the pages' and the helpers'). Equal stamps, equal
    tables, files and pages."""
    from orchestration.lib.dictionary import docs, loader, model, normalize

    code = b"".join(Path(m.__file__).read_bytes()
                    for m in (docs, loader, model, normalize)) + Path(__file__).read_bytes()
    return hashlib.sha256(code + d.model_dump_json().encode()).hexdigest()


def still_published(con, directory: Path, pages: Sequence[Path], stamp: str) -> dict[str, int] | None:
    """The row counts of the dictionary tables when the warehouse, the Parquet folder and the
    pages hold exactly the publication `stamp` describes; None when anything must be redone."""
    try:
        recorded = json.loads((Path(directory) / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    counts = recorded.get("counts") if recorded.get("stamp") == stamp else None
    if not isinstance(counts, dict) or not all(Path(p).is_file() for p in pages):
        return None
    if any(not (Path(directory) / f"{name}.parquet").is_file() for name in counts):
        return None
    tables = {n for (n,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'dictionary'"
    ).fetchall()}
    if not set(counts) <= tables:  # other steps keep tables of their own there
        return None
    for name, rows in counts.items():
        if con.execute(f'select count(*) from dictionary."{name}"').fetchone()[0] != rows:
            return None
    return counts


def record_publication(directory: Path, stamp: str, counts: Mapping[str, int]) -> None:
    path = Path(directory) / STAMP
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"stamp": stamp, "counts": dict(counts)}), encoding="utf-8")
    tmp.replace(path)
