"""What each published mart and column means, from the one place it is written: the dbt YAML
beside the mart models (descriptions of `marts.*`), and, for the two tables the loop writes
(escalations, hold_list), the descriptions below. Publishing puts them where people look: DuckDB
COMMENTs on the serving database's views and key-value metadata of every Parquet file."""

from __future__ import annotations

import functools
import json

import yaml

from orchestration.lib.settings import DBT_PROJECT_DIR

LOOP_TABLES = {
    "escalations": (
        ("One row per escalation rule firing (data_dictionary/escalations.yml over the "
        "published marts); open until its condition clears, then resolved."),
        {"escalation_id": "rule|escalation_key (primary key).",
         "rule": "Rule name from escalations.yml.", "rule_kind": "The rule's kind.",
         "escalation_key": "What fired: the model, region, suspect or complaint it is about.",
         "severity": "critical, high, medium or low (from the rule).",
         "window_start": "Start of the evaluated window (plant time as stored in the marts).",
         "window_end": "End of the evaluated window.",
         "complaints": "Complaints behind the firing.",
         "evidence": "JSON: the counts and ids that made it fire.",
         "summary": "One line for people.", "recipients": "Who it goes to (from the rule).",
         "problem_type_code": "Problem type, when the rule is about one.",
         "suspect_kind": "Suspect kind, when the rule is about a suspect.",
         "suspect_id": "Suspect id, when the rule is about a suspect.",
         "first_seen": "UTC time of the run that first saw it.",
         "last_seen": "UTC time of the latest run that saw it.",
         "resolved_at": "UTC time it cleared (NULL while open).",
         "times_opened": "How often it opened (re-opened after clearing counts again).",
         "status": "open or resolved."}),
    "hold_list": (
        ("One row per (suspect, batch to hold) for the suspects an open escalation or the top "
        "of the ranking implicates: units in stock, in transit and in the field, and why."),
        {"hold_id": "suspect_kind|suspect_id|batch_code (primary key).",
         "suspect_kind": "Kind of the implicated suspect.", "suspect_id": "The suspect.",
         "batch_code": "Batch to hold.", "material_lot": "Material lot to hold too (lot suspects).",
         "product_code": "Product of the batch.", "line": "Line that made it.",
         "units_produced": "Units produced.", "units_shipped": "Units shipped.",
         "units_in_stock": "Produced minus shipped: still in the plant.",
         "units_in_transit": "Shipped, not yet signed for.",
         "units_in_field": "Delivered to customers.",
         "field_by_province": "Units in the field per province, largest first.",
         "field_by_customer": "Units in the field per customer code (business ids).",
         "problem_type_codes": "Problem types the suspect is implicated in.",
         "escalations": "Open escalations naming the suspect.",
         "reason": "Why it is held.", "first_seen": "UTC time of the run that first listed it.",
         "last_seen": "UTC time of the latest run that listed it."}),
}


@functools.cache
def mart_docs() -> dict[str, tuple[str, dict[str, str]]]:
    """{mart: (description, {column: description})} for every published table."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for path in sorted((DBT_PROJECT_DIR / "models" / "marts").rglob("*.yml")):
        for m in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            cols = {c["name"]: " ".join(str(c.get("description", "")).split())
                    for c in m.get("columns", []) if c.get("description")}
            out[m["name"]] = (" ".join(str(m.get("description", "")).split()), cols)
    out.update(LOOP_TABLES)
    return out


def sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comment_statements(mart: str, columns: list[str], schema: str = "marts") -> list[str]:
    """COMMENT ON VIEW/COLUMN statements for one published view."""
    doc = mart_docs().get(mart)
    if doc is None:
        return []
    text, cols = doc
    out = [f"comment on view {schema}.{mart} is {sql_text(text)}"] if text else []
    out += [f"comment on column {schema}.{mart}.{c} is {sql_text(cols[c])}"
            for c in columns if c in cols]
    return out


def parquet_kv(mart: str) -> str:
    """`kv_metadata {...}` for COPY ... (format parquet): the mart's and its columns' docs."""
    text, cols = mart_docs().get(mart, ("", {}))
    meta = {"qualitrace.table": mart, "qualitrace.description": text,
            "qualitrace.columns": json.dumps(cols, ensure_ascii=False)}
    return "kv_metadata {" + ", ".join(f"{sql_text(k)}: {sql_text(v)}"
                                       for k, v in meta.items()) + "}"
