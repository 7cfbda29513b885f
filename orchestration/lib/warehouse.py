"""One door into the DuckDB warehouse.

A DuckDB file has one read-write process at a time, and dbt runs as its own process.
Everything that touches the warehouse goes through `warehouse_lock` (an fcntl lock on
`<home>/.warehouse.lock`, re-entrant within a process) and keeps its connection only for
the duration of a `connect()` block, so dbt can open the file in between. A
`qualitrace run` keeps the database itself open between blocks (`kept_open`) and gives it up
(`release`) before dbt starts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from orchestration.lib.settings import Settings


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse for longer than we were willing to wait."""


_local = threading.local()
_process_lock = threading.RLock()
_held: dict[str, tuple[int, int]] = {}  # lock path -> (fd, depth)


@contextmanager
def file_lock(path: Path, timeout: float = 600.0, what: str = "the warehouse") -> Iterator[None]:
    """Exclusive inter-process lock on `path`; re-entrant inside one process (the lock is
    released when the last holder leaves, whichever entered first).

    Waits up to `timeout` seconds (0 = do not wait), then raises WarehouseBusy naming the
    holder's pid.
    """
    key = str(path)
    with _process_lock:
        if key in _held:
            fd, depth = _held[key]
            _held[key] = (fd, depth + 1)
            acquired = True
        else:
            acquired = False
    if not acquired:
        _acquire(key, timeout, what)
    try:
        yield
    finally:
        with _process_lock:
            fd, depth = _held[key]
            last = depth <= 1
            if last:
                del _held[key]
            else:
                _held[key] = (fd, depth - 1)
        if last:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _acquire(key: str, timeout: float, what: str) -> None:
    Path(key).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = _read_holder(fd)
                os.close(fd)
                raise WarehouseBusy(
                    f"{what} is in use by another process{holder} ({key}); "
                    f"gave up after {timeout:.0f}s"
                ) from None
            time.sleep(0.2)
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    with _process_lock:
        _held[key] = (fd, 1)


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, 0)
        pid = os.read(fd, 32).decode().strip()
        return f" (pid {pid})" if pid else ""
    except OSError:
        return ""


def warehouse_lock(settings: Settings, timeout: float = 600.0):
    return file_lock(settings.home / ".warehouse.lock", timeout=timeout, what="the warehouse")


def run_lock(settings: Settings, timeout: float = 0.0):
    """Held for a whole `qualitrace run`: a second run waits up to `timeout`, then stops."""
    return file_lock(settings.home / ".run.lock", timeout=timeout, what="another qualitrace run")


MEMORY_ENV = "QUALITRACE_DUCKDB_MEMORY"
DEFAULT_MEMORY = "2GB"


def duckdb_config() -> dict[str, str | bool]:
    """Settings for every Python connection: bounded memory (DuckDB spills to disk past
    it; $QUALITRACE_DUCKDB_MEMORY, default 2GB, as dbt's profile). `connect` also turns
    the progress bar off: it would print over the run's own progress lines."""
    return {"memory_limit": os.environ.get(MEMORY_ENV, "").strip() or DEFAULT_MEMORY}


@contextmanager
def connect(settings: Settings, read_only: bool = False,
            timeout: float = 600.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection under the warehouse lock. Close it before dbt runs.

    Inside `kept_open` the connection is read-write whatever `read_only` says (DuckDB opens
    a file once per process, with one configuration) and shares the database kept open."""
    settings.home.mkdir(parents=True, exist_ok=True)
    with warehouse_lock(settings, timeout=timeout):
        if read_only and not settings.warehouse.exists():
            raise FileNotFoundError(
                f"no warehouse at {settings.warehouse}: run `qualitrace run` first"
            )
        kept = _keep(settings, timeout)
        config = duckdb_config()
        con = duckdb.connect(str(settings.warehouse), read_only=read_only and not kept,
                             config=config)
        con.execute("SET enable_progress_bar = false")
        if not read_only and not kept:  # the kept database was set so when it was opened
            _no_checkpoint_on_close(con)
        try:
            yield con
        finally:
            if kept:  # a memory limit set by the block is the database's, not the connection's
                con.execute(f"SET memory_limit = '{config['memory_limit']}'")
            con.close()


def _no_checkpoint_on_close(con) -> None:
    """Closing the database leaves what was written in its write-ahead log (committed, synced,
    read by every later opener) instead of checkpointing it into the file: a checkpoint cost
    ~0.25 s at scale 1 even after a one-row write, once per `connect()` block or run step.
    The log is checkpointed when it passes DuckDB's threshold (16 MB) or when another process
    that writes closes the file (dbt does, after every build)."""
    con.execute("PRAGMA disable_checkpoint_on_shutdown")


# Opening the warehouse file and closing it (a checkpoint of what was written) cost 0.1-0.3 s
# per `connect()` at scale 1, about 1.5 s of a one-file run over ~30 blocks. While a run keeps
# it open, one connection of this process ("the anchor") holds the database and the lock, so
# each `connect()` only adds a connection to it; `release()` closes it (dbt must open the file
# in its own process), and the next `connect()` opens it again.
_anchors: dict[str, tuple[duckdb.DuckDBPyConnection, contextlib.ExitStack]] = {}
_keeping: dict[str, int] = {}  # warehouse path -> depth of kept_open blocks


@contextmanager
def kept_open(settings: Settings) -> Iterator[None]:
    """Keep the warehouse open between `connect()` blocks of this process, each block still
    under the lock, until `release()` or the end of this block. For one `qualitrace run`:
    another process that wants the file waits for the lock, as it waits for dbt."""
    key = str(settings.warehouse)
    with _process_lock:
        _keeping[key] = _keeping.get(key, 0) + 1
    try:
        yield
    finally:
        with _process_lock:
            _keeping[key] -= 1
            if not _keeping[key]:
                del _keeping[key]
        release(settings)


def release(settings: Settings) -> None:
    """Close the database `kept_open` holds and its hold on the lock: before another process
    (dbt) opens the file."""
    with _process_lock:
        anchor = _anchors.pop(str(settings.warehouse), None)
    if anchor is not None:
        con, hold = anchor
        try:
            con.close()
        finally:
            hold.close()


def _keep(settings: Settings, timeout: float) -> bool:
    """Whether `connect()` shares a kept database (opening it, under its own hold on the
    lock, if it is not open yet)."""
    key = str(settings.warehouse)
    with _process_lock:
        if key not in _keeping:
            return False
        if key in _anchors:
            return True
        hold = contextlib.ExitStack()
        hold.enter_context(warehouse_lock(settings, timeout=timeout))
        try:
            con = duckdb.connect(key, config=duckdb_config())
            _no_checkpoint_on_close(con)
        except BaseException:
            hold.close()
            raise
        _anchors[key] = (con, hold)
        return True


# A view whose whole body reads Parquet files (a Spark build's table linked in place,
# lib/spark.link_spark_tables) reads like a table: counting or scanning it runs no SQL model.
_PARQUET_VIEWS = ("select schema_name, view_name from duckdb_views() "
                  "where not internal and sql ilike '%read_parquet(%'")


def stored_relations(con, schemas=None) -> set[tuple[str, str]]:
    """(schema, name) of every relation whose rows are stored, not computed: base tables and
    views over Parquet files. `schemas` narrows them."""
    found = set(con.execute("select table_schema, table_name from information_schema.tables "
                            "where table_type = 'BASE TABLE'").fetchall())
    found |= set(con.execute(_PARQUET_VIEWS).fetchall())
    return found if schemas is None else {r for r in found if r[0] in set(schemas)}
