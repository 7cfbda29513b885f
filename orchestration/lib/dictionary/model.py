"""Pydantic schema of the data dictionary (the YAML files under data_dictionary/)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField

from orchestration.lib.dictionary.normalize import normalize_header

FIELD_TYPES = (
    "string", "integer", "decimal", "date", "timestamp", "boolean", "code", "batch_code",
    "serial", "unit", "province", "shift", "line", "severity", "pass_fail", "status", "vocab",
)
FieldType = Literal[
    "string", "integer", "decimal", "date", "timestamp", "boolean", "code", "batch_code",
    "serial", "unit", "province", "shift", "line", "severity", "pass_fail", "status", "vocab",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Field(_Strict):
    """One column of an export."""

    name: str = PField(pattern=r"^[a-z][a-z0-9_]*$")
    aliases: list[str] = []
    type: FieldType = "string"
    required: bool = False
    pii: bool = False
    free_text: bool = False  # people type phones, ID numbers, e-mails in it: masked at landing
    unit_kind: str | None = None
    unit_field: str | None = None
    vocabulary: str | None = None
    description_en: str
    description_zh: str
    owner: str | None = None


class Entity(_Strict):
    """One export (system + entity), e.g. crm/complaints."""

    system: str = ""
    name: str = PField(pattern=r"^[a-z][a-z0-9_]*$")
    description_en: str
    description_zh: str
    owner: str | None = None
    business_key: list[str]
    fields: list[Field]

    @property
    def table(self) -> str:
        return f"{self.system}__{self.name}"

    @property
    def required_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.table} has no field {name!r}")

    def header_map(self) -> dict[str, str]:
        """Normalised header spelling (canonical name or alias) -> canonical field name."""
        out: dict[str, str] = {}
        for f in self.fields:
            for spelling in [f.name, *f.aliases]:
                out.setdefault(normalize_header(spelling), f.name)
        return out


class VocabValue(_Strict):
    canonical: str
    label_zh: str | None = None
    label_en: str | None = None
    spellings: list[str] = []
    value: float | None = None  # numeric meaning, e.g. severity score or boolean 1/0
    unit_kind: str | None = None  # for the `parameter` domain: its unit kind


class Vocabulary(_Strict):
    domain: str
    description_en: str
    description_zh: str
    canonical_type: Literal["text", "integer", "boolean"] = "text"
    values: list[VocabValue]


class Unit(_Strict):
    unit: str  # canonical spelling of this unit, e.g. degF
    spellings: list[str]
    factor: float
    offset: float = 0.0  # value_canonical = value * factor + offset


class UnitKind(_Strict):
    kind: str
    canonical_unit: str
    description_en: str
    description_zh: str
    units: list[Unit]


class BatchPattern(_Strict):
    """A batch-code form: regex over the normalised code, and which groups hold what.

    A pattern without groups (no year/month/day/line/seq) is a plant's own code that holds no
    production date and line (`PB-0001`, a sequence number): a code it matches is kept as
    the plant writes it (normalised: width, case, spaces, label prefix) instead of being
    rewritten to `YYYYMMDD-Lnn-sss`; the batch's date and line come from its MES row."""

    system: str
    name: str
    regex: str
    example: str
    description_en: str
    description_zh: str
    year_group: int | None = None
    year_digits: Literal[2, 4] | None = None
    month_group: int | None = None
    day_group: int | None = None
    line_group: int | None = None
    seq_group: int | None = None

    @property
    def verbatim(self) -> bool:
        """No groups: matching codes are kept as written (see the class docstring)."""
        return all(g is None for g in (self.year_group, self.year_digits, self.month_group,
                                       self.day_group, self.line_group, self.seq_group))


class SerialPattern(_Strict):
    name: str
    regex: str  # over the normalised serial (no spaces/dashes), must capture the whole serial
    product_group: int | None = None  # the group holding the product code, where there is one
    example: str
    description_en: str
    description_zh: str


class TimestampFormat(_Strict):
    name: str
    kind: Literal["strptime", "iso_offset", "excel_serial", "epoch_ms", "epoch_s"]
    format: str | None = None  # strptime format for kind=strptime
    regex: str  # the value must match this (after trim) for this form to apply
    applies_to: Literal["timestamp", "date", "both"] = "both"
    example: str
    local_time: bool = True  # naive value in the plant's time zone


