"""`qualitrace dictionary suggest`: profile a folder of exports against the dictionary, land
nothing, and write a reviewable patch in the overlay format (overlay.py).

What is certain enough goes into the overlay sections (a header whose spelling is a close
variant of one known alias of exactly one field); everything that needs the owner's decision
goes under `review:` (ignored by the overlay merge), shaped so it can be moved up as is:
unknown headers with the closest alias, unknown spellings per coded field with counts, an
example file and line, and the closest canonical value when one is likely; fields always
blank; batch codes matching no pattern; serial numbers matching no pattern (with a pattern of
their shape, `serial_patterns`, for the serials export's own key); dates, times and numbers in
no known form (a text without a digit there, `未关闭`, is a placeholder: suggested as a
`no_value_markers` entry for that field type); frequent words of descriptions no problem keyword matches, as keyword
candidates. The patch as written passes `qualitrace dictionary`.
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestration.lib.dictionary import time_forms
from orchestration.lib.dictionary.model import MARKABLE_TYPES, VOCAB_OF_TYPE
from orchestration.lib.dictionary.normalize import (
    fold_width,
    header_qualifier,
    is_no_value,
    lookup_key,
    normalize_header,
    serial_key,
    time_text,
)
from orchestration.lib.dictionary.tables import (
    KEYWORD_GAP,
    keyword_normalized,
    keyword_regex,
    problem_text,
)

MAX_ROWS_PER_FILE = 50_000  # a sample is enough to find spellings; readings files are huge
HEADER_CUTOFF = 0.85        # similarity above which an unknown header is taken as an alias
VALUE_CUTOFF = 0.6          # similarity above which a canonical value is offered as closest
STOP_EN = {"a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with", "from", "by", "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those", "i", "my", "me", "we", "our", "you", "your", "he", "she", "they", "them", "his", "her", "their", "not", "no", "very", "after", "before", "when", "then", "than", "so", "too", "also", "just", "still", "again", "out", "up", "down", "over", "into", "about", "as", "have", "has", "had", "do", "does", "did", "can", "could", "would", "should", "will", "one", "two", "three", "day", "days", "time", "times", "product", "unit", "item"}


@dataclass
class Profile:
    """What a folder of exports holds that the dictionary does not know."""

    files: int = 0
    rows: int = 0
    unreadable: list[dict] = field(default_factory=list)
    unmatched_files: list[dict] = field(default_factory=list)
    unknown_headers: dict[tuple[str, str, str], dict] = field(default_factory=dict)
    unknown_values: dict[tuple[str, str, str, str], dict] = field(default_factory=dict)
    present: Counter = field(default_factory=Counter)      # (system, entity, field) rows with it
    filled: Counter = field(default_factory=Counter)       # ... rows where it is not blank
    batch_unmatched: dict[tuple[str, str, str], dict] = field(default_factory=dict)
    # (system, entity, field) -> {"rows", "examples" (as typed), "shapes" Counter, "example_of"}
    serial_unmatched: dict[tuple[str, str, str], dict] = field(default_factory=dict)
    # (system, entity, field) -> {"rows", "examples"}: dates, times, numbers in no known form
    unparsed: dict[tuple[str, str, str], dict] = field(default_factory=dict)
    # text without a digit where a date, time or number belongs (`未关闭`, `pending`): no value
    # in another form but a placeholder -> {"types": set, "rows"}
    no_value: dict[str, dict] = field(default_factory=dict)
    unclassified: list[str] = field(default_factory=list)
    # day-or-month-first dates no form reads, by shape (time_forms.py): which order they are
    date_shapes: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- reading

def _rows(path: Path, fmt: str, spec, rel: str, limit: int):
    """(headers, [(line, [values])]) of one file, read as ingest would (text as delivered)."""
    from orchestration.lib.ingest.encoding import fingerprint
    from orchestration.lib.ingest.errors import IngestError
    from orchestration.lib.ingest.readers import (
        DELIMITERS,
        PREAMBLE_MAX,
        header_row,
        map_header,
        other_delimiter,
        parse_csv_header,
        read_jsonl,
        read_xls,
        read_xlsx,
    )

    if fmt in ("xlsx", "xls"):
        t = (read_xlsx if fmt == "xlsx" else read_xls)(path, spec, rel)
        return t.columns.headers, t.rows[:limit]
    enc = fingerprint(path).encoding or "utf-8"
    if fmt == "jsonl":
        t = read_jsonl(path, enc, spec, rel)
        return t.columns.headers, t.rows[:limit]
    text = path.read_bytes().decode(enc, errors="replace").lstrip("\ufeff")
    delim = DELIMITERS[fmt]
    try:  # as ingest: a `;`-separated .csv is read with `;`
        map_header(parse_csv_header(text, delim, rel, spec).cells, spec, rel)
    except IngestError:
        delim = (other_delimiter(text, delim, rel, spec) or (delim,))[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    records: list[tuple[int, list[str]]] = []
    for row in reader:
        records.append((reader.line_num, row))
        if len(records) >= limit + PREAMBLE_MAX:
            break
    # a report's title lines above the header are read past, as ingest does
    filled = [i for i, (_, r) in enumerate(records) if any(c.strip() for c in r)]
    at = filled[header_row([records[i][1] for i in filled], spec)] if filled else 0
    headers = records[at][1] if records else []
    out = [(n, [c if c.strip() else None for c in r]) for n, r in records[at + 1:at + 1 + limit]]
    return headers, out


# ----------------------------------------------------------------------------- knowledge

class Knowledge:
    """What the (merged) dictionary knows, as Python lookups mirroring the conformance."""

    def __init__(self, d) -> None:
        from orchestration.lib.dictionary.loader import province_aliases

        self.d = d
        self.vocab = {v.domain: {lookup_key(s): val.canonical for val in v.values
                                 for s in (val.canonical, *val.spellings)}
                      for v in d.vocabularies}
        self.units = {k.kind: {lookup_key(s): u.unit for u in k.units
                               for s in (u.unit, *u.spellings)} for k in d.unit_kinds}
        self.all_units = {key: u for m in self.units.values() for key, u in m.items()}
        self.provinces = {lookup_key(a): p.code for p in d.provinces for a in province_aliases(p)}
        self.batch = [re.compile(bp.regex) for bp in d.batch_patterns]
        self.serials = [re.compile(sp.regex) for sp in d.serial_patterns]
        self.serial_prefixes = tuple(d.serial_label_prefixes)
        self.time_forms = [re.compile(tf.regex) for tf in d.timestamp_formats]
        self.markers = {ft: d.no_value_spellings(ft) for ft in MARKABLE_TYPES}
        self.prefixes = sorted((lookup_key(p) or "" for p in d.batch_label_prefixes),
                               key=len, reverse=True)

    @functools.cached_property
    def keywords(self) -> list[re.Pattern]:
        """Every problem keyword as its regex: compiled on first use only (0.6 s; a run's
        report needs them only when a description came out UNCLASSIFIED)."""
        d = self.d
        classes = d.problems.word_classes if d.problems else {}
        return [re.compile(keyword_regex(k, lang, classes)) for _, t in d.problem_types()
                for lang, kws in (("zh", t.keywords_zh), ("en", t.keywords_en))
                for k in kws if keyword_normalized(k).strip(KEYWORD_GAP + " ")]

    def domain_of(self, f) -> str | None:
        if f.type in ("vocab", "status", "shift", "severity", "pass_fail", "boolean"):
            return f.vocabulary or VOCAB_OF_TYPE.get(f.type)
        return None

    def known(self, f, value: str) -> bool | None:
        """True/False for a coded field; None when the field is not judged here."""
        key = lookup_key(value)
        if key is None:
            return None
        if f.type == "unit":
            table = self.units.get(f.unit_kind or "", self.all_units)
            return key in table or (f.unit_kind in ("any", "by_parameter", None)
                                    and key in self.all_units)
        if f.type == "province":  # as conform_province: an exact alias or a usable prefix
            from orchestration.lib.dictionary.loader import province_from_text

            return province_from_text(key, self.provinces) is not None
        if f.type == "severity" and key.isdigit():
            return 1 <= int(key) <= 10
        if f.type == "line":
            return None  # conformed by patterns in SQL: not judged here
        domain = self.domain_of(f)
        if domain is not None and domain in self.vocab:
            return key in self.vocab[domain]
        return None

    def batch_key(self, value: str) -> str:
        """The code as conform_batch_key reads it: normalised, label prefix removed."""
        key = lookup_key(value) or ""
        for p in self.prefixes:
            if p and key.startswith(p):
                key = key[len(p):].lstrip(":：")
                break
        return key.replace(" ", "")

    def batch_matches(self, value: str) -> bool:
        key = self.batch_key(value)
        return any(rx.fullmatch(key) or rx.fullmatch(key.replace("-", "")) for rx in self.batch)

    def serial_matches(self, value: str) -> bool:
        key = serial_key(value, self.serial_prefixes)
        return key is not None and any(rx.fullmatch(key) for rx in self.serials)

    def parses(self, f, value: str) -> bool | None:
        """Whether a date / time / number is in a form the conformance reads (None: not such
        a field). Mirrors the SQL closely enough to find the forms a plant needs to add."""
        v = fold_width(value).strip()
        if f.type in ("timestamp", "date"):
            t = time_text(value)
            return any(rx.fullmatch(t) for rx in self.time_forms)
        if f.type in ("integer", "decimal"):
            v = v.replace(" ", "")
            if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", v):
                v = v.replace(",", "")
            elif re.fullmatch(r"[+-]?\d+,\d+", v):
                v = v.replace(",", ".")
            return bool(re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?", v))
        return None

    def classified(self, description: str) -> bool:
        text = problem_text(description)
        return any(k.search(text) for k in self.keywords)


# ----------------------------------------------------------------------------- profiling

def profile_exports(exports: Path, d, limit: int = MAX_ROWS_PER_FILE,
                    progress=None) -> Profile:
    from orchestration.lib.ingest.discover import discover
    from orchestration.lib.ingest.spec import find_spec, is_summary_row

    k = Knowledge(d)
    prof = Profile()
    for f in discover(exports, d):
        prof.files += 1
        if f.entity is None:
            prof.unmatched_files.append({"file": f.rel_path, "why": f.problem})
            continue
        spec = find_spec(d, f.system, f.entity)
        entity = d.entity(f.system, f.entity)
        if progress:
            progress(f"profiling {f.rel_path}")
        try:
            headers, rows = _rows(f.path, f.fmt, spec, f.rel_path, limit)
        except Exception as exc:  # noqa: BLE001 - reported, the rest goes on
            prof.unreadable.append({"file": f.rel_path, "error": str(exc).splitlines()[0][:300]})
            continue
        prof.rows += len(rows)
        at: dict[str, int] = {}
        loose = []
        for i, h in enumerate(headers):
            name = spec.canonical(str(h)) if h is not None else None
            if name is not None and name not in at:
                at[name] = i
            elif h not in (None, "") and name is None:
                loose.append((i, str(h)))
        for i, h in loose:  # `数量（件）`, `*工单号`: as ingest maps them (readers.map_header)
            name = spec.headers.get(header_qualifier(h)[0])
            if name is not None and name not in at:
                at[name] = i
            else:
                key = (f.system, f.entity, h.strip())
                prof.unknown_headers.setdefault(key, {"files": []})["files"].append(f.rel_path)
        # a report's totals row is no record (ingest sets it aside as summary_row)
        rows = [(line, values) for line, values in rows if not is_summary_row(
            {name: values[i] if i < len(values) else None for name, i in at.items()}, spec)]
        for fld in entity.fields:
            if fld.name not in at or fld.pii:
                continue
            i = at[fld.name]
            prof.present[(f.system, f.entity, fld.name)] += len(rows)
            for line, values in rows:
                v = values[i] if i < len(values) else None
                if v is None or is_no_value(str(v), k.markers.get(fld.type, frozenset())):
                    continue
                v = str(v).strip()
                prof.filled[(f.system, f.entity, fld.name)] += 1
                if fld.type == "batch_code":
                    if not k.batch_matches(v):
                        _note_batch(prof, k, (f.system, f.entity, fld.name), v, 1)
                    continue
                if fld.type == "serial":
                    if not k.serial_matches(v):
                        _note_serial(prof, k, (f.system, f.entity, fld.name), v, 1)
                    continue
                if k.parses(fld, v) is False:
                    _note_unparsed(prof, fld.type, (f.system, f.entity, fld.name), v, 1)
                    continue
                if fld.name == "description" and f.system == "crm":
                    if not k.classified(v):
                        prof.unclassified.append(v)
                    continue
                if k.known(fld, v) is False:
                    key = (f.system, f.entity, fld.name, v)
                    e = prof.unknown_values.setdefault(key, {"rows": 0, "example": None})
                    e["rows"] += 1
                    e["example"] = e["example"] or f"{f.rel_path}:{line}"
    return prof


def serial_shape(key: str | None) -> str | None:
    """A regex of a serial key's shape: the leading letters as they are, every later run of
    letters or digits by its length (`SNK10000000001` -> `^SNK\\d{11}$`); None for a key that
    holds anything but ASCII letters and digits, or no digit (no serial: `不清楚`, `NA`)."""
    return _code_shape(key, "")


def batch_shape(key: str | None) -> str | None:
    """The same for a plant's own batch code, whose separators (`-_/.#`) stay as they are
    (`PB-0001` -> `^PB\\-\\d{4}$`)."""
    return _code_shape(key, "-_/.#")


def _code_shape(key: str | None, separators: str) -> str | None:
    seps = re.escape(separators)
    if not key or not re.fullmatch(rf"[A-Z0-9{seps}]+", key) or not re.search(r"\d", key):
        return None
    out = []
    for i, run in enumerate(re.findall(r"[A-Z]+|\d+" + (rf"|[{seps}]" if seps else ""), key)):
        if run[0].isdigit():
            out.append(rf"\d{{{len(run)}}}")
        elif run[0].isalpha():
            out.append(run if i == 0 else f"[A-Z]{{{len(run)}}}")
        else:
            out.append(re.escape(run))
    return "^" + "".join(out) + "$"


def _note_batch(prof: Profile, k: Knowledge, where: tuple[str, str, str], value: str,
                rows: int) -> None:
    key = k.batch_key(value)  # the example is the key: a pattern's example must fit its regex
    _note_shaped(prof.batch_unmatched, where, value, rows, batch_shape(key), key)


def _note_example(table: dict, where: tuple[str, str, str], value: str, rows: int) -> None:
    e = table.setdefault(where, {"rows": 0, "examples": []})
    e["rows"] += rows
    if len(e["examples"]) < 5 and value not in e["examples"]:
        e["examples"].append(value)


def _note_serial(prof: Profile, k: Knowledge, where: tuple[str, str, str], value: str,
                 rows: int) -> None:
    _note_shaped(prof.serial_unmatched, where, value, rows,
                 serial_shape(serial_key(value, k.serial_prefixes)), value)


def _note_shaped(table: dict, where: tuple[str, str, str], value: str, rows: int,
                 shape: str | None, example: str) -> None:
    """An unmatched code (serial, batch) with the regex of its shape, counted per shape."""
    e = table.setdefault(where, {"rows": 0, "examples": [], "shapes": Counter(),
                                 "example_of": {}})
    _note_example(table, where, value, rows)
    if shape is not None:
        e["shapes"][shape] += rows
        e["example_of"].setdefault(shape, example)


def _note_unparsed(prof: Profile, field_type: str, where: tuple[str, str, str], value: str,
                   rows: int) -> None:
    """A date, time or number in no known form; one without any digit is a placeholder
    (`未关闭`, `pending`, `见备注`), suggested as a no-value marker for that field type."""
    if re.search(r"\d", fold_width(value)):
        _note_example(prof.unparsed, where, value, rows)
        if field_type in ("timestamp", "date"):
            time_forms.note(prof.date_shapes, time_text(value), ".".join(where), rows)
        return
    e = prof.no_value.setdefault(value.strip(), {"types": set(), "rows": 0})
    e["types"].add(field_type)
    e["rows"] += rows


def _unparsed_note(fld) -> str:
    if fld.type not in ("timestamp", "date"):
        return "a number the conformance cannot read"
    kept = "required: rows quarantined" if fld.required else "optional: rows kept, value NULL"
    return (f"{kept}; add the form to timestamp_formats (a day-or-month-first date: see "
            f"timestamp_formats above or review.timestamp_form_choices)")


MAX_SERIAL_SHAPES = 3  # patterns suggested per serial field; more shapes need a person


def _serial_patterns(prof: Profile, d) -> list[dict]:
    """Patterns of the shapes of unmatched serials in a required serial field (the serials
    export's own key, typed by machines): the most frequent shapes, each a narrow regex
    with an example from the exports. Serials typed by people (CRM) only go to review."""
    return [{"name": name, "regex": shape, "example": example,
             "description_en": f"Suggested from {n} serial number(s) of {s}.{e}.{f} "
                               "matching no pattern; check it fits every serial you make.",
             "description_zh": f"根据 {s}.{e}.{f} 中 {n} 个不符合任何格式的序列号建议；"
                               "请确认它符合贵厂的全部序列号。"}
            for (s, e, f), name, shape, n, example in _shape_proposals(
                prof.serial_unmatched, {p.name for p in d.serial_patterns}, MAX_SERIAL_SHAPES,
                lambda s, e, f: d.entity(s, e).field(f).required)]


def _shape_proposals(unmatched: dict, taken: set[str], limit: int, wanted) -> Iterator[tuple]:
    """((system, entity, field), unique pattern name, shape regex, rows, example) for the
    `limit` most frequent shapes of each field `wanted(system, entity, field)` accepts."""
    for (s, e, f), v in sorted(unmatched.items()):
        if not wanted(s, e, f):
            continue
        for i, (shape, n) in enumerate(v["shapes"].most_common(limit), start=1):
            name = f"{s}_{e}_{i}"
            while name in taken:
                name += "_x"
            taken.add(name)
            yield (s, e, f), name, shape, n, v["example_of"][shape]


MAX_BATCH_SHAPES = 3  # patterns suggested for a plant's own batch codes


def _batch_patterns(prof: Profile, d) -> list[dict]:
    """Patterns without groups for the shapes of the batch codes MES production batches hold
    that no pattern reads (a plant's own codes, `PB-0001`): such a code is then kept as the
    plant writes it, so its batches, serials, shipments and complaints link up. Codes that do
    hold a date, line and sequence are better read by a pattern with groups (review). Only the
    batches' own key (an entity keyed by that field alone) is read; references follow it."""
    def own_key(s: str, e: str, f: str) -> bool:
        entity = d.entity(s, e)
        return list(entity.business_key) == [f] and entity.field(f).required

    return [{"system": s, "name": name, "regex": shape, "example": example,
             "description_en": f"Suggested from {n} batch code(s) of {s}.{e}.{f} matching no "
                               "pattern: kept as written (no date or line read from it). If "
                               "your codes hold the date and line, write a pattern with groups "
                               "instead.",
             "description_zh": f"根据 {s}.{e}.{f} 中 {n} 个不符合任何格式的批次号建议："
                               "按原样保留（不从中读取日期和线号）。如批次号含日期和线号，"
                               "请改写为带分组的格式。"}
            for (s, e, f), name, shape, n, example in _shape_proposals(
                prof.batch_unmatched, {p.name for p in d.batch_patterns}, MAX_BATCH_SHAPES,
                own_key)]


# ----------------------------------------------------------------------------- the patch

def _closest_alias(d, system: str, entity: str, header: str) -> tuple[str | None, str | None, float]:
    e = d.entity(system, entity)
    best = (None, None, 0.0)
    key = normalize_header(header)
    for f in e.fields:
        for a in (f.name, *f.aliases):
            score = difflib.SequenceMatcher(None, key, normalize_header(a)).ratio()
            if score > best[2]:
                best = (f.name, a, score)
    return best


def _closest_value(k: Knowledge, d, fld, value: str) -> str | None:
    key = lookup_key(value) or ""
    if fld.type == "unit":
        table = k.units.get(fld.unit_kind or "", k.all_units)
    elif fld.type == "province":
        table = k.provinces
    else:
        table = k.vocab.get(k.domain_of(fld) or "", {})
    return table[match] if (match := closest_spelling(key, table)) else None


def closest_spelling(key: str, known) -> str | None:
    """The known spelling most like `key`, when it is likely the same thing: similar overall
    (difflib ratio >= VALUE_CUTOFF) and sharing a run of at least two characters. Scattered
    single characters are no evidence: 点焊机 (spot welder) is not 点胶机 (dispenser), "A"
    (amperes) is not "Pa"; 合格品 is 合格."""
    best, best_score = None, VALUE_CUTOFF
    for spelling in sorted(known):
        sm = difflib.SequenceMatcher(None, key, spelling)
        if sm.find_longest_match(0, len(key), 0, len(spelling)).size < 2:
            continue
        if (score := sm.ratio()) > best_score or (score == best_score and best is None):
            best, best_score = spelling, score
    return best


def _keyword_candidates(texts: list[str], top: int = 25) -> list[dict]:
    words: Counter = Counter()
    examples: dict[str, str] = {}
    for t in texts:
        t2 = fold_width(t).lower()
        seen = set()
        for w in re.findall(r"[a-z][a-z'\-]{2,}", t2):
            if w not in STOP_EN:
                seen.add(w)
        for run in re.findall(r"[\u4e00-\u9fff]+", t2):
            for i in range(len(run) - 1):
                seen.add(run[i:i + 2])
        for w in seen:
            words[w] += 1
            examples.setdefault(w, t[:80])
    return [{"word": w, "descriptions": n, "example": examples[w]}
            for w, n in words.most_common(top) if n >= 1]


def build_patch(prof: Profile, d, exports: Path) -> dict[str, Any]:
    """The overlay patch (sections + `review`) for a profile."""
    k = Knowledge(d)
    headers: dict[str, list[str]] = {}
    review: dict[str, Any] = {}
    rh = []
    for (system, entity, header), info in sorted(prof.unknown_headers.items()):
        fname, alias, score = _closest_alias(d, system, entity, header)
        item = {"entity": f"{system}.{entity}", "header": header, "files": info["files"][:3],
                "closest_field": fname, "closest_alias": alias, "similarity": round(score, 2)}
        if fname and score >= HEADER_CUTOFF:
            headers.setdefault(f"{system}.{entity}.{fname}", []).append(header)
        else:
            rh.append(item)
    if rh:
        review["unknown_headers"] = rh
    vocab: dict[str, dict] = {}
    units: dict[str, dict] = {}
    listed = []
    for (system, entity, fname, value), info in sorted(
            prof.unknown_values.items(), key=lambda kv: (-kv[1]["rows"], kv[0])):
        fld = d.entity(system, entity).field(fname)
        closest = _closest_value(k, d, fld, value)
        listed.append({"field": f"{system}.{entity}.{fname}", "value": value, "rows": info["rows"],
                       "example": info["example"], "closest": closest})
        if fld.type == "unit":
            kind = fld.unit_kind if fld.unit_kind not in (None, "any", "by_parameter") else None
            if kind is None and closest:  # the kind of the closest known unit
                kind = next((uk.kind for uk in d.unit_kinds
                             if any(u.unit == closest for u in uk.units)), None)
            entry = units.setdefault(kind or "TODO_kind", {}).setdefault(
                closest or "TODO_unit", {"spellings": [], **({} if closest else {"factor": "TODO"})})
            if value not in entry["spellings"]:
                entry["spellings"].append(value)
        elif fld.type == "province":
            continue
        else:
            domain = k.domain_of(fld) or fname
            entry = vocab.setdefault(domain, {}).setdefault(closest or "TODO_canonical",
                                                            {"spellings": []})
            if value not in entry["spellings"]:
                entry["spellings"].append(value)
    if listed:
        review["unknown_spellings"] = listed
        review["overlay_draft"] = {**({"vocabularies": vocab} if vocab else {}),
                                   **({"units": units} if units else {})}
    blank = [{"field": f"{s}.{e}.{f}", "rows": n} for (s, e, f), n in sorted(prof.present.items())
             if n and not prof.filled[(s, e, f)]]
    if blank:
        review["always_blank"] = blank
    absent = []
    for e in d.entities:
        seen_entity = any(key[:2] == (e.system, e.name) for key in prof.present)
        if seen_entity:
            absent += [f"{e.system}.{e.name}.{f.name}" for f in e.fields
                       if not f.required and (e.system, e.name, f.name) not in prof.present
                       and not f.pii]
    if absent:
        review["optional_fields_not_exported"] = absent
    if prof.batch_unmatched:
        review["unmatched_batch_codes"] = [
            {"field": f"{s}.{e}.{f}", "rows": v["rows"], "examples": v["examples"]}
            for (s, e, f), v in sorted(prof.batch_unmatched.items())]
    if prof.serial_unmatched:
        review["unmatched_serials"] = [
            {"field": f"{s}.{e}.{f}", "rows": v["rows"], "examples": v["examples"]}
            for (s, e, f), v in sorted(prof.serial_unmatched.items())]
    if prof.unparsed:
        review["values_in_no_known_form"] = [
            {"field": f"{s}.{e}.{f}", "rows": v["rows"], "examples": v["examples"],
             "note": _unparsed_note(d.entity(s, e).field(f))}
            for (s, e, f), v in sorted(prof.unparsed.items())]
    time_formats, time_choices = time_forms.proposals(prof.date_shapes)
    if time_choices:
        review["timestamp_form_choices"] = time_choices
    if prof.unclassified:
        review["unclassified_descriptions"] = len(prof.unclassified)
        review["keyword_candidates"] = _keyword_candidates(prof.unclassified)
    if prof.unmatched_files:
        review["files_matching_no_entity"] = prof.unmatched_files
    if prof.unreadable:
        review["unreadable_files"] = prof.unreadable
    patch: dict[str, Any] = {}
    if headers:
        patch["headers"] = headers
    batch_patterns = _batch_patterns(prof, d)
    if batch_patterns:
        patch["batch_patterns"] = batch_patterns
    serial_patterns = _serial_patterns(prof, d)
    if serial_patterns:
        patch["serial_patterns"] = serial_patterns
    if time_formats:
        patch["timestamp_formats"] = time_formats
    if prof.no_value:
        patch["no_value_markers"] = [
            {"marker": m, "types": sorted(v["types"])}
            for m, v in sorted(prof.no_value.items(), key=lambda kv: (-kv[1]["rows"], kv[0]))]
    if review:
        patch["review"] = review
    return patch


HEADER = """\
# Dictionary suggestions for {exports}
# written by `qualitrace dictionary suggest` ({files} files, {rows} rows profiled; nothing landed).
# Review, then copy to <home>/dictionary/ (the plant's overlay; see data_dictionary/README.md).
# The sections above `review:` are certain enough to apply as they are; `review:` lists what
# needs your decision (the overlay merge ignores it): move entries from review.overlay_draft
# into `vocabularies:` / `units:` once each TODO is decided. `batch_patterns:` are the shapes of
# batch codes your MES batches export holds that no pattern reads: codes kept as written.
# `serial_patterns:` are the shapes of
# the serial numbers your serials export holds that no pattern matches: check each fits.
# `no_value_markers:` are texts without a digit where a date, time or number belongs (未关闭):
# read as no value in fields of those types once applied. `timestamp_formats:` are day-first or
# month-first dates whose values settle the order (a day above 12); when none does, both orders
# wait in review.timestamp_form_choices.
"""


def write_patch(patch: dict, prof: Profile, exports: Path, out: Path) -> Path:
    import yaml

    out.parent.mkdir(parents=True, exist_ok=True)
    text = HEADER.format(exports=exports, files=prof.files, rows=prof.rows)
    text += yaml.safe_dump(patch, allow_unicode=True, sort_keys=False, width=100) if patch else "{}\n"
    out.write_text(text, encoding="utf-8")
    return out


def summary(prof: Profile, patch: dict) -> list[str]:
    r = patch.get("review", {})
    lines = [f"profiled {prof.files} files, {prof.rows} rows (nothing landed)"]
    lines.append(f"  unknown headers: {len(prof.unknown_headers)} "
                 f"({sum(len(v) for v in patch.get('headers', {}).values())} mapped to a close alias)")
    by_field = Counter(x["field"] for x in r.get("unknown_spellings", []))
    lines.append(f"  unknown spellings: {sum(by_field.values())} in {len(by_field)} fields"
                 + (": " + ", ".join(f"{f} {n}" for f, n in by_field.most_common(6)) if by_field else ""))
    lines.append(f"  fields always blank: {len(r.get('always_blank', []))}; optional fields not "
                 f"exported: {len(r.get('optional_fields_not_exported', []))}")
    lines.append(f"  batch-code fields with unmatched codes: {len(r.get('unmatched_batch_codes', []))} "
                 f"({len(patch.get('batch_patterns', []))} batch patterns suggested)")
    lines.append(f"  serial fields with unmatched serials: {len(r.get('unmatched_serials', []))} "
                 f"({len(patch.get('serial_patterns', []))} serial patterns suggested)")
    lines.append(f"  fields with dates, times or numbers in no known form: "
                 f"{len(r.get('values_in_no_known_form', []))} (date forms suggested: "
                 f"{len(patch.get('timestamp_formats', []))}; to choose the order of: "
                 f"{len(r.get('timestamp_form_choices', []))})")
    markers = patch.get("no_value_markers", [])
    lines.append(f"  placeholders read as no value (no_value_markers suggested): {len(markers)}"
                 + (": " + ", ".join(m["marker"] for m in markers[:6]) if markers else ""))
    lines.append(f"  descriptions no keyword matches: {r.get('unclassified_descriptions', 0)}")
    if prof.unreadable:
        lines.append(f"  unreadable files: {len(prof.unreadable)}")
    return lines


def profile_from_gaps(gaps: list[tuple], d) -> Profile:
    """A Profile from governance.dictionary_gaps rows (system, entity, field, gap_kind,
    value_seen, occurrences, example_file, example_row): what the last run found, so the
    report links the same suggestions without reading the exports again."""
    prof = Profile()
    k = Knowledge(d)
    for system, entity, fname, kind, value, n, file, row in gaps:
        if value is None:
            continue
        if kind == "unknown_header":
            prof.unknown_headers.setdefault((system, entity, value), {"files": []})["files"].append(file)
        elif kind == "unclassified_description":
            prof.unclassified.extend([value] * int(n or 1))
        elif kind.startswith("unparsed_"):
            _note_unparsed(prof, kind.removeprefix("unparsed_"), (system, entity, fname), value,
                           int(n or 0))
        elif kind == "unmatched_serial":
            _note_serial(prof, k, (system, entity, fname), value, int(n or 0))
        elif kind == "unmatched_batch_code":
            _note_batch(prof, k, (system, entity, fname), value, int(n or 0))
        else:
            try:
                d.entity(system, entity).field(fname)
            except KeyError:
                continue
            prof.unknown_values[(system, entity, fname, value)] = {
                "rows": int(n or 0), "example": f"{file}:{row}" if row is not None else file}
    return prof
