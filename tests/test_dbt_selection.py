"""dagster-dbt's node selection kept per manifest (lib/dbt_selection.py): the same answer as
dbt's own selector on the project's real manifest, asked of dbt once per manifest."""

import json

import pytest
from dagster_dbt.utils import select_unique_ids

from orchestration.lib.dbt_project import get_dbt_project
from orchestration.lib.dbt_selection import remembered, selection_key


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(get_dbt_project().manifest_path.read_text(encoding="utf-8"))


class Counting:
    """dagster-dbt's real selection, counting how often it is asked."""

    def __init__(self):
        self.calls = 0

    def __call__(self, **kwargs):
        self.calls += 1
        return select_unique_ids(**kwargs)


SELECTIONS = [("fqn:*", "", ""), ("stg_crm__complaints+", "", ""),
              ("fqn:*", "tag:nonexistent marts", "")]


@pytest.mark.parametrize("select,exclude,selector", SELECTIONS)
def test_the_kept_answer_is_dbts_own(tmp_path, manifest, select, exclude, selector):
    expected = select_unique_ids(select=select, exclude=exclude, selector=selector,
                                 project=None, manifest_json=manifest)
    asked = Counting()
    cached = remembered(asked, tmp_path / "selection.json")
    first = cached(select=select, exclude=exclude, selector=selector, project=None,
                   manifest_json=manifest)
    again = cached(select=select, exclude=exclude, selector=selector, project=None,
                   manifest_json=manifest)
    assert first == again == expected
    assert asked.calls == 1
    assert expected and any(u.startswith("model.") for u in expected)


def test_another_selection_or_manifest_is_asked_again_and_replaces_the_old(tmp_path, manifest):
    asked = Counting()
    cache = tmp_path / "selection.json"
    cached = remembered(asked, cache)
    everything = cached(select="fqn:*", exclude="", selector="", project=None,
                        manifest_json=manifest)
    some = cached(select="stg_crm__complaints+", exclude="", selector="", project=None,
                  manifest_json=manifest)
    assert asked.calls == 2 and some < everything
    assert len(json.loads(cache.read_text())) == 2
    reparsed = {**manifest, "metadata": {**manifest["metadata"], "invocation_id": "another"}}
    assert cached(select="fqn:*", exclude="", selector="", project=None,
                  manifest_json=reparsed) == everything
    assert asked.calls == 3
    kept = json.loads(cache.read_text())
    assert list(kept) == [selection_key(reparsed, "fqn:*", "", "")]


def test_an_unreadable_cache_or_an_unnamed_manifest_is_computed(tmp_path, manifest):
    asked = Counting()
    cache = tmp_path / "selection.json"
    cache.write_text("{not json")
    cached = remembered(asked, cache)
    expected = select_unique_ids(select="fqn:*", exclude="", selector="", project=None,
                                 manifest_json=manifest)
    assert cached(select="fqn:*", exclude="", selector="", project=None,
                  manifest_json=manifest) == expected
    assert asked.calls == 1 and json.loads(cache.read_text())  # rewritten
    unnamed = {**manifest, "metadata": {}}
    for _ in range(2):
        assert cached(select="fqn:*", exclude="", selector="", project=None,
                      manifest_json=unnamed) == expected
    assert asked.calls == 3  # never cached without an invocation id
    assert selection_key(unnamed, "fqn:*", "", "") is None


def test_a_cache_in_an_unwritable_place_is_ignored(tmp_path, manifest):
    asked = Counting()
    cached = remembered(asked, tmp_path / "missing-dir" / "selection.json")
    for _ in range(2):
        assert cached(select="fqn:*", exclude="", selector="", project=None,
                      manifest_json=manifest)
    assert asked.calls == 2
