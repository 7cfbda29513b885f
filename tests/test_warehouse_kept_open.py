"""`warehouse.kept_open`: a run keeps the DuckDB file open between `connect()` blocks, and
gives it up (`release`) before another process, dbt, opens it. Real DuckDB files, real
processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from orchestration.lib import warehouse
from orchestration.lib.settings import get_settings

OTHER_PROCESS = """
import sys, duckdb
try:
    duckdb.connect(sys.argv[1]).execute("select count(*) from t").fetchone()
    print("opened")
except duckdb.Error as e:
    print("refused", type(e).__name__)
"""


def _other_process_opens(path) -> str:
    return subprocess.run([sys.executable, "-c", OTHER_PROCESS, str(path)], capture_output=True,
                          text=True, timeout=120, check=True).stdout.strip()


def _lock_is_free(settings) -> bool:
    code = ("import sys\nfrom orchestration.lib.settings import get_settings\n"
            "from orchestration.lib.warehouse import WarehouseBusy, warehouse_lock\n"
            "try:\n    with warehouse_lock(get_settings(sys.argv[1], sys.argv[1]), timeout=0):\n"
            "        print('free')\nexcept WarehouseBusy:\n    print('busy')\n")
    out = subprocess.run([sys.executable, "-c", code, str(settings.home)], capture_output=True,
                         text=True, timeout=120, check=True).stdout.strip()
    return out == "free"


def test_blocks_share_one_open_database_until_released(tmp_path):
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    with warehouse.connect(settings) as con:
        con.execute("create table t as select 1 as x")
    with warehouse.kept_open(settings):
        with warehouse.connect(settings) as con:
            con.execute("insert into t values (2)")
            con.execute("create temp table scratch as select 1 as y")
            con.execute("set memory_limit = '123MB'")
        # between blocks the file stays open and locked: another process can do neither
        assert not _lock_is_free(settings)
        assert _other_process_opens(settings.warehouse).startswith("refused")
        with warehouse.connect(settings, read_only=True) as con:  # no configuration clash
            assert con.execute("select sum(x) from t").fetchone()[0] == 3
            # each block has its own connection: its temp tables are gone, its settings reset
            assert con.execute("select count(*) from duckdb_tables() "
                               "where table_name = 'scratch'").fetchone()[0] == 0
            limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
            assert "123" not in limit
        warehouse.release(settings)  # as the dbt step does before dbt starts
        # closed without a checkpoint: the rows wait in the write-ahead log for the next opener
        assert Path(f"{settings.warehouse}.wal").is_file()
        assert _lock_is_free(settings)
        assert _other_process_opens(settings.warehouse) == "opened"
        with warehouse.connect(settings) as con:  # opened again on demand
            con.execute("insert into t values (3)")
        assert not _lock_is_free(settings)
    # the end of the block closes it: committed rows are on disk for everyone
    assert _lock_is_free(settings)
    assert _other_process_opens(settings.warehouse) == "opened"
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        assert con.execute("select sum(x) from t").fetchone()[0] == 6
    finally:
        con.close()


def test_outside_kept_open_each_block_opens_and_closes_the_file(tmp_path):
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    with warehouse.connect(settings) as con:
        con.execute("create table t as select 1 as x")
    assert _lock_is_free(settings)
    assert _other_process_opens(settings.warehouse) == "opened"
    warehouse.release(settings)  # nothing kept: a no-op


def test_pii_functions_never_outlive_their_block(tmp_path):
    """Python functions live in the shared database's catalog: each block removes its own,
    even after an error and with a result left unread, so the next block registers them
    again and nothing calls a function whose connection is gone."""
    import pytest

    from orchestration.lib.ingest.landing import pii_functions

    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    with warehouse.kept_open(settings):
        with pytest.raises(RuntimeError), warehouse.connect(settings) as con, \
                pii_functions(con, "salt-1"):
            con.execute("select qt_mask_text('call 13912345678')").fetchone()  # left unread
            raise RuntimeError("a failing file")
        with warehouse.connect(settings) as con:
            assert con.execute("select count(*) from duckdb_functions() where function_name "
                               "in ('qt_pseudonym', 'qt_mask_text')").fetchone()[0] == 0
        for _ in range(2):
            with warehouse.connect(settings) as con, pii_functions(con, "salt-2"):
                masked = con.execute("select qt_mask_text('call 13912345678')").fetchone()[0]
                assert "13912345678" not in masked
