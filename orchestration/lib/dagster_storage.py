"""Dagster's SQLite event log, without a new database engine for every event.

Dagster's `SqliteEventLogStorage` creates a SQLAlchemy engine, opens the SQLite file, commits
and disposes of the engine for every statement it runs: three to six times per event
(the run's shard, then the cross-run index for materialisations and check results). Closing
the last connection to a WAL database also checkpoints it. A run of this pipeline writes
about a thousand events (a planned event per asset and per check when the run is created,
outputs, materialisations, check results, logs), so a one-file run spent more time storing
events (about 10 ms each) than dbt spent building its models.

`PooledSqliteEventLogStorage` keeps one engine, with one pooled connection, per shard for
the index and the most recent run shards, so an event costs a statement and a commit. The files,
their schema and what is written are Dagster's own: the UI (`qualitrace dev`, which uses the
same `dagster.yaml`) and older homes read them as before. Each write still commits at once,
so a reader in another process sees every event as soon as it is stored.

Its connections also set `synchronous=NORMAL` (SQLite's advice for WAL databases, which
Dagster's are): a commit no longer waits for the disk (an fsync per event, about 0.8 s of a
one-file run); the log is synced at each checkpoint. A crash of this process loses nothing;
a power cut can lose the last events before a checkpoint, never the database.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator

import sqlalchemy as db
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy.pool import QueuePool

KEPT_RUN_SHARDS = 4  # run shards whose engine stays open (the index shard always does)


def _sync_at_checkpoints(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log, with its engines kept between statements."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, db.engine.Engine] = OrderedDict()
        self._tables_found: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> db.engine.Engine:
        """The shard's engine (called under Dagster's `_db_lock`, as every connection is)."""
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = db.create_engine(
            self.conn_string_for_shard(shard),
            poolclass=QueuePool, pool_size=1, max_overflow=4,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        db.event.listen(engine, "connect", _sync_at_checkpoints)
        self._engines[shard] = engine
        runs = [s for s in self._engines if s != INDEX_SHARD_NAME]
        for old in runs[:-KEPT_RUN_SHARDS]:
            self._engines.pop(old).dispose()
        return engine

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[db.engine.Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        """Whether the index shard has `table_name`. Dagster asks before it stores every asset
        or check event, each time through a new engine and a schema query (about 0.5 s of a
        run of ~1,100 events); a table once there stays (migrations add tables), so a yes is
        remembered for the life of this storage."""
        if table_name in self._tables_found:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_found.add(table_name)
        return found

    def _dispose_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._dispose_engines()
        self._tables_found.clear()
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


class QualitraceRunStorage(SqliteRunStorage):
    """Dagster's SQLite run storage; asking whether an execution plan snapshot is stored reads
    its id instead of loading and decompressing the whole snapshot (Dagster's default: 0.16 s
    of creating every run of this pipeline's ~100 assets and ~230 checks)."""

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> QualitraceRunStorage:
        return cls.from_local(inst_data=inst_data, **config_value)

    def has_execution_plan_snapshot(self, execution_plan_snapshot_id: str) -> bool:
        return self._has_snapshot_id(execution_plan_snapshot_id)
