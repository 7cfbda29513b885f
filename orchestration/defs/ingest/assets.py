"""Ingest assets: one per dictionary entity, key `raw/<system>__<entity>`, group
`ingest_<system>`; each lands the entity's new files (see orchestration.lib.ingest)."""


import dagster as dg

from orchestration.defs.ingest.partitions import register_delivery_days
from orchestration.lib.dictionary.loader import current_dictionary
from orchestration.lib.home_resource import QualitraceHome
from orchestration.lib.ingest import EntitySpec, entity_specs, ingest_entity

DEFAULT_OWNER = "team:data-engineering"
def asset_key(system: str, entity: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", f"{system}__{entity}"])


def _owners(owner: str | None) -> list[str]:
    if owner and ("@" in owner or owner.startswith("team:")):
        return [owner]
    return [DEFAULT_OWNER]


def build_ingest_asset(spec: EntitySpec) -> dg.AssetsDefinition:
    system, entity = spec.system, spec.name

    @dg.asset(
        key=asset_key(system, entity),
        group_name=f"ingest_{system}",
        kinds={"python", "duckdb"},
        owners=_owners(spec.owner),
        pool="warehouse",
        description=(f"Lands every new file of `{system}/{entity}_<YYYYMMDD>[_<n>].<ext>` "
                     f"into `raw.{system}__{entity}` (text values + lineage), recording "
                     f"`raw._file_manifest`, `raw._quarantine` and `raw._header_gaps`. "
                     f"{spec.description}").strip(),
        metadata={"dictionary_owner": spec.owner or "", "fields": ", ".join(spec.fields),
                  "required_fields": ", ".join(sorted(spec.required))},
    )
    def _ingest(context: dg.AssetExecutionContext,
                qualitrace: QualitraceHome) -> dg.MaterializeResult:
        settings = qualitrace.settings()
        dictionary = current_dictionary()
        summary = ingest_entity(settings, dictionary, system, entity)
        # every delivery day becomes a partition of reland_delivery_day (backfill one day)
        register_delivery_days(context.instance, [f.path for f in summary.files])
        for f in summary.files:
            if f.status in ("quarantined", "duplicate_delivery") or f.rows_quarantined:
                context.log.warning(f"{f.path}: {f.status}: {f.detail}")
        context.log.info(
            f"{system}/{entity}: {summary.new_files} new file(s), {summary.rows_landed} rows "
            f"landed, {summary.rows_quarantined} quarantined in {summary.seconds:.1f}s")
        return dg.MaterializeResult(metadata={
            "dagster/row_count": summary.table_rows,
            "rows_landed": summary.rows_landed,
            "rows_quarantined": summary.rows_quarantined,
            "rows_read": summary.rows_read,
            "files": len(summary.files),
            "files_new": summary.new_files,
            "files_loaded": summary.count("loaded"),
            "files_duplicate": summary.count("duplicate_delivery"),
            "files_quarantined": summary.count("quarantined"),
            "files_superseded": sum(len(f.superseded) for f in summary.files),
            "seconds": round(summary.seconds, 3),
        })

    return _ingest


def build_ingest_assets(dictionary=None) -> list[dg.AssetsDefinition]:
    dictionary = dictionary if dictionary is not None else current_dictionary()
    return [build_ingest_asset(spec) for spec in entity_specs(dictionary)]


ingest_assets = build_ingest_assets()
