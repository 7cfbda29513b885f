"""The dbt project as Dagster sees it: a cached `DbtProject` and how its manifest is prepared.

The manifest (`dbt_project/target/manifest.json`) is what `@dbt_assets` reads when the code
location loads. Loading the code location never parses outside development: under `dagster
dev` / `qualitrace dev` dagster-dbt's `prepare_if_dev()` runs `dbt parse` on every load, so
an edited model shows at the next reload; everywhere else the manifest is prepared before
the code location loads: `ensure_manifest()` (`qualitrace prepare`, called by `qualitrace
run` and `qualitrace dev` and at the start of a test session) parses when the manifest is
missing or the project's files changed since it was built. Runs write their own artifacts
under `<home>/dbt/target`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from orchestration.lib.settings import DBT_PROJECT_DIR, Settings
from orchestration.lib.warehouse import file_lock

MANIFEST_TARGET = DBT_PROJECT_DIR / "target"
_FINGERPRINT = MANIFEST_TARGET / ".qualitrace_fingerprint"
_SOURCE_DIRS = ("models", "macros", "tests", "seeds", "snapshots", "analyses")
_SOURCE_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml", "selectors.yml")


class DbtParseError(RuntimeError):
    """`dbt parse` failed: the message carries dbt's own error lines."""


def dbt_cli_path() -> str:
    """The dbt executable installed beside this Python (the project venv)."""
    here = Path(sys.executable).parent / "dbt"
    if here.exists():
        return str(here)
    found = shutil.which("dbt")
    if not found:
        raise FileNotFoundError("dbt is not installed in this environment (no `dbt` on PATH)")
    return found


