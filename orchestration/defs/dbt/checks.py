"""Reconciliation as a blocking check (issue 8.2): per file, rows read = rows landed +
rows quarantined, and landed rows all reach staging (valid or rejected). A failure holds
back publish: `marts_build` is already rebuilt, the published marts stay as they were."""


import dagster as dg

from orchestration.lib.home_resource import QualitraceHome
from orchestration.lib.reconcile import collect_file_counts, reconcile
from orchestration.lib.warehouse import connect

FILE_MANIFEST = dg.AssetKey(["governance", "file_manifest"])


@dg.asset_check(
    asset=FILE_MANIFEST,
    name="rows_reconcile",
    blocking=True,
    description="Per file: rows_read = rows_landed + rows_quarantined, and every landed row "
                "is in staging either valid or rejected. Blocks publishing on failure.",
    pool="warehouse",
)
def rows_reconcile(qualitrace: QualitraceHome) -> dg.AssetCheckResult:
    with connect(qualitrace.paths(), read_only=True) as con:
        files = collect_file_counts(con)
    problems = reconcile(files)
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description=problems[0] if problems else None,
        metadata={
            "files": len(files),
            "rows_read": sum(f.rows_read for f in files),
            "rows_landed": sum(f.rows_landed for f in files),
            "rows_quarantined": sum(f.rows_quarantined for f in files),
            "mismatches": len(problems),
            "first_mismatches": dg.MetadataValue.md(
                "\n".join(f"- {p}" for p in problems[:20]) or "none"),
        },
    )
