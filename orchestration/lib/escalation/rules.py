"""Escalation rules as data: `data_dictionary/escalations.yml`, validated.

Every problem names the file and the key path (`rules[2].params.min_complaints`), and all
problems are reported at once. The rule kinds are a fixed set; each declares its parameters
with their types and defaults, so a typo is an error, never a silently ignored setting.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

SEVERITIES = ("critical", "high", "medium", "low")
AS_OF = ("latest_complaint", "now")
SUSPECT_KINDS = ("supplier_lot", "supplier", "equipment", "line", "shift", "operator",
                 "carrier", "product_model")
GROUP_BY = ("product_model", "product_code", "region", "province_code", "problem_type_code")

# kind -> parameter -> (type check, default; None = required, description for errors)
_STR_LIST = "list of text"
KINDS: dict[str, dict[str, tuple[str, Any]]] = {
    "safety_category": {"categories": (_STR_LIST, ["SF"])},
    "severity_burst": {"min_severity": ("number", 8), "min_complaints": ("count", 3),
                       "per": ("group", "product_model")},
    "repeat_rate": {"max_rate": ("rate", 0.15), "lookback_days": ("count", 90),
                    "min_complaints": ("count", 20), "per": ("group", "product_model")},
    "region_spike": {"min_weeks": ("count", 1)},
    "cluster_on_suspect": {"kinds": ("suspect_kinds", ["supplier_lot", "supplier", "equipment"]),
                           "min_complaints": ("count", 5), "max_rank": ("count", 3)},
}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_WINDOW = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_UNIT = {"h": "hours", "d": "days", "w": "weeks"}


class EscalationRulesError(ValueError):
    """The escalation rules are invalid; every problem names the file and key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("escalation rules are invalid:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    window: str
    severity: str
    recipients: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    description: str = ""

    @property
    def window_delta(self) -> timedelta:
        return parse_window(self.window)


@dataclass(frozen=True)
class HoldPolicy:
    kinds: tuple[str, ...] = ("supplier_lot", "supplier", "equipment")
    top_rank: int = 1
    max_q_value: float = 0.001
    min_lift: float = 2.0


@dataclass(frozen=True)
class EscalationConfig:
    rules: tuple[Rule, ...]
    holds: HoldPolicy
    as_of: str = "latest_complaint"
    source: str = ""


def parse_window(text: str) -> timedelta:
    """'36h' / '1d' / '2w' -> timedelta; ValueError otherwise."""
    m = _WINDOW.match(str(text))
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"window {text!r} is not <n>h, <n>d or <n>w with n >= 1")
    return timedelta(**{_UNIT[m.group(2)]: int(m.group(1))})


def default_path() -> Path:
    """The shipped rules, or $QUALITRACE_ESCALATIONS (a plant's own file)."""
    env = os.environ.get("QUALITRACE_ESCALATIONS")
    if env:
        return Path(env)
    from orchestration.lib.settings import DICTIONARY_DIR

    return Path(DICTIONARY_DIR) / "escalations.yml"


def load_rules(path: str | os.PathLike | None = None) -> EscalationConfig:
    """Read and validate the rules file; raise EscalationRulesError listing every problem."""
    p = Path(path) if path is not None else default_path()
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise EscalationRulesError([f"{p}: cannot read: {e.strerror or e}"]) from e
    except yaml.YAMLError as e:
        raise EscalationRulesError([f"{p}: not valid YAML: {e}"]) from e
    return parse_rules(doc, str(p))


def parse_rules(doc: Any, source: str) -> EscalationConfig:
    problems: list[str] = []

    def bad(key: str, msg: str) -> None:
        problems.append(f"{source}: {key}: {msg}")

    if not isinstance(doc, dict):
        raise EscalationRulesError([f"{source}: <root>: expected a mapping with `rules:`"])
    unknown = sorted(set(doc) - {"version", "as_of", "rules", "holds"})
    for k in unknown:
        bad(k, "unknown key (allowed: version, as_of, rules, holds)")
    as_of = doc.get("as_of", "latest_complaint")
    if as_of not in AS_OF:
        bad("as_of", f"{as_of!r} is not one of {', '.join(AS_OF)}")
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        bad("rules", "expected a non-empty list of rules")
        raw_rules = []
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, r in enumerate(raw_rules):
        name = r.get("name") if isinstance(r, dict) else None
        if isinstance(name, str) and name in seen:
            bad(f"rules[{i}].name", f"duplicate rule name {name!r}")
        seen.add(name)
        rule = _parse_rule(r, f"rules[{i}]", bad)
        if rule is not None:
            rules.append(rule)
    holds = _parse_holds(doc.get("holds") or {}, bad)
    if problems:
        raise EscalationRulesError(problems)
    return EscalationConfig(tuple(rules), holds, as_of, source)


