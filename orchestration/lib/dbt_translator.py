"""How dbt resources appear in Dagster: one translator for the whole code location.

- models: key `[schema, model]` using the model's configured schema (`staging`,
  `intermediate`, `governance`, `marts_build`), group = schema;
- source `raw.<system>__<entity>` -> `["raw", "<system>__<entity>"]`, the ingest assets;
  the ingest ledger tables (`raw._file_manifest`, ...) -> `["raw", "<table>"]`;
- every `dictionary.*` source -> `["dictionary", "tables"]`, the dictionary asset;
- owners by layer (or `meta.owner` in dbt), kinds {dbt, duckdb}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

LAYERS = ("staging", "intermediate", "governance", "marts_build")

OWNERS = {
    "staging": "team:data-engineering",
    "intermediate": "team:data-engineering",
    "governance": "team:governance",
    "marts_build": "team:quality-analytics",
}

LAYER_BLURB = {
    "staging": "Typed, conformed rows of one export (dbt staging).",
    "intermediate": "Deduplicated, conformed and linked records (dbt intermediate).",
    "governance": "Governance table: quarantine, manifest and dictionary gaps (dbt).",
    "marts_build": "Mart as just built (green); published to `marts` after the gate (dbt).",
}


def model_schema(props: Mapping[str, Any]) -> str:
    """The configured schema of a model (used verbatim by generate_schema_name)."""
    config = props.get("config") or {}
    return config.get("schema") or props.get("schema") or "main"


class QualitraceDbtTranslator(DagsterDbtTranslator):
    """Asset keys, groups, owners and descriptions for Qualitrace's dbt project."""

    def __init__(self) -> None:
        super().__init__(DagsterDbtTranslatorSettings(
            enable_asset_checks=True,
            enable_duplicate_source_asset_keys=True,
            enable_code_references=True,
        ))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        kind = dbt_resource_props.get("resource_type")
        if kind == "source":
            source = dbt_resource_props["source_name"]
            table = dbt_resource_props["name"]
            if source == "dictionary":
                return dg.AssetKey(["dictionary", "tables"])
            if source == "raw":
                return dg.AssetKey(["raw", table])
            return dg.AssetKey([source, table])
        if kind in ("model", "seed", "snapshot"):
            return dg.AssetKey([model_schema(dbt_resource_props), dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props.get("resource_type") == "source":
            source = dbt_resource_props["source_name"]
            if source == "raw":
                system = dbt_resource_props["name"].split("__", 1)[0].lstrip("_")
                return f"ingest_{system}" if "__" in dbt_resource_props["name"] else "ingest"
            return source
        return model_schema(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        meta = (dbt_resource_props.get("config") or {}).get("meta") or \
            dbt_resource_props.get("meta") or {}
        owner = meta.get("owner")
        if isinstance(owner, str) and ("@" in owner or owner.startswith("team:")):
            return [owner]
        layer = model_schema(dbt_resource_props)
        return [OWNERS[layer]] if layer in OWNERS else None

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        text = (dbt_resource_props.get("description") or "").strip()
        if text:
            return text
        layer = model_schema(dbt_resource_props)
        return LAYER_BLURB.get(layer, super().get_description(dbt_resource_props))

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        meta = dict(super().get_metadata(dbt_resource_props))
        if dbt_resource_props.get("resource_type") == "model":
            meta["layer"] = model_schema(dbt_resource_props)
            meta["materialized"] = (dbt_resource_props.get("config") or {}).get("materialized")
        return meta
