"""Pure text normalisers shared by Python (ingest, publish) and mirrored in the dbt macros."""

from __future__ import annotations

import re
import unicodedata

# U+FF01..U+FF5E (full-width ASCII) -> U+0021..U+007E, U+3000 (ideographic space) -> space.
FULLWIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
HALFWIDTH = "".join(chr(c) for c in range(0x21, 0x7F))
_FW_TABLE = str.maketrans(FULLWIDTH + "\u3000", HALFWIDTH + " ")
_WS = re.compile(r"[\t\n\f\r ]+")  # what RE2's \s means in the SQL macros
_SQL_SPACE = "\t\n\f\r "
_HEADER_SEP = re.compile(r"[\s\-]+")
# a line break or spaces between two CJK characters (a spreadsheet header wrapped in its
# cell: 开始\n时间) separate nothing
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


def normalize_header(text: str) -> str:
    """Header spelling -> lookup key: NFKC, strip, casefold, no space between CJK characters
    (开始\n时间 = 开始时间), runs of spaces/hyphens -> `_`, no trailing `.` or `:`
    (`Batch No.` = batch_no)."""
    t = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "").strip().casefold()
    t = _CJK_GAP.sub("", t)
    return _HEADER_SEP.sub("_", t).strip("_").rstrip(".:").strip("_")


_OPENING, _CLOSING, _BRACKETS = "([【", ")]】", frozenset("()[]【】")


def _split_qualifier(t: str) -> tuple[str, str] | None:
    """(base, qualifier) of `[*\\s]* base \\s* (qualifier) [*\\s:]*`: the qualifier holds no
    bracket, the base no line break. A scan from the end, linear in the text: the regular
    expression it replaces backtracked through every run of spaces (a header cell holding
    4,000 spaces: two minutes)."""
    end = len(t)
    while end and (t[end - 1] in "*:" or t[end - 1].isspace()):
        end -= 1
    if not end or t[end - 1] not in _CLOSING:
        return None
    opening = end - 2
    while opening >= 0 and t[opening] not in _BRACKETS:
        opening -= 1
    if opening < 0 or t[opening] not in _OPENING:
        return None
    start = 0
    while start < opening and (t[start] == "*" or t[start].isspace()):
        start += 1
    base = t[start:opening].rstrip()
    return None if "\n" in base else (base, t[opening + 1:end - 1])


def header_qualifier(text: str) -> tuple[str, str | None]:
    """A header with a trailing qualifier in brackets, as report templates write them
    (`数量（件）`, `Reading (°F)`, `*工单号`): (lookup key of the rest, the qualifier as
    written, NFKC) ; (lookup key without `*`/`:` marks, None) when there is no qualifier."""
    t = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "").strip()
    split = _split_qualifier(t)
    if split and split[0].strip("*: "):
        return normalize_header(split[0].strip("*: ")), (split[1].strip() or None)
    return normalize_header(t.strip("*:： ")), None


def fold_width(text: str) -> str:
    """Full-width ASCII and the ideographic space -> ASCII (what SQL `translate` does)."""
    return str(text).translate(_FW_TABLE)


# what DuckDB's trim() strips: the Unicode space separators (category Zs: space, U+00A0,
# U+3000 …), not tabs or line breaks
TRIMMED = "".join(chr(c) for c in (0x20, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F,
                                   0x3000))


# What the conformance rewrites in a date or time before it looks for a form of
# timestamp_formats (mirror of the `conform_time_text` macro, which applies the same
# regexes in this order after folding width): a `T` between date and time, digits of a
# second's fraction past the microsecond, a space after 日, a dotted date (2025.03.06),
# Chinese clock units (14时30分05秒, 14点30分), Chinese and English half-day markers moved
# after the time as AM / PM (下午 2:30, 2:30 p.m.), and a UTC offset after the time without a
# space and with a colon (14:30:00 +0800).
TIME_REWRITES: tuple[tuple[str, str], ...] = (
    (r"(\d)T(\d)", r"\1 \2"),
    (r"(:\d{2}\.\d{6})\d+", r"\1"),
    (r"日 ?", "日 "),
    (r"^(\d{4})\.(\d{1,2})\.(\d{1,2})( |$)", r"\1-\2-\3\4"),
    (r"(\d) ?[时点] ?(\d)", r"\1:\2"),
    (r"(\d) ?分 ?(\d)", r"\1:\2"),
    (r"(\d) ?[分秒]$", r"\1"),
    (r"(上午|凌晨|早上) ?(\d{1,2}:\d{2}(:\d{2})?)", r"\2 AM"),
    (r"(下午|晚上|中午|傍晚) ?(\d{1,2}:\d{2}(:\d{2})?)", r"\2 PM"),
    (r"(\d) ?[aA]\.?[mM]\.?$", r"\1 AM"),
    (r"(\d) ?[pP]\.?[mM]\.?$", r"\1 PM"),
    (r"(:\d{2}(\.\d+)?) ?([+-]\d{2}):?(\d{2})$", r"\1\3:\4"),
)
_TIME_REWRITES = tuple((re.compile(p, re.ASCII), r) for p, r in TIME_REWRITES)  # \d: ASCII, as RE2


def time_text(text: str) -> str:
    """Mirror of the `conform_time_text` macro: the text a timestamp form's regex must match."""
    t = _WS.sub(" ", fold_width(text)).strip(TRIMMED)
    for rx, repl in _TIME_REWRITES:
        t = rx.sub(repl, t)
    return t.strip(TRIMMED)


def marker_variants(marker: str) -> set[str]:
    """The spellings of a no-value marker the conformance matches (after SQL `trim`): as
    written, upper, lower, title case (`N/A`, `n/a`, `None`, `NONE`)."""
    m = str(marker).strip(TRIMMED)
    return {v for v in (m, m.upper(), m.lower(), m.title(), m.capitalize()) if v}


def is_no_value(text: str | None, variants: set[str] | frozenset[str]) -> bool:
    """Mirror of the conformance's blank test for a markable field: blank or a marker."""
    if text is None:
        return True
    t = str(text).strip(TRIMMED)
    return t == "" or t in variants


def text_code(text: str | None) -> str | None:
    """Mirror of the `conform_text_code` macro: fold width, trim, upper; blank -> None."""
    if text is None:
        return None
    t = fold_width(text).strip(_SQL_SPACE).upper()
    return t or None


def lookup_key(text: str | None) -> str | None:
    """Mirror of the `conform_lookup_key` macro: text_code without any whitespace."""
    t = text_code(text)
    if t is None:
        return None
    t = _WS.sub("", t)
    return t or None


def serial_key(text: str | None, prefixes: tuple[str, ...] | list[str] = ()) -> str | None:
    """Mirror of the `conform_serial_key` macro: the lookup key without a leading label prefix
    (`prefixes`, codes.yml serial_label_prefixes, longest first) and without the separators
    `- _ . / : #` (`序列号:SN-P0007-00012345` -> `SNP000700012345`)."""
    t = lookup_key(text)
    if t is None:
        return None
    for p in sorted(filter(None, map(lookup_key, prefixes)), key=len, reverse=True):
        if t.startswith(p):
            t = re.sub(r"^[:#.\-_]*", "", t[len(p):])
            break
    return re.sub(r"[-_./:#]", "", t) or None
