"""Reliability (issue 8 items 2-5) on a copy of the session's pipeline home.

One scenario, run once (it costs one killed run and one full run):
1. start `qualitrace run` on a home that already has published marts;
2. start a second run on the same home: it stops at once with exit 3 and a clear message;
3. SIGKILL the first run while its dbt process is running;
4. the published marts (table and Parquet) are intact and unchanged, and no dbt process
   of that home survives;
5. the next run succeeds without manual steps, and its marts equal the first home's
   (same exports -> identical marts; files seen before are not landed again).
Then reconciliation as a blocking check: a ledger that does not add up stops the run
before the marts (exit 1, check named), leaving the published marts as they were.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.publish import MARTS
from orchestration.lib.settings import Settings, get_settings
from tests.support.homes import copy_home, marts_digest
from tests.support.runs import REPO_ROOT, cli_env, qualitrace, run_pipeline

pytestmark = pytest.mark.integration


def raw_row_count(settings: Settings) -> int:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        tables = con.execute("select table_name from information_schema.tables "
                             "where table_schema = 'raw' and table_name not like '\\_%' "
                             "escape '\\'").fetchall()
        return sum(con.execute(f'select count(*) from raw."{t}"').fetchone()[0] for (t,) in tables)
    finally:
        con.close()


def dbt_processes_of(settings: Settings) -> list[int]:
    """Live dbt processes working on this home's warehouse (found through /proc)."""
    needle = f"QUALITRACE_WAREHOUSE={settings.warehouse}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes()
            if b"dbt" not in cmd or needle not in (entry / "environ").read_bytes():
                continue
            if (entry / "stat").read_text().split(") ")[-1].startswith("Z"):
                continue  # zombie: already dead
        except OSError:
            continue
        pids.append(int(entry.name))
    return pids


def wait_for(predicate, timeout: float, what: str, poll: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class Scenario:
    before: dict[str, str]
    busy: subprocess.CompletedProcess
    after_kill_table: dict[str, str]
    after_kill_parquet: dict[str, str]
    orphans_after_kill: list[int]
    recovery_code: int
    recovery_output: str
    after_recovery: dict[str, str]
    original: dict[str, str]
    raw_rows_original: int
    raw_rows_after: int


@pytest.fixture(scope="module")
def scenario(pipeline_home, tmp_path_factory) -> Scenario:
    home = copy_home(pipeline_home, tmp_path_factory.mktemp("crash_home"))
    original = marts_digest(pipeline_home)
    before = marts_digest(home)
    with open(home.home / "killed-run.out", "w") as log:
        first = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", "run", "--home", str(home.home),
             "--exports", str(home.exports), "--rebuild"],  # nothing changed: force dbt
            cwd=REPO_ROOT, env=cli_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        lock = home.home / ".run.lock"
        wait_for(lambda: lock.exists() and lock.read_text().strip() == str(first.pid),
                 120, "the first run to take the run lock")
        busy = qualitrace("run", "--home", str(home.home), "--exports", str(home.exports),
                          timeout=120)
        wait_for(lambda: dbt_processes_of(home), 600, "the first run to start dbt")
        time.sleep(1.5)  # in the middle of dbt
        os.kill(first.pid, signal.SIGKILL)
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    deadline = time.monotonic() + 15
    while dbt_processes_of(home) and time.monotonic() < deadline:
        time.sleep(0.2)
    orphans = dbt_processes_of(home)
    after_kill_table = marts_digest(home)
    after_kill_parquet = marts_digest(home, "parquet")
    for pid in orphans:  # do not leave a stray dbt behind even when the test fails
        os.kill(pid, signal.SIGKILL)
    recovery = run_pipeline(home.home, home.exports)
    return Scenario(
        before=before, busy=busy, after_kill_table=after_kill_table,
        after_kill_parquet=after_kill_parquet, orphans_after_kill=orphans,
        recovery_code=recovery.returncode, recovery_output=recovery.output,
        after_recovery=marts_digest(home) if recovery.returncode == 0 else {},
        original=original, raw_rows_original=raw_row_count(pipeline_home),
        raw_rows_after=raw_row_count(home),
    )


def test_second_concurrent_run_stops_with_clear_message(scenario):
    assert scenario.busy.returncode == 3, scenario.busy.stdout + scenario.busy.stderr
    message = scenario.busy.stderr.strip()
    assert len(message.splitlines()) == 1
    assert "another qualitrace run" in message and "pid" in message


def test_kill_during_dbt_leaves_published_marts_intact(scenario):
    assert scenario.after_kill_table == scenario.before
    assert scenario.after_kill_parquet == scenario.before


def test_killed_run_leaves_no_dbt_behind(scenario):
    assert scenario.orphans_after_kill == []


def test_next_run_recovers_without_manual_steps(scenario):
    assert scenario.recovery_code == 0, scenario.recovery_output[-4000:]


def test_two_runs_over_same_exports_give_identical_marts(scenario):
    assert scenario.after_recovery == scenario.original


def test_files_seen_before_are_not_landed_twice(scenario):
    assert scenario.raw_rows_after == scenario.raw_rows_original


def test_run_waits_when_asked(pipeline_home, tmp_path):
    """`--wait` waits for the holder; here the holder keeps the lock, so it gives up."""
    from orchestration.lib.warehouse import run_lock
    home = get_settings(tmp_path / "home", pipeline_home.exports)
    home.home.mkdir(parents=True)
    with run_lock(home):
        started = time.monotonic()
        proc = qualitrace("run", "--home", str(home.home), "--exports", str(home.exports),
                          "--wait", "2", timeout=120)
        waited = time.monotonic() - started
    assert proc.returncode == 3 and waited >= 2, proc.stderr
    assert "gave up after 2s" in proc.stderr


def test_unreconciled_ledger_blocks_the_marts(pipeline_home, tmp_path, monkeypatch):
    """Reconciliation is a blocking check: a ledger that does not add up stops the run
    before marts_build and publish, and the published marts stay as they were."""
    from orchestration.lib.runner import EXIT_BLOCKED, run

    home = copy_home(pipeline_home, tmp_path / "home")
    con = duckdb.connect(str(home.warehouse))
    path = con.execute("select min(path) from raw._file_manifest "
                       "where status = 'loaded'").fetchone()[0]
    con.execute("update raw._file_manifest set rows_read = rows_read + 1 where path = ?", [path])
    con.close()
    before = marts_digest(home)
    monkeypatch.setenv("QUALITRACE_HOME", str(home.home))
    monkeypatch.setenv("QUALITRACE_EXPORTS", str(home.exports))
    out = io.StringIO()
    # file_manifest (rebuilt by dbt, then checked) and publish, which waits for the gate
    selection = [["governance", "file_manifest"]] + [["marts", m] for m in MARTS]
    code = run(home, out, selection=selection)
    text = out.getvalue()
    assert code == EXIT_BLOCKED, text
    assert "stopped: blocking check rows_reconcile on governance/file_manifest failed:" in text
    assert path in text
    assert marts_digest(home) == before
