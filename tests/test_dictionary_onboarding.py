"""Onboarding: a new plant's export loads after a YAML-only dictionary change.

Before the change its new header aliases make the file quarantined (missing required column)
with the headers recorded as gaps, its new batch-code form and unit spelling make rows
rejected; after adding them to a copy of data_dictionary/ (via $QUALITRACE_DICTIONARY) the same
export lands and conforms. Runs the real ingest, dictionary and dbt assets (selection).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.lib.settings import DICTIONARY_DIR
from tests.support.homes import query

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[1]
SELECTION = [["dictionary", "tables"], ["raw", "mes__material_consumption"],
             ["staging", "base_mes__material_consumption"], ["staging", "stg_mes__material_consumption"]]

# new header spellings for batch and material_lot, otherwise a normal export
NEW_HEADERS = ("生产批次编号,物料编码,用料批号,数量,单位\n"
               "20240315-L02-003,M0001,ML2403010001,120,pcs\n"
               "20240315-L02-003,M0002,ML2403010002,2.5,kg\n")
# known headers; a new batch-code form (PB...) and a new unit spelling (公两 = 50 g)
NEW_VALUES = ("batch,material_code,material_lot,qty,unit\n"
              "PB20240316L02S004,M0001,ML2403010003,1500,pcs\n"
              "20240316-L2-5,M0002,ML2403010004,30,公两\n")


def _onboard_yaml(dd: Path) -> None:
    """The YAML-only change a governance owner makes."""
    mes = dd / "entities" / "mes.yml"
    text = mes.read_text(encoding="utf-8")
    start = text.index("  - name: material_consumption\n")  # its two fields gain a spelling
    block = text[start:].replace("{name: batch, aliases: [", "{name: batch, aliases: [生产批次编号, ", 1)
    block = block.replace("{name: material_lot, aliases: [",
                          "{name: material_lot, aliases: [用料批号, ", 1)
    assert "生产批次编号" in block and "用料批号" in block
    mes.write_text(text[:start] + block, encoding="utf-8")
    units = dd / "units.yml"
    units.write_text(units.read_text(encoding="utf-8").replace(
        "{unit: 斤, factor: 0.5, spellings: [斤, 市斤]}",
        "{unit: 斤, factor: 0.5, spellings: [斤, 市斤]}\n      - {unit: 两, factor: 0.05, spellings: [两, 公两]}"),
        encoding="utf-8")
    codes = dd / "codes.yml"
    codes.write_text(codes.read_text(encoding="utf-8").replace("serial_label_prefixes:", """batch_patterns_extra_marker: null
serial_label_prefixes:""").replace("batch_patterns_extra_marker: null\n", "").replace(
        "\nserial_label_prefixes:", """
  - system: mes
    name: mes_plant2
    regex: '^PB(\\d{4})(\\d{2})(\\d{2})L(\\d{2})S(\\d{3})$'
    example: PB20240316L02S004
    description_en: Second plant's MES form PB<YYYYMMDD>L<LL>S<SSS>.
    description_zh: 二厂 MES 格式 PB<年月日>L<线号>S<序号>。
    year_group: 1
    year_digits: 4
    month_group: 2
    day_group: 3
    line_group: 4
    seq_group: 5

serial_label_prefixes:""", 1), encoding="utf-8")


def _run(home: Path, exports: Path, dictionary: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUALITRACE_")}
    env.update(QUALITRACE_HOME=str(home), QUALITRACE_EXPORTS=str(exports),
               QUALITRACE_DICTIONARY=str(dictionary))
    code = ("import sys, json; from orchestration.lib.runner import run; "
            "from orchestration.lib.settings import get_settings; "
            f"sys.exit(run(get_settings().ensure(), sys.stdout, {json.dumps(SELECTION)}))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, check=False,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout


def test_new_export_loads_after_a_yaml_only_change(tmp_path):
    exports = tmp_path / "exports"
    (exports / "mes").mkdir(parents=True)
    (exports / "mes" / "material_consumption_20240316.csv").write_text(NEW_HEADERS, encoding="utf-8")
    (exports / "mes" / "material_consumption_20240317.csv").write_text(NEW_VALUES, encoding="utf-8")
    dd = tmp_path / "data_dictionary"
    shutil.copytree(DICTIONARY_DIR, dd)

    before = tmp_path / "before"
    _run(before, exports, dd)
    quarantined = query(before, "select source_file, source_row, reason_code, detail from raw._quarantine")
    assert [q[:3] for q in quarantined] == [
        ("mes/material_consumption_20240316.csv", None, "missing_required_column")]
    assert "生产批次编号" in quarantined[0][3] and "用料批号" in quarantined[0][3]  # reported
    rejects = dict(query(before, "select _source_row, _reject_reason from staging.base_mes__material_consumption "
                                  "where _reject_reason is not null"))
    # the unmatched required batch code is rejected; the unknown unit is a gap: the row is kept,
    # its quantity NULL (never guessed) until the dictionary knows the unit
    assert "invalid_batch_code" in rejects[2] and 3 not in rejects
    assert query(before, "select _source_row, qty, unit, unit_is_known from "
                          "staging.stg_mes__material_consumption") == [(3, None, "公两", False)]

    _onboard_yaml(dd)
    after = tmp_path / "after"
    _run(after, exports, dd)
    assert query(after, "select count(*) from raw._quarantine") == [(0,)]
    rows = query(after, "select _source_file, _source_row, batch, qty from staging.stg_mes__material_consumption "
                         "order by 1, 2")
    assert [(r[2], round(r[3], 6)) for r in rows] == [
        ("20240315-L02-003", 120.0), ("20240315-L02-003", 2.5),
        ("20240316-L02-004", 1500.0), ("20240316-L02-005", 1.5)]
