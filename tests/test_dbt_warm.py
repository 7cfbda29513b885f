"""The warm dbt (orchestration/lib/dbt_warm.py): the guard's dbt command runs in a fork of a
server that imported dbt beforehand, with the guard's streams and exit code; without a server
the guard runs dbt itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from orchestration.lib import dbt_warm
from orchestration.lib.dbt_project import dbt_cli_path, guard_script

CLIENT = ("import sys; from orchestration.lib.dbt_warm import run_warm; "
          "code = run_warm(sys.argv[1], ['dbt', *sys.argv[2:]]); "
          "sys.exit(99 if code is None else code)")


@pytest.fixture
def warm():
    server = dbt_warm.start()
    try:
        yield server
    finally:
        server.stop()


def _client(address: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    deadline = time.monotonic() + timeout
    while True:  # the server binds its socket once it has imported dbt
        proc = subprocess.run([sys.executable, "-c", CLIENT, address, *args],
                              capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 99 or time.monotonic() > deadline:
            return proc
        time.sleep(0.2)


def test_the_server_runs_dbt_with_the_guards_streams_and_exit_code(warm):
    ok = _client(warm.address, "--version")
    assert ok.returncode == 0, ok.stderr
    assert "Core" in ok.stdout + ok.stderr  # dbt's own output, on the client's streams
    bad = _client(warm.address, "no-such-command")
    assert bad.returncode == 2, bad.stdout + bad.stderr  # dbt's usage error, passed back


def test_the_guard_uses_the_server_and_runs_dbt_itself_without_one(warm, tmp_path):
    guard = tmp_path / "dbt"
    guard.write_text(guard_script([dbt_cli_path()]))
    guard.chmod(0o755)
    assert _client(warm.address, "--version").returncode == 0  # the server is up
    env = {**os.environ, dbt_warm.ADDRESS_ENV: warm.address}
    via_server = subprocess.run([str(guard), "--version"], env=env, capture_output=True, check=False,
                                text=True, timeout=120)
    assert via_server.returncode == 0 and "Core" in via_server.stdout + via_server.stderr
    env[dbt_warm.ADDRESS_ENV] = str(tmp_path / "nobody-listens.sock")
    itself = subprocess.run([str(guard), "--version"], env=env, capture_output=True, check=False,
                            text=True, timeout=120)
    assert itself.returncode == 0 and "Core" in itself.stdout + itself.stderr


def test_no_server_no_answer_and_stop_removes_it(warm, tmp_path):
    assert dbt_warm.run_warm(str(tmp_path / "missing.sock"), ["dbt", "--version"]) is None
    assert _client(warm.address, "--version").returncode == 0
    warm.stop()
    assert warm.proc.poll() is not None
    assert not os.path.exists(warm.address) and not warm.folder.exists()
    assert dbt_warm.ADDRESS_ENV not in os.environ
    assert dbt_warm.run_warm(warm.address, ["dbt", "--version"]) is None


SHORTCUTS = """
import sys
from pathlib import Path
from dbt.cli import requires
from dbt.contracts.graph.manifest import Manifest
from dbt.parser.manifest import extended_mashumuro_decoder
from orchestration.lib import dbt_warm

path = Path(sys.argv[1])
calls = []
def recorded_parse(runtime_config, write_perf_info, write, write_json, integrations):
    calls.append((write, write_json))
    return "parsed"
requires.parse_manifest = recorded_parse
preloaded = dbt_warm._preload(path)
assert preloaded is not None and preloaded[0] == path.read_bytes()
changed = Manifest.from_msgpack(preloaded[0], decoder=extended_mashumuro_decoder)
changed.metadata.invocation_id = "another-parse"
other = changed.to_msgpack()
assert other != preloaded[0]
dbt_warm._shortcuts(["dbt", "build", "--select", "x"], preloaded)
# the very bytes dbt reads: the server's decoded manifest; other bytes: decoded as always
assert Manifest.from_msgpack(path.read_bytes(), decoder=extended_mashumuro_decoder) is preloaded[1]
again = Manifest.from_msgpack(other, decoder=extended_mashumuro_decoder)
assert again is not preloaded[1] and again.metadata.invocation_id == "another-parse"
# a build parses without writing manifest.json first (it writes it when it ends)
assert requires.parse_manifest(None, False, True, True, []) == "parsed"
assert calls == [(False, True)]
print("ok")
"""


def test_the_child_reuses_the_decoded_parse_and_skips_the_first_manifest_write():
    from orchestration.lib.dbt_project import DBT_PROJECT_DIR, PARTIAL_PARSE, ensure_manifest

    ensure_manifest()
    saved = DBT_PROJECT_DIR / "target" / PARTIAL_PARSE
    assert saved.is_file()
    proc = subprocess.run([sys.executable, "-c", SHORTCUTS, str(saved)], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def test_without_a_saved_parse_nothing_is_preloaded(tmp_path):
    assert dbt_warm._preload(None) is None
    assert dbt_warm._preload(tmp_path / "missing.msgpack") is None
    (tmp_path / "broken.msgpack").write_bytes(b"not msgpack")
    assert dbt_warm._preload(tmp_path / "broken.msgpack") is None


PREWARM = """
from orchestration.lib import dbt_warm
from dbt.adapters.duckdb.credentials import DuckDBCredentials
from dbt.contracts.project import Configuration
from dbt.contracts.project import Project as ProjectContract
import inspect, linecache, dbt.cli.requires as requires
dbt_warm._prewarm_caches()
for contract in (DuckDBCredentials, Configuration, ProjectContract):
    before = contract.json_schema.cache_info().hits
    contract.json_schema()
    assert contract.json_schema.cache_info().hits == before + 1, contract
