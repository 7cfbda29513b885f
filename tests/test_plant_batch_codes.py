"""A plant whose batch numbers are its own sequence (`PB-0001`) traces complaints and
shipments once `dictionary suggest`'s batch pattern is applied (issue 12).

Batch codes without a production date and line cannot be rewritten to `YYYYMMDD-Lnn-sss`:
without a pattern every MES batch, serial, shipment and consumption row naming one is
quarantined (`invalid_batch_code`) and the marts trace nothing. `suggest` writes a pattern
without groups from the shapes of the MES batches' own codes; applied as is, those codes are
kept as written and every system's reference to them links. The exports are the hand-written
foreign plant (tests/fixtures/foreign_plant) with each batch code, in whichever system's form
it was typed, replaced by that plant's own number. The real CLI runs the real pipeline.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.support.homes import query
from tests.support.runs import qualitrace

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).parent / "fixtures" / "foreign_plant" / "exports"
# (yy, m, d, line, seq) of the fixture's batches -> the plant's own number
NUMBERS = {(25, 3, 3, 1, 1): "PB-0001", (25, 3, 3, 2, 1): "PB-0002", (25, 3, 4, 1, 1): "PB-0003"}
FORMS = [r"\b(20\d{2})(\d{2})(\d{2})-L(\d{1,2})-(\d{1,3})\b",   # MES
         r"\bB(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})\b",             # ERP
         r"LOT#(20\d{2})(\d{2})(\d{2})/L(\d{1,2})/(\d{1,3})",     # QMS
         r"\b(\d{2})(\d{2})(\d{2})-?[lL](\d)-?(\d{3})\b"]         # typed into complaints


def _renumber(match: re.Match) -> str:
    y, m, d, line, seq = (int(g) for g in match.groups())
    return NUMBERS[(y % 100, m, d, line, seq)]


def plant_numbered(exports: Path) -> set[str]:
    """Rewrite every batch code of the copied fixture; returns the files changed."""
    changed = set()
    for path in sorted(exports.rglob("*.csv")):
        raw = path.read_bytes()
        try:
            text, encoding = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = raw.decode("gbk"), "gbk"
        new = text
        for form in FORMS:
            new = re.sub(form, _renumber, new)
        if new != text:
            path.write_bytes(new.encode(encoding))
            changed.add(path.relative_to(exports).as_posix())
    return changed


@pytest.fixture(scope="module")
def numbered_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("plant_numbers")
    exports, home = root / "exports", root / "home"
    shutil.copytree(FIXTURE, exports)
    changed = plant_numbered(exports)
    assert {"mes/production_batches_20250304.csv", "erp/shipments_20250305.csv",
            "mes/serials_20250304.csv", "crm/complaints_20250310.csv"} <= changed
    patch = root / "patch.yml"
    suggest = qualitrace("dictionary", "suggest", "--exports", str(exports), "--home", str(home),
                         "--out", str(patch))
    assert suggest.returncode == 0, suggest.stderr
    (home / "dictionary").mkdir(parents=True)
    shutil.copy(patch, home / "dictionary" / "plant.yml")
    proc = qualitrace("run", "--home", str(home), "--exports", str(exports))
    return home, yaml.safe_load(patch.read_text(encoding="utf-8")), proc


def test_suggest_writes_a_pattern_that_keeps_the_plants_numbers(numbered_run):
    _, patch, _ = numbered_run
    assert [(p["system"], p["regex"], p["example"]) for p in patch["batch_patterns"]] == [
        ("mes", r"^PB\-\d{4}$", "PB-0001")]


def test_batches_and_every_reference_to_them_link(numbered_run):
    home, _, proc = numbered_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lost = query(home, "select entity, count(*) from governance.quarantine "
                       "where reason_code = 'invalid_batch_code' group by 1")
    assert lost == []
    batches = query(home, "select batch_code, line, units_produced from marts.batch_quality "
                          "order by 1")
    assert batches == [("PB-0001", "L01", 118), ("PB-0002", "L02", 80), ("PB-0003", "L01", 120)]
    traced = dict(query(home, "select complaint_id, batch_code from marts.complaint_trace "
                              "where batch_code is not null"))
    # a batch typed into the complaint (TS-25031001/2), a serial of batch PB-0002 (…03)
    assert traced == {"TS-25031001": "PB-0001", "TS-25031002": "PB-0001",
                      "TS-25031003": "PB-0002"}
    # forward: batch PB-0001 -> its two shipments (DN-0501, DN-0502), two customers
    shipped = query(home, "select shipment_no, customer_code from marts.forward_trace "
                          "where suspect_kind = 'batch' and suspect_id = 'PB-0001' order by 1")
    assert [s for s, _ in shipped] == ["DN-0501", "DN-0502"]
    assert len({c for _, c in shipped}) == 2
