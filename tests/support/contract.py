"""The published contract, read from the one place it is written: the "Published contracts"
table of ../shared/spec/DESIGN.md (table -> required columns, in the order listed)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

DESIGN_MD = Path(__file__).resolve().parents[3] / "shared" / "spec" / "DESIGN.md"
_ROW = re.compile(r"^\|\s*`(?P<table>[a-z_]+\.[a-z_]+)`\s*\|[^|]*\|(?P<columns>[^|]*)\|\s*$")
_NAME = re.compile(r"`([a-z_][a-z0-9_]*)`")


def required_columns(cell: str) -> list[str]:
    """The column names of a contract cell: backticked names outside parentheses, before
    any `;` remark (values such as `open` or `L02` are inside them)."""
    text = cell.split(";")[0]
    while re.search(r"\([^()]*\)", text):
        text = re.sub(r"\([^()]*\)", "", text)
    return _NAME.findall(text)


@lru_cache(maxsize=1)
def published_contract(path: Path = DESIGN_MD) -> dict[str, list[str]]:
    """{"marts.complaint_trace": ["complaint_id", ...], "governance.quarantine": [...], ...}"""
    text = path.read_text(encoding="utf-8")
    section = text[text.index("## Published contracts"):]
    section = section[:section.find("\n## ", 3)] if "\n## " in section[3:] else section
    out = {}
    for line in section.splitlines():
        m = _ROW.match(line)
        if m:
            out[m["table"]] = required_columns(m["columns"])
    return out


def mart_columns(mart: str) -> list[str]:
    """The required columns of `marts.<mart>`."""
    return published_contract()[f"marts.{mart}"]
