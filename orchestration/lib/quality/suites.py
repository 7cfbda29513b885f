"""Expectation suites: generated from the data dictionary, plus hand-written ones.

`build_suites(dictionary)` returns {model name: [ExpectationSpec, ...]} for every staging
model (`stg_<system>__<entity>`) from the dictionary, and for the intermediate and governance
models described in `expectations/*.yml`. Those files may also override or disable generated
checks; they reference dictionary domains (`vocabulary: status`, `domain: provinces`,
`pattern: canonical_batch`) instead of restating values, so the dictionary stays the single
source of truth.

Severity rules for generated checks (data_dictionary/README.md, "Gate semantics"): ERROR
only for what would make a published mart wrong; everything else WARNs.
- A required non-coded field gets `not_null__<field>` (ERROR): staging quarantines rows
  missing it, so one left over is a pipeline fault. A value converted through a unit field is
  not checked for NULL: an unknown unit leaves it NULL on purpose (a dictionary gap).
- A coded field (vocabulary, status, shift, province, line, severity, pass/fail, batch code,
  unit) whose delivered spelling the dictionary does not know yet is a dictionary gap:
  `dictionary_gap__<field>` (WARN, one alert per field while it lasts); the row is kept with
  the canonical column NULL and the spelling in `<field>_as_typed`. `conformed__<field>`
  (ERROR) fails only when a spelling the dictionary *does* know came out NULL (a conformance
  fault, judged against the dictionary in Python, independently of the SQL macros).
- Missing-field rates use the dictionary's warn/error thresholds (governance.yml); a field
  the contract marks optional only WARNs unless a plant overrides its severity. A rate is
  judged only on at least `min_rows` rows (default 20), and on the Wilson 95% lower bound
  of the blank share, so a 1-row table never trips it. Blank means blank as delivered: an
  unknown spelling is a gap, not a missing value.
- Every required field also gets `missing_required__<field>` (blanks in the delivered rows,
  `raw.*`, a no-value marker such as `-` counted as blank), WARN only since those rows are quarantined. Business-key duplicates within one
  delivered file are WARN (supersession and de-duplication happen in intermediate, where
  keys must be unique: see expectations/intermediate.yml).
Every check's severity and parameters can be overridden per model in expectations/*.yml
(`override:`), and in `check_overrides` of governance.yml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from orchestration.lib.quality.model import ERROR, KINDS, WARN, ExpectationSpec
from orchestration.lib.settings import EXPECTATIONS_DIR

ROW_COUNT_MAX_DROP = 0.5
RATE_MIN_ROWS = 20  # a rate is judged only on at least this many rows
# field types conformed to a dictionary domain (staging keeps `<field>_as_typed`)
CODED_TYPES = ("batch_code", "serial", "province", "shift", "line", "severity", "pass_fail", "boolean",
               "status", "vocab")
# parsed from text: an optional one in no known form is NULL, its text in `<field>_unparsed`
PARSED_TYPES = ("timestamp", "date", "integer", "decimal")
QUANTITY_KINDS = {"quantity", "mass"}
VERSION_FIELD = "updated_at"


class SuiteError(ValueError):
    """A hand-written suite file is invalid; the message names the file and the key."""


def staging_model(system: str, entity: str) -> str:
    return f"stg_{system}__{entity}"


def _sev(required: bool) -> str:
    return ERROR if required else WARN


def canonical_batch_regex(dictionary) -> str:
    """What a conformed batch code looks like: codes.yml's canonical form, or a plant's own
    code kept as written (a batch pattern without groups: its own regex)."""
    kept = [p.regex for p in getattr(dictionary, "batch_patterns", None) or [] if p.verbatim]
    if not kept:
        return dictionary.canonical_batch_regex
    return "|".join(f"(?:{r})" for r in [dictionary.canonical_batch_regex,
                                         *(f"^(?:{k})$" for k in kept)])


def _patterns(dictionary) -> dict[str, str]:
    pats = {"canonical_batch": canonical_batch_regex(dictionary),
            "line": dictionary.canonical_line_regex}  # codes.yml: defined there only
    serials = getattr(dictionary, "serial_patterns", None) or []
    if serials:  # any shipped or plant pattern (overlay serial_patterns)
        pats["serial"] = "|".join(f"(?:{s.regex})" for s in serials)
    return pats


def resolve_domain(dictionary, domain: str) -> list[str]:
    """Canonical values of a dictionary domain: a vocabulary, `provinces`, `problem_types`."""
    if domain == "provinces":
        return [p.code for p in dictionary.provinces]
    if domain == "problem_types":
        codes = [t.code for _, t in dictionary.problem_types()]
        if dictionary.problems is not None:
            codes.append(dictionary.problems.unclassified_code)
        return codes
    if domain == "problem_categories":
        if dictionary.problems is None:
            return []
        return [c.prefix for c in dictionary.problems.categories]
    if domain.startswith("unit:"):
        return [u.unit for u in dictionary.unit_kind(domain[5:]).units]
    return [v.canonical for v in dictionary.vocabulary(domain).values]


def _field_specs(dictionary, system: str, entity_name: str, field) -> list[ExpectationSpec]:
    """Checks one dictionary field implies on its staging model column."""
    out: list[ExpectationSpec] = []
    f, sev = field, _sev(field.required)
    pats = _patterns(dictionary)
    coded = f.type in CODED_TYPES and not f.pii
    if f.required and not coded and not f.unit_field:
        out.append(ExpectationSpec(f"not_null__{f.name}", "not_null", (f.name,), ERROR))
    if coded:
        out.append(ExpectationSpec(
            f"dictionary_gap__{f.name}", "dictionary_gap", (f.name, f"{f.name}_as_typed"), WARN))
        known = known_spellings(dictionary, f)
        if known:
            out.append(ExpectationSpec(
                f"conformed__{f.name}", "conformance", (f.name, f"{f.name}_as_typed"), ERROR,
                {"known_keys": known}))
    elif f.type == "unit" and not f.pii:
        out.append(ExpectationSpec(
            f"dictionary_gap__{f.name}", "dictionary_gap", (f.name, f"{f.name}_is_known"), WARN,
            {"flag": "is_known"}))
    elif f.type in PARSED_TYPES and not f.required and not f.pii:
        # an optional date / time / number in no known form: the row is kept (WARN)
        out.append(ExpectationSpec(
            f"dictionary_gap__{f.name}", "dictionary_gap", (f.name, f"{f.name}_unparsed"), WARN))
    if f.type == "batch_code":
        out.append(ExpectationSpec(f"pattern__{f.name}", "match_regex", (f.name,), sev,
                                   {"regex": pats["canonical_batch"]}))
    elif f.type == "line":
        out.append(ExpectationSpec(f"pattern__{f.name}", "match_regex", (f.name,), sev,
                                   {"regex": pats["line"]}))
    elif f.type == "serial" and "serial" in pats:
        out.append(ExpectationSpec(f"pattern__{f.name}", "match_regex", (f.name,), sev,
                                   {"regex": pats["serial"]}))
    elif f.type == "province" and dictionary.provinces:
        out.append(ExpectationSpec(f"in_set__{f.name}", "in_set", (f.name,), sev,
                                   {"value_set": resolve_domain(dictionary, "provinces")}))
    elif f.type == "severity":
        out.append(ExpectationSpec(f"range__{f.name}", "between", (f.name,), sev,
                                   {"min_value": 1, "max_value": 10}))
    elif f.type in ("vocab", "status", "shift") and f.vocabulary:
        try:
            vocab = dictionary.vocabulary(f.vocabulary)
        except KeyError:
            vocab = None
        if vocab is not None and vocab.canonical_type == "text":
            out.append(ExpectationSpec(f"in_set__{f.name}", "in_set", (f.name,), sev,
                                       {"value_set": [v.canonical for v in vocab.values]}))
    elif f.type in ("integer", "decimal") and (f.unit_kind in QUANTITY_KINDS):
        out.append(ExpectationSpec(f"range__{f.name}", "between", (f.name,), WARN,
                                   {"min_value": 0, "max_value": None}))
    t = dictionary.threshold(system, entity_name, f.name)
    if t is not None:  # share of blanks after staging (governance.yml)
        out.append(ExpectationSpec(
            f"missing_rate__{f.name}", "missing_rate",
            # blank as delivered: an unknown spelling is a gap (NULL canonical), not a blank
            (f"{f.name}_as_typed" if coded else f.name,),
            ERROR if t.error_rate < 1 and f.required else WARN,
            {"warn": t.warn_rate, "error": t.error_rate, "min_rows": RATE_MIN_ROWS,
             # personal data is dropped in staging (only key + masked phone): measure raw
             **({"source": f"raw.{system}__{entity_name}"} if f.pii else {})}))
    if f.required:  # blanks in the delivered rows; such rows are quarantined, so WARN
        # a no-value marker (`-`, `N/A`) is blank, as staging reads it (missing_required_field)
        markers = [] if f.pii else sorted(dictionary.no_value_spellings(f.type))
        out.append(ExpectationSpec(
            f"missing_required__{f.name}", "missing_rate", (f.name,), WARN,
            {"warn": 0.0, "error": None, "source": f"raw.{system}__{entity_name}",
             **({"no_value_markers": markers} if markers else {})}))
    return out


def known_spellings(dictionary, field) -> list[str]:
    """Lookup keys (normalize.lookup_key) of every spelling the dictionary knows for a
    vocabulary-coded or province field; [] for types conformed by patterns."""
    from orchestration.lib.dictionary.normalize import lookup_key

    if field.type == "province":
        from orchestration.lib.dictionary.loader import province_aliases

        names = [a for p in dictionary.provinces for a in province_aliases(p)]
    elif field.type in ("vocab", "status", "shift") and field.vocabulary:
        try:
            vocab = dictionary.vocabulary(field.vocabulary)
        except KeyError:
            return []
        names = [s for v in vocab.values for s in (v.canonical, *v.spellings)]
    else:
        return []
    return sorted({k for k in map(lookup_key, names) if k})


def entity_suite(dictionary, entity) -> list[ExpectationSpec]:
    """The generated suite of one entity's staging model."""
    specs: list[ExpectationSpec] = []
    for f in entity.fields:
        specs.extend(_field_specs(dictionary, entity.system, entity.name, f))
    if entity.business_key:
        key = tuple(entity.business_key)
        # one file may carry several versions of a record (a status update): the version
        # stamp is part of what must be unique
        version = tuple(f.name for f in entity.fields if f.name == VERSION_FIELD)
        specs.append(ExpectationSpec(f"unique_per_file__{'__'.join(key)}", "unique",
                                     key + version + ("_source_file",), WARN))
    specs.append(ExpectationSpec("row_count_vs_previous", "row_count_vs_previous", (), WARN,
                                 {"max_drop": ROW_COUNT_MAX_DROP}))
    return specs


