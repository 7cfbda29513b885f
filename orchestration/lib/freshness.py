"""Is there anything to rebuild? The inputs of the last successful publish, fingerprinted.

After ingest, everything downstream (dbt, the quality gate, publish) is a function of:
the landed files (`raw._file_manifest`, `raw._quarantine`, `raw._header_gaps`), the data
dictionary, the dbt project, the expectations, the pipeline code and the PII salt. The
pipeline itself decides, however the run started (CLI, UI, sensor, schedule): the dbt step of
a full build fingerprints them (`before_build`) and, when they equal those of the last
publish, builds nothing, so Dagster skips the gate, publish and the report; otherwise it notes
the fingerprint as pending for its run, and the publish step records it in
`<home>/state/published.json` once the marts are swapped in (`after_publish`).

A run that starts rebuilding forgets the record first, so a failed or stopped run is
never mistaken for a good one. A run tagged `qualitrace/rebuild=true` (`qualitrace run
--rebuild`) never skips.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from orchestration.lib.settings import (
    DBT_PROJECT_DIR,
    EXPECTATIONS_DIR,
    REPO_ROOT,
    Settings,
)
from orchestration.lib.warehouse import connect

STATE_NAME = "published.json"
PENDING_NAME = "building.json"
REBUILD_TAG = "qualitrace/rebuild"  # a run tag: rebuild even when nothing changed
UNCHANGED_PREFIX = "unchanged since run "  # the dbt step's log line when it builds nothing
# Knobs that change what a run computes or checks: a run with any of them set never skips.
VOLATILE_ENV = ("QUALITRACE_INJECT_FAILURE",)
_LEDGERS = (
    ("select path, sha256, status, rows_read, rows_landed, rows_quarantined, reason_code "
     "from raw._file_manifest order by path, sha256, status"),
    ("select system, entity, source_file, source_row, reason_code, file_sha256 "
     "from raw._quarantine order by all"),
    "select system, entity, header_seen, source_file from raw._header_gaps order by all",
)


def state_path(settings: Settings) -> Path:
    return settings.home / "state" / STATE_NAME


def pending_path(settings: Settings) -> Path:
    return settings.home / "state" / PENDING_NAME


def _hash_tree(h, root: Path, suffixes: tuple[str, ...]) -> None:
    if not root.is_dir():
        h.update(f"missing:{root}\0".encode())
        return
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in suffixes and "__pycache__" not in p.parts \
                and "target" not in p.relative_to(root).parts[:1]:
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")


def code_fingerprint() -> str:
    """The dictionary, dbt project, expectations and pipeline code as they are on disk."""
    from orchestration.lib.dictionary.loader import dictionary_dir

    h = hashlib.sha256()
    _hash_tree(h, Path(dictionary_dir()), (".yml", ".yaml"))
    from orchestration.lib.dictionary.overlay import overlay_dirs, overlay_files

    for f in overlay_files(overlay_dirs()):  # a plant's additions re-conform too
        h.update(str(f).encode() + b"\0" + f.read_bytes() + b"\0")
    _hash_tree(h, DBT_PROJECT_DIR, (".sql", ".yml", ".yaml", ".py", ".csv"))
    _hash_tree(h, EXPECTATIONS_DIR, (".yml", ".yaml", ".json"))
    _hash_tree(h, REPO_ROOT / "orchestration", (".py",))
    return h.hexdigest()


def inputs_fingerprint(settings: Settings, salt: str) -> str | None:
    """Fingerprint of everything the marts are computed from; None when unknown."""
    h = hashlib.sha256(code_fingerprint().encode())
    h.update(hashlib.sha256(salt.encode()).hexdigest().encode())
    if not settings.warehouse.exists():
        return None
    try:
        with connect(settings, read_only=True) as con:
            for sql in _LEDGERS:
                for row in con.execute(sql).fetchall():
                    h.update(repr(row).encode())
                h.update(b"\1")
    except Exception:  # noqa: BLE001 - a ledger missing: nothing to compare
        return None
    return h.hexdigest()


def load_published(settings: Settings) -> dict | None:
    """The record of the last successful publish, if it is still backed by Parquet marts."""
    from orchestration.lib.publish import MARTS

    path = state_path(settings)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not all((settings.parquet_dir / f"{m}.parquet").exists() for m in MARTS):
        return None
    return record if isinstance(record, dict) and record.get("fingerprint") else None


def forget_published(settings: Settings) -> None:
    state_path(settings).unlink(missing_ok=True)


def save_published(settings: Settings, fingerprint: str, run_id: str) -> None:
    _write_json(state_path(settings), {"fingerprint": fingerprint, "run_id": run_id,
                                       "published_at": datetime.now(UTC).isoformat()})


def skip_allowed() -> bool:
    return not any(os.environ.get(v, "").strip() for v in VOLATILE_ENV)


def rebuild_requested(tags: dict) -> bool:
    return str(tags.get(REBUILD_TAG, "")).strip().lower() in ("1", "true", "yes")


def before_build(settings: Settings, salt: str, run_id: str, full_build: bool,
                 rebuild: bool) -> dict | None:
    """Called by the dbt step before it builds. Returns the last publish's record when a full
    build would compute exactly what it published (the step then builds nothing); otherwise
    forgets that record and, for a full build, notes this run's input fingerprint as pending
    for `after_publish`. A partial build is never skipped and never recorded."""
    pending = pending_path(settings)
    fp = inputs_fingerprint(settings, salt) if full_build and skip_allowed() else None
    published = load_published(settings)
    if fp is not None and not rebuild and published and published["fingerprint"] == fp:
        return published
    forget_published(settings)
    pending.unlink(missing_ok=True)
    if fp is not None:
        _write_json(pending, {"fingerprint": fp, "run_id": run_id})
    return None


def after_publish(settings: Settings, run_id: str) -> bool:
    """Called by the publish step once the marts are swapped in: the pending fingerprint of
    this run becomes the published record. False when this run's build was partial."""
    pending = pending_path(settings)
    try:
        record = json.loads(pending.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if record.get("run_id") != run_id or not record.get("fingerprint"):
        return False
    save_published(settings, record["fingerprint"], run_id)
    pending.unlink(missing_ok=True)
    return True


def _write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    os.replace(tmp, path)