def _parse_rule(r: Any, key: str, bad) -> Rule | None:
    if not isinstance(r, dict):
        bad(key, "expected a mapping (name, kind, params, window, severity, recipients)")
        return None
    ok = True
    for k in sorted(set(r) - {"name", "kind", "params", "window", "severity", "recipients",
                              "description"}):
        bad(f"{key}.{k}", "unknown key")
        ok = False
    name = r.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        bad(f"{key}.name", f"{name!r} is not a snake_case name")
        ok = False
    kind = r.get("kind")
    if kind not in KINDS:
        bad(f"{key}.kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        return None
    try:
        parse_window(r.get("window", ""))
    except ValueError as e:
        bad(f"{key}.window", str(e))
        ok = False
    severity = r.get("severity")
    if severity not in SEVERITIES:
        bad(f"{key}.severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}")
        ok = False
    recipients = r.get("recipients")
    if not (isinstance(recipients, list) and recipients
            and all(isinstance(x, str) and x.strip() for x in recipients)):
        bad(f"{key}.recipients", "expected a non-empty list of recipients")
        ok = False
    params = _parse_params(kind, r.get("params") or {}, f"{key}.params", bad)
    if params is None or not ok:
        return None
    return Rule(name=name, kind=kind, window=str(r["window"]).strip(), severity=severity,
                recipients=tuple(x.strip() for x in recipients), params=params,
                description=str(r.get("description") or ""))


def _parse_params(kind: str, given: Any, key: str, bad) -> dict[str, Any] | None:
    if not isinstance(given, dict):
        bad(key, "expected a mapping of parameters")
        return None
    spec = KINDS[kind]
    ok = True
    for k in sorted(set(given) - set(spec)):
        bad(f"{key}.{k}", f"unknown parameter of {kind} (allowed: {', '.join(spec)})")
        ok = False
    out: dict[str, Any] = {}
    for name, (typ, default) in spec.items():
        value = given.get(name, default)
        problem = _type_problem(typ, value)
        if problem:
            bad(f"{key}.{name}", problem)
            ok = False
        out[name] = list(value) if isinstance(value, list) else value
    return out if ok else None


def _type_problem(typ: str, v: Any) -> str | None:
    is_num = isinstance(v, (int, float)) and not isinstance(v, bool)
    if typ == "number":
        return None if is_num else f"{v!r} is not a number"
    if typ == "count":
        return None if isinstance(v, int) and not isinstance(v, bool) and v >= 1 \
            else f"{v!r} is not a whole number >= 1"
    if typ == "rate":
        return None if is_num and 0 < v < 1 else f"{v!r} is not a rate between 0 and 1"
    if typ == "group":
        return None if v in GROUP_BY else f"{v!r} is not one of {', '.join(GROUP_BY)}"
    if typ == _STR_LIST:
        return None if isinstance(v, list) and v and all(isinstance(x, str) for x in v) \
            else f"{v!r} is not a non-empty list of text"
    if typ == "suspect_kinds":
        if not (isinstance(v, list) and v):
            return f"{v!r} is not a non-empty list of suspect kinds"
        wrong = [x for x in v if x not in SUSPECT_KINDS]
        return f"unknown suspect kind(s) {wrong} (one of {', '.join(SUSPECT_KINDS)})" \
            if wrong else None
    raise AssertionError(typ)


def _parse_holds(h: Any, bad) -> HoldPolicy:
    if not isinstance(h, dict):
        bad("holds", "expected a mapping (kinds, top_rank, max_q_value, min_lift)")
        return HoldPolicy()
    d = HoldPolicy()
    for k in sorted(set(h) - {"kinds", "top_rank", "max_q_value", "min_lift"}):
        bad(f"holds.{k}", "unknown key")
    checks = {"kinds": "suspect_kinds", "top_rank": "count", "max_q_value": "number",
              "min_lift": "number"}
    values = {}
    for k, typ in checks.items():
        v = h.get(k, getattr(d, k))
        v = list(v) if isinstance(v, tuple) else v
        problem = _type_problem(typ, v)
        if problem:
            bad(f"holds.{k}", problem)
        values[k] = v
    try:
        return HoldPolicy(kinds=tuple(values["kinds"]), top_rank=int(values["top_rank"]),
                          max_q_value=float(values["max_q_value"]),
                          min_lift=float(values["min_lift"]))
    except (TypeError, ValueError):
        return d


def rules_table(cfg: EscalationConfig):
    """The rules as a DataFrame, published as `dictionary.escalation_rules`."""
    import json

    import pandas as pd

    return pd.DataFrame([{
        "rule": r.name, "kind": r.kind, "window": r.window,
        "window_hours": r.window_delta.total_seconds() / 3600.0, "severity": r.severity,
        "recipients": ", ".join(r.recipients), "params": json.dumps(r.params, sort_keys=True),
        "description": r.description, "source_file": cfg.source,
    } for r in cfg.rules], columns=["rule", "kind", "window", "window_hours", "severity",
                                    "recipients", "params", "description", "source_file"])
