"""An independent count of the records in a delivered file, for the ledger.

It shares none of the parser's assumptions: it reads raw bytes line by line and follows only
the quote balance. A record of a csv/tsv file ends at a line break outside quotes; blank
lines are no records. When the file ends inside a quote (an unclosed quote), the quote
balance cannot be trusted and every non-blank physical line counts as one record: the count
the parser must then explain (a parser that swallows 14 lines into one rejected record has
read 1 record where this count says 15). jsonl: one record per non-blank line. xlsx: not
counted here (None).
"""

from __future__ import annotations

from pathlib import Path

_BLANK = b" \t\r\xef\xbb\xbf"


def count_text_records(path: Path, header: bool = True, quoted: bool = True) -> int:
    """Records in a delimited text file (header excluded) or a jsonl file (`quoted=False`,
    `header=False`). Bytes only: `"` and line feeds are single bytes in UTF-8 and GB18030
    alike (GB18030 trail bytes are never 0x0A or 0x22)."""
    records = lines = 0
    in_quote = pending = False
    with open(path, "rb") as fh:
        for raw in fh:
            text = raw.rstrip(b"\r\n")
            if text.strip(_BLANK):
                lines += 1
                pending = True
            if quoted and text.count(b'"') % 2:
                in_quote = not in_quote
            if pending and not in_quote:
                records += 1
                pending = False
    if pending:
        records += 1
    counted = lines if (quoted and in_quote) else records
    return max(counted - (1 if header else 0), 0)


def count_records(path: Path, fmt: str | None) -> int | None:
    """The independent record count of one delivered file, or None when not counted."""
    if fmt in ("csv", "tsv"):
        return count_text_records(path, header=True, quoted=True)
    if fmt == "jsonl":
        return count_text_records(path, header=False, quoted=False)
    return None
