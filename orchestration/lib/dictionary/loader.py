"""Read data_dictionary/*.yml into a validated `Dictionary`; errors name file and key."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from orchestration.lib.dictionary.model import (
    VOCAB_OF_TYPE,
    BatchPattern,
    Dictionary,
    Entity,
    MissingThreshold,
    NoValueMarker,
    ProblemTaxonomy,
    Province,
    ReasonCode,
    SerialPattern,
    TimestampFormat,
    UnitKind,
    Vocabulary,
    keyword_classes,
    text_list,
)
from orchestration.lib.dictionary.normalize import lookup_key, normalize_header, serial_key
from orchestration.lib.settings import DICTIONARY_DIR

SPECIAL_UNIT_KINDS = {"any", "by_parameter"}


class DictionaryError(ValueError):
    """The dictionary is invalid; the message names the file and the key path."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("data dictionary is invalid:\n  " + "\n  ".join(problems))


def _keypath(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


# libyaml's safe loader when PyYAML was built with it (about 10x faster: the dictionary is
# read every time the code location loads); the pure-Python one otherwise.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, errors: list[str]) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        errors.append(f"{path}: not valid YAML: {exc}")
    except OSError as exc:
        errors.append(f"{path}: cannot read: {exc}")
    return None


def _validate(model: type[BaseModel], data: Any, path: Path, prefix: tuple, errors: list[str]):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            errors.append(f"{path}: {_keypath(prefix + tuple(e['loc']))}: {e['msg']}")
    return None


def _validate_list(model, items, path: Path, key: str, errors: list[str]) -> list:
    if items is None:
        return []
    if not isinstance(items, list):
        errors.append(f"{path}: {key}: must be a list")
        return []
    out = []
    for i, item in enumerate(items):
        obj = _validate(model, item, path, (key, i), errors)
        if obj is not None:
            out.append(obj)
    return out


def _load_entities(directory: Path, errors: list[str], sources: dict[str, str]) -> list[Entity]:
    entities: list[Entity] = []
    files = sorted((directory / "entities").glob("*.yml"))
    if not files:
        errors.append(f"{directory / 'entities'}: no entity files (*.yml)")
    for path in files:
        data = _read_yaml(path, errors)
        if data is None:
            continue
        if not isinstance(data, dict) or "system" not in data or "entities" not in data:
            errors.append(f"{path}: <root>: needs keys `system`, `owner` and `entities`")
            continue
        system, owner = data["system"], data.get("owner")
        extra = set(data) - {"system", "owner", "entities"}
        if extra:
            errors.append(f"{path}: <root>: unknown keys {sorted(extra)}")
        for i, raw in enumerate(data["entities"] or []):
            ent = _validate(Entity, raw, path, ("entities", i), errors)
            if ent is None:
                continue
            ent.system = system
            ent.owner = ent.owner or owner
            for f in ent.fields:
                f.owner = f.owner or ent.owner
            sources[f"entity:{ent.table}"] = f"{path}: entities[{i}]"
            entities.append(ent)
    return entities


def dictionary_dir(path: str | Path | None = None) -> Path:
    """The base dictionary folder: `path`, else $QUALITRACE_DICTIONARY when it is a whole
    dictionary (a plant's own copy), else the repository's data_dictionary/. A plant's
    additions normally live in overlay folders instead (overlay.py)."""
    from orchestration.lib.dictionary.overlay import is_full_dictionary

    if path is not None and Path(path) != DICTIONARY_DIR:
        return Path(path)
    env = os.environ.get("QUALITRACE_DICTIONARY")
    if env and is_full_dictionary(Path(env)):
        return Path(env)
    return DICTIONARY_DIR


_current: dict[tuple, Dictionary] = {}


def current_dictionary() -> Dictionary:
    """The dictionary with the home's overlay (`load_dictionary()`), re-read only when a file
    under data_dictionary/ or an overlay file changed: one process reads it once per run
    (ingest, checks, the report), and a long-lived `qualitrace dev` process sees an overlay
    the owner just added. Callers must not modify it."""
    from orchestration.lib.dictionary.overlay import overlay_dirs, overlay_files

    files = [p for p in DICTIONARY_DIR.rglob("*") if p.is_file()]
    files += overlay_files(overlay_dirs())
    stamp = tuple(sorted((str(p), p.stat().st_mtime_ns) for p in files))
    if stamp not in _current:
        _current.clear()
        _current[stamp] = load_dictionary(DICTIONARY_DIR)
    return _current[stamp]


def load_dictionary(path: str | Path | None = DICTIONARY_DIR,
                    overlays: list[Path] | None = None) -> Dictionary:
    """Load and validate every YAML file of the dictionary; raise DictionaryError on problems.

    The base folder is data_dictionary/, or $QUALITRACE_DICTIONARY when that is a whole
    dictionary; then the plant's overlay files are merged over it (`overlays`, default
    <$QUALITRACE_HOME>/dictionary/*.yml and an overlay-style $QUALITRACE_DICTIONARY)."""
    from orchestration.lib.dictionary.overlay import apply_overlays, overlay_dirs, overlay_files

    directory = dictionary_dir(path)
    errors: list[str] = []
    sources: dict[str, str] = {}
    entities = _load_entities(directory, errors, sources)

    def section(filename: str) -> tuple[Path, dict]:
        p = directory / filename
        data = _read_yaml(p, errors) if p.exists() else None
        if not p.exists():
            errors.append(f"{p}: missing file")
        if data is not None and not isinstance(data, dict):
            errors.append(f"{p}: <root>: must be a mapping")
            data = None
        return p, (data or {})

    p_voc, voc = section("vocabularies.yml")
    p_unit, units = section("units.yml")
    p_code, codes = section("codes.yml")
    p_prov, prov = section("provinces.yml")
    p_prob, prob = section("problems.yml")
    p_gov, gov = section("governance.yml")

    problems = None
    if "problems" in prob:
        problems = _validate(ProblemTaxonomy, prob["problems"], p_prob, ("problems",), errors)
    else:
        errors.append(f"{p_prob}: problems: missing")

    d = Dictionary(
        entities=entities,
        vocabularies=_validate_list(Vocabulary, voc.get("vocabularies"), p_voc, "vocabularies", errors),
        unit_kinds=_validate_list(UnitKind, units.get("unit_kinds"), p_unit, "unit_kinds", errors),
        batch_label_prefixes=[str(x) for x in codes.get("batch_label_prefixes") or []],
        serial_label_prefixes=[str(x) for x in codes.get("serial_label_prefixes") or []],
        canonical_batch_regex=str(codes.get("canonical_batch_regex") or ""),
        canonical_line_regex=str(codes.get("canonical_line_regex") or ""),
        batch_year_min=int(codes.get("batch_year_min", 2000)),
        batch_year_max=int(codes.get("batch_year_max", 2099)),
        timestamp_year_min=int(codes.get("timestamp_year_min", 2000)),
        timestamp_years_ahead=int(codes.get("timestamp_years_ahead", 1)),
        batch_patterns=_validate_list(BatchPattern, codes.get("batch_patterns"), p_code, "batch_patterns", errors),
        serial_patterns=_validate_list(SerialPattern, codes.get("serial_patterns"), p_code, "serial_patterns", errors),
        timestamp_formats=_validate_list(TimestampFormat, codes.get("timestamp_formats"), p_code, "timestamp_formats", errors),
        no_value_markers=_validate_list(
            NoValueMarker, [m if isinstance(m, dict) else {"marker": m}
                            for m in codes.get("no_value_markers") or []],
            p_code, "no_value_markers", errors),
        summary_row_labels=text_list(codes.get("summary_row_labels"), p_code,
                                     "summary_row_labels", errors),
        provinces=_validate_list(Province, prov.get("provinces"), p_prov, "provinces", errors),
        problems=problems,
        reason_codes=_validate_list(ReasonCode, gov.get("reason_codes"), p_gov, "reason_codes", errors),
        missing_thresholds=_validate_list(MissingThreshold, gov.get("missing_thresholds"), p_gov, "missing_thresholds", errors),
        delivery_silence_hours=float(gov.get("delivery_silence_hours", 72)),
        sources=sources,
    )
    paths = {"vocabularies": p_voc, "units": p_unit, "codes": p_code, "provinces": p_prov,
                 "problems": p_prob, "governance": p_gov}
    if not errors:
        files = overlays if overlays is not None else overlay_files(overlay_dirs())
        errors.extend(apply_overlays(d, files, paths))
    if not errors:
        errors.extend(check_consistency(d, paths))
    if errors:
        raise DictionaryError(errors)
    return d


def _dupes(items) -> list:
    seen, dup = set(), []
    for x in items:
        if x in seen and x not in dup:
            dup.append(x)
        seen.add(x)
    return dup


def _marker_clashes(d: Dictionary, paths: dict[str, Path]) -> list[str]:
    """A no-value marker must not be a spelling the dictionary knows for a field it applies
    to (`无` cannot mean both "no value" and a pass/fail verdict)."""
    errs: list[str] = []
    shipped = str(paths.get("codes", "codes.yml"))
    vocab = {v.domain: {lookup_key(s) for val in v.values for s in (val.canonical, *val.spellings)}
             for v in d.vocabularies}
    provinces = {lookup_key(a) for p in d.provinces for a in province_aliases(p)}
    units = {lookup_key(s) for k in d.unit_kinds for u in k.units for s in (u.unit, *u.spellings)}
    for m in d.no_value_markers:
        key = lookup_key(m.marker)
        where = d.sources.get(f"no_value_marker:{m.marker}", shipped)
        if key is None:
            errs.append(f"{where}: no_value_markers: {m.marker!r} is blank")
            continue
        for e in d.entities:
            for f in e.fields:
                if not m.applies_to(f.type):
                    continue
                domain = f.vocabulary or VOCAB_OF_TYPE.get(f.type)
                known = (provinces if f.type == "province" else units if f.type == "unit"
                         else vocab.get(domain or "", set()))
                if key in known:
                    errs.append(f"{where}: no_value_markers: {m.marker!r} is a known spelling of "
                                f"{e.system}.{e.name}.{f.name} ({domain or f.type}); "
                                "limit the marker's `types`")
    return sorted(set(errs))


def check_consistency(d: Dictionary, paths: dict[str, Path]) -> list[str]:
    """Cross-references that a per-file schema cannot see."""
    errs: list[str] = _marker_clashes(d, paths)
    domains = {v.domain for v in d.vocabularies}
    kinds = {k.kind for k in d.unit_kinds} | SPECIAL_UNIT_KINDS
    for t in _dupes(e.table for e in d.entities):
        errs.append(f"{d.sources.get('entity:' + t, t)}: entity {t} defined twice")
    for e in d.entities:
        where = d.sources.get(f"entity:{e.table}", e.table)
        names = [f.name for f in e.fields]
        for n in _dupes(names):
            errs.append(f"{where}.fields: field {n!r} defined twice")
        for k in e.business_key:
            if k not in names:
                errs.append(f"{where}.business_key: {k!r} is not a field of {e.table}")
        owners: dict[str, str] = {}
        for i, f in enumerate(e.fields):
            fw = f"{where}.fields[{i}] ({e.name}.{f.name})"
            for spelling in [f.name, *f.aliases]:
                key = normalize_header(spelling)
                if owners.get(key, f.name) != f.name:
                    errs.append(f"{fw}.aliases: {spelling!r} is also a header of {owners[key]!r}")
                owners.setdefault(key, f.name)
            if f.unit_field and f.unit_field not in names:
                errs.append(f"{fw}.unit_field: {f.unit_field!r} is not a field of {e.table}")
            if f.unit_kind and f.unit_kind not in kinds:
                errs.append(f"{fw}.unit_kind: unknown unit kind {f.unit_kind!r}")
            if f.vocabulary and f.vocabulary not in domains:
                errs.append(f"{fw}.vocabulary: unknown vocabulary {f.vocabulary!r}")
            if f.type in ("vocab", "status") and not f.vocabulary:
                errs.append(f"{fw}.vocabulary: a {f.type} field needs a vocabulary")

    p = paths["vocabularies"]
    for i, v in enumerate(d.vocabularies):
        seen: dict[str, str] = {}
        for j, val in enumerate(v.values):
            for s in [val.canonical, *val.spellings]:
                k = lookup_key(s)
                if k is None:
                    errs.append(f"{p}: vocabularies[{i}].values[{j}].spellings: blank spelling")
                elif seen.get(k, val.canonical) != val.canonical:
                    errs.append(f"{p}: vocabularies[{i}] ({v.domain}).values[{j}]: spelling {s!r} "
                                f"already means {seen[k]!r}")
                else:
                    seen[k] = val.canonical
    for d_ in _dupes(v.domain for v in d.vocabularies):
        errs.append(f"{p}: vocabularies: domain {d_!r} defined twice")

    p = paths["units"]
    for i, k in enumerate(d.unit_kinds):
        seen = {}
        if k.canonical_unit not in {u.unit for u in k.units}:
            errs.append(f"{p}: unit_kinds[{i}] ({k.kind}).canonical_unit: {k.canonical_unit!r} "
                        "is not one of its units")
        for j, u in enumerate(k.units):
            if u.factor == 0:
                errs.append(f"{p}: unit_kinds[{i}].units[{j}].factor: must not be 0")
            for s in [u.unit, *u.spellings]:
                key = lookup_key(s)
                if seen.get(key, u.unit) != u.unit:
                    errs.append(f"{p}: unit_kinds[{i}] ({k.kind}).units[{j}]: spelling {s!r} "
                                f"already means {seen[key]!r}")
                seen[key] = u.unit

    p = paths["codes"]
    for name, example in (("canonical_batch_regex", "20240315-L02-003"),
                          ("canonical_line_regex", "L02")):
        value = getattr(d, name)
        try:
            if not value:
                errs.append(f"{p}: {name}: needed (the canonical form, e.g. for {example!r})")
            elif not re.fullmatch(value, example):
                errs.append(f"{p}: {name}: {value!r} does not match {example!r}")
        except re.error as exc:
            errs.append(f"{p}: {name}: {exc}")
    for i, bp in enumerate(d.batch_patterns):
        try:
            rx = re.compile(bp.regex)
        except re.error as exc:
            errs.append(f"{p}: batch_patterns[{i}].regex: {exc}")
            continue
        groups = [bp.year_group, bp.month_group, bp.day_group, bp.line_group, bp.seq_group]
        if bp.verbatim:
            pass  # a plant's own code, kept as written
        elif None in groups or bp.year_digits is None:
            errs.append(f"{p}: batch_patterns[{i}]: year_group, year_digits, month_group, "
                        f"day_group, line_group and seq_group are all needed, or none (a code "
                        f"kept as the plant writes it)")
        elif max(groups) > rx.groups:
            errs.append(f"{p}: batch_patterns[{i}]: group index beyond the regex's {rx.groups} groups")
        if not rx.fullmatch(lookup_key(bp.example) or ""):
            errs.append(f"{p}: batch_patterns[{i}].example: {bp.example!r} does not match its regex")
    for i, sp in enumerate(d.serial_patterns):
        try:
            rx = re.compile(sp.regex)
        except re.error as exc:
            errs.append(f"{p}: serial_patterns[{i}].regex: {exc}")
            continue
        if sp.product_group is not None and sp.product_group > rx.groups:
            errs.append(f"{p}: serial_patterns[{i}]: product_group beyond the regex's {rx.groups} groups")
        if not rx.fullmatch(serial_key(sp.example, d.serial_label_prefixes) or ""):
            errs.append(f"{p}: serial_patterns[{i}].example: {sp.example!r} does not match its regex")
    for i, tf in enumerate(d.timestamp_formats):
        try:
            if not re.fullmatch(tf.regex, tf.example):
                errs.append(f"{p}: timestamp_formats[{i}].example: {tf.example!r} does not match")
        except re.error as exc:
            errs.append(f"{p}: timestamp_formats[{i}].regex: {exc}")
        if tf.kind == "strptime" and not tf.format:
            errs.append(f"{p}: timestamp_formats[{i}].format: needed for kind strptime")

    p = paths["provinces"]
    for c in _dupes(pr.code for pr in d.provinces):
        errs.append(f"{p}: provinces: code {c} defined twice")
    seen = {}
    for i, pr in enumerate(d.provinces):
        for a in province_aliases(pr):
            k = lookup_key(a)
            if seen.get(k, pr.code) != pr.code:
                errs.append(f"{p}: provinces[{i}] ({pr.name}): alias {a!r} also names {seen[k]}")
            seen[k] = pr.code

    p = paths["problems"]
    if d.problems:
        codes = [t.code for _, t in d.problem_types()]
        for c in _dupes(codes):
            errs.append(f"{p}: problems.categories: code {c} defined twice")
        for i, c in enumerate(d.problems.categories):
            for j, t in enumerate(c.types):
                if not t.code.startswith(c.prefix):
                    errs.append(f"{p}: problems.categories[{i}].types[{j}].code: {t.code} "
                                f"does not start with {c.prefix}")
                if not (t.keywords_zh or t.keywords_en):
                    errs.append(f"{p}: problems.categories[{i}].types[{j}]: no keywords")
                for lang, kws in (("zh", t.keywords_zh), ("en", t.keywords_en)):
                    errs += _unknown_word_classes(
                        kws, d.problems.word_classes,
                        f"{p}: problems.categories[{i}].types[{j}].keywords_{lang}")
        errs += _unknown_word_classes(d.problems.ignore_phrases, d.problems.word_classes,
                                      f"{p}: problems.ignore_phrases")
        for name, words in d.problems.word_classes.items():
            if not re.fullmatch(r"[a-z_]+", name) or not [w for w in words if str(w).strip()]:
                errs.append(f"{p}: problems.word_classes.{name}: a class is named in lower-case "
                            f"letters and _ and holds at least one word")

    p = paths["governance"]
    for i, t in enumerate(d.missing_thresholds):
        try:
            d.entity(t.system, t.entity).field(t.field)
        except KeyError as exc:
            errs.append(f"{p}: missing_thresholds[{i}]: {exc.args[0]}")
        if t.warn_rate > t.error_rate:
            errs.append(f"{p}: missing_thresholds[{i}]: warn_rate above error_rate")
    if not d.delivery_silence_hours > 0:
        errs.append(f"{p}: delivery_silence_hours: must be above 0")
    for c in _dupes(r.code for r in d.reason_codes):
        errs.append(f"{p}: reason_codes: {c} defined twice")
    return errs


def _unknown_word_classes(keywords, classes, where: str) -> list[str]:
    """A keyword's `{name}` must be a word class of problems.word_classes."""
    return [f"{where}: keyword {kw!r} names word class {name!r}, not in problems.word_classes"
            for kw in keywords for name in keyword_classes(kw)
            if name not in classes]


def province_prefix_usable(alias_key: str | None) -> bool:
    """Whether a province alias (lookup key) may name the province at the start of a longer
    text, an address (`广东省深圳市南山区…` -> 440000): Chinese names of two characters or more,
    Latin names of five letters or more (`GUANGDONG…`). Abbreviations (`GD`, `粤`) and codes
    never do: they begin too many other words."""
    if not alias_key:
        return False
    if re.search(r"[\u4e00-\u9fff]", alias_key):
        return len(alias_key) >= 2
    return len(alias_key) >= 5 and alias_key.isalpha()


def province_from_text(key: str | None, aliases: dict[str, str]) -> str | None:
    """The province a lookup key names: an exact alias, else the longest alias usable as a
    prefix that the key starts with (mirror of the conform_province macro)."""
    if not key:
        return None
    if key in aliases:
        return aliases[key]
    for a in sorted((a for a in aliases if province_prefix_usable(a)), key=len, reverse=True):
        if key.startswith(a):
            return aliases[a]
    return None


def province_aliases(pr: Province) -> list[str]:
    """Every spelling that names a province: names, pinyin, English, abbreviation, code."""
    base = [pr.code, pr.name, pr.short_name, pr.pinyin, pr.name_en, pr.abbr, *pr.aliases]
    base += [f"{pr.pinyin} Province", f"{pr.pinyin} Sheng", f"{pr.pinyin} Shi", f"{pr.name_en} Province"]
    out: list[str] = []
    for a in base:
        if a and a not in out:
            out.append(a)
    return out
