"""The two value types of the quality gate: what to check, and what came out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "ERROR"
WARN = "WARN"

# Row-level kinds run as GX column expectations over the model's rows (in bounded chunks).
ROW_KINDS = ("not_null", "in_set", "match_regex", "between")
# Set-level kinds are facts about the whole table, computed by one DuckDB aggregate query
# and then validated by GX on a one-row aggregate frame.
SET_KINDS = ("unique", "missing_rate", "row_count_vs_previous", "duplicate_entries",
             "redelivered_files", "file_status", "row_count_min", "dictionary_gap",
             "conformance", "delivery_shrank", "referential")
KINDS = ROW_KINDS + SET_KINDS
# Kinds whose verdict is a function of the model's own rows (and its own landed table) under
# the same specs and dictionary: a model a partial build left standing keeps the verdicts of
# the run that built it (gate.standing_outcomes). The others read other tables, the previous
# run or the previous delivery, and are judged again on every run.
OWN_ROWS_KINDS = ROW_KINDS + ("unique", "missing_rate", "row_count_min", "dictionary_gap",
                              "conformance", "duplicate_entries")


@dataclass(frozen=True)
class ExpectationSpec:
    """One check on one model.

    `name` is the check name recorded in governance.check_results (unique per model);
    `params` depend on `kind`: value_set, regex, min_value/max_value, warn/error (rates),
    max_drop (row counts), max_allowed (duplicates), mostly; for `referential`: ref
    (schema.model), ref_column, warn/error (shares of dangling references), min_rows.
    """

    name: str
    kind: str
    columns: tuple[str, ...] = ()
    severity: str = ERROR
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    source: str = "dictionary"  # "dictionary" or the expectations/*.yml file it came from

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"check {self.name}: unknown kind {self.kind!r} (one of {KINDS})")
        if self.severity not in (ERROR, WARN):
            raise ValueError(f"check {self.name}: severity must be ERROR or WARN, "
                             f"not {self.severity!r}")

    @property
    def row_level(self) -> bool:
        return self.kind in ROW_KINDS

    @property
    def column(self) -> str:
        return self.columns[0] if self.columns else ""


@dataclass
class CheckOutcome:
    """The result of one ExpectationSpec in one run.

    `severity` is the effective severity (a missing rate over its warn threshold only is
    WARN even when its error threshold makes the spec blocking). `signature` tells two
    failures of the same check apart for alert de-duplication.
    """

    check_name: str
    asset: str  # "<schema>/<model>", the Dagster asset key path
    severity: str
    passed: bool
    observed_value: float | None
    threshold: str
    message: str = ""
    signature: str = ""
    kind: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking_failure(self) -> bool:
        return not self.passed and self.severity == ERROR

    @property
    def dedup_key(self) -> str:
        return f"{self.check_name}|{self.asset}|{self.signature}"