def build_suites(dictionary, expectations_dir: Path | None = None
                 ) -> dict[str, list[ExpectationSpec]]:
    """Every guarded model -> its specs: generated from the dictionary, then hand-written."""
    suites: dict[str, list[ExpectationSpec]] = {}
    for e in dictionary.entities:
        suites[staging_model(e.system, e.name)] = entity_suite(dictionary, e)
    for path in sorted(Path(expectations_dir or EXPECTATIONS_DIR).glob("*.yml")):
        _apply_file(dictionary, path, suites)
    _apply_overrides(getattr(dictionary, "check_overrides", None) or {}, suites)
    return suites


def _apply_overrides(overrides: dict, suites: dict[str, list[ExpectationSpec]]) -> None:
    """A plant's check_overrides (dictionary overlay): severity and params per model/check."""
    for model, checks in overrides.items():
        specs = suites.get(model)
        if specs is None:
            raise SuiteError(f"check_overrides.{model}: no such guarded model "
                             f"(one of {', '.join(sorted(suites))})")
        for name, change in checks.items():
            where = f"{change.get('source', 'overlay')}: check_overrides.{model}.{name}"
            idx = [i for i, s in enumerate(specs) if s.name == name]
            if not idx:
                raise SuiteError(f"{where}: no check {name!r} on {model}")
            old = specs[idx[0]]
            specs[idx[0]] = ExpectationSpec(
                old.name, old.kind, old.columns, change.get("severity") or old.severity,
                {**old.params, **(change.get("params") or {})},
                source=Path(change.get("source", "overlay")).name)


