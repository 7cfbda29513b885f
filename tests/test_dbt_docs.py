"""dbt staging docs come from the dictionary: the generated YAML on disk must be in sync.

Regenerate after a dictionary change:  .venv/bin/python tests/test_dbt_docs.py --write
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from orchestration.lib.dictionary import load_dictionary

STAGING = REPO / "dbt_project" / "models" / "staging"
CODED = {"batch_code", "serial", "province", "shift", "line", "severity", "pass_fail", "boolean", "status",
         "vocab"}
PARSED = {"timestamp", "date", "integer", "decimal"}
LINEAGE = {
    "_extra": "Unknown extra columns of the raw row (JSON: header as seen -> value), NULL if none.",
    "_source_file": "Export file the row came from, relative to the exports root.",
    "_source_row": "1-based line/row number of the record in its file.",
    "_file_sha256": "SHA-256 of the file version the row came from.",
    "_loaded_at": "When ingest landed the row (UTC).",
}
BASE_ONLY = {
    "_raw_record": "The raw row as JSON text (personal data masked), for the quarantine.",
    "_reject_reason": "First failing dictionary rule as '<reason_code>:<field>'; NULL when the row is good.",
    "_reject_detail": "The failing value, for the quarantine detail.",
}
EXTRA_COLUMNS = {
    ("crm", "complaints"): {
        "base": {"customer_key": "Salted SHA-256 of the normalised customer phone and name (var pii_salt); "
                                 "name and phone themselves are dropped here.",
                 "customer_phone_masked": "Phone masked as 138****1234."},
        "stg": {"province_code": "GB/T 2260 province code (same as province).",
                "region": "Macro-region of the province."},
    },
    ("qms", "inspections"): {
        "base": {"lot_batch_code": "Canonical batch code of lot_ref for non-IQC inspections.",
                 "lot_batch_code_flag": "ok / unmatched for non-IQC lot_ref batch codes."},
        "stg": {"batch_code": "Canonical batch inspected (non-IQC).",
                "material_lot": "Material lot inspected (IQC).",
                "passed": "Inspection verdict as boolean (same as result)."},
    },
    ("erp", "suppliers"): {"stg": {"province_code": "GB/T 2260 province code.", "region": "Macro-region."}},
    ("erp", "work_orders"): {"stg": {"batch_code": "Canonical batch code (YYYYMMDD-Lnn-sss)."}},
    ("erp", "shipments"): {"stg": {"batch_code": "Canonical batch code shipped.",
                                   "province_code": "GB/T 2260 ship-to province code.",
                                   "region": "Macro-region of the ship-to province."}},
    ("mes", "production_batches"): {"stg": {"batch_code": "Canonical batch code."}},
    ("mes", "material_consumption"): {"stg": {"batch_code": "Canonical batch code."}},
    ("mes", "serials"): {"stg": {"batch_code": "Canonical batch code."}},
    ("qms", "capa"): {"stg": {"batch_code": "Canonical batch code of batch_ref."}},
}
class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


# Large entities: no not_null tests on the business key of stg_ (the GX suites check field
# completeness); the row key is tested once, on base_, like every entity.
LARGE = {("mes", "process_readings")}
# stg_<x> is `select ... from base_<x> where _reject_reason is null` (a filter, same lineage
# columns): the row key tests of base_<x> imply them on stg_<x>, so stg_ does not repeat them.
ROW_KEY_NOTE = (" The row key (_source_file, _source_row) is tested unique and not null on base_{s}__{n};"
                " this view is a filter of it, so the tests are not repeated here.")


def _field_columns(entity) -> list[dict]:
    cols = []
    for f in entity.fields:
        if f.pii:
            continue
        desc = f"{f.description_en} / {f.description_zh}"
        if f.unit_field:
            desc += f" Converted to the canonical unit of its kind ({f.unit_kind})."
        col = {"name": f.name, "description": desc}
        cols.append(col)
        if f.unit_field:
            cols.append({"name": f"{f.name}_as_delivered",
                         "description": f"{f.name} as delivered, before unit conversion."})
        if f.type in CODED:
            cols.append({"name": f"{f.name}_as_typed",
                         "description": f"{f.name} exactly as delivered (trimmed); kept when it does not conform."})
        elif f.type in PARSED and not f.required:
            cols.append({"name": f"{f.name}_unparsed",
                         "description": f"{f.name} as delivered when it is in no known form (the row "
                                        f"is kept, {f.name} NULL, the text listed in dictionary_gaps)."})
        if f.type == "batch_code":
            cols.append({"name": f"{f.name}_flag",
                         "description": "NULL when blank, 'ok' when it matches a batch-code pattern, else 'unmatched'."})
        elif f.type == "province":
            cols.append({"name": f"{f.name}_region", "description": "Macro-region of the province."})
        elif f.type == "unit":
            cols.append({"name": f"{f.name}_is_known",
                         "description": "Whether the dictionary knows this unit spelling."})
    return cols


def render_staging_yaml(dictionary) -> dict[Path, str]:
    """One `_<system>__models.yml` per system documenting base_* and stg_* models."""
    out: dict[str, list] = {}
    for e in dictionary.entities:
        key = (e.system, e.name)
        extra = EXTRA_COLUMNS.get(key, {})
        fields = _field_columns(e)
        lineage = [{"name": k, "description": v} for k, v in LINEAGE.items()]
        row_key = {"unique_combination_of_columns": {
            "arguments": {"combination_of_columns": ["_source_file", "_source_row"]}}}
        base_cols = (fields + [{"name": k, "description": v} for k, v in extra.get("base", {}).items()]
                     + lineage + [{"name": k, "description": v} for k, v in BASE_ONLY.items()])
        for c in base_cols:
            if c["name"] in ("_source_file", "_source_row"):
                c["data_tests"] = ["not_null"]
        stg_cols = []
        for c in base_cols:
            if c["name"] in BASE_ONLY:
                continue
            c = {k: v for k, v in c.items() if k != "data_tests"}
            # a key field of a vocabulary (process_specs.equipment_type, .parameter) is NULL for
            # a spelling the dictionary does not know yet: a dictionary gap that flows on and
            # WARNs (the GX suite's conformed__ check blocks a known spelling lost), never a
            # blocking test here. Batch codes and serials that fit no pattern are quarantined.
            if (key not in LARGE and c["name"] in e.business_key and c["name"] in e.required_fields
                    and e.field(c["name"]).type != "vocab"):
                c["data_tests"] = ["not_null"]
            stg_cols.append(c)
        stg_cols += [{"name": k, "description": v} for k, v in extra.get("stg", {}).items()]
        base = {
            "name": f"base_{e.system}__{e.name}",
            "description": (f"{e.system.upper()} `{e.name}`, every landed row typed and conformed through "
                            f"the dictionary, with `_reject_reason`. {e.description_en} / {e.description_zh} "
                            f"Business key: {', '.join(e.business_key)}. Owner: {e.owner}."),
            "data_tests": [row_key],
            "columns": base_cols,
        }
        stg = {
            "name": f"stg_{e.system}__{e.name}",
            "description": (f"{e.system.upper()} `{e.name}`: the valid rows (no reject reason) of "
                            f"base_{e.system}__{e.name}. {e.description_en} / {e.description_zh} "
                            f"One row per landed row; later deliveries of a business key "
                            f"({', '.join(e.business_key)}) are resolved in intermediate models."
                            + ROW_KEY_NOTE.format(s=e.system, n=e.name)),
            "columns": stg_cols,
        }
        out.setdefault(e.system, []).extend([base, stg])
    files = {}
    for system, models in out.items():
        text = ("# Generated from data_dictionary/ by tests/test_dbt_docs.py --write; do not edit.\n"
                + yaml.dump({"version": 2, "models": models}, Dumper=_NoAliasDumper,
                            allow_unicode=True, sort_keys=False, width=100))
        files[STAGING / system / f"_{system}__models.yml"] = text
    return files


def test_staging_docs_match_dictionary():
    stale = [str(p.relative_to(REPO)) for p, text in render_staging_yaml(load_dictionary()).items()
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    assert not stale, f"staging YAML out of date with data_dictionary/: {stale}; run " \
                      f"`.venv/bin/python tests/test_dbt_docs.py --write`"


def test_every_staging_model_has_sql_and_docs():
    d = load_dictionary()
    for e in d.entities:
        for prefix in ("base", "stg"):
            sql = STAGING / e.system / f"{prefix}_{e.system}__{e.name}.sql"
            assert sql.exists(), f"missing staging model {sql}"


if __name__ == "__main__":
    if "--write" in sys.argv:
        for path, text in render_staging_yaml(load_dictionary()).items():
            path.write_text(text, encoding="utf-8")
            print("wrote", path.relative_to(REPO))
