"""A table's row count, said in dbt's log by the report_row_count post-hook while dbt holds
the warehouse, is read from that line and nothing else (the events reach Dagster with it as
dbt goes: tests/test_e2e.py checks the counts against the tables)."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.dbt.assets import _with_row_count, reported_row_count


def _line(msg, name="JinjaLogInfo", unique_id="model.qualitrace.base_erp__materials") -> dict:
    # the shape of a line of `dbt --log-format json` (taken from a build's dbt.log)
    node = {"node_info": {"unique_id": unique_id, "node_name": unique_id.split(".")[-1],
                          "resource_type": "model"}} if unique_id else {}
    return {"info": {"name": name, "msg": msg, "level": "info", "code": "I062"},
            "data": {"msg": msg, **node}}


def test_the_count_line_names_its_model_and_rows():
    assert reported_row_count(_line("qualitrace_rows=14")) == ("model.qualitrace.base_erp__materials", 14)
    assert reported_row_count(_line("qualitrace_rows=0 ")) == ("model.qualitrace.base_erp__materials", 0)


def test_other_lines_are_not_counts():
    assert reported_row_count(_line("qualitrace_rows=many")) is None
    assert reported_row_count(_line("14 rows")) is None
    assert reported_row_count(_line("qualitrace_rows=14", name="LogModelResult")) is None
    assert reported_row_count(_line("qualitrace_rows=14", unique_id=None)) is None  # not in a node
    assert reported_row_count({"info": {"name": "JinjaLogInfo", "msg": None}}) is None
    assert reported_row_count({}) is None


def test_the_count_goes_on_a_model_event_only():
    out = _with_row_count(dg.Output(None, output_name="x", metadata={"a": 1}), 7)
    assert out.metadata == {"a": dg.IntMetadataValue(1), "dagster/row_count": dg.IntMetadataValue(7)}
    check = dg.AssetCheckResult(asset_key=dg.AssetKey("x"), check_name="c", passed=True)
    assert _with_row_count(check, 7) is check


def test_every_standing_event_comes_before_dbts_first():
    """Dagster takes a multi-asset's outputs in topological order only, and a model dbt builds
    may read one a partial build left standing: its event must not come first (a one-file run
    at scale 1 failed so, in 2 of 5 runs, when dbt's first node beat the standing events)."""
    from orchestration.defs.dbt.assets import events_in_dagster_order

    standing = [f"standing {i}" for i in range(50)]
    lines = ["dbt starts", "dbt parses", "model a done", "a log line", "model b done"]
    out, calls = [], []

    def to_events(line: str) -> list[str]:
        calls.append(len(out))  # how many events had gone to Dagster when dbt wrote this line
        return [f"built {line}"] if line.startswith("model") else []

    for event in events_in_dagster_order(lines, iter(standing), to_events, live=True, slice_s=0):
        out.append(event)  # noqa: PERF402 - to_events reads how far it got
    assert out == [*standing, "built model a done", "built model b done"]
    # while dbt starts, standing events go between its lines (a slice of 0 s: one per line)
    assert calls == [0, 1, 2, 51, 51]
    # on Spark dbt's events wait for the build's end: only the standing ones go here
    assert list(events_in_dagster_order(lines, iter(standing), to_events, live=False,
                                        slice_s=0)) == standing
