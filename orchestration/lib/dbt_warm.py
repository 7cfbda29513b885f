"""A warm dbt: a process that has imported dbt before the dbt step needs it.

Starting dbt costs seconds before it reads a file: the interpreter, then dbt-core, the DuckDB
adapter and, for the Python model (marts.suspect_ranking), pandas and SciPy. `qualitrace run`
starts this server first, so those imports overlap loading the code location and ingest on
the other core. When the dbt step starts dbt, the guard script (lib/dbt_project.py) hands its
command line, environment, working directory and standard streams to the server over a Unix
socket; the server forks a child that runs that dbt command with them, and the guard waits for
its exit code. dagster-dbt reads the same stdout and sees the same dbt.

Nothing else changes: the child is a fresh fork of a process that has only imported modules,
read dbt's saved parse and compiled its macros' Jinja templates (it never ran dbt or opened
the warehouse), it gets the guard's environment as its own, it
dies with the server (which dies with the run) and with the guard (its socket closes), and a
signal sent to the guard is passed on to it. Without a server (a run started from the Dagster
UI or daemon), or if it cannot be reached, the guard runs dbt itself as before.

Only stdlib imports at module level: the guard imports this module before deciding.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ADDRESS_ENV = "QUALITRACE_DBT_WARM"  # the server's socket, for the guard
OFF_ENV = "QUALITRACE_NO_WARM_DBT"  # set (to anything): `qualitrace run` starts no server
# what a dbt build imports, in the order dbt imports it; the last ones serve the Python model
PRELOAD = ("dbt.cli.main", "dbt.task.build", "dbt.parser.manifest", "dbt.adapters.duckdb",
           "dbt.adapters.duckdb.impl", "agate", "numpy", "pandas", "pyarrow", "scipy.stats")
SOCKET = "dbt.sock"  # in the server's private folder
_MAX_MESSAGE = 1 << 20
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    import ctypes

    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


# ---- the run's side --------------------------------------------------------------------------

class WarmDbt:
    """The server process of one run (`start`), stopped with `stop` (or when the run dies)."""

    def __init__(self, proc: subprocess.Popen, folder: Path):
        self.proc, self.folder = proc, folder
        self.address = str(folder / SOCKET)

    def stop(self) -> None:
        """Stop the server and forget it: later dbt commands start dbt themselves."""
        if os.environ.get(ADDRESS_ENV) == self.address:
            del os.environ[ADDRESS_ENV]
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for p in (Path(self.address), self.folder):
            with contextlib.suppress(OSError):
                p.unlink() if p.is_socket() else p.rmdir()


def start(partial_parse: Path | None = None) -> WarmDbt:
    """Start the server (it imports dbt in the background, then reads `partial_parse`, dbt's
    saved parse of the project, if it exists) and point dbt's guard at it through this
    process's environment, which dagster-dbt passes on to dbt."""
    folder = Path(tempfile.mkdtemp(prefix="qt-dbt-"))  # 0700: only this user can connect
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration.lib.dbt_warm", str(folder / SOCKET),
         str(os.getpid()), *([str(partial_parse)] if partial_parse else [])],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd=str(Path(__file__).resolve().parents[2]))
    warm = WarmDbt(proc, folder)
    os.environ[ADDRESS_ENV] = warm.address
    return warm


# ---- the guard's side ------------------------------------------------------------------------

