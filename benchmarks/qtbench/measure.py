"""Run one command as a child process tree and measure its wall time and peak memory.

Peak RSS is taken two ways: the kernel's `ru_maxrss` of the child (largest single
process of the tree, from `wait4`), and the sum of RSS over the whole tree sampled from
/proc every `interval` seconds (catches a dbt subprocess running beside its parent).
The reported `peak_rss_mb` is the larger of the two.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measured:
    cmd: list[str]
    returncode: int
    wall_s: float
    peak_rss_mb: float
    max_single_rss_mb: float
    tree_rss_mb: float
    cpu_s: float = 0.0  # user + system of the tree (children reaped by the tree included)
    lines: list[tuple[float, str]] = field(default_factory=list)  # (seconds since start, line)

    @property
    def stdout(self) -> str:
        return "".join(line for _t, line in self.lines)


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree_rss_bytes(root: int) -> int:
    """Sum of resident memory of `root` and all its descendants right now."""
    kids = _children_map()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(kids.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
    return total


def run_measured(cmd: list[str], env: dict | None = None, cwd: Path | None = None,
                 interval: float = 0.2, echo=None, log_path: Path | None = None) -> Measured:
    """Run `cmd`, stream its merged stdout/stderr line by line (timestamped), measure it."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            cwd=cwd, text=True, encoding="utf-8", errors="replace", bufsize=1)
    peak_tree = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not stop.is_set():
            peak_tree = max(peak_tree, tree_rss_bytes(proc.pid))
            stop.wait(interval)

    lines: list[tuple[float, str]] = []

    def read() -> None:
        with contextlib.ExitStack() as stack:
            log = stack.enter_context(open(log_path, "w", encoding="utf-8")) if log_path else None
            for line in proc.stdout:
                lines.append((time.monotonic() - start, line))
                if log:
                    log.write(line)
                    log.flush()
                if echo:
                    echo(line.rstrip("\n"))

    sampler = threading.Thread(target=sample, daemon=True)
    reader = threading.Thread(target=read, daemon=True)
    sampler.start()
    reader.start()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stop.set()
    reader.join()
    sampler.join()
    single = usage.ru_maxrss / 1024  # Linux: kilobytes
    tree = peak_tree / 2**20
    return Measured(cmd=list(cmd), returncode=proc.returncode, wall_s=wall,
                    peak_rss_mb=round(max(single, tree), 1), max_single_rss_mb=round(single, 1),
                    tree_rss_mb=round(tree, 1), cpu_s=usage.ru_utime + usage.ru_stime,
                    lines=lines)


def median_run(runs: list[dict]) -> dict:
    """Repeated runs of one measurement as one figure: the run whose wall time is the median
    (the lower of the two middle ones for an even count, so it is a run that happened), with
    every run's wall seconds in `runs_wall_s`, and the first non-zero exit code of any run as
    its `returncode` (a failed repeat is never hidden behind a good median)."""
    if not runs:
        raise ValueError("no runs to summarise")
    ordered = sorted(runs, key=lambda r: r["wall_s"])
    middle = ordered[(len(ordered) - 1) // 2]
    failed = next((r["returncode"] for r in runs if r.get("returncode") not in (0, None)), None)
    return {**middle, "runs_wall_s": [r["wall_s"] for r in runs],
            "returncode": failed if failed is not None else middle.get("returncode")}
