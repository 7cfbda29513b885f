"""The dbt docs site of this home: `<home>/reports/docs/index.html`, one file that opens offline.

The page is what `dbt docs generate --static` writes: dbt's docs application (the `index.html`
that ships with dbt-core) with the manifest and the warehouse catalog (column types) inlined,
so every model and column of the project, with the descriptions of the model YAML and the
dictionary, can be read from disk without a server or a network. It is assembled here, in the
run's process, from the last run's manifest and a catalog read from the warehouse the way
dbt-duckdb's catalog macros read it (`render_catalog`): starting dbt for it cost about 5 s of
every run that changed the project (every first run of a home). Rebuilt only when the dbt
project changed since the page was written.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

from orchestration.lib.dbt_project import DBT_STEPS, get_dbt_project, project_fingerprint
from orchestration.lib.settings import Settings
from orchestration.lib.warehouse import connect

STAMP = ".fingerprint"
CATALOG_SCHEMA = "https://schemas.getdbt.com/dbt/catalog/v1.json"
_NO_STATS = {"has_stats": {"id": "has_stats", "label": "Has Stats?", "value": False,
                           "include": False,
                           "description": "Indicates whether there are statistics for this table"}}
_CATALOG_NODES = ("model", "seed", "snapshot")


class DocsError(RuntimeError):
    """The docs page could not be written: the message says why."""


def docs_index(settings: Settings) -> Path:
    return settings.reports / "docs" / "index.html"


def _docs_template() -> str:
    """dbt's docs application, as `dbt docs generate` copies it."""
    from dbt.task.docs import DOCS_INDEX_FILE_PATH

    return Path(DOCS_INDEX_FILE_PATH).read_text(encoding="utf-8")


def _manifest_path(settings: Settings) -> Path:
    """The last run's manifest (compiled SQL included), else the parsed project's."""
    run = settings.dbt_target / DBT_STEPS[0] / "manifest.json"
    return run if run.exists() else Path(get_dbt_project().manifest_path)


def render_catalog(con, manifest: dict) -> dict:
    """dbt's catalog (catalog.json, schema v1) of the manifest's models and sources, read from
    the DuckDB connection `con` as dbt-duckdb's catalog macros read it (duckdb_tables,
    duckdb_views, duckdb_columns): relation type and comment, columns with type and 1-based
    index. A relation that is not in the warehouse is left out, as dbt leaves it out."""
    database = con.execute("select current_database()").fetchone()[0]
    relations = {}
    for schema, name, kind, comment in con.execute(
            "select schema_name, table_name, 'BASE TABLE', comment from duckdb_tables() "
            "where database_name = ? union all "
            "select schema_name, view_name, 'VIEW', comment from duckdb_views() "
            "where database_name = ? and not internal", [database, database]).fetchall():
        relations[(schema.lower(), name.lower())] = {
            "type": kind, "schema": schema, "name": name, "database": database,
            "comment": comment, "owner": None}
    columns: dict[tuple[str, str], dict] = {}
    for schema, name, column, index, kind, comment in con.execute(
            "select schema_name, table_name, column_name, column_index, data_type, comment "
            "from duckdb_columns() where database_name = ? "
            "order by schema_name, table_name, column_index", [database]).fetchall():
        columns.setdefault((schema.lower(), name.lower()), {})[column] = {
            "type": kind, "index": index, "name": column, "comment": comment}

    def entries(nodes: dict, name_of) -> dict:
        found = []
        for unique_id, node in nodes.items():
            key = ((node.get("schema") or "").lower(), (name_of(node) or "").lower())
            if key in relations and key in columns:
                found.append((key, unique_id))
        return {unique_id: {"metadata": relations[key], "columns": columns[key],
                            "stats": _NO_STATS, "unique_id": unique_id}
                for key, unique_id in sorted(found)}  # dbt's order: schema, relation

    from importlib.metadata import version

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "metadata": {"dbt_schema_version": CATALOG_SCHEMA, "dbt_version": version("dbt-core"),
                     "generated_at": now, "invocation_id": str(uuid.uuid4()),
                     "invocation_started_at": now, "env": {}},
        "nodes": entries({u: n for u, n in manifest.get("nodes", {}).items()
                          if n.get("resource_type") in _CATALOG_NODES},
                         lambda n: n.get("alias") or n.get("name")),
        "sources": entries(manifest.get("sources", {}),
                           lambda n: n.get("identifier") or n.get("name")),
        "errors": None,
    }


def build_docs_site(settings: Settings, force: bool = False) -> tuple[Path, bool]:
    """Write the static docs page if the project changed (or `force`); (path, rebuilt)."""
    out = docs_index(settings)
    stamp = out.parent / STAMP
    fp = project_fingerprint()
    if not force and out.exists() and stamp.exists() and stamp.read_text().strip() == fp:
        return out, False
    try:
        manifest_text = _manifest_path(settings).read_text(encoding="utf-8")
        manifest = json.loads(manifest_text)
        with connect(settings, read_only=True) as con:
            catalog = render_catalog(con, manifest)
        template = _docs_template()
    except (OSError, ValueError, ImportError) as exc:
        raise DocsError(f"docs page not written: {exc}") from exc
    for marker in ('"MANIFEST.JSON INLINE DATA"', '"CATALOG.JSON INLINE DATA"'):
        if marker not in template:
            raise DocsError(f"dbt's docs template has no {marker} (dbt-core changed its page)")
    page = (template.replace('"MANIFEST.JSON INLINE DATA"', manifest_text)
            .replace('"CATALOG.JSON INLINE DATA"', json.dumps(catalog)))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    stamp.write_text(fp + "\n")
    return out, True
