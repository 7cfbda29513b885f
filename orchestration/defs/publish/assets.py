"""Publish (blue/green): `marts_build.*` -> `marts.*` in one transaction, plus Parquet."""


import dagster as dg

from orchestration.lib import freshness
from orchestration.lib.home_resource import QualitraceHome
from orchestration.lib.publish import DESCRIPTIONS, MARTS, publish_marts


def build_publish(gate=()) -> dg.AssetsDefinition:
    """The publish multi-asset; it waits for every gated asset as well as marts_build."""
    gate = sorted(set(gate), key=lambda k: k.to_user_string())
    specs = [
        dg.AssetSpec(
            key=dg.AssetKey(["marts", name]),
            deps=[dg.AssetKey(["marts_build", name]), *gate],
            group_name="marts",
            description=f"Published mart (blue). {DESCRIPTIONS[name]} "
                        f"Also exported as `<home>/marts/{name}.parquet`.",
            owners=["team:quality-analytics"],
            kinds={"python", "duckdb", "parquet"},
            skippable=False,
        )
        for name in MARTS
    ]

    @dg.multi_asset(specs=specs, name="publish_marts", pool="warehouse")
    def publish(context: dg.AssetExecutionContext, qualitrace: QualitraceHome):
        """Swap every mart into `marts` atomically once the gate passed; write Parquet."""
        settings = qualitrace.settings()
        counts = publish_marts(settings)
        if freshness.after_publish(settings, context.run.run_id):
            context.log.info("recorded the published inputs: the next run skips dbt, the "
                             "gate and publish unless a file, the dictionary or code changes")
        schemas = column_schemas(settings, MARTS)
        for name in MARTS:
            yield dg.MaterializeResult(
                asset_key=dg.AssetKey(["marts", name]),
                metadata={
                    "dagster/row_count": counts[name],
                    "dagster/column_schema": schemas[name],
                    "table": f"marts.{name}",
                    "parquet": dg.MetadataValue.path(
                        str(settings.parquet_dir / f"{name}.parquet")),
                },
            )

    return publish


def column_schemas(settings, names) -> dict[str, dg.TableSchema]:
    """Each published mart's columns with their DuckDB types and descriptions (the dbt YAML,
    orchestration/lib/column_docs.py), shown in the Dagster UI."""
    from orchestration.lib.column_docs import mart_docs
    from orchestration.lib.warehouse import connect

    out = {}
    with connect(settings, read_only=True) as con:
        for name in names:
            docs = mart_docs().get(name, ("", {}))[1]
            rows = con.execute("select column_name, data_type from information_schema.columns "
                               "where table_schema = 'marts' and table_name = ? "
                               "order by ordinal_position", [name]).fetchall()
            out[name] = dg.TableSchema(columns=[
                dg.TableColumn(c, t, description=docs.get(c)) for c, t in rows])
    return out


def gate_keys(*areas: dg.Definitions) -> set[dg.AssetKey]:
    """Assets carrying a blocking stand-alone check (GX suites, reconciliation): the gate.

    dbt tests are left out: a failing dbt test already fails its `dbt build` step. Dagster
    holds back only the *direct* dependents of an asset whose blocking check failed, so
    publish depends directly on every gated asset.
    """
    keys = set()
    for defs in areas:
        for checks_def in defs.asset_checks or []:
            for spec in getattr(checks_def, "check_specs", []):
                if spec.blocking:
                    keys.add(spec.asset_key)
    return keys


def build_defs(gate=()) -> dg.Definitions:
    return dg.Definitions(assets=[build_publish(gate)])
