"""A plant's own dictionary additions, merged over the shipped data_dictionary/.

A plant keeps what it adds in `<home>/dictionary/*.yml` (or the folder named by
$QUALITRACE_DICTIONARY when that folder is not a whole dictionary), so an upgrade of the
shipped dictionary never loses them. Files are merged in name order. An overlay may only
*extend*: new spellings, values, units, header aliases, province aliases, problem keywords,
batch-code and serial-number patterns, date and time forms; it may *set* missing-value
thresholds and check overrides. Giving a spelling, alias or name another meaning than the one
it already has (in the shipped files or an earlier overlay file) is an error naming both
files. Format (every section optional):

    vocabularies:          # domain -> canonical -> {spellings, label_zh, label_en, value}
      channel:
        complaint_site: {label_zh: 投诉网站, label_en: Complaint website, spellings: [黑猫投诉]}
        hotline: {spellings: [客服电话]}          # extends an existing value
    units:                 # unit kind -> unit -> {spellings, factor, offset}
      quantity:
        roll: {factor: 1, spellings: [卷]}
    headers:               # "<system>.<entity>.<field>" -> extra header aliases
      crm.complaints.channel: [投诉来源]
    provinces:             # GB/T 2260 code -> extra aliases
      "330000": [浙]
    problem_keywords:      # problem code -> {zh: [...], en: [...]}
      QD05: {zh: [咔咔响], en: [rattling]}
    problem_ignore_phrases: [散热…还行]  # hold a keyword but report no problem
    problem_word_classes:  # class -> more words a `{class}` in a keyword stands for
      part: [subwoofer]
    batch_patterns: []     # extra patterns, as in codes.yml
    serial_patterns:       # extra serial-number forms, over the serial without separators
      - {name: plant_sn, regex: '^SNK\\d{11}$', example: SNK-10000000001,
         description_en: ..., description_zh: ...}
    timestamp_formats:     # more date / time forms, tried after the shipped ones
      - {name: us_date, kind: strptime, format: '%m/%d/%Y', regex: '\\d{1,2}/\\d{1,2}/\\d{4}',
         example: 07/09/2025, applies_to: date}
    summary_row_labels: [汇总行]  # more labels of a report's totals row (codes.yml)
    no_value_markers:      # placeholders read as no value, in every typed field or some types
      - "-"
      - {marker: 未关闭, types: [timestamp]}
    missing_thresholds: [] # as in governance.yml; replaces the entry for the same field
    check_overrides:       # model -> check -> {severity, params}
      stg_crm__complaints:
        missing_rate__province: {severity: ERROR}
    delivery_silence_hours: 168  # replaces governance.yml's (a plant delivering weekly)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from orchestration.lib.dictionary.model import (
    BatchPattern,
    Dictionary,
    MissingThreshold,
    NoValueMarker,
    SerialPattern,
    TimestampFormat,
    Unit,
    VocabValue,
    keyword_classes,
    text_list,
)
from orchestration.lib.dictionary.normalize import lookup_key, normalize_header
from orchestration.lib.dictionary.tables import keyword_normalized

SECTIONS = ("vocabularies", "units", "headers", "provinces", "problem_keywords",
            "problem_ignore_phrases", "problem_word_classes", "batch_patterns", "serial_patterns",
            "timestamp_formats", "no_value_markers", "summary_row_labels",
            "missing_thresholds", "check_overrides", "delivery_silence_hours", "review")
# `review:` holds what `dictionary suggest` could not decide; the merge ignores it
OVERLAY_ENV = "QUALITRACE_DICTIONARY"
VALUE_ATTRS = ("label_zh", "label_en", "value", "unit_kind")
UNIT_ATTRS = ("factor", "offset")
IGNORED = "no problem (an ignore phrase)"  # what an ignore phrase "classifies" as


def _keyword_key(keyword: str) -> str:
    """A problem keyword as the classifier compares it (tables.keyword_normalized)."""
    return keyword_normalized(str(keyword)).strip()


def is_full_dictionary(path: Path) -> bool:
    """A whole dictionary (a copy of data_dictionary/) rather than an overlay folder."""
    return (path / "entities").is_dir() and (path / "vocabularies.yml").is_file()


def overlay_dirs(home: str | Path | None = None) -> list[Path]:
    """Overlay folders in merge order: <home>/dictionary, then $QUALITRACE_DICTIONARY when it
    is an overlay folder (not a whole dictionary)."""
    out: list[Path] = []
    home = home or os.environ.get("QUALITRACE_HOME")
    if home:
        out.append(Path(home).expanduser() / "dictionary")
    env = os.environ.get(OVERLAY_ENV)
    if env and not is_full_dictionary(Path(env)):
        out.append(Path(env).expanduser())
    seen: list[Path] = []
    for p in out:
        if p.is_dir() and p.resolve() not in [s.resolve() for s in seen]:
            seen.append(p)
    return seen


def overlay_files(dirs: list[Path]) -> list[Path]:
    return [f for d in dirs for f in sorted(d.glob("*.yml")) + sorted(d.glob("*.yaml"))]


class _Owners:
    """Who gave a key its meaning first: (meaning, file). A later file giving the same key
    another meaning is a conflict naming both files; the same meaning again is no conflict."""

    def __init__(self) -> None:
        self._seen: dict[tuple, tuple[Any, str]] = {}

    def claim(self, key: tuple, meaning: Any, where: str, errors: list[str], what: str,
              verb: str = "would mean") -> bool:
        old = self._seen.get(key)
        if old is not None and old[0] != meaning:
            errors.append(f"{where}: {what} {verb} {meaning!r}, but {old[1]} already "
                          f"defines it as {old[0]!r}")
            return False
        self._seen.setdefault(key, (meaning, where))
        return True


def _shipped_owners(d: Dictionary, shipped: dict[str, Path]) -> _Owners:
    from orchestration.lib.dictionary.loader import province_aliases

    o, ignore = _Owners(), []
    for v in d.vocabularies:
        for val in v.values:
            for s in (val.canonical, *val.spellings):
                o.claim(("voc", v.domain, lookup_key(s)), val.canonical,
                        str(shipped["vocabularies"]), ignore, "")
            for attr in VALUE_ATTRS:
                if getattr(val, attr) is not None:
                    o.claim(("voc_attr", v.domain, val.canonical, attr), getattr(val, attr),
                            str(shipped["vocabularies"]), ignore, "")
    for k in d.unit_kinds:
        for u in k.units:
            for s in (u.unit, *u.spellings):
                o.claim(("unit", k.kind, lookup_key(s)), u.unit, str(shipped["units"]), ignore, "")
            for attr in UNIT_ATTRS:
                o.claim(("unit_attr", k.kind, u.unit, attr), float(getattr(u, attr)),
                        str(shipped["units"]), ignore, "")
    if d.problems is not None:
        for _, t in d.problem_types():
            for kw in (*t.keywords_zh, *t.keywords_en):
                o.claim(("keyword", _keyword_key(kw)), t.code, str(shipped["problems"]), ignore, "")
        for phrase in d.problems.ignore_phrases:
            o.claim(("keyword", _keyword_key(phrase)), IGNORED, str(shipped["problems"]), ignore, "")
    for e in d.entities:
        where = d.sources.get(f"entity:{e.table}", e.table)
        for f in e.fields:
            for a in (f.name, *f.aliases):
                o.claim(("header", e.system, e.name, normalize_header(a)), f.name, where, ignore, "")
    for p in d.provinces:
        for a in province_aliases(p):
            o.claim(("province", lookup_key(a)), p.code, str(shipped["provinces"]), ignore, "")
    for bp in d.batch_patterns:
        o.claim(("batch_pattern", bp.name), bp.regex, str(shipped["codes"]), ignore, "")
    for sp in d.serial_patterns:
        o.claim(("serial_pattern", sp.name), sp.regex, str(shipped["codes"]), ignore, "")
    for tf in d.timestamp_formats:
        o.claim(("timestamp_format", tf.name), tf.regex, str(shipped["codes"]), ignore, "")
    return o


def _as_list(value: Any, where: str, errors: list[str]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [str(value)]
    if isinstance(value, list) and all(isinstance(x, (str, int, float)) for x in value):
        return [str(x) for x in value]
    errors.append(f"{where}: expected a list of spellings")
    return []


def _mapping(value: Any, where: str, errors: list[str]) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(f"{where}: expected a mapping")
        return {}
    return value


def apply_overlays(d: Dictionary, files: list[Path], shipped: dict[str, Path]) -> list[str]:
    """Merge each overlay file into `d` (in place); return the problems found (file: key)."""
    errors: list[str] = []
    if not files:
        return errors
    owners = _shipped_owners(d, shipped)
    for path in files:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            errors.append(f"{path}: cannot read the overlay: {exc}")
            continue
        if not isinstance(doc, dict):
            errors.append(f"{path}: <root>: must be a mapping of sections {', '.join(SECTIONS)}")
            continue
        for key in doc:
            if key not in SECTIONS:
                errors.append(f"{path}: {key}: unknown section (one of {', '.join(SECTIONS)})")
        _vocabularies(d, path, _mapping(doc.get("vocabularies"), f"{path}: vocabularies", errors),
                      owners, errors)
        _units(d, path, _mapping(doc.get("units"), f"{path}: units", errors), owners, errors)
        _headers(d, path, _mapping(doc.get("headers"), f"{path}: headers", errors), owners, errors)
        _provinces(d, path, _mapping(doc.get("provinces"), f"{path}: provinces", errors),
                   owners, errors)
        _word_classes(d, path, _mapping(doc.get("problem_word_classes"),
                                        f"{path}: problem_word_classes", errors), errors)
        _keywords(d, path, _mapping(doc.get("problem_keywords"), f"{path}: problem_keywords",
                                    errors), owners, errors)
        _ignore_phrases(d, path, doc.get("problem_ignore_phrases"), owners, errors)
        _patterns(path, doc.get("batch_patterns"), owners, errors, "batch_patterns",
                  BatchPattern, d.batch_patterns)
        _patterns(path, doc.get("serial_patterns"), owners, errors, "serial_patterns",
                  SerialPattern, d.serial_patterns)
        _patterns(path, doc.get("timestamp_formats"), owners, errors, "timestamp_formats",
                  TimestampFormat, d.timestamp_formats)
        _no_value_markers(d, path, doc.get("no_value_markers"), errors)
        _summary_row_labels(d, path, doc.get("summary_row_labels"), errors)
        _thresholds(d, path, doc.get("missing_thresholds"), owners, errors)
        _check_overrides(d, path, _mapping(doc.get("check_overrides"),
                                           f"{path}: check_overrides", errors), owners, errors)
        _silence(d, path, doc.get("delivery_silence_hours"), owners, errors)
        d.sources[f"overlay:{path.name}"] = str(path)
    return errors


def _entries(body: dict, where: str, find, kind: str, names: list[str], errors: list[str]):
    """(group, key, spec, where) for a `{group: {key: spec}}` section (vocabularies, units)."""
    for group_name, items in body.items():
        w = f"{where}.{group_name}"
        try:
            group = find(str(group_name))
        except KeyError:
            errors.append(f"{w}: unknown {kind} (one of {', '.join(names)})")
            continue
        for key, spec in _mapping(items, w, errors).items():
            yield group, str(key), _mapping(spec, f"{w}.{key}", errors), f"{w}.{key}"


def _vocabularies(d, path, body, owners, errors) -> None:
    for vocab, canonical, spec, w in _entries(body, f"{path}: vocabularies", d.vocabulary,
                                              "vocabulary", [v.domain for v in d.vocabularies],
                                              errors):
        extra = set(spec) - {"spellings", "label_zh", "label_en", "value", "unit_kind"}
        if extra:
            errors.append(f"{w}: unknown keys {sorted(extra)}")
            continue
        spellings = _as_list(spec.get("spellings"), f"{w}.spellings", errors)
        for s in (canonical, *spellings):
            owners.claim(("voc", vocab.domain, lookup_key(s)), canonical, w, errors,
                         f"spelling {s!r}")
        value = next((v for v in vocab.values if v.canonical == canonical), None)
        if value is None and vocab.canonical_type != "text" and spec.get("value") is None:
            errors.append(f"{w}: a new value of {vocab.domain} needs `value`")
            continue
        attrs = {k: spec[k] for k in VALUE_ATTRS if spec.get(k) is not None}
        if not all([owners.claim(("voc_attr", vocab.domain, canonical, k), v, f"{w}.{k}", errors,  # noqa: C419 - a list: every claim is checked, errors collected
                                 f"the {k} of {vocab.domain} value {canonical!r}", verb="redefined as")
                    for k, v in attrs.items()]):
            continue
        if value is None:
            vocab.values.append(VocabValue(canonical=canonical, spellings=spellings, **attrs))
            continue
        for k, v in attrs.items():  # a label the shipped value lacked is an addition
            setattr(value, k, v)
        value.spellings.extend(s for s in spellings if s not in value.spellings)


def _units(d, path, body, owners, errors) -> None:
    for kind, unit_name, spec, w in _entries(body, f"{path}: units", d.unit_kind, "unit kind",
                                             [k.kind for k in d.unit_kinds], errors):
        spellings = _as_list(spec.get("spellings"), f"{w}.spellings", errors)
        for s in (unit_name, *spellings):
            owners.claim(("unit", kind.kind, lookup_key(s)), unit_name, w, errors,
                         f"unit spelling {s!r}")
        extra = set(spec) - {"spellings", *UNIT_ATTRS}
        if extra:
            errors.append(f"{w}: unknown keys {sorted(extra)} (spellings, factor, offset)")
            continue
        unit = next((u for u in kind.units if u.unit == unit_name), None)
        if unit is None and "factor" not in spec:
            errors.append(f"{w}: a new unit needs `factor` (to {kind.canonical_unit})")
            continue
        try:
            attrs = {k: float(spec[k]) for k in UNIT_ATTRS if k in spec}
            if unit is None:
                attrs.setdefault("offset", 0.0)
        except (TypeError, ValueError) as exc:
            errors.append(f"{w}: factor and offset must be numbers ({exc})")
            continue
        if not all([owners.claim(("unit_attr", kind.kind, unit_name, k), v, f"{w}.{k}", errors,  # noqa: C419 - a list: every claim is checked, errors collected
                                 f"the {k} of {kind.kind} unit {unit_name!r}", verb="redefined as")
                    for k, v in attrs.items()]):
            continue
        if unit is None:
            kind.units.append(Unit(unit=unit_name, spellings=spellings, **attrs))
            continue
        unit.spellings.extend(s for s in spellings if s not in unit.spellings)


def _headers(d, path, body, owners, errors) -> None:
    for target, aliases in body.items():
        w = f"{path}: headers.{target}"
        parts = str(target).split(".")
        if len(parts) != 3:
            errors.append(f"{w}: expected <system>.<entity>.<field>")
            continue
        try:
            field = d.entity(parts[0], parts[1]).field(parts[2])
        except KeyError as exc:
            errors.append(f"{w}: {exc.args[0]}")
            continue
        for a in _as_list(aliases, w, errors):
            owners.claim(("header", parts[0], parts[1], normalize_header(a)), field.name, w,
                         errors, f"header {a!r}")
            if a not in field.aliases:
                field.aliases.append(a)


def _provinces(d, path, body, owners, errors) -> None:
    for code, aliases in body.items():
        w = f"{path}: provinces.{code}"
        prov = next((p for p in d.provinces if p.code == str(code)), None)
        if prov is None:
            errors.append(f"{w}: no province with GB/T 2260 code {code!r}")
            continue
        for a in _as_list(aliases, w, errors):
            owners.claim(("province", lookup_key(a)), prov.code, w, errors, f"alias {a!r}")
            if a not in prov.aliases:
                prov.aliases.append(a)


def _keywords(d, path, body, owners, errors) -> None:
    types = {t.code: t for _, t in d.problem_types()}
    for code, spec in body.items():
        w = f"{path}: problem_keywords.{code}"
        t = types.get(str(code))
        if t is None:
            errors.append(f"{w}: unknown problem code (one of {', '.join(sorted(types))})")
            continue
        spec = _mapping(spec, w, errors)
        for lang in spec:
            if lang not in ("zh", "en"):
                errors.append(f"{w}.{lang}: expected zh or en")
        for lang, have in (("zh", t.keywords_zh), ("en", t.keywords_en)):
            for kw in _as_list(spec.get(lang), f"{w}.{lang}", errors):
                unknown = [c for c in keyword_classes(kw)
                           if d.problems is None or c not in d.problems.word_classes]
                if not _keyword_key(kw):
                    errors.append(f"{w}.{lang}: blank keyword")
                elif unknown:
                    errors.append(f"{w}.{lang}: keyword {kw!r} names word class {unknown[0]!r}, "
                                  f"not in problems.word_classes")
                elif (owners.claim(("keyword", _keyword_key(kw)), t.code, f"{w}.{lang}", errors,
                                   f"keyword {kw!r}", verb="would classify as")
                      and kw not in have):
                    have.append(kw)


def _ignore_phrases(d, path, body, owners, errors) -> None:
    w = f"{path}: problem_ignore_phrases"
    for phrase in _as_list(body, w, errors):
        if d.problems is None:
            errors.append(f"{w}: no problem taxonomy to extend")
            return
        if not _keyword_key(phrase):
            errors.append(f"{w}: blank phrase")
        elif (owners.claim(("keyword", _keyword_key(phrase)), IGNORED, w, errors,
                           f"phrase {phrase!r}", verb="would classify as")
              and phrase not in d.problems.ignore_phrases):
            d.problems.ignore_phrases.append(phrase)


def _no_value_markers(d, path, body, errors) -> None:
    """More placeholders: a marker already known widens its field types. A marker that is a
    known spelling of a field it applies to is an error of check_consistency (naming this file)."""
    w = f"{path}: no_value_markers"
    if body is None:
        return
    if not isinstance(body, list):
        errors.append(f"{w}: expected a list of markers")
        return
    for i, item in enumerate(body):
        try:
            m = NoValueMarker.model_validate(item if isinstance(item, dict) else {"marker": item})
        except Exception as exc:  # noqa: BLE001 - pydantic names the key
            first = exc.errors()[0] if hasattr(exc, "errors") else {"loc": (), "msg": str(exc)}
            at = ".".join(str(x) for x in first["loc"])
            errors.append(f"{w}[{i}]{'.' + at if at else ''}: {first['msg']} ({item!r})")
            continue
        have = next((x for x in d.no_value_markers if x.marker == m.marker), None)
        if have is None:
            d.no_value_markers.append(m)
        elif have.types is not None:
            have.types = None if m.types is None else sorted({*have.types, *m.types})
        d.sources.setdefault(f"no_value_marker:{m.marker}", str(path))


def _summary_row_labels(d, path, body, errors) -> None:
    """More labels of a report's totals row (a plant's own 汇总行)."""
    labels = text_list(body, path, "summary_row_labels", errors)
    d.summary_row_labels += [v for v in labels if v not in d.summary_row_labels]


def _word_classes(d, path, body, errors) -> None:
    """More words for a word class (or a new class): adding a word changes no existing meaning
    of a keyword beyond what the class stands for, so it never conflicts."""
    for name, words in body.items():
        w = f"{path}: problem_word_classes.{name}"
        if d.problems is None:
            errors.append(f"{w}: no problem taxonomy to extend")
            return
        have = d.problems.word_classes.setdefault(str(name), [])
        for word in _as_list(words, w, errors):
            if not str(word).strip():
                errors.append(f"{w}: blank word")
            elif word not in have:
                have.append(word)


def _patterns(path, body, owners, errors, section: str, model, have: list) -> None:
    """`batch_patterns` / `serial_patterns` / `timestamp_formats`: new named patterns appended
    to `have`; a name the shipped files or an earlier overlay gave another regex is an error
    naming both."""
    if body is None:
        return
    if not isinstance(body, list):
        errors.append(f"{path}: {section}: expected a list")
        return
    for i, raw in enumerate(body):
        w = f"{path}: {section}[{i}]"
        try:
            pattern = model.model_validate(raw)
        except Exception as exc:  # noqa: BLE001 - pydantic names the key
            errors.append(f"{w}: {str(exc).splitlines()[0]}")
            continue
        owners.claim((section[:-1], pattern.name), pattern.regex, w, errors,
                     f"pattern {pattern.name!r}")
        if not any(p.name == pattern.name for p in have):
            have.append(pattern)


def _thresholds(d, path, body, owners, errors) -> None:
    if body is None:
        return
    if not isinstance(body, list):
        errors.append(f"{path}: missing_thresholds: expected a list")
        return
    for i, raw in enumerate(body):
        try:
            t = MissingThreshold.model_validate(raw)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{path}: missing_thresholds[{i}]: {str(exc).splitlines()[0]}")
            continue
        # replacing the shipped threshold is the point; two overlay files disagreeing is not
        if not owners.claim(("threshold", t.system, t.entity, t.field),
                            {"warn_rate": t.warn_rate, "error_rate": t.error_rate},
                            f"{path}: missing_thresholds[{i}]", errors,
                            f"the threshold of {t.system}.{t.entity}.{t.field}", verb="sets it to"):
            continue
        d.missing_thresholds[:] = [x for x in d.missing_thresholds
                                   if (x.system, x.entity, x.field) != (t.system, t.entity, t.field)]
        d.missing_thresholds.append(t)


def _silence(d, path, value, owners, errors) -> None:
    """delivery_silence_hours: a threshold, so an overlay may replace the shipped value; two
    overlays setting different values conflict."""
    if value is None:
        return
    w = f"{path}: delivery_silence_hours"
    try:
        hours = float(value)
    except (TypeError, ValueError):
        errors.append(f"{w}: expected a number of hours, got {value!r}")
        return
    if not hours > 0:
        errors.append(f"{w}: must be above 0")
        return
    if owners.claim(("delivery_silence_hours",), hours, w, errors, "delivery_silence_hours",
                    verb="sets it to"):
        d.delivery_silence_hours = hours


def _check_overrides(d, path, body, owners, errors) -> None:
    for model, checks in body.items():
        for check, change in _mapping(checks, f"{path}: check_overrides.{model}", errors).items():
            w = f"{path}: check_overrides.{model}.{check}"
            change = _mapping(change, w, errors)
            extra = set(change) - {"severity", "params"}
            if extra:
                errors.append(f"{w}: unknown keys {sorted(extra)} (severity, params)")
                continue
            if change.get("severity") not in (None, "ERROR", "WARN"):
                errors.append(f"{w}.severity: must be ERROR or WARN")
                continue
            if not owners.claim(("check", str(model), str(check)), change, w, errors,
                                f"the override of {model}.{check}", verb="sets it to"):
                continue
            d.check_overrides.setdefault(str(model), {})[str(check)] = {
                **change, "source": str(path)}
