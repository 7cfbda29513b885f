"""Who acts on a failing check, and what to do: plain words for the governance report.

Pure functions over check rows and dictionary gaps; owners come from the data dictionary
(`owner:` of each system's entities file), actions from the check's kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLATFORM = "数据平台 / data platform (pipeline)"
DICTIONARY_OWNER = "数据字典负责人 / dictionary owner"

ACTIONS = {  # (kind, severity or None for any)
    ("dictionary_gap", None): "Nothing is lost. Add the spellings to the plant overlay "
                              "(<home>/dictionary/*.yml); dictionary_suggestions.yml has a draft.",
    ("conformance", None): "A pipeline fault (a known spelling came out NULL): report it with "
                           "this run's log; do not edit the exports.",
    ("not_null", "ERROR"): "A pipeline fault (staging should have quarantined these rows): "
                           "report it with this run's log.",
    ("unique", None): "Find the repeated business keys (examples in the message) and correct "
                      "them in the source system, then re-export.",
    ("missing_rate", "ERROR"): "Ask the owner to fill the field in the export; if the plant "
                               "never collects it, lower the check in check_overrides.",
    ("missing_rate", "WARN"): "Ask the owner whether the field can be filled; nothing blocks.",
    ("delivery_shrank", None): "Re-deliver the complete file; if the smaller file is right, "
                               "accept it with check_overrides (severity WARN) for one run.",
    ("referential", None): "Deliver the missing master records (batches in MES, receipts in "
                           "ERP) or a longer export window; the examples are in the message.",
    ("row_count_vs_previous", None): "Check that the latest delivery of this source is "
                                     "complete.",
    ("duplicate_entries", None): "Nothing to fix in the data: repeated entries count once. "
                                 "Frequent repeats are a training topic for the front desk.",
    ("redelivered_files", None): "Nothing is landed twice; remove the copy from the exports "
                                 "folder.",
    ("in_set", None): "Correct the values in the source system, or add them to the dictionary "
                      "if they are valid.",
    ("match_regex", None): "Correct the values in the source system, or add the form to the "
                           "dictionary if it is valid.",
    ("between", None): "Check the out-of-range values in the source system.",
}
FILE_STATUS_ACTIONS = {
    "quarantined": "Fix the file (the reason is in the message), then deliver it again under "
                   "the same name.",
    "deleted": "Nothing is lost (landed rows stay); restore the file if it was removed by "
               "mistake.",
}
GAP_FIXES = {
    "unknown_header": "add the header as an alias of its field (entities/<system>.yml, aliases)",
    "unknown_unit": "add the unit spelling and its factor (units.yml)",
    "unmatched_batch_code": "real batch codes of another form: add a batch pattern (codes.yml; "
                            "`qualitrace dictionary suggest` writes one for the plant's own "
                            "numbers); typing errors stay NULL and need no action",
    "unclassified_description": "add keywords for the problem named (problems.yml); the "
                                "suggestions list frequent words",
}
GAP_FIX_DEFAULT = "add the spelling as an alias of its canonical value (vocabularies.yml, " \
                  "provinces.yml)"


def owners_by_system(dictionary) -> dict[str, str]:
    return {e.system: e.owner for e in dictionary.entities if e.owner}


def _systems(asset: str, message: str) -> list[str]:
    name = asset.split("/", 1)[-1]
    m = re.match(r"(?:stg|base)_([a-z]+)__", name)
    if m:
        return [m.group(1)]
    # file checks name files as '<system>/<entity>_<date>.<ext>'
    return sorted(set(re.findall(r"'([a-z]+)/[^'/]+'", message or "")))


def owner_of(asset: str, kind: str | None, message: str, owners: dict[str, str]) -> str:
    """The team that acts: the source system's owner for staging and file checks, the
    dictionary owner for gaps, the data platform for pipeline-internal models."""
    systems = [s for s in _systems(asset, message) if s in owners]
    if kind == "dictionary_gap":
        return "; ".join([owners[s] for s in systems] + [DICTIONARY_OWNER])
    if kind in ("conformance", "not_null") and not asset.startswith("governance/"):
        return PLATFORM
    if systems:
        return "; ".join(owners[s] for s in systems)
    return PLATFORM


def action_for(kind: str | None, severity: str, check_name: str, message: str = "") -> str:
    if kind == "file_status":
        for status, action in FILE_STATUS_ACTIONS.items():
            if status in check_name or f"status {status}" in (message or ""):
                return action
    return (ACTIONS.get((kind or "", severity)) or ACTIONS.get((kind or "", None))
            or "See the message and the Data Docs page of this check.")


@dataclass(frozen=True)
class GapGroup:
    system: str
    entity: str
    field: str
    gap_kind: str
    values: int
    rows: int
    examples: list[tuple[str, int]]
    example_file: str | None
    owner: str

    @property
    def fix(self) -> str:
        return GAP_FIXES.get(self.gap_kind, GAP_FIX_DEFAULT)


def group_gaps(rows: list[tuple], owners: dict[str, str], top: int = 5) -> list[GapGroup]:
    """rows: (system, entity, field, gap_kind, value_seen, occurrences, example_file), any
    order. One group per (system, entity, field, kind), biggest first; examples by frequency."""
    groups: dict[tuple, list[tuple]] = {}
    for r in rows:
        groups.setdefault(tuple(r[:4]), []).append(r)
    out = []
    for (system, entity, field, kind), rs in groups.items():
        rs = sorted(rs, key=lambda r: (-(r[5] or 0), str(r[4])))
        out.append(GapGroup(system, entity, field, kind, len(rs), sum(r[5] or 0 for r in rs),
                            [(str(r[4]), int(r[5] or 0)) for r in rs[:top]], rs[0][6],
                            owners.get(system, DICTIONARY_OWNER)))
    return sorted(out, key=lambda g: (-g.rows, g.system, g.entity, g.field, g.gap_kind))


def limits(warn, error) -> str:
    """'warn > 0.05, error > 0.5' without the parts that are not set."""
    parts = [f"{name} > {value}" for name, value in (("warn", warn), ("error", error))
             if value is not None]
    return ", ".join(parts) or "no threshold"


# Row-level quarantine reasons a dictionary addition lifts: the rows are conformed again on
# the next run, without a re-delivery (the conformance is recompiled from the dictionary).
RECOVERABLE_BY_DICTIONARY = {
    "invalid_batch_code": "batch codes of a form no batch pattern reads",
    "invalid_serial": "serial numbers of a form no serial pattern reads",
}


def dictionary_fix_hint(quarantined: dict[str, int], suggestions: str | None,
                        overlay: str) -> str | None:
    """One line under a run's quarantine counts: how many of those rows wait for the plant's
    own forms in the dictionary, and what to do (`suggestions`: the draft the run wrote, if
    any; `overlay`: the folder of the plant's additions). None when no row waits for that."""
    waiting = {r: n for r, n in quarantined.items() if r in RECOVERABLE_BY_DICTIONARY and n}
    if not waiting:
        return None
    reasons = "; ".join(f"{r} {n:,}: {RECOVERABLE_BY_DICTIONARY[r]}"
                        for r, n in sorted(waiting.items(), key=lambda x: (-x[1], x[0])))
    draft = (f"review the draft {suggestions}, copy it to {overlay}/" if suggestions else
             f"`qualitrace dictionary suggest` drafts the patterns: review them, save them "
             f"in {overlay}/")
    return (f"{sum(waiting.values()):,} of them wait for this plant's forms in the dictionary "
            f"({reasons}): {draft} and run again; they are conformed again, nothing to "
            f"re-deliver")
