"""A plant's numeric date form, inferred from the values no shipped form reads (for
`qualitrace dictionary suggest`).

`06.03.2025` is the 6th of March in Germany and June 3rd in the US, so no shipped form reads
a date that starts with the day or the month. A plant's values usually settle it: a first
number above 12 is a day (day first), a second one above 12 is a day (month first). Such a
form is proposed as certain; when no value settles it, both orders are offered for the owner
to choose. Pure functions over the text as the conformance normalises it
(`normalize.time_text`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

_NUMERIC_DATE = re.compile(
    r"^(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<year>\d{4})"
    r"(?: (?P<clock>\d{1,2}:\d{2}(?::\d{2})?)(?: (?P<half>[AP]M))?)?$", re.ASCII)
_SEPARATOR_NAMES = {".": "dots", "/": "slashes", "-": "dashes"}
MAX_EXAMPLES = 3


@dataclass(frozen=True)
class DateShape:
    """How a day-or-month-first value is written: separator, clock (none, minutes,
    seconds), 12-hour clock or not."""

    sep: str
    clock: str
    half_day: bool


@dataclass
class ShapeEvidence:
    """What the values of one shape say about the order of their first two numbers."""

    rows: int = 0
    first_max: int = 0
    second_max: int = 0
    examples: list[str] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)


def shape_of(text: str) -> tuple[DateShape, int, int] | None:
    """(shape, first number, second number) of a normalised value that starts with a day or
    a month (`06.03.2025 14:30`, `3/6/2025 2:30 PM`); None for anything else."""
    m = _NUMERIC_DATE.match(text)
    if not m:
        return None
    clock = m["clock"] or ""
    kind = "" if not clock else ("seconds" if clock.count(":") == 2 else "minutes")
    return DateShape(m["sep"], kind, bool(m["half"])), int(m["a"]), int(m["b"])


def note(evidence: dict[DateShape, ShapeEvidence], text: str, field_name: str,
         rows: int) -> None:
    """Add one normalised value (seen `rows` times in `field_name`) to the evidence."""
    found = shape_of(text)
    if found is None:
        return
    shape, first, second = found
    e = evidence.setdefault(shape, ShapeEvidence())
    e.rows += rows
    e.first_max, e.second_max = max(e.first_max, first), max(e.second_max, second)
    e.fields.add(field_name)
    if len(e.examples) < MAX_EXAMPLES and text not in e.examples:
        e.examples.append(text)


def form(shape: DateShape, day_first: bool, example: str) -> dict:
    """The overlay `timestamp_formats` entry reading `shape` in one order."""
    sep, esc = shape.sep, re.escape(shape.sep)
    date_fmt = f"%d{sep}%m{sep}%Y" if day_first else f"%m{sep}%d{sep}%Y"
    regex = rf"\d{{1,2}}{esc}\d{{1,2}}{esc}\d{{4}}"
    name = f"plant_{'dmy' if day_first else 'mdy'}_{_SEPARATOR_NAMES[sep]}"
    if shape.clock:
        hour = "%I" if shape.half_day else "%H"
        date_fmt += f" {hour}:%M" + (":%S" if shape.clock == "seconds" else "")
        regex += r" \d{1,2}:\d{2}" + (r":\d{2}" if shape.clock == "seconds" else "")
        name += f"_{shape.clock}"
        if shape.half_day:
            date_fmt += " %p"
            regex += " [AP]M"
            name += "_12h"
    return {"name": name, "kind": "strptime", "format": date_fmt, "regex": regex,
            "example": example, "applies_to": "timestamp" if shape.clock else "both"}


def _reads_all(entry: dict, examples: list[str]) -> bool:
    try:
        for text in examples:
            dt.datetime.strptime(text, entry["format"])
    except ValueError:
        return False
    return True


def proposals(evidence: dict[DateShape, ShapeEvidence]) -> tuple[list[dict], list[dict]]:
    """(entries certain enough to apply, choices for the owner). A shape is day first when
    a first number is above 12 and no second one is, month first the other way round; when
    every number is 12 or less both orders are offered; when both exceed 12 it is no date."""
    certain, choices = [], []
    for shape, e in sorted(evidence.items(), key=lambda kv: (-kv[1].rows, repr(kv[0]))):
        day_first = form(shape, True, e.examples[0])
        month_first = form(shape, False, e.examples[0])
        fields = sorted(e.fields)
        if e.first_max > 12 >= e.second_max and _reads_all(day_first, e.examples):
            certain.append(day_first)
        elif e.second_max > 12 >= e.first_max and _reads_all(month_first, e.examples):
            certain.append(month_first)
        elif e.first_max <= 12 and e.second_max <= 12:
            choices.append({
                "examples": list(e.examples), "rows": e.rows, "fields": fields,
                "note": "no value has a number above 12 before the year, so the order is "
                        "yours to say: move the right form to timestamp_formats",
                "day_first": day_first, "month_first": month_first})
    return certain, choices
