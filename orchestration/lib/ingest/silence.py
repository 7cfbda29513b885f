"""When a source system stopped delivering: the age of its newest landed file.

A system is silent when no new file of it has been landed (raw._file_manifest.first_seen,
the wall-clock time the file was first seen) for longer than the dictionary's
`delivery_silence_hours` (governance.yml)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Silence:
    system: str
    last_new_file: dt.datetime | None  # None: nothing delivered yet
    hours: float | None
    silent: bool

    def describe(self, max_hours: float) -> str:
        if self.last_new_file is None:
            return f"{self.system}: no file delivered yet"
        state = "silent" if self.silent else "delivering"
        return (f"{self.system}: {state}: newest file landed {self.hours:.0f} h ago "
                f"({self.last_new_file:%Y-%m-%d %H:%M} UTC; limit {max_hours:g} h)")


def judge(last_new: dict[str, dt.datetime | None], now: dt.datetime,
          max_hours: float) -> dict[str, Silence]:
    """Per system, how long since its newest file; silent past `max_hours`. A system that
    never delivered is not judged silent (nothing stopped)."""
    out = {}
    for system, last in last_new.items():
        if last is None:
            out[system] = Silence(system, None, None, False)
            continue
        hours = max((now - last).total_seconds() / 3600, 0.0)
        out[system] = Silence(system, last, hours, hours > max_hours)
    return out


def last_new_files(con, systems) -> dict[str, dt.datetime | None]:
    """The newest first_seen per system in raw._file_manifest (any status but superseded)."""
    rows = dict(con.execute(
        "SELECT system, max(first_seen) FROM raw._file_manifest "
        "WHERE status <> 'superseded' GROUP BY system").fetchall())
    return {s: rows.get(s) for s in systems}