assert requires.__file__ in linecache.cache
assert inspect.getabsfile(requires) in inspect.modulesbyfile
print("ok")
"""


def test_the_server_fills_the_caches_dbt_fills_before_its_first_node():
    """What every child inherits: the JSON schemas of the contracts dbt validates a profile
    and project against, and the source lines dbt's behaviour flags look up."""
    proc = subprocess.run([sys.executable, "-c", PREWARM], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


MACROS = """
import os, socket, sys, tempfile
from pathlib import Path
from dbt_common.clients.jinja import template_cache
from orchestration.lib import dbt_warm

manifest = dbt_warm._preload(Path(sys.argv[1]))[1]
address = os.path.join(tempfile.mkdtemp(), "s")
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(address)
listener.listen(4)
# a dbt command already waiting: it gets its child now, nothing is compiled first
guard = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
guard.connect(address)
assert dbt_warm._compile_macros(manifest, listener) == 0
assert not template_cache.file_cache
conn, _ = listener.accept()
conn.close()
guard.close()
# nobody waiting: every macro of the saved parse, the project's own included
assert dbt_warm._compile_macros(manifest, listener) == len(manifest.macros) > 0
own = [m for m in manifest.macros.values() if m.package_name == "qualitrace"]
assert own and all(m.macro_sql in template_cache.file_cache for m in manifest.macros.values())
# what a child's dbt looks up for a macro is the template compiled here
assert template_cache.get_node_template(own[0]) is template_cache.file_cache[own[0].macro_sql]
print("ok")
"""


def test_the_server_compiles_the_macros_unless_a_command_waits():
    """Every child inherits the macros' compiled templates (dbt compiles each on first use);
    a guard already connected is not kept waiting for them."""
    from orchestration.lib.dbt_project import DBT_PROJECT_DIR, PARTIAL_PARSE, ensure_manifest

    ensure_manifest()
    proc = subprocess.run([sys.executable, "-c", MACROS,
                           str(DBT_PROJECT_DIR / "target" / PARTIAL_PARSE)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def test_dbt_output_pipe_holds_a_whole_build_log_unread():
    """dbt blocks on a full output pipe (64 KB); widened, 600 KB fit while nobody reads."""
    from orchestration.lib.dbt_project import widen_output_pipe

    writer = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; sys.stdin.read(1); sys.stdout.write('x' * 600_000); sys.stdout.flush()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert widen_output_pipe(writer) >= 600_000
        writer.stdin.write(b"go")
        writer.stdin.close()
        assert writer.wait(timeout=30) == 0  # exited with its output still in the pipe
        assert len(writer.stdout.read()) == 600_000
    finally:
        writer.kill()
        writer.stdout.close()


MACRO_USE = """
import json, os, socket, sys, tempfile
from pathlib import Path
from dbt_common.clients.jinja import template_cache
from orchestration.lib import dbt_warm

manifest = dbt_warm._preload(Path(sys.argv[1]))[1]
macros = sorted(manifest.macros.values(), key=lambda m: m.unique_id)[:3]
record = Path(tempfile.mkdtemp()) / dbt_warm.MACROS_USED
record.write_text(json.dumps([macros[0].unique_id]))
# a child notes each macro dbt looks up and adds them to what earlier commands used
save = dbt_warm._record_macro_use(record)
for m in macros[1:]:
    template_cache.get_node_template(m)
save()
assert json.loads(record.read_text()) == [m.unique_id for m in macros]
# the next run's server compiles those macros only
template_cache.file_cache.clear()
address = os.path.join(tempfile.mkdtemp(), "s")
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(address)
listener.listen(4)
assert dbt_warm._compile_macros(manifest, listener, dbt_warm._macros_used(record)) == 3
assert set(template_cache.file_cache) == {m.macro_sql for m in macros}
# no readable record: nothing known, and the server compiles every macro
record.write_text("not json")
assert dbt_warm._macros_used(record) == set() == dbt_warm._macros_used(None)
print("ok")
"""


def test_the_server_compiles_the_macros_earlier_commands_called():
    from orchestration.lib.dbt_project import DBT_PROJECT_DIR, PARTIAL_PARSE, ensure_manifest

    ensure_manifest()
    proc = subprocess.run([sys.executable, "-c", MACRO_USE,
                           str(DBT_PROJECT_DIR / "target" / PARTIAL_PARSE)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


KEPT_LINES = """
import io, json
from dbt.adapters.events.types import SQLQuery
from dbt.tracking import track_behavior_change_warn
from dbt_common.events import event_manager, logger as dbt_logger
from dbt_common.events.base_types import EventLevel
from dbt_common.events.types import Note, PrintEvent
from orchestration.lib import dbt_warm

formatted, built = [], []
create_line = dbt_logger._JsonLogger.create_line
def counted(self, msg):
    formatted.append((self.name, msg.info.name))
    return create_line(self, msg)
dbt_logger._JsonLogger.create_line = counted
build = event_manager.msg_from_base_event
def counted_build(e, level=None):
    built.append(type(e).__name__)
    return build(e, level=level)
event_manager.msg_from_base_event = counted_build

LOGS = (("info", EventLevel.INFO), ("quiet", EventLevel.ERROR), ("debug", EventLevel.DEBUG))

def emit(run, logs=LOGS, callback=None):
    # dbt's kinds of log: at info (stdout), at error (--quiet), at debug (--debug)
    mgr, streams, seen = event_manager.EventManager(), {}, []
    mgr.add_callback(track_behavior_change_warn)
    if callback:
        mgr.add_callback(lambda msg: seen.append(msg.info.name))
    for name, level in logs:
        streams[name] = io.StringIO()
        mgr.add_logger(dbt_logger.LoggerConfig(name=f"{name}-{run}", level=level,
                       line_format=dbt_logger.LineFormat.Json, output_stream=streams[name]))
    mgr.fire_event(SQLQuery(conn_name="model.x", sql="select 1", node_info={}))
    mgr.fire_event(Note(msg="a note"))
    mgr.fire_event(Note(msg="a warning"), level=EventLevel.WARN)
    mgr.fire_event(Note(msg="an error"), level=EventLevel.ERROR)
    mgr.fire_event(PrintEvent(msg="printed"))
    lines = {name: [(json.loads(line)["info"]["name"], json.loads(line)["info"]["msg"])
                    for line in s.getvalue().splitlines()] for name, s in streams.items()}
    return lines, seen

def counts(*args, **kwargs):
    formatted[:], built[:] = [], []
    out = emit(*args, **kwargs)
    return out, len(formatted), len(built)

without_debug = LOGS[:2]
before = [counts("a"), counts("b", without_debug), counts("c", without_debug, callback=True)]
dbt_warm._write_kept_lines()
after = [counts("a"), counts("b", without_debug), counts("c", without_debug, callback=True)]
assert [a[0] for a in after] == [b[0] for b in before], (before, after)
lines = before[0][0][0]
assert lines["info"] == [("Note", "a note"), ("Note", "a warning"), ("Note", "an error"),
                         ("PrintEvent", "printed")], lines["info"]
assert lines["quiet"] == [("Note", "an error"), ("PrintEvent", "printed")], lines["quiet"]
assert len(lines["debug"]) == 5
assert before[2][0][1] == ["SQLQuery", "Note", "Note", "Note", "PrintEvent"]
# (lines formatted, events built): every event formatted for every log and built, before;
# after, only the lines written are formatted, and the SQL statement (debug) is not built
# when no log keeps it and no callback but dbt's own would see it
assert [b[1:] for b in before] == [(15, 5), (10, 5), (10, 5)], before
assert [a[1:] for a in after] == [(11, 5), (6, 4), (6, 5)], after
print("ok")
"""


def test_the_child_builds_and_formats_only_the_log_lines_a_log_keeps():
    proc = subprocess.run([sys.executable, "-c", KEPT_LINES], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]