def run_warm(address: str, argv: list[str]) -> int | None:
    """Run `argv` (dbt's command line) in the warm server with this process's environment,
    working directory and standard streams; its exit code, or None when there is no server
    that answers (the caller then runs dbt itself)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(address)
    except OSError:
        conn.close()
        return None
    message = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    socket.send_fds(conn, [struct.pack("!I", len(message)) + message], [0, 1, 2])
    reader = conn.makefile("r", encoding="utf-8")
    first = reader.readline().split()
    if first[:1] != ["pid"]:
        return None  # the server refused before forking: nothing ran
    try:  # from here on dbt runs: never None, which would start a second one
        child = int(first[1])

        def forward(signum, _frame):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, forward)
        last = reader.readline().split()
        return int(last[1]) if last[:1] == ["exit"] else 2  # the child died without a word
    except Exception:  # noqa: BLE001
        return 2


# ---- the server ------------------------------------------------------------------------------

def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    head, fds, _flags, _addr = socket.recv_fds(conn, 4 + _MAX_MESSAGE, 3)
    size = struct.unpack("!I", head[:4])[0]
    body = head[4:]
    while len(body) < size:
        more = conn.recv(size - len(body))
        if not more:
            raise ConnectionError("the guard closed the connection")
        body += more
    return json.loads(body), list(fds)


def _same_user(conn: socket.socket) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()


def _child(listener: socket.socket, conn: socket.socket, request: dict, fds: list[int],
           preloaded: tuple[bytes, object] | None = None, used: Path | None = None) -> None:
    """In the forked child: become the guard's dbt, run it, report the exit code, and add the
    macros it called to `used` (see `_record_macro_use`). Never returns."""
    code = 2
    save_use = None
    try:
        _die_with_parent()
        listener.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        conn.sendall(f"pid {os.getpid()}\n".encode())

        def watch() -> None:  # the guard is gone (killed): so is this dbt
            with contextlib.suppress(OSError):
                while conn.recv(1):
                    pass
            os._exit(137)

        threading.Thread(target=watch, daemon=True).start()
        from dbt.cli.main import cli

        sys.argv = ["dbt", *request["argv"][1:]]
        _shortcuts(sys.argv, preloaded)
        save_use = _record_macro_use(used)
        try:
            cli()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: BLE001 - report it on dbt's stderr, exit non-zero
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        if save_use is not None:
            with contextlib.suppress(Exception):
                save_use()
        with contextlib.suppress(OSError):
            conn.sendall(f"exit {code}\n".encode())
        os._exit(code)


# ---- what the child does not repeat ----------------------------------------------------------

def _preload(partial_parse: Path | None) -> tuple[bytes, object] | None:
    """dbt's saved parse (`partial_parse.msgpack`), read and decoded before dbt needs it:
    (the file's bytes, the decoded manifest). None when there is none or it cannot be read."""
    if partial_parse is None:
        return None
    try:
        data = partial_parse.read_bytes()
        from dbt.contracts.graph.manifest import Manifest
        from dbt.parser.manifest import extended_mashumuro_decoder

        return data, Manifest.from_msgpack(data, decoder=extended_mashumuro_decoder)
    except Exception:  # noqa: BLE001 - dbt reads and judges the file itself
        return None


def _shortcuts(argv: list[str], preloaded: tuple[bytes, object] | None) -> None:
    """In the child, before dbt starts, two steps dbt would repeat for nothing:

    - decoding its saved parse: when the file dbt reads holds exactly the bytes the server
      decoded, dbt gets the server's decoded copy (this child's own, by fork) and then
      checks it against the project as always (0.25 s);
    - for `build`, writing manifest.json right after parsing: the build writes it again
      when it ends (0.1-0.3 s). Other commands are left as they are;
    - formatting log lines no log keeps (`_write_kept_lines`).
    """
    from dbt.cli import requires
    from dbt.contracts.graph.manifest import Manifest

    if preloaded is not None:
        data, manifest = preloaded
        decode = Manifest.from_msgpack

        def from_msgpack(raw, *args, **kwargs):
            return manifest if raw == data else decode(raw, *args, **kwargs)

        Manifest.from_msgpack = staticmethod(from_msgpack)
    if "build" in argv[1:]:
        parse = requires.parse_manifest

        def parse_without_first_write(runtime_config, write_perf_info, write, write_json,
                                      active_integrations):
            return parse(runtime_config, write_perf_info, False, write_json, active_integrations)

        requires.parse_manifest = parse_without_first_write
    _write_kept_lines()


# dbt's event levels as the Python logging levels its loggers send them at (send_to_logger)
_LOG_LEVELS = {"test": 10, "debug": 10, "info": 20, "warn": 30, "error": 40}
# dbt's own event callbacks that act on warnings only (dbt.tracking)
_WARNING_CALLBACKS = {"track_behavior_change_warn"}


def _write_kept_lines() -> None:
    """dbt builds a message of every event (a protobuf from the event's fields), formats it
    for each of its logs (stdout, dbt.log) as a JSON line, scrubs it of secrets, and only
    then hands it to a Python logger that drops it below the log's level: every SQL
    statement and connection event of a build, at `debug`, was built, formatted twice and
    dropped twice (2-4 s of a day's build, under the GIL its threads share). Here a line its
    log would drop is not formatted, and a debug event no log keeps is not built when no
    callback but dbt's own (which reads warnings only) would see it. The lines written are
    the same; `--debug` or `DBT_LOG_LEVEL_FILE=debug` keep every event as before."""
    from dbt_common.events import logger as dbt_logger
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.event_manager import EventManager

    write = dbt_logger._Logger.write_line

    def keeps(logger, level: int) -> bool:  # the Python logger behind a dbt log takes `level`
        log = getattr(logger, "_python_logger", None)
        return log is not None and log.isEnabledFor(level)

    def write_line(self, msg):
        level = _LOG_LEVELS.get(msg.info.level)
        if getattr(self, "_python_logger", None) is None or (
                level is not None and not dbt_logger._is_print_event(msg)
                and not keeps(self, level)):
            return
        write(self, msg)

    fire = EventManager.fire_event
    debug = {EventLevel.DEBUG, EventLevel.TEST}

    def fire_event(self, e, level=None, node=None, force_warn_or_error_handling=False):
        if (not force_warn_or_error_handling and (level or e.level_tag()) in debug
                and all(getattr(c, "__name__", None) in _WARNING_CALLBACKS
                        for c in self.callbacks)
                and not any(keeps(lg, _LOG_LEVELS["debug"]) for lg in self.loggers)):
            return
        fire(self, e, level=level, node=node,
             force_warn_or_error_handling=force_warn_or_error_handling)

    dbt_logger._Logger.write_line = write_line
    EventManager.fire_event = fire_event


def _prewarm_caches() -> None:
    """Caches dbt fills before its first node, filled once here so every child starts with
    them (by fork); each is a pure function of code already imported, so no result changes:

    - the JSON schemas dbt validates the profile, project, packages, hooks and configuration
      against (`dbtClassMixin.json_schema`, cached per class): 0.4-0.6 s of every command;
    - `inspect`'s map of source files to modules and the source lines of dbt, click and the
      adapter, which dbt reads for each behaviour flag the adapter declares (an
      `inspect.stack()`): 0.2 s.
    """
    import inspect
    import linecache

    from dbt.adapters.duckdb.credentials import DuckDBCredentials
    from dbt.artifacts.resources.v1.config import Hook
    from dbt.contracts.project import Configuration, PackageConfig, ProjectFlags
    from dbt.contracts.project import Project as ProjectContract

    for contract in (DuckDBCredentials, Hook, Configuration, PackageConfig, ProjectFlags,
                     ProjectContract):
        contract.json_schema()
    inspect.getmodule(inspect.currentframe())
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in _SOURCE_READ and getattr(module, "__file__", None):
            linecache.getlines(module.__file__, module.__dict__)


_SOURCE_READ = {"dbt", "dbt_common", "click", "runpy", "orchestration"}
# whose macros are compiled first: the project's own, then the adapter's, then dbt's
_MACRO_ORDER = {"dbt_duckdb": 1, "dbt": 2}
MACROS_USED = "warm_macros.json"  # beside the saved parse: the macros dbt commands called


def _compile_macros(manifest, waiting: socket.socket, only: set[str] | None = None) -> int:
    """Compile the Jinja templates of the saved parse's macros (those in `only` when given:
    the macros earlier commands of this home called, a third of them) into dbt's template
    cache, which every child then inherits: a child compiles each macro it calls on first use
    (1-2 s of CPU in a one-file build, much of it before the first node's SQL runs). The
    cache is keyed by the macro's source text, so a macro changed since that parse is not
    found and the child compiles it itself; nothing a child renders changes. Stops as soon as
    a dbt command is `waiting` on the socket: that one needs its child now. Returns how many
    templates were compiled."""
    from dbt_common.clients.jinja import template_cache

    macros = sorted((m for m in manifest.macros.values() if not only or m.unique_id in only),
                    key=lambda m: (_MACRO_ORDER.get(m.package_name, 0), m.unique_id))
    compiled = 0
    for macro in macros:
        if select.select([waiting], [], [], 0)[0]:
            break
        with contextlib.suppress(Exception):  # a macro that fails here fails in dbt, with its message
            template_cache.get_node_template(macro)
            compiled += 1
    return compiled


def _macros_used(record: Path | None) -> set[str]:
    """The macros recorded in `record` (unique ids); none when there is no readable record."""
    try:
        data = json.loads(record.read_text(encoding="utf-8")) if record else []
    except (OSError, ValueError):
        return set()
    return {m for m in data if isinstance(m, str)} if isinstance(data, list) else set()


def _record_macro_use(record: Path | None):
    """In the child, before dbt runs: note every macro dbt looks up in its template cache.
    Returns the function that adds them to `record` (with those of earlier commands), so the
    next run's server compiles those, not all 700-odd of dbt and the adapter."""
    from dbt_common.clients.jinja import template_cache

    used: set[str] = set()
    lookup = template_cache.get_node_template

    def get_node_template(node):
        used.add(node.unique_id)
        return lookup(node)

    template_cache.get_node_template = get_node_template

    def save() -> None:
        known = _macros_used(record)
        if record is None or used <= known:
            return
        tmp = record.with_name(record.name + ".tmp")
        tmp.write_text(json.dumps(sorted(known | used)), encoding="utf-8")
        tmp.replace(record)

    return save


def serve(address: str, partial_parse: Path | None = None) -> None:
    for name in PRELOAD:
        with contextlib.suppress(Exception):
            __import__(name)
    with contextlib.suppress(Exception):  # only an optimisation: dbt fills them itself
        _prewarm_caches()
    preloaded = _preload(partial_parse)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(4)
    used = partial_parse.with_name(MACROS_USED) if partial_parse else None
    if preloaded is not None:  # the guard can connect meanwhile: its request waits in line
        with contextlib.suppress(Exception):
            _compile_macros(preloaded[1], listener, _macros_used(used) or None)
    signal.signal(signal.SIGCHLD, lambda *_: _reap())
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        fds: list[int] = []
        try:
            if not _same_user(conn):
                continue
            request, fds = _receive(conn)
            if len(fds) != 3:
                continue
            # what the server holds is never garbage again: the child's collections skip it
            # and leave its pages shared with the server (no copy on a collector's write)
            gc.freeze()
            if os.fork() == 0:
                _child(listener, conn, request, fds, preloaded, used)
        except (OSError, ValueError, ConnectionError):
            pass
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            conn.close()


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


if __name__ == "__main__":
    _die_with_parent()
    if os.getppid() != int(sys.argv[2]):  # the run ended before this line
        sys.exit(0)
    serve(sys.argv[1], Path(sys.argv[3]) if len(sys.argv) > 3 else None)
