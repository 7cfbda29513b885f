"""`qualitrace dictionary`: validate data_dictionary/ and render its docs into <home>/reports."""

from __future__ import annotations

import sys

from orchestration.lib.dictionary.docs import render
from orchestration.lib.dictionary.loader import DictionaryError, load_dictionary
from orchestration.lib.settings import get_settings


def main(args) -> int:
    """Exit 0 after writing dictionary.html/.md; exit 1 listing every file/key error."""
    settings = get_settings(getattr(args, "home", None), getattr(args, "exports", None))
    path = getattr(args, "dictionary", None)
    try:
        d = load_dictionary(path)
    except DictionaryError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    settings.reports.mkdir(parents=True, exist_ok=True)
    html, md = render(d, settings.reports)
    fields = sum(len(e.fields) for e in d.entities)
    print(f"data dictionary OK: {len(d.entities)} entities, {fields} fields, "
          f"{len(d.vocabularies)} vocabularies, {len(d.unit_kinds)} unit kinds, "
          f"{len(d.provinces)} provinces, {len(d.problem_types())} problem types")
    print(f"wrote {html}\nwrote {md}")
    return 0
