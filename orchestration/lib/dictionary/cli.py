"""`qualitrace dictionary`: validate data_dictionary/ and render its docs into <home>/reports."""

from __future__ import annotations

import sys

from orchestration.lib.dictionary.docs import render
from orchestration.lib.dictionary.loader import DictionaryError, load_dictionary
from orchestration.lib.settings import get_settings


def suggest_main(args) -> int:
    """`qualitrace dictionary suggest`: exit 0 after writing the patch, 1 on a dictionary
    error, 2 when the exports folder does not exist."""
    from pathlib import Path

    from orchestration.lib.dictionary.overlay import overlay_dirs, overlay_files
    from orchestration.lib.dictionary.suggest import (
        build_patch,
        profile_exports,
        summary,
        write_patch,
    )

    settings = get_settings(getattr(args, "home", None), None)
    exports = Path(args.exports).expanduser()
    if not exports.is_dir():
        print(f"qualitrace dictionary suggest: no such folder: {exports}", file=sys.stderr)
        return 2
    try:
        d = load_dictionary(overlays=overlay_files(overlay_dirs(settings.home)))
    except DictionaryError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    prof = profile_exports(exports, d, limit=args.max_rows,
                           progress=lambda m: print(m, file=sys.stderr, flush=True))
    patch = build_patch(prof, d, exports)
    out = Path(args.out) if args.out else settings.reports / "dictionary_suggestions.yml"
    write_patch(patch, prof, exports, out)
    print("\n".join(summary(prof, patch)))
    print(f"wrote {out}")
    return 0


def main(args) -> int:
    """Exit 0 after writing dictionary.html/.md; exit 1 listing every file/key error."""
    if getattr(args, "dictionary_command", None) == "suggest":
        return suggest_main(args)
    settings = get_settings(getattr(args, "home", None), getattr(args, "exports", None))
    from orchestration.lib.settings import home_write_problem

    problem = home_write_problem(settings.home)
    if problem:
        print(f"qualitrace dictionary: {problem}", file=sys.stderr)
        return 2
    path = getattr(args, "dictionary", None)
    from orchestration.lib.dictionary.overlay import overlay_dirs, overlay_files

    overlays = overlay_files(overlay_dirs(settings.home))
    try:
        d = load_dictionary(path, overlays=overlays)
    except DictionaryError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    settings.reports.mkdir(parents=True, exist_ok=True)
    html, md = render(d, settings.reports)
    fields = sum(len(e.fields) for e in d.entities)
    print(f"data dictionary OK: {len(d.entities)} entities, {fields} fields, "
          f"{len(d.vocabularies)} vocabularies, {len(d.unit_kinds)} unit kinds, "
          f"{len(d.provinces)} provinces, {len(d.problem_types())} problem types")
    for f in overlays:
        print(f"plant overlay merged: {f}")
    print(f"wrote {html}\nwrote {md}")
    return 0
