"""What ingest needs to know about one entity, from the dictionary (or a plain dict in tests)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

try:
    from orchestration.lib.dictionary.normalize import normalize_header
except ImportError:  # pragma: no cover - dictionary module not present yet
    import unicodedata

    def normalize_header(text: str) -> str:
        t = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "").strip().casefold()
        return re.sub(r"[\s\-]+", "_", t).strip("_")

_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class EntitySpec:
    """System, entity name, canonical fields in dictionary order, required ones, header map."""

    system: str
    name: str
    fields: tuple[str, ...]
    required: frozenset[str]
    headers: Mapping[str, str] = field(default_factory=dict)  # normalised spelling -> field
    description: str = ""
    owner: str | None = None
    pii: frozenset[str] = frozenset()  # personal fields: never stored in clear
    free_text: frozenset[str] = frozenset()  # masked (pii.mask_text) as they land
    unit_fields: Mapping[str, str] = field(default_factory=dict)  # value field -> its unit field
    # labels of a report's totals row (codes.yml summary_row_labels), casefolded
    summary_labels: frozenset[str] = frozenset()

    def __post_init__(self):
        for ident in (self.system, self.name, *self.fields):
            if not _IDENT.match(ident):
                raise ValueError(f"not a safe identifier in the dictionary: {ident!r}")

    @property
    def table(self) -> str:
        return f"{self.system}__{self.name}"

    def canonical(self, header_seen: str) -> str | None:
        """The field a header spelling maps to, or None for an unknown column."""
        return self.headers.get(normalize_header(header_seen))


def spec_from_entity(entity: Any) -> EntitySpec:
    """Adapt a dictionary `Entity` (or a plain dict with the same keys) to an EntitySpec."""
    if isinstance(entity, Mapping):
        fields = entity["fields"]
        names = [f["name"] for f in fields]
        required = {f["name"] for f in fields if f.get("required")}
        headers: dict[str, str] = {}
        for f in fields:
            for spelling in [f["name"], *f.get("aliases", [])]:
                headers.setdefault(normalize_header(spelling), f["name"])
        return EntitySpec(entity["system"], entity["name"], tuple(names), frozenset(required),
                          headers, entity.get("description_en", ""), entity.get("owner"),
                          frozenset(f["name"] for f in fields if f.get("pii")),
                          frozenset(f["name"] for f in fields if f.get("free_text")),
                          {f["name"]: f["unit_field"] for f in fields if f.get("unit_field")})
    return EntitySpec(
        system=entity.system, name=entity.name,
        fields=tuple(f.name for f in entity.fields),
        required=frozenset(entity.required_fields),
        headers=dict(entity.header_map()),
        description=getattr(entity, "description_en", "") or "",
        owner=getattr(entity, "owner", None),
        pii=frozenset(f.name for f in entity.fields if getattr(f, "pii", False)),
        free_text=frozenset(f.name for f in entity.fields if getattr(f, "free_text", False)),
        unit_fields={f.name: f.unit_field for f in entity.fields if getattr(f, "unit_field", None)},
    )


def entity_specs(dictionary: Any) -> list[EntitySpec]:
    """All entities of a dictionary (object with `.entities`, or an iterable of dicts)."""
    items: Iterable[Any] = getattr(dictionary, "entities", dictionary)
    labels = frozenset(summary_label_key(v) for v in getattr(dictionary, "summary_row_labels", ()))
    return [e if isinstance(e, EntitySpec) else replace(spec_from_entity(e), summary_labels=labels)
            for e in items]


SUMMARY_TRIM = r"^[\s\x{3000}]+|[\s\x{3000}:：]+$"  # in landing's SQL (RE2: linear time)


def summary_label_key(text: str) -> str:
    """How a cell is compared with the totals-row labels (landing's SQL does the same with
    SUMMARY_TRIM): spaces around it and a trailing colon dropped, lower case. String methods,
    not that expression: Python's engine retried its second branch at every space of a run
    inside a cell (20,000 spaces: 2.5 s)."""
    t = str(text).lstrip()  # str.isspace(): Python's \s, U+3000 included
    end = len(t)
    while end and (t[end - 1].isspace() or t[end - 1] in ":："):
        end -= 1
    return t[:end].lower()


def summary_label(values: Mapping[str, Any], spec: EntitySpec) -> str | None:
    """The totals label of a record (field -> value) that is a report's totals row (a cell
    holds one while a required field is blank: what landing sets aside as `summary_row`),
    else None."""
    if not spec.summary_labels or all(str(values.get(f) or "").strip() for f in spec.required):
        return None
    return next((str(v) for v in values.values()
                 if v is not None and summary_label_key(str(v)) in spec.summary_labels), None)


def is_summary_row(values: Mapping[str, Any], spec: EntitySpec) -> bool:
    return summary_label(values, spec) is not None


def find_spec(dictionary: Any, system: str, entity: str) -> EntitySpec:
    for s in entity_specs(dictionary):
        if s.system == system and s.name == entity:
            return s
    raise KeyError(f"the dictionary has no entity {system}/{entity}")
