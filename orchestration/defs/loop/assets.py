"""Closing the loop after every publish (sensor-triggered runs too): `marts/escalations` (the
rules of data_dictionary/escalations.yml over the published marts, alerted and resolved
through the alert path), `marts/hold_list` (what to hold and where its units are) and
`reports/dashboard` (the quality dashboard over all of it); `reports/dbt_docs` (the dbt docs
site, when the project changed)."""

import dagster as dg

from orchestration.lib.home_resource import QualitraceHome
from orchestration.lib.publish import MARTS

DESCRIPTIONS = {
    "escalations": "Published. One row per escalation rule firing (data_dictionary/"
                   "escalations.yml evaluated over the published marts): rule, key, window, "
                   "evidence, first/last seen, status open/resolved. New ones are alerted "
                   "(alerts.jsonl, webhook); cleared ones resolve.",
    "hold_list": "Published. One row per (suspect, batch to hold) for the suspects an open "
                 "escalation or the top of the ranking implicates: units in stock, in transit "
                 "and in the field (per province and customer), and why. A new hold is posted "
                 "to the webhook as event_type `hold`.",
}


@dg.multi_asset(
    specs=[dg.AssetSpec(key=["marts", name], group_name="marts",
                        deps=[dg.AssetKey(["marts", m]) for m in MARTS],
                        description=f"{text} Also `<home>/marts/{name}.parquet`.",
                        kinds={"python", "duckdb", "parquet"},
                        owners=["team:quality-analytics"], skippable=False)
           for name, text in DESCRIPTIONS.items()],
    name="close_the_loop", pool="warehouse")
def close_the_loop(context: dg.AssetExecutionContext, qualitrace: QualitraceHome):
    """Evaluate the escalation rules, refresh the hold list, deliver what is new."""
    from orchestration.lib.escalation.engine import close_the_loop as run_loop

    settings = qualitrace.settings()
    result = run_loop(settings)
    context.log.info(f"escalations: {result.open_count} open, {len(result.opened)} new, "
                     f"{len(result.resolved)} resolved; holds: {len(result.holds)} "
                     f"({len(result.new_holds)} new)")
    yield dg.MaterializeResult(asset_key=dg.AssetKey(["marts", "escalations"]), metadata={
        "dagster/row_count": len(result.escalations), "open": result.open_count,
        "opened_this_run": len(result.opened), "resolved_this_run": len(result.resolved),
        "table": "marts.escalations",
        "parquet": dg.MetadataValue.path(str(settings.parquet_dir / "escalations.parquet"))})
    yield dg.MaterializeResult(asset_key=dg.AssetKey(["marts", "hold_list"]), metadata={
        "dagster/row_count": len(result.holds), "new_this_run": len(result.new_holds),
        "table": "marts.hold_list",
        "parquet": dg.MetadataValue.path(str(settings.parquet_dir / "hold_list.parquet"))})


@dg.asset(key=["reports", "dashboard"], group_name="governance",
          deps=[dg.AssetKey(["marts", "escalations"]), dg.AssetKey(["marts", "hold_list"])],
          kinds={"python", "html"}, owners=["team:quality-analytics"], pool="warehouse",
          description="Quality dashboard <home>/reports/dashboard.html, rebuilt after every "
                      "publish: Pareto of problem types (current and previous period), weekly "
                      "trend with spikes, complaint rate by region, top suspects per problem "
                      "type, SPC charts with violations, open escalations and the hold list; "
                      "each chart with its table and a link to its mart. Opens offline.")
def quality_dashboard(qualitrace: QualitraceHome) -> dg.MaterializeResult:
    from orchestration.lib.dashboard import render_dashboard

    path = render_dashboard(qualitrace.settings())
    return dg.MaterializeResult(metadata={"dashboard": dg.MetadataValue.path(str(path))})


@dg.asset(key=["reports", "dbt_docs"], group_name="governance",
          deps=[dg.AssetKey(["marts", m]) for m in MARTS], kinds={"dbt", "html"},
          owners=["team:data-engineering"], pool="warehouse",
          description="dbt docs site <home>/reports/docs/index.html: every model and column of "
                      "the project with its description and type, lineage included, as one "
                      "static page that opens offline. Rebuilt when the dbt project changed.")
def dbt_docs(context: dg.AssetExecutionContext, qualitrace: QualitraceHome) -> dg.MaterializeResult:
    from orchestration.lib.dbt_docs import DocsError, build_docs_site
    from orchestration.lib.settings import docs_site_enabled

    if not docs_site_enabled():
        return dg.MaterializeResult(metadata={"skipped": "QUALITRACE_DOCS_SITE=0"})
    try:
        path, rebuilt = build_docs_site(qualitrace.settings())
    except DocsError as exc:  # the docs never turn a published run red
        context.log.warning(f"dbt docs not rebuilt: {exc}")
        return dg.MaterializeResult(metadata={"error": str(exc)[:2000]})
    return dg.MaterializeResult(metadata={"docs": dg.MetadataValue.path(str(path)),
                                          "rebuilt": rebuilt})

