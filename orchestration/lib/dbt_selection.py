"""dagster-dbt's node selection, remembered per dbt manifest.

Building `@dbt_assets` asks dbt which manifest nodes the selection (`fqn:*`) picks:
dagster-dbt imports dbt's graph selector (and networkx, which reads the entry points of every
installed package) and builds dbt's graph, about 0.5 s of loading the code location, in every
`qualitrace run`, every UI reload and every test that loads the definitions. The answer
depends only on the manifest and the selection, so it is kept beside the manifest
(`<target>/dagster_selection.json`), keyed by the manifest's dbt invocation id and generation
time (a new parse writes a new manifest with a new id) and the selection arguments. The first
load after a parse asks dbt as before; later loads read the answer. A cache that cannot be read
or written is ignored (the answer is computed, as without it).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

CACHE_NAME = "dagster_selection.json"


def selection_key(manifest_json: Mapping[str, Any], select: str, exclude: str,
                  selector: str) -> str | None:
    """The cache key of a selection over this manifest; None when the manifest does not say
    which dbt invocation wrote it (nothing is cached then)."""
    meta = manifest_json.get("metadata") or {}
    invocation, generated = meta.get("invocation_id"), meta.get("generated_at")
    if not invocation or not generated:
        return None
    return json.dumps([invocation, generated, meta.get("dbt_version"), select or "",
                       exclude or "", selector or ""])


def _read(path: Path) -> dict:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _write(path: Path, entries: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        tmp.write_text(json.dumps(entries), encoding="utf-8")
        os.replace(tmp, path)
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)


def remembered(select_unique_ids: Callable[..., Any], cache: Path) -> Callable[..., Any]:
    """`select_unique_ids` (dagster_dbt.utils' signature) with its answers kept in `cache`.
    Only the latest manifest's answers are kept: an answer for another manifest replaces them."""

    @functools.wraps(select_unique_ids)
    def select(select: str, exclude: str, selector: str, project, manifest_json):
        key = selection_key(manifest_json, select, exclude, selector)
        if key is None:
            return select_unique_ids(select=select, exclude=exclude, selector=selector,
                                     project=project, manifest_json=manifest_json)
        entries = _read(cache)
        ids = entries.get(key)
        if isinstance(ids, list):
            return set(ids)
        chosen = select_unique_ids(select=select, exclude=exclude, selector=selector,
                                   project=project, manifest_json=manifest_json)
        invocation = json.loads(key)[0]
        kept = {k: v for k, v in entries.items() if json.loads(k)[0] == invocation}
        kept[key] = sorted(chosen)
        _write(cache, kept)
        return chosen

    select.uncached = select_unique_ids
    return select


def remember_selections(target_dir: Path) -> None:
    """Make `@dbt_assets` read its node selection from `target_dir`'s cache (idempotent)."""
    from dagster_dbt import asset_utils

    current = asset_utils.select_unique_ids
    if getattr(current, "uncached", None) is not None:
        return
    asset_utils.select_unique_ids = remembered(current, Path(target_dir) / CACHE_NAME)
