"""The dictionary asset: validate the YAML, publish `dictionary.*`, render the docs."""

import dagster as dg

from orchestration.lib.dictionary import load_dictionary, publish
from orchestration.lib.dictionary.docs import render
from orchestration.lib.dictionary.tables import write_files
from orchestration.lib.home_resource import QualitraceHome
from orchestration.lib.warehouse import connect


@dg.asset(
    key=dg.AssetKey(["dictionary", "tables"]),
    group_name="dictionary",
    kinds={"python", "duckdb"},
    owners=["team:data-governance"],
    pool="warehouse",
    description="Validates data_dictionary/*.yml and publishes it as lookup tables in schema "
                "`dictionary` (entities, fields, aliases, vocabularies, units, provinces, code "
                "patterns, problem taxonomy, reason codes, missing thresholds); also renders "
                "<home>/reports/dictionary.html and dictionary.md, and writes the tables as "
                "Parquet to <home>/dbt/dictionary/ for dbt's compile-time lookups.",
    code_version="1",
)
def dictionary_tables(context: dg.AssetExecutionContext,
                      qualitrace: QualitraceHome) -> dg.MaterializeResult:
    """Load + validate (DictionaryError names file and key), publish, render docs."""
    settings = qualitrace.settings()
    dictionary = load_dictionary()  # data_dictionary/ or $QUALITRACE_DICTIONARY
    with connect(settings) as con:
        counts = publish(dictionary, con)
        write_files(con, settings.dictionary_tables)  # what dbt reads at compile time
    html, md = render(dictionary, settings.reports)
    context.log.info(f"published {len(counts)} dictionary tables: {counts}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(counts.values()),
        **{f"rows/{name}": n for name, n in counts.items()},
        "entities": len(dictionary.entities),
        "report_html": dg.MetadataValue.path(str(html)),
        "report_md": dg.MetadataValue.path(str(md)),
    })

