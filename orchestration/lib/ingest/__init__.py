"""Ingestion: delivered export files -> `raw.<system>__<entity>` with lineage, manifest and
quarantine. See ARCHITECTURE.md (raw landing tables) and the module docstrings."""

from orchestration.lib.ingest.discover import DeliveredFile, discover, files_of
from orchestration.lib.ingest.errors import IngestError
from orchestration.lib.ingest.landing import (
    FileResult,
    IngestSummary,
    ensure_raw_tables,
    ingest_entity,
    ingest_file,
)
from orchestration.lib.ingest.readers import QuarantineRow, map_header, read_jsonl, read_xlsx
from orchestration.lib.ingest.spec import EntitySpec, entity_specs, find_spec, spec_from_entity

__all__ = [
    "DeliveredFile", "EntitySpec", "FileResult", "IngestError", "IngestSummary",
    "QuarantineRow", "discover", "ensure_raw_tables", "entity_specs", "files_of", "find_spec",
    "ingest_entity", "ingest_file", "map_header", "read_jsonl", "read_xlsx", "spec_from_entity",
]
