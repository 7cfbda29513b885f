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

The record also keeps one fingerprint per landed table (`raw.<system>__<entity>` and the three
ledgers) and one for the code, dictionary and salt. When only landed tables changed since the
last publish, the decision names them (`BuildDecision.changed_sources`): the dbt step rebuilds
only the models downstream of them, and every other model (built from the same inputs by the
published run, and never touched by a failed run: that one forgot the record) stands, with its
test verdicts, as the published run left it.

It keeps one digest per delivered file too (its ledger rows: versions, statuses, counts). A
partial build names the files whose digest changed (`BuildDecision.new_files`): the rows of
every other file stand in the staging tables as the published run tested them, so the dbt
tests that judge a staging table file by file need to read only those files' rows
(dbt_project/macros/tests/where_subquery.sql).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
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


# One fingerprint per landed table: the versions of its files whose rows it holds. A file that
# landed nothing (a duplicate delivery, a whole file quarantined or skipped) leaves the table as
# it was, and rows quarantined at ingest never reach it: those change only the ledgers, whose
# own fingerprints rebuild the models that read them. What else a table's models derive from a
# file (its absent columns, header gaps) follows from the file's content, so from its sha256.
_PER_SOURCE = (
    ("select system || '__' || entity, path, sha256, status, rows_read, rows_landed, "
     "rows_quarantined, reason_code from raw._file_manifest where entity is not null "
     "and status not in ('duplicate_delivery', 'quarantined', 'skipped') order by all"),
)
_LEDGER_SOURCES = ("_file_manifest", "_quarantine", "_header_gaps")
# every ledger row of a delivered file, one digest per path
_PER_FILE = ("select path, sha256, status, rows_read, rows_landed, rows_quarantined, reason_code "
             "from raw._file_manifest order by all")


def inputs_state(settings: Settings, salt: str, engine: str = "duckdb") -> dict | None:
    """Fingerprints of everything the marts are computed from: `fingerprint` (all of it),
    `code` (dictionary, dbt project, expectations, pipeline code, salt, and the engine when it
    is not DuckDB) and `sources` (one per landed table, keyed by its dbt source name in
    `raw`) and `files` (one per delivered file path, from its ledger rows). None when unknown."""
    code = hashlib.sha256(code_fingerprint().encode())
    code.update(hashlib.sha256(salt.encode()).hexdigest().encode())
    if engine != "duckdb":  # a run on another engine rebuilds what the last one published
        code.update(f"engine={engine}".encode())
    if not settings.warehouse.exists():
        return None
    sources: dict = {}
    files: dict = {}
    try:
        with connect(settings, read_only=True) as con:
            for name, sql in zip(_LEDGER_SOURCES, _LEDGERS, strict=True):
                ledger = sources.setdefault(name, hashlib.sha256())
                for row in con.execute(sql).fetchall():
                    ledger.update(repr(row).encode())
            for i, sql in enumerate(_PER_SOURCE):
                for row in con.execute(sql).fetchall():
                    sources.setdefault(row[0], hashlib.sha256()).update(
                        f"{i}:{row[1:]!r}".encode())
            for row in con.execute(_PER_FILE).fetchall():
                files.setdefault(row[0], hashlib.sha256()).update(repr(row[1:]).encode())
    except Exception:  # noqa: BLE001 - a ledger missing: nothing to compare
        return None
    digests = {name: h.hexdigest() for name, h in sorted(sources.items())}
    whole = hashlib.sha256(code.hexdigest().encode())
    for name in _LEDGER_SOURCES:  # the ledgers cover every landed table's rows
        whole.update(digests[name].encode() + b"\1")
    return {"fingerprint": whole.hexdigest(), "code": code.hexdigest(), "sources": digests,
            "files": {path: h.hexdigest()[:32] for path, h in sorted(files.items())}}


def inputs_fingerprint(settings: Settings, salt: str) -> str | None:
    """Fingerprint of everything the marts are computed from; None when unknown."""
    state = inputs_state(settings, salt)
    return state["fingerprint"] if state else None


def changed_sources(published: dict, state: dict) -> tuple[str, ...] | None:
    """The landed tables whose fingerprint differs from the published record's, or None when
    more than landed tables changed (code, dictionary, salt) or the record predates per-table
    fingerprints: then everything is rebuilt."""
    before, now = published.get("sources"), state["sources"]
    if not isinstance(before, dict) or published.get("code") != state["code"]:
        return None
    return tuple(sorted(n for n in set(before) | set(now) if before.get(n) != now.get(n)))


def new_files(published: dict, state: dict) -> tuple[str, ...] | None:
    """The delivered files whose ledger rows differ from the published record's (a new file,
    a new version, a changed status or count), or None when the record predates per-file
    digests."""
    before, now = published.get("files"), state.get("files")
    if not isinstance(before, dict) or not isinstance(now, dict):
        return None
    return tuple(sorted(p for p, digest in now.items() if before.get(p) != digest))


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


def save_published(settings: Settings, state: dict, run_id: str) -> None:
    _write_json(state_path(settings), {**state, "run_id": run_id,
                                       "published_at": datetime.now(UTC).isoformat()})


def skip_allowed() -> bool:
    return not any(os.environ.get(v, "").strip() for v in VOLATILE_ENV)


def rebuild_requested(tags: dict) -> bool:
    return str(tags.get(REBUILD_TAG, "")).strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class BuildDecision:
    """What the dbt step builds: nothing (`unchanged`: the last publish's record), only what
    depends on `changed_sources` (the rest as run `since_run` published it), or everything.
    A partial build names the delivered files that changed since (`new_files`; None: unknown)."""

    unchanged: dict | None = None
    changed_sources: tuple[str, ...] | None = None
    since_run: str | None = None
    new_files: tuple[str, ...] | None = None

    @property
    def partial(self) -> bool:
        return self.changed_sources is not None


def before_build(settings: Settings, salt: str, run_id: str, full_build: bool,
                 rebuild: bool, known_sources: Iterable[str] | None = None,
                 engine: str = "duckdb") -> BuildDecision:
    """Called by the dbt step before it builds.

    Nothing to build when a full build would compute exactly what was last published. When
    only landed tables changed, all of them among `known_sources` (the dbt project's `raw`
    sources; None: any), the decision names them. Otherwise everything is built. Unless
    nothing is built, the published record is forgotten first and, for a run of every model,
    this run's fingerprints are noted as pending for `after_publish`. A run of some models
    only (a backfill, a subset from the UI) is never skipped, narrowed or recorded."""
    pending = pending_path(settings)
    state = inputs_state(settings, salt, engine) if full_build and skip_allowed() else None
    published = load_published(settings)
    changed = None
    if state is not None and not rebuild and published:
        if published["fingerprint"] == state["fingerprint"]:
            return BuildDecision(unchanged=published)
        changed = changed_sources(published, state)
        known = None if known_sources is None else set(known_sources)
        if not changed or (known is not None and not set(changed) <= known):
            changed = None
    forget_published(settings)
    pending.unlink(missing_ok=True)
    if state is not None:
        _write_json(pending, {**state, "run_id": run_id})
    if changed is None:
        return BuildDecision()
    return BuildDecision(changed_sources=changed, since_run=published["run_id"],
                         new_files=new_files(published, state))


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
    save_published(settings, {k: v for k, v in record.items() if k != "run_id"}, run_id)
    pending.unlink(missing_ok=True)
    return True


def _write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    os.replace(tmp, path)