def text_list(value: Any, where: Any, key: str, errors: list[str]) -> list[str]:
    """A list of non-blank texts under `key` (`summary_row_labels`) of the file `where`; an
    error naming both, and [], when it is something else. None is []."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        errors.append(f"{where}: {key}: expected a list of non-blank texts")
        return []
    return list(value)


# Field types a no-value marker can apply to: typed values and units (a unit `-` is a blank
# unit: the kind's canonical unit where a blank one means that), never free text (a
# description "-" is what the customer wrote).
MARKABLE_TYPES = ("integer", "decimal", "date", "timestamp", "boolean", "batch_code", "serial",
                  "province", "shift", "line", "severity", "pass_fail", "status", "vocab", "unit")


# coded field types with a fixed vocabulary of the same name (other coded fields name theirs)
VOCAB_OF_TYPE = {"shift": "shift", "severity": "severity", "pass_fail": "pass_fail",
                 "boolean": "boolean"}


class NoValueMarker(_Strict):
    """A text exports put where a typed field has no value (`-`, `N/A`, `无`): read as blank,
    never as a value in an unknown form. `types` limits it to some field types (`未关闭` in
    a closing time means "not closed"; in a status it is a status)."""
    marker: str = PField(min_length=1)
    types: list[Literal[MARKABLE_TYPES]] | None = None  # None: every markable type

    def applies_to(self, field_type: str) -> bool:
        return field_type in MARKABLE_TYPES and (self.types is None or field_type in self.types)


class Province(_Strict):
    code: str = PField(pattern=r"^\d{6}$")
    name: str
    short_name: str
    pinyin: str
    name_en: str
    abbr: str = PField(pattern=r"^[A-Z]{2}$")
    region: str
    region_en: str
    aliases: list[str] = []


class ProblemType(_Strict):
    code: str = PField(pattern=r"^[A-Z]{2}\d{2}$")
    name_zh: str
    name_en: str
    keywords_zh: list[str]
    keywords_en: list[str]


class ProblemCategory(_Strict):
    prefix: str = PField(pattern=r"^[A-Z]{2}$")
    name_zh: str
    name_en: str
    precedence: int  # 1 = wins over everything else (safety)
    types: list[ProblemType]


WORD_CLASS = re.compile(r"\{([a-z_]+)\}")  # `{part}` in a problem keyword


def keyword_classes(keyword: str) -> list[str]:
    """The word classes a keyword names: `{part}…{failing}` -> ['part', 'failing']."""
    return WORD_CLASS.findall(str(keyword))


class ProblemTaxonomy(_Strict):
    unclassified_code: str = "UNCLASSIFIED"
    precedence_rules_en: list[str]
    precedence_rules_zh: list[str]
    negation_prefixes: list[str] = []
    # phrases that contain a keyword but report no problem (没有驱动问题, "busy signal")
    ignore_phrases: list[str] = []
    # named lists of words a keyword can stand for: `{part}…{failing}` (tables.keyword_regex)
    word_classes: dict[str, list[str]] = {}
    categories: list[ProblemCategory]


class ReasonCode(_Strict):
    code: str
    description_en: str
    description_zh: str
    scope: Literal["file", "row", "value"] = "row"


class MissingThreshold(_Strict):
    system: str
    entity: str
    field: str
    warn_rate: float = PField(ge=0, le=1)
    error_rate: float = PField(ge=0, le=1)


class Dictionary(_Strict):
    entities: list[Entity]
    vocabularies: list[Vocabulary] = []
    unit_kinds: list[UnitKind] = []
    batch_label_prefixes: list[str] = []
    serial_label_prefixes: list[str] = []
    canonical_batch_regex: str = ''  # codes.yml; the loader requires it
    canonical_line_regex: str = ''
    batch_year_min: int = 2000
    batch_year_max: int = 2099
    timestamp_year_min: int = 2000
    timestamp_years_ahead: int = 1
    delivery_silence_hours: float = 72.0  # governance.yml: a system silent longer -> WARN
    batch_patterns: list[BatchPattern] = []
    serial_patterns: list[SerialPattern] = []
    timestamp_formats: list[TimestampFormat] = []
    no_value_markers: list[NoValueMarker] = []
    # the label a report's totals row puts in a cell (合计, Total): such a row is no record
    summary_row_labels: list[str] = []
    provinces: list[Province] = []
    problems: ProblemTaxonomy | None = None
    reason_codes: list[ReasonCode] = []
    missing_thresholds: list[MissingThreshold] = []
    sources: dict[str, str] = {}  # section -> file it came from (for error messages)
    # model -> check name -> {severity, params, source}: a plant's overrides (overlay.py)
    check_overrides: dict[str, dict[str, dict]] = {}

    def entity(self, system: str, name: str) -> Entity:
        for e in self.entities:
            if e.system == system and e.name == name:
                return e
        raise KeyError(f"no entity {system}/{name} in the data dictionary")

    def no_value_spellings(self, field_type: str) -> frozenset[str]:
        """Every text read as no value in a field of this type (each marker's spellings,
        normalize.marker_variants); empty for free text."""
        from orchestration.lib.dictionary.normalize import marker_variants

        return frozenset(v for m in self.no_value_markers if m.applies_to(field_type)
                         for v in marker_variants(m.marker))

    def vocabulary(self, domain: str) -> Vocabulary:
        for v in self.vocabularies:
            if v.domain == domain:
                return v
        raise KeyError(f"no vocabulary {domain!r} in the data dictionary")

    def unit_kind(self, kind: str) -> UnitKind:
        for k in self.unit_kinds:
            if k.kind == kind:
                return k
        raise KeyError(f"no unit kind {kind!r} in the data dictionary")

    def reason_code_map(self) -> dict[str, str]:
        return {r.code: r.description_en for r in self.reason_codes}

    def threshold(self, system: str, entity: str, field: str) -> MissingThreshold | None:
        for t in self.missing_thresholds:
            if (t.system, t.entity, t.field) == (system, entity, field):
                return t
        return None

    def problem_types(self) -> list[tuple[ProblemCategory, ProblemType]]:
        if self.problems is None:
            return []
        return [(c, t) for c in self.problems.categories for t in c.types]
