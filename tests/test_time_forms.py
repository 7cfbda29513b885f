"""Day-or-month-first dates a plant writes: the order is proposed only when its values settle
it (orchestration/lib/dictionary/time_forms.py), and the proposed form reads every value."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import given
from hypothesis import strategies as st

from orchestration.lib.dictionary import time_forms
from orchestration.lib.dictionary.normalize import time_text


def evidence(values: list[str], field: str = "erp.shipments.shipped_at") -> dict:
    found: dict = {}
    for v in values:
        time_forms.note(found, time_text(v), field, 1)
    return found


def test_a_day_above_12_settles_day_first():
    certain, choices = time_forms.proposals(evidence(["07.03.2025 16:20", "15.03.2025 08:05"]))
    assert choices == []
    assert certain == [{"name": "plant_dmy_dots_minutes", "kind": "strptime",
                        "format": "%d.%m.%Y %H:%M", "regex": r"\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}:\d{2}",
                        "example": "07.03.2025 16:20", "applies_to": "timestamp"}]


def test_a_us_export_is_month_first_with_its_12_hour_clock():
    certain, _ = time_forms.proposals(evidence(["3/6/2025 2:30:00 PM", "12/25/2025 9:05:10 am"]))
    assert [(c["name"], c["format"]) for c in certain] == [
        ("plant_mdy_slashes_seconds_12h", "%m/%d/%Y %I:%M:%S %p")]
    assert re.fullmatch(certain[0]["regex"], time_text("12/25/2025 9:05:10 am"))


def test_no_number_above_12_leaves_the_order_to_the_owner():
    certain, choices = time_forms.proposals(evidence(["07.03.2025", "01.02.2025", "07.03.2025"]))
    assert certain == []
    assert len(choices) == 1 and choices[0]["rows"] == 3
    assert choices[0]["day_first"]["format"] == "%d.%m.%Y"
    assert choices[0]["month_first"]["format"] == "%m.%d.%Y"
    assert choices[0]["day_first"]["applies_to"] == "both"  # a date alone: date fields too


def test_numbers_above_12_on_both_sides_are_no_date_and_other_text_no_shape():
    assert time_forms.proposals(evidence(["13.14.2025", "15.13.2025"])) == ([], [])
    assert evidence(["2025-03-06 14:30", "see notes", "06.03.25"]) == {}


@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 12, 31)),
       st.sampled_from([".", "/", "-"]), st.booleans(),
       st.sampled_from(["", " %H:%M", " %H:%M:%S", " %I:%M %p"]), st.times())
def test_a_proposed_form_reads_the_value_as_the_date_it_is(day, sep, day_first, clock, t):
    when = dt.datetime.combine(day, t.replace(microsecond=0))
    order = f"%d{sep}%m{sep}%Y" if day_first else f"%m{sep}%d{sep}%Y"
    text = when.strftime(order + clock)
    # a value that settles the order (its day above 12) beside this one
    settle = dt.datetime(2025, 1, 25, 10, 0).strftime(order + clock)
    certain, choices = time_forms.proposals(evidence([text, settle]))
    assert choices == [] and len(certain) == 1
    entry = certain[0]
    assert re.fullmatch(entry["regex"], time_text(text))
    parsed = dt.datetime.strptime(time_text(text), entry["format"])
    want = when if clock else dt.datetime.combine(day, dt.time())
    if clock in (" %H:%M", " %I:%M %p"):
        want = want.replace(second=0)
    assert parsed == want
