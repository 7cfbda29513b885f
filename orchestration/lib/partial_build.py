"""Rebuild only what a new delivery reaches: the dbt models downstream of the landed tables
that changed since the last publish (lib/freshness.py decides when that is safe).

Every other model was built by the published run from the same inputs: its table and its
test verdicts stand. The dbt step still reports them to Dagster, so the gate and publish run:
an output marked unchanged (`UNCHANGED_META`) and each test's verdict from that run
(`quality.results.dagster_check_verdicts`), recorded again in `governance.check_results`
for this run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

RAW_SOURCE = "raw"  # the dbt source of landed tables (models/staging/*/_*__sources.yml)
UNCHANGED_META = "qualitrace/unchanged_since_run"
PARTIAL_PREFIX = "rebuilding only what depends on "  # the dbt step's log line, read by the CLI
_CARRIED = re.compile(r"^\(verdict of run [^:]*: inputs unchanged\)(?: |$)")


def raw_sources(manifest: Mapping) -> dict[str, str]:
    """Landed table name -> the dbt source's unique id, for every source in `raw`."""
    return {s["name"]: uid for uid, s in manifest.get("sources", {}).items()
            if s.get("source_name") == RAW_SOURCE}


def downstream(manifest: Mapping, roots: Iterable[str]) -> set[str]:
    """Unique ids of every node that depends on `roots`, directly or not."""
    children = manifest.get("child_map", {})
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def models_to_keep(manifest: Mapping, changed: Iterable[str]) -> tuple[set[str], set[str]]:
    """(models to rebuild, models that stand) for the landed tables `changed`."""
    sources = raw_sources(manifest)
    rebuild = {u for u in downstream(manifest, (sources[n] for n in changed))
               if u.startswith("model.")}
    models = {u for u in manifest.get("nodes", {}) if u.startswith("model.")}
    return rebuild, models - rebuild


def in_build_order(manifest: Mapping, ids: Iterable[str]) -> list[str]:
    """`ids` with every node after the nodes it depends on (Dagster takes a multi-asset's
    outputs only in that order)."""
    nodes = manifest.get("nodes", {})
    wanted, done, order = set(ids), set(), []

    def visit(uid: str) -> None:
        if uid in done:
            return
        done.add(uid)
        for parent in nodes.get(uid, {}).get("depends_on", {}).get("nodes", ()):
            if parent in wanted:
                visit(parent)
        order.append(uid)

    for uid in sorted(wanted):
        visit(uid)
    return order


def exclude_args(manifest: Mapping, keep: set[str]) -> list[str]:
    """dbt arguments leaving the models `keep` (and, through dbt's indirect selection, their
    tests) out of a build."""
    nodes = manifest.get("nodes", {})
    names = sorted(nodes[u]["name"] for u in keep)
    return ["--exclude", " ".join(names)] if names else []


def carried_note(since_run: str, message: str) -> str:
    """The description of a test verdict carried from `since_run`: the note once, however
    many partial runs carried it (the recorded message of a carried verdict has it already)."""
    return f"(verdict of run {since_run[:8]}: inputs unchanged) {_CARRIED.sub('', message)}".strip()
