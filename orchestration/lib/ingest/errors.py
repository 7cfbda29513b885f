"""The one error type the ingest readers raise, and the reason codes they quarantine with.

Every code below is documented in `data_dictionary/` (`reason_codes`); file-scope codes
quarantine a whole file, row-scope codes one record.
"""

from __future__ import annotations

# file scope: the whole file is quarantined
EMPTY_FILE = "empty_file"                  # zero bytes, or no header line
UNREADABLE_FILE = "unreadable_file"        # binary, corrupt/empty workbook, unparseable
ENCODING_ERROR = "encoding_error"          # file: none of UTF-8/BOM/GB18030; row: bad bytes
MISSING_REQUIRED_COLUMN = "missing_required_column"
DUPLICATE_HEADER = "duplicate_header"      # two headers map to the same field
BLANK_HEADER = "blank_header"              # a blank header cell before a named one (merged)
UNKNOWN_ENTITY = "unknown_entity"          # a file under a system folder matching no entity
# row scope: one record is quarantined, the rest of the file lands
MALFORMED_ROW = "malformed_row"            # wrong field count, bad quotes, broken JSON line,
                                           # record longer than the line limit
FORMULA_CELL = "formula_cell"              # a spreadsheet formula (never evaluated)
INVALID_ENCODING = ENCODING_ERROR          # a row with bytes not valid in the file's encoding
WRONG_FIELD_COUNT = BROKEN_JSON = LINE_TOO_LONG = MALFORMED_ROW
DUPLICATE_COLUMN = DUPLICATE_HEADER
UNKNOWN_FILE = UNKNOWN_ENTITY
UNEXPECTED_LOCATION = "unexpected_location"  # not directly in a system folder (root, subfolder)
DANGLING_LINK = "dangling_link"              # a symbolic link whose target does not exist
OUTSIDE_ROOT = "outside_root"                # a symbolic link leaving the exports root: never read
INVALID_FILE_DATE = "invalid_file_date"      # the delivery date in the file name is no real date
LEDGER_MISMATCH = "ledger_mismatch"          # the independent record count disagrees (ledger.py)
DUPLICATE_KEY = "duplicate_key"              # a record names one field twice (jsonl keys)
SUMMARY_ROW = "summary_row"                  # a report's totals row (合计, Total): no record

ALL_REASONS = (EMPTY_FILE, UNREADABLE_FILE, ENCODING_ERROR, MISSING_REQUIRED_COLUMN,
               DUPLICATE_HEADER, BLANK_HEADER, UNKNOWN_ENTITY, MALFORMED_ROW, FORMULA_CELL,
               UNEXPECTED_LOCATION, DANGLING_LINK, OUTSIDE_ROOT, INVALID_FILE_DATE,
               LEDGER_MISMATCH, DUPLICATE_KEY, SUMMARY_ROW)


class IngestError(ValueError):
    """A delivered file cannot be landed; names the file, and the row/field where known."""

    def __init__(self, reason_code: str, path: str, detail: str,
                 row: int | None = None, field: str | None = None):
        self.reason_code = reason_code
        self.path = path
        self.detail = detail
        self.row = row
        self.field = field
        where = path + (f", row {row}" if row is not None else "")
        where += f", field {field!r}" if field else ""
        super().__init__(f"{where}: {reason_code}: {detail}")
