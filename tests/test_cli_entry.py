"""`qualitrace`'s entry point ends the process itself after `main()` (no interpreter teardown):
the exit code, buffered output and exit handlers must come through exactly as with sys.exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
import atexit, sys
from pathlib import Path
import orchestration.cli as cli
marker = Path(sys.argv[1])
atexit.register(lambda: marker.write_text("exit handler ran", encoding="utf-8"))
result = {result}
def fake_main(argv=None):
    print("summary line, still in the buffer")  # stdout is a pipe: block-buffered
    return result
cli.main = fake_main
cli.entry()
print("never printed: entry() does not return")
"""


@pytest.mark.parametrize(("result", "code", "stderr"), [
    ("None", 0, ""), ("0", 0, ""), ("3", 3, ""), ("'stopped: a message'", 1, "stopped: a message"),
])
def test_exit_code_output_and_exit_handlers_survive(tmp_path, result, code, stderr):
    marker = tmp_path / "marker.txt"
    proc = subprocess.run([sys.executable, "-c", SCRIPT.format(result=result), str(marker)],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == code, proc.stderr
    assert proc.stdout == "summary line, still in the buffer\n"
    assert proc.stderr.strip() == stderr
    assert marker.read_text(encoding="utf-8") == "exit handler ran"


def test_the_installed_command_uses_the_entry_point():
    import tomllib

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["qualitrace"] == "orchestration.cli:entry"