def project_fingerprint(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """A hash of every file dbt parses: changes when a model, macro, test or config does."""
    h = hashlib.sha256()
    paths = [project_dir / f for f in _SOURCE_FILES]
    for d in _SOURCE_DIRS:
        if (project_dir / d).is_dir():
            paths.extend(sorted(p for p in (project_dir / d).rglob("*") if p.is_file()))
    for p in paths:
        if p.is_file():
            h.update(str(p.relative_to(project_dir)).encode())
            h.update(b"\0")
            h.update(p.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def ensure_manifest(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """Run `dbt parse` if the manifest is missing or stale; return its path."""
    target = project_dir / "target"
    manifest = target / "manifest.json"
    stamp = target / _FINGERPRINT.name
    target.mkdir(parents=True, exist_ok=True)
    with file_lock(target / ".parse.lock", timeout=300, what="dbt parse"):
        fp = project_fingerprint(project_dir)
        if manifest.exists() and stamp.exists() and stamp.read_text().strip() == fp:
            return manifest
        env = {
            **os.environ,
            # parse renders the profile but never opens the database
            "QUALITRACE_WAREHOUSE": os.environ.get(
                "QUALITRACE_WAREHOUSE", str(target / "parse-only.duckdb")),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        proc = subprocess.run(
            [dbt_cli_path(), "parse", "--project-dir", str(project_dir),
             "--profiles-dir", str(project_dir), "--target-path", str(target),
             "--log-path", str(target / "logs"), "--quiet", "--no-use-colors"],
            check=False, env=env, capture_output=True, text=True, cwd=project_dir,
        )
        if proc.returncode != 0 or not manifest.exists():
            lines = (proc.stdout + proc.stderr).strip().splitlines()
            raise DbtParseError(
                f"`dbt parse` of {project_dir} failed (exit {proc.returncode}): "
                + " | ".join(lines[-15:])
            )
        stamp.write_text(fp + "\n")
        return manifest


@lru_cache(maxsize=1)
def get_dbt_project():
    """The `DbtProject` for dbt_project/: parsed on load under `dagster dev`, otherwise
    prepared beforehand (`ensure_manifest`); a missing manifest is a clear error."""
    from dagster_dbt import DbtProject

    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR,
                         target_path="target")
    project.prepare_if_dev()
    if not project.manifest_path.exists():
        raise DbtParseError(f"no dbt manifest at {project.manifest_path}: prepare it with "
                            f"`qualitrace prepare` (`qualitrace run` and `qualitrace dev` do)")
    return project


def main() -> int:
    """`qualitrace prepare`: parse the dbt project if its manifest is missing or stale."""
    try:
        manifest = ensure_manifest(DBT_PROJECT_DIR)
    except (DbtParseError, FileNotFoundError) as e:
        print(f"qualitrace prepare: {e}", file=sys.stderr)
        return 2
    print(f"dbt manifest ready: {manifest}")
    return 0


_GUARD = '''#!{python}
"""dbt, but it dies with its parent: a killed run never leaves dbt holding the warehouse.
Run by a warm dbt when the run started one."""
import ctypes, os, signal, sys
try:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except OSError:
    pass
if os.getppid() == 1:  # parent already gone
    sys.exit(137)
if os.environ.get({warm_env!r}):  # a warm dbt of this run (lib/dbt_warm.py)
    try:
        from orchestration.lib.dbt_warm import run_warm
        code = run_warm(os.environ[{warm_env!r}], {argv!r} + sys.argv[1:])
    except Exception:
        code = None
    if code is not None:
        sys.exit(code)
os.execv({argv[0]!r}, {argv!r} + sys.argv[1:])
'''


def guarded_dbt_executable(settings: Settings) -> Path:
    """A wrapper around dbt that is killed when the process that started it dies."""
    return write_executable(settings.home / "dbt" / "bin" / "dbt",
                            guard_script([dbt_cli_path()]))


def guard_script(argv: list[str]) -> str:
    """A Python script that runs `argv` (plus its own arguments) and dies with its parent."""
    from orchestration.lib.dbt_warm import ADDRESS_ENV

    return _GUARD.format(python=sys.executable, argv=list(argv), warm_env=ADDRESS_ENV)


def write_executable(path: Path, text: str) -> Path:
    """A script at `path` with `text` (rewritten atomically only when it differs)."""
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.chmod(0o755)
        os.replace(tmp, path)
    return path


# Background `dbt parse` per home (first run only), started by `qualitrace run` before ingest.
_PARSE_DIR = "_parse"
DBT_STEPS = ("dbt_models",)  # the dbt steps of a run; each keeps its own target folder
PARTIAL_PARSE = "partial_parse.msgpack"
_parses: dict[Path, subprocess.Popen] = {}


def start_background_parse(settings: Settings, steps: tuple[str, ...], salt: str) -> bool:
    """Parse the dbt project for this home while ingest runs, so the first `dbt build` of a
    new home partially parses instead of paying a full parse (about 4 s) per invocation.

    dbt keys its partial-parse state to the warehouse path and the environment variables the
    project reads, so the project's own `target/partial_parse.msgpack` (parsed for no home)
    is useless to a new home. Does nothing when every step already has its state. Returns
    whether a parse was started."""
    if all((settings.dbt_target / s / PARTIAL_PARSE).exists() for s in steps):
        return False
    target = settings.dbt_target / _PARSE_DIR
    if target in _parses and _parses[target].poll() is None:
        return False
    target.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **dbt_env(settings), "QUALITRACE_PII_SALT": salt}
    _parses[target] = subprocess.Popen(
        [str(guarded_dbt_executable(settings)), "parse", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target),
         "--log-path", str(target), "--quiet", "--no-use-colors"],
        env=env, cwd=DBT_PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return True


def adopt_background_parse(settings: Settings, step: str, timeout: float = 300.0) -> None:
    """Before a dbt invocation: wait for this home's background parse, if one is running,
    and give the step its partial-parse state if it has none. A failed parse is ignored
    (dbt then parses in full and reports any error itself)."""
    target = settings.dbt_target / _PARSE_DIR
    proc = _parses.get(target)
    if proc is not None:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return
        if proc.returncode != 0:
            return
    state, dest = target / PARTIAL_PARSE, settings.dbt_target / step / PARTIAL_PARSE
    if proc is not None and state.exists() and not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(state, dest)


_F_SETPIPE_SZ = 1031  # Linux fcntl: set a pipe's capacity
OUTPUT_PIPE_BYTES = (1 << 20, 1 << 18)  # tried in turn: 1 MiB is the unprivileged maximum


def widen_output_pipe(process: subprocess.Popen) -> int | None:
    """Give dbt's output pipe room for a whole build's log (a one-file build writes about
    200 KB of JSON lines to it; a pipe holds 64 KB): dbt blocks on a full pipe, so while the
    run's thread stores Dagster events instead of reading, dbt's nodes would wait for it.
    Returns the pipe's new capacity, or None when it cannot be changed (not Linux, not a
    pipe): then dbt runs as before."""
    out = getattr(process, "stdout", None)
    if out is None:
        return None
    for size in OUTPUT_PIPE_BYTES:
        with contextlib.suppress(OSError, ValueError):
            return fcntl.fcntl(out.fileno(), _F_SETPIPE_SZ, size)
    return None


def dbt_env(settings: Settings) -> dict[str, str]:
    """Environment for a dbt invocation against this home's warehouse."""
    return {
        "QUALITRACE_WAREHOUSE": str(settings.warehouse),
        "QUALITRACE_HOME": str(settings.home),
        "QUALITRACE_EXPORTS": str(settings.exports),
        "QUALITRACE_DICTIONARY_TABLES": str(settings.dictionary_tables),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # dbt's file log (target/<step>/dbt.log) at info: node starts, results and errors.
        # At dbt's default (debug) it also holds every SQL statement, ~20 MB of JSON for a
        # one-file run, written while the build waits; the compiled and executed SQL stays in
        # target/<step>/compiled and run/. `DBT_LOG_LEVEL_FILE=debug` brings it back.
        "DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE") or "info",
    }


# The delivered files a partial build's staging tests read (JSON list; empty: every row).
TESTS_SCOPE_ENV = "QUALITRACE_TESTS_FILES"
_TESTS_SCOPE_MAX_CHARS = 64_000  # a longer list (a first run after a large backfill) tests all


def staging_tests_scope(files: Iterable[str] | None) -> dict[str, str]:
    """The environment naming the files whose rows a partial build's staging tests read
    (dbt_project/macros/tests/where_subquery.sql): `files`, the delivered files changed since
    the published run (lib/freshness.py). None, or a list too long for one environment
    variable: empty, and every test reads every row."""
    text = "" if files is None else json.dumps(sorted(set(files)), ensure_ascii=False)
    return {TESTS_SCOPE_ENV: text if len(text) <= _TESTS_SCOPE_MAX_CHARS else ""}


def ensure_dictionary_files(settings: Settings) -> Path:
    """The Parquet dictionary tables dbt reads at compile time: written by the dictionary
    asset on every run; rendered here from the dictionary when a home has none yet (a run
    that did not select the dictionary asset)."""
    directory = settings.dictionary_tables
    if not (directory / "fields.parquet").exists():
        from orchestration.lib.dictionary import load_dictionary
        from orchestration.lib.dictionary.tables import render_files

        render_files(load_dictionary(), directory)
    return directory
