"""Every path under the exports root is landed, quarantined with a reason, or listed (issue 18):
subfolders, an upper-case system folder, files at the root, a folder named like a file,
dangling links and links leaving the root (refused without reading the target)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.ingest import discover, ingest_entity
from orchestration.lib.reconcile import collect_file_counts, reconcile
from orchestration.lib.settings import get_settings

HEADER = "complaint_id,channel,received_at,description,status\n"


def row(cid: str) -> str:
    return f"{cid},微信,2025-05-01 10:00,屏幕有划痕,新建\n"


def test_every_path_is_landed_quarantined_or_listed(tmp_path):
    d = load_dictionary(overlays=[])
    root = tmp_path / "exports"
    (root / "crm" / "2025-05").mkdir(parents=True)
    (root / "CRM").mkdir()
    (root / "misc").mkdir()
    (root / "crm" / "complaints_20250501.csv").write_text(HEADER + row("A1"), encoding="utf-8")
    (root / "CRM" / "complaints_20250502.csv").write_text(HEADER + row("A2"), encoding="utf-8")
    (root / "crm" / "2025-05" / "complaints_20250503.csv").write_text(HEADER + row("A3"))
    (root / "complaints_20250504.csv").write_text(HEADER + row("A4"), encoding="utf-8")
    (root / "misc" / "complaints_20250505.csv").write_text(HEADER + row("A5"), encoding="utf-8")
    (root / "crm" / "complaints_20250506.csv").mkdir()  # a folder named like a file
    (root / "crm" / "complaints_20250506.csv" / "inner.csv").write_text(HEADER + row("A6"))
    (root / "crm" / "complaints_20250507.csv").symlink_to(tmp_path / "gone.csv")  # dangling
    secret = tmp_path / "outside.csv"
    secret.write_text("root:x:0:0:SECRET-LINE\n", encoding="utf-8")
    (root / "crm" / "complaints_20250508.csv").symlink_to(secret)
    (root / "crm" / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    (root / "crm" / "returns_20250501.csv").write_text("x\n1\n", encoding="utf-8")
    (root / "README.md").write_text("notes", encoding="utf-8")
    (root / "truth.json").write_text("{}", encoding="utf-8")

    found = {f.rel_path: f for f in discover(root, d)}
    delivered = sorted(p for p, f in found.items() if f.entity)
    assert delivered == ["CRM/complaints_20250502.csv", "crm/complaints_20250501.csv"]
    reasons = {p: f.reason for p, f in found.items() if not f.entity}
    assert reasons == {
        "crm/2025-05/complaints_20250503.csv": "unexpected_location",
        "complaints_20250504.csv": "unexpected_location",
        "misc/complaints_20250505.csv": "unexpected_location",
        "crm/complaints_20250506.csv/": "unexpected_location",
        "crm/complaints_20250506.csv/inner.csv": "unexpected_location",
        "crm/complaints_20250507.csv": "dangling_link",
        "crm/complaints_20250508.csv": "outside_root",
        "crm/linked_dir": "outside_root",
        "crm/returns_20250501.csv": "unknown_entity",
        "README.md": None,  # notes beside the exports: listed, not quarantined
        "truth.json": None,
    }
    # every file on disk under the root is accounted for
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*")
               if p.is_file() or p.is_symlink()}
    assert on_disk <= set(found)

    settings = get_settings(tmp_path / "home", root)
    s = ingest_entity(settings, d, "crm", "complaints")
    assert s.rows_landed == 2
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        landed = con.execute("select complaint_id, _source_file from raw.crm__complaints "
                             "order by 1").fetchall()
        quarantined = dict(con.execute("select source_file, reason_code from raw._quarantine"
                                       ).fetchall())
        everything = " ".join(str(v) for t in ("_quarantine", "_file_manifest")
                              for r in con.execute(f"select * from raw.{t}").fetchall() for v in r)
        assert reconcile(collect_file_counts(con)) == []  # the ledger agrees on every file
    finally:
        con.close()
    assert landed == [("A1", "crm/complaints_20250501.csv"), ("A2", "CRM/complaints_20250502.csv")]
    assert quarantined == {p: r for p, r in reasons.items() if r}
    assert "SECRET-LINE" not in everything  # the link's target was never read
    # a second ingest records nothing twice
    ingest_entity(settings, d, "crm", "complaints")
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        assert con.execute("select count(*) from raw._quarantine").fetchone()[0] == len(quarantined)
    finally:
        con.close()
    assert os.path.exists(secret)


def test_an_edit_that_keeps_size_and_mtime_is_still_a_new_version(tmp_path):
    """The content hash decides "changed": a re-delivery with one character changed and the
    old size and mtime restored is landed (it supersedes the old version)."""
    d = load_dictionary(overlays=[])
    root = tmp_path / "exports"
    (root / "crm").mkdir(parents=True)
    f = root / "crm" / "complaints_20250601.csv"
    f.write_text(HEADER + row("B1"), encoding="utf-8")
    settings = get_settings(tmp_path / "home", root)
    assert ingest_entity(settings, d, "crm", "complaints").rows_landed == 1
    st = f.stat()
    f.write_text(HEADER + row("B2"), encoding="utf-8")  # same length, one character changed
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    again = ingest_entity(settings, d, "crm", "complaints")
    assert again.rows_landed == 1
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        assert con.execute("select complaint_id from raw.crm__complaints").fetchall() == [("B2",)]
        assert sorted(r[0] for r in con.execute(
            "select status from raw._file_manifest").fetchall()) == ["loaded", "superseded"]
        assert reconcile(collect_file_counts(con)) == []
    finally:
        con.close()
    # nothing changed: skipped without hashing
    assert ingest_entity(settings, d, "crm", "complaints").rows_landed == 0


def test_an_unwritable_home_is_one_line_and_exit_2(tmp_path):
    import subprocess
    import sys

    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    home = blocker / "home"  # its parent is a file: the home cannot be created
    repo = Path(__file__).resolve().parents[1]
    for args in (["run", "--home", str(home), "--exports", str(tmp_path)],
                 ["dictionary", "--home", str(home)]):
        proc = subprocess.run([sys.executable, "-m", "orchestration.cli", *args], cwd=repo,
                              capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot write to the Qualitrace home" in lines[0], lines
        assert "Traceback" not in proc.stderr


NAMES = ["production_batches_20250402.csv", "production_batches_20250402 (2).csv",
         "production_batches_20250402（３）.csv", "production_batches_２０２５０４０２_2.csv",
         "production_batches_20250402_副本.csv", "production_batches_20250402 - Copy.csv",
         "production_batches_20250402_12.tsv", "production_batches_20250403.xlsx",
         "mes/production_batches_20250401.jsonl"]


def test_one_file_name_parser_for_python_and_sql():
    """The order of deliveries (which version wins) is the same in Python and in dbt: a
    correction named `… (2).csv`, with full-width digits or `_副本` sorts after the original."""
    from orchestration.lib.dictionary.testing import ConformRunner
    from orchestration.lib.ingest.discover import order_key

    py = [order_key(n.rsplit("/", 1)[-1]) for n in NAMES]
    assert py == ["20250402-000000", "20250402-000002", "20250402-000003", "20250402-000002",
                  "20250402-000001", "20250402-000001", "20250402-000012", "20250403-000000",
                  "20250401-000000"]
    sql = ConformRunner().run("conform", [(n,) for n in NAMES], ["file_order"])
    assert [r["file_order"] for r in sql] == py


def test_impossible_dates_in_file_names_are_a_reason(tmp_path):
    d = load_dictionary(overlays=[])
    root = tmp_path / "exports"
    (root / "crm").mkdir(parents=True)
    for name in ("complaints_20241399.csv", "complaints_20250230.csv", "complaints_20250228.csv"):
        (root / "crm" / name).write_text(HEADER + row("D" + name[11:19]), encoding="utf-8")
    found = {f.rel_path: f for f in discover(root, d)}
    assert found["crm/complaints_20250228.csv"].entity == "complaints"
    for bad in ("crm/complaints_20241399.csv", "crm/complaints_20250230.csv"):
        assert found[bad].entity is None and found[bad].reason == "invalid_file_date"
        assert "no real date" in found[bad].problem


def test_a_failing_dbt_test_is_explained_with_example_keys(tmp_path):
    """A blocking dbt test names the model, the check, the failing count and example rows,
    not dagster-dbt's internal fields (issue 18 item 12)."""
    import json
    from types import SimpleNamespace

    import dagster as dg

    from orchestration.lib.runner import _check_reason, dbt_test_examples

    uid = "test.qualitrace.unique_int_batches_enriched_batch_code.abc"
    ce = SimpleNamespace(
        check_name="unique_int_batches_enriched_batch_code", description=None,
        asset_key=dg.AssetKey(["intermediate", "int_batches_enriched"]),
        metadata={"unique_id": dg.MetadataValue.text(uid), "status": "fail",
                  "Execution Duration": 0.12, "invocation_id": "x",
                  "dagster_dbt/failed_row_count": 2})
    reason = _check_reason(ce)
    assert reason.startswith("dbt test unique_int_batches_enriched_batch_code on "
                             "intermediate/int_batches_enriched: 2 failing row(s)")
    assert "Execution Duration" not in reason and "invocation_id" not in reason
    settings = get_settings(tmp_path / "home", tmp_path)
    settings.ensure()
    con = duckdb.connect(str(settings.warehouse))
    con.execute("create table t as select * from (values ('20250303-L01-001'), "
                "('20250303-L01-001'), ('20250304-L01-001')) as v(batch_code)")
    con.close()
    target = settings.dbt_target / "dbt_models"
    target.mkdir(parents=True)
    (target / "run_results.json").write_text(json.dumps({"results": [{
        "unique_id": uid, "status": "fail", "compiled_code":
            "select batch_code, count(*) as n_records from main.t group by batch_code "
            "having count(*) > 1"}]}), encoding="utf-8")
    assert dbt_test_examples(settings, uid) == \
        "e.g. {batch_code='20250303-L01-001', n_records=2}"
    assert dbt_test_examples(settings, "test.unknown") is None


