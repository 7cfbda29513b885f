"""Which dbt models a delivery reaches (lib/partial_build.py), on a small hand-made graph and
on the project's own manifest."""

from __future__ import annotations

import json

import pytest

from orchestration.lib import partial_build
from orchestration.lib.dbt_project import get_dbt_project


def _manifest() -> dict:
    src = {"source.p.raw.crm__complaints": {"name": "crm__complaints", "source_name": "raw"},
           "source.p.raw.mes__serials": {"name": "mes__serials", "source_name": "raw"},
           "source.p.dictionary.units": {"name": "units", "source_name": "dictionary"}}
    deps = {"model.p.stg_complaints": ["source.p.raw.crm__complaints"],
            "model.p.stg_serials": ["source.p.raw.mes__serials", "source.p.dictionary.units"],
            "model.p.int_resolved": ["model.p.stg_complaints", "model.p.stg_serials"],
            "model.p.int_serial_days": ["model.p.stg_serials"],
            "model.p.complaint_trace": ["model.p.int_resolved"],
            "test.p.unique_trace": ["model.p.complaint_trace"]}
    children: dict[str, list[str]] = {}
    for child, parents in deps.items():
        for parent in parents:
            children.setdefault(parent, []).append(child)
    nodes = {u: {"name": u.split(".")[-1], "depends_on": {"nodes": d}} for u, d in deps.items()}
    return {"sources": src, "nodes": nodes, "child_map": children}


def test_a_complaints_delivery_reaches_its_dependants_only():
    m = _manifest()
    assert partial_build.raw_sources(m) == {"crm__complaints": "source.p.raw.crm__complaints",
                                            "mes__serials": "source.p.raw.mes__serials"}
    rebuild, keep = partial_build.models_to_keep(m, ["crm__complaints"])
    assert rebuild == {"model.p.stg_complaints", "model.p.int_resolved", "model.p.complaint_trace"}
    assert keep == {"model.p.stg_serials", "model.p.int_serial_days"}
    assert partial_build.exclude_args(m, keep) == ["--exclude", "int_serial_days stg_serials"]
    assert partial_build.exclude_args(m, set()) == []
    rebuild, keep = partial_build.models_to_keep(m, ["mes__serials"])
    assert keep == {"model.p.stg_complaints"} and len(rebuild) == 4


def test_models_are_reported_after_what_they_depend_on():
    m = _manifest()
    order = partial_build.in_build_order(m, [u for u in m["nodes"] if u.startswith("model.")])
    for uid in order:
        for parent in m["nodes"][uid]["depends_on"]["nodes"]:
            if parent in order:
                assert order.index(parent) < order.index(uid)


@pytest.mark.parametrize("changed", ["crm__complaints", "erp__shipments", "mes__process_readings"])
def test_on_the_project_what_stands_never_depends_on_what_is_rebuilt(changed):
    """The rule the dbt step relies on to report the models left out before the rebuilt ones."""
    manifest = json.loads(get_dbt_project().manifest_path.read_text(encoding="utf-8"))
    rebuild, keep = partial_build.models_to_keep(manifest, [changed, "_file_manifest"])
    assert rebuild and keep
    for uid in keep:
        assert not set(manifest["nodes"][uid]["depends_on"]["nodes"]) & rebuild
    names = {manifest["nodes"][u]["name"] for u in rebuild}
    assert f"stg_{changed}" in names and "file_manifest" in names


def test_a_verdict_carried_twice_names_one_run():
    once = partial_build.carried_note("run-b-12345678", "3 rows null")
    assert once == "(verdict of run run-b-12: inputs unchanged) 3 rows null"
    assert partial_build.carried_note("run-c-87654321", once) == \
        "(verdict of run run-c-87: inputs unchanged) 3 rows null"
    assert partial_build.carried_note("run-d", "") == "(verdict of run run-d: inputs unchanged)"
    # a passing test has no message: carried again, its note still names one run
    empty = partial_build.carried_note("run-e-11112222", "")
    assert partial_build.carried_note("run-f-33334444", empty) == \
        "(verdict of run run-f-33: inputs unchanged)"
