"""Unit tests of the generator's pure formatting helpers."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest

from orchestration.lib.generator import formats as F
from orchestration.lib.generator.plant import Sizes
from orchestration.lib.generator.readings import UNIT_MIX, to_canonical
from orchestration.lib.generator.writers import write_xlsx

T = dt.datetime(2024, 3, 15, 6, 2, 11)  # UTC = 14:02:11 plant time


@pytest.mark.parametrize("form, expected", [
    ("iso_space", "2024-03-15 14:02:11"), ("slash", "2024/3/15 14:02"), ("cn", "2024年3月15日 14:02"),
    ("iso_offset", "2024-03-15T14:02:11+08:00"), ("epoch_ms", 1710482531000),
])
def test_timestamp_forms(form, expected):
    assert F.fmt_ts(T, form) == expected


def test_excel_serial_is_plant_local():
    assert F.fmt_ts(T, "excel") == pytest.approx(45366 + (14 * 3600 + 2 * 60 + 11) / 86400, abs=1e-6)


def test_date_forms():
    d = dt.date(2024, 3, 5)
    assert [F.fmt_date(d, f) for f in F.DATE_FORMS] == ["2024-03-05", "2024/3/5", "20240305", "2024年3月5日"]


def test_batch_forms_per_system():
    d = dt.date(2024, 3, 15)
    assert F.canonical_batch(d, 2, 3) == "20240315-L02-003"
    assert [F.batch_mes(d, 2, 3, v) for v in range(3)] == ["20240315-L2-003", "20240315-L02-3", "20240315-L02-003"]
    assert F.batch_erp(d, 2, 3) == "B24031502003"
    assert F.batch_qms(d, 2, 3) == "LOT#20240315/L2/3"
    label = F.batch_label(d, 2, 3)
    assert label == "240315L2003"
    assert F.crm_batch_typed(label, 1) == "240315-l2-003"
    assert F.crm_batch_typed(label, 2) == "批号：２４０３１５Ｌ２００３"
    assert all(F.crm_batch_broken(label, v) != label for v in range(3))


def test_units_round_trip_and_shift_line_forms():
    for param, mix in UNIT_MIX.items():
        for unit, _p, scale, offset, _d in mix:
            assert to_canonical(param, 100 * scale + offset, unit) == pytest.approx(100)
    assert {F.fmt_shift(s, v) for s in ("day", "swing", "night") for v in (0, 1)} == set("早中夜ABC")
    assert [F.fmt_line(2, v) for v in range(4)] == ["L2", "2", "2号线", "L02"]
    assert [F.fmt_severity(10, v) for v in range(3)] == ["10", "紧急", "Critical"]


def test_sizes_floor_and_scale_one():
    small, one = Sizes.of(0.01), Sizes.of(1)
    assert small.complaints >= 400 and small.batches >= 100 and small.shipments >= 500
    assert (one.lines, one.batches, one.readings, one.shipments, one.complaints) == (5, 10000, 5_000_000, 50000, 20000)
    with pytest.raises(ValueError):
        Sizes.of(0)


def test_xlsx_is_readable_and_deterministic(tmp_path):
    rows = [["a", "时间"], ["x<y", 45366.5], [None, 3]]
    write_xlsx(tmp_path / "a.xlsx", rows)
    write_xlsx(tmp_path / "b.xlsx", rows)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    wb = openpyxl.load_workbook(tmp_path / "a.xlsx")
    assert list(wb.active.values) == [("a", "时间"), ("x<y", 45366.5), (None, 3)]
    assert zipfile.is_zipfile(io.BytesIO((tmp_path / "a.xlsx").read_bytes()))


def test_cli_rejects_a_bad_scale(tmp_path, capsys):
    from orchestration.cli import main
    assert main(["generate", "--out", str(tmp_path / "x"), "--scale", "-1"]) == 2
    assert "scale must be positive" in capsys.readouterr().err