def test_no_export_files_is_a_clear_distinct_exit(tmp_path):
    import subprocess
    import sys

    exports = tmp_path / "exports"
    (exports / "crm").mkdir(parents=True)
    (exports / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "orchestration.cli", "run", "--home",
                           str(tmp_path / "home"), "--exports", str(exports)], cwd=repo,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr
    assert "no export files under" in proc.stderr and "1 other path(s)" in proc.stderr
    assert not (tmp_path / "home" / "warehouse.duckdb").exists()


def test_a_deleted_delivery_is_reported(tmp_path):
    """A file deleted after it was landed is marked in the manifest (missing_since), its rows
    kept; it is cleared when the file comes back. The WARN check deleted_files reads it."""
    from orchestration.lib.quality import build_suites

    d = load_dictionary(overlays=[])
    root = tmp_path / "exports"
    (root / "crm").mkdir(parents=True)
    a, b = root / "crm" / "complaints_20250601.csv", root / "crm" / "complaints_20250602.csv"
    a.write_text(HEADER + row("E1"), encoding="utf-8")
    b.write_text(HEADER + row("E2"), encoding="utf-8")
    settings = get_settings(tmp_path / "home", root)
    ingest_entity(settings, d, "crm", "complaints")
    kept = b.read_bytes()
    b.unlink()
    ingest_entity(settings, d, "crm", "complaints")

    def manifest():
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        try:
            return dict(con.execute("select path, missing_since is not null from "
                                    "raw._file_manifest").fetchall()), \
                con.execute("select count(*) from raw.crm__complaints").fetchone()[0]
        finally:
            con.close()

    assert manifest() == ({"crm/complaints_20250601.csv": False,
                           "crm/complaints_20250602.csv": True}, 2)
    b.write_bytes(kept)
    ingest_entity(settings, d, "crm", "complaints")
    assert manifest()[0]["crm/complaints_20250602.csv"] is False
    spec = {s.name: s for s in build_suites(d)["governance.file_manifest"]}["deleted_files"]
    assert spec.severity == "WARN" and spec.params["value"] == "deleted"