def _apply_file(dictionary, path: Path, suites: dict[str, list[ExpectationSpec]]) -> None:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise SuiteError(f"{path}: expected a mapping with `models:` at the top")
    for model, body in (doc.get("models") or {}).items():
        body = body or {}
        specs = suites.setdefault(model, [])
        for name in body.get("disable") or []:
            if not any(s.name == name for s in specs):
                raise SuiteError(f"{path}: models.{model}.disable: no generated check {name!r}")
            specs[:] = [s for s in specs if s.name != name]
        for name, change in (body.get("override") or {}).items():
            idx = [i for i, s in enumerate(specs) if s.name == name]
            if not idx:
                raise SuiteError(f"{path}: models.{model}.override: no check {name!r}")
            old = specs[idx[0]]
            specs[idx[0]] = ExpectationSpec(
                old.name, old.kind, old.columns, change.get("severity", old.severity),
                {**old.params, **(change.get("params") or {})}, source=str(path.name))
        for i, raw in enumerate(body.get("checks") or []):
            spec = _parse_check(dictionary, raw, f"{path}: models.{model}.checks[{i}]",
                                path.name)
            specs[:] = [s for s in specs if s.name != spec.name] + [spec]


def _parse_check(dictionary, raw: Any, where: str, source: str) -> ExpectationSpec:
    if not isinstance(raw, dict):
        raise SuiteError(f"{where}: expected a mapping")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise SuiteError(f"{where}.kind: {kind!r} is not one of {', '.join(KINDS)}")
    cols = raw.get("columns") or ([raw["column"]] if raw.get("column") else [])
    params: dict[str, Any] = dict(raw.get("params") or {})
    try:
        if "vocabulary" in raw:
            params["value_set"] = resolve_domain(dictionary, raw["vocabulary"])
        if "domain" in raw:
            params["value_set"] = resolve_domain(dictionary, raw["domain"])
            params["value_set"] += list(raw.get("extra_values") or [])
    except KeyError as exc:
        raise SuiteError(f"{where}: {exc.args[0]}") from None
    if "pattern" in raw:
        pats = _patterns(dictionary)
        if raw["pattern"] not in pats:
            raise SuiteError(f"{where}.pattern: {raw['pattern']!r} is not one of {list(pats)}")
        params["regex"] = pats[raw["pattern"]]
    if "regex" in raw:
        params["regex"] = raw["regex"]
    for k in ("min_value", "max_value", "mostly", "max_allowed", "max_drop", "min_rows",
              "key", "value", "warn", "error", "source", "path_column", "ref", "ref_column"):
        if k in raw:
            params[k] = raw[k]
    name = raw.get("name") or f"{kind}__{'__'.join(cols)}".rstrip("_")
    try:
        return ExpectationSpec(name, kind, tuple(cols), raw.get("severity", ERROR), params,
                               source=source)
    except ValueError as exc:
        raise SuiteError(f"{where}: {exc}") from None
