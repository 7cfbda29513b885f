"""The dictionary asset: validate the YAML, publish `dictionary.*`, render the docs."""

import dagster as dg

from orchestration.lib.dictionary import load_dictionary, publish
from orchestration.lib.dictionary.docs import render
from orchestration.lib.dictionary.tables import (
    publication_stamp,
    record_publication,
    still_published,
    write_files,
)
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
    stamp = publication_stamp(dictionary)
    html, md = settings.reports / "dictionary.html", settings.reports / "dictionary.md"
    with connect(settings) as con:
        # the same dictionary and code as the last publication, whose tables, Parquet files
        # and pages are all in place: nothing to redo (0.2-0.5 s and pandas' import per run)
        counts = still_published(con, settings.dictionary_tables, (html, md), stamp)
        if counts is None:
            counts = publish(dictionary, con)
            write_files(con, settings.dictionary_tables)  # what dbt reads at compile time
            html, md = render(dictionary, settings.reports)
            record_publication(settings.dictionary_tables, stamp, counts)
            context.log.info(f"published {len(counts)} dictionary tables: {counts}")
        else:
            context.log.info(f"dictionary unchanged since its last publication: {len(counts)} "
                             f"tables stand ({sum(counts.values())} rows)")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(counts.values()),
        **{f"rows/{name}": n for name, n in counts.items()},
        "entities": len(dictionary.entities),
        "report_html": dg.MetadataValue.path(str(html)),
        "report_md": dg.MetadataValue.path(str(md)),
    })

