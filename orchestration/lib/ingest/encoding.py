"""Fingerprint (sha256, size, text encoding) in one streaming pass; transcode to UTF-8."""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from orchestration.lib.ingest.errors import EMPTY_FILE, ENCODING_ERROR, UNREADABLE_FILE, IngestError

CHUNK = 8 << 20
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    size: int
    encoding: str | None   # utf-8, utf-8-sig, utf-16, gb18030, cp1252, mac_roman; None: binary
    binary: bool = False   # NUL bytes in a text file


def fingerprint(path: Path, text: bool = True) -> Fingerprint:
    """sha256 and size; for text formats also the encoding: BOM, else UTF-8, else GB18030 (or
    Windows-1252 for an export whose non-ASCII bytes stand alone: `legacy_encoding`).

    A file that is UTF-8 except for a few lines (GBK bytes pasted in) stays UTF-8 when it
    holds valid non-ASCII UTF-8 lines; the bad lines are then quarantined by the CSV reader.
    Validation stops at the first 8 MB chunk holding valid multi-byte UTF-8 (big files are
    not decoded twice).
    """
    sha = hashlib.sha256()
    size = 0
    encoding: str | None = None
    binary = False
    utf8_ok = True
    seen_utf8 = False
    dec = codecs.getincrementaldecoder("utf-8")("strict")
    with open(path, "rb") as fh:
        first = True
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
            if not text:
                continue
            if first:
                first = False
                for bom, name in _BOMS:
                    if chunk.startswith(bom):
                        encoding = name
                        break
                if encoding != "utf-16" and b"\x00" in chunk[:65536]:
                    binary = True
            if encoding is None and utf8_ok and not binary and not seen_utf8:
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
                else:  # valid multi-byte UTF-8 seen: decided (later bad lines -> row rejects)
                    seen_utf8 = not chunk.isascii()
        if text and encoding is None and not binary and utf8_ok and not seen_utf8:
            try:
                dec.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8_ok = False
    if text and encoding is None:  # NUL bytes: the lines around them decide the encoding
        encoding = "utf-8" if utf8_ok and not binary else _encoding_without_bom(path)
    return Fingerprint(sha.hexdigest(), size, encoding, binary)


_NON_ASCII_RUN = re.compile(rb"[\x80-\xff]+")
_JUDGED_LINES = 1000  # lines not valid UTF-8 that judge between GB18030 and Windows-1252


def _encoding_without_bom(path: Path) -> str:
    """The encoding of a text file that is not all UTF-8: UTF-8 when more of its non-ASCII
    lines are valid UTF-8 than not (a few pasted GBK lines), else `legacy_encoding`."""
    good_non_ascii = bad = 0
    runs: list[int] = []
    with open(path, "rb") as fh:
        for line in lines_of(fh, path):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                good_non_ascii += 1
            except UnicodeDecodeError:
                bad += 1
                if bad <= _JUDGED_LINES:
                    runs.extend(len(r) for r in _NON_ASCII_RUN.findall(line))
    if good_non_ascii > bad:
        return "utf-8"
    encoding = legacy_encoding(runs)
    # Excel for Mac's "CSV (Macintosh)": Mac OS Roman, lines ended by CR alone
    return "mac_roman" if encoding == "cp1252" and ends_lines_with_cr(path) else encoding


def legacy_encoding(runs: list[int]) -> str:
    """GB18030 (GBK) or Windows-1252 from the lengths of the runs of non-ASCII bytes in the
    lines that are not UTF-8: a Chinese character is two bytes (GBK) or four, so Chinese text
    has runs of two or more bytes; an English or European export saved by Windows Excel
    ("CSV (Comma delimited)": Windows-1252) has single bytes between ASCII (`°C`, `µm`,
    `Café`, `don’t`), which GB18030 would read as wrong Chinese characters or reject.
    Windows-1252 only when single bytes are the clear majority: Chinese stays the default."""
    single = sum(1 for n in runs if n == 1)
    return "cp1252" if single > 2 * (len(runs) - single) else "gb18030"


def transcode(src: Path, dst: Path, encoding: str, rel_path: str) -> None:
    """Stream `src` in `encoding` to `dst` as UTF-8 (no BOM); IngestError if undecodable."""
    dec = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    try:
        with open(src, "rb") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
            while chunk := fin.read(CHUNK):
                fout.write(dec.decode(chunk))
                offset += len(chunk)
            fout.write(dec.decode(b"", final=True))
    except UnicodeDecodeError as exc:
        raise IngestError(ENCODING_ERROR, rel_path,
                          f"not UTF-8 and not {encoding}: undecodable bytes near byte "
                          f"{offset + exc.start}") from None


_SNIFF = 1 << 20  # bytes read to find a file's first line break


def ends_lines_with_cr(path: Path) -> bool:
    """Whether the file's lines end with a carriage return alone (Excel for Mac's "CSV
    (Macintosh)", classic Mac OS exports): its first MB holds CRs and no LF (a CRLF file, or
    a LF file with a stray CR in a value, is read on its LFs). Read on bytes: CR and LF are
    single bytes in UTF-8 and GB18030 (not in UTF-16: sniff a transcoded copy)."""
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF)
    return b"\r" in head and b"\n" not in head


def lines_of(fh, path: Path) -> Iterator[bytes]:
    """The lines of the binary file `fh` (opened on `path`), each with its line break: split on
    LF, or on CR for a file whose lines end with CR alone."""
    if not ends_lines_with_cr(path):
        yield from fh
        return
    rest = b""
    while chunk := fh.read(1 << 20):
        parts = (rest + chunk).split(b"\r")
        rest = parts.pop()
        for part in parts:
            yield part + b"\r"
    if rest:
        yield rest


def with_line_feeds(src: Path, dst: Path) -> None:
    """Copy `src` to `dst` with every CR made a LF (a file whose lines end with CR alone, so
    every CR in it is a line break, also one typed inside a quoted value): line numbers stay
    those of the delivered file."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while chunk := fin.read(CHUNK):
            fout.write(chunk.replace(b"\r", b"\n"))


@dataclass(frozen=True)
class BadLine:
    line: int        # 1-based physical line of the delivered file
    problem: str     # "NUL byte" / "bytes not valid GB18030 ..."
    text: str        # the line decoded with replacement characters (for the quarantine)


def clean_copy(src: Path, dst: Path, encoding: str, rel_path: str) -> list[BadLine]:
    """Decode `src` line by line into UTF-8 `dst`, leaving out every physical line that holds a
    NUL byte or bytes not valid in `encoding`; those lines are returned, so one bad byte
    quarantines its row, not the file. Line feeds are single bytes in UTF-8 and GB18030 (not
    in UTF-16: use transcode). The header line must be clean: else IngestError (the file)."""
    bad: list[BadLine] = []
    name = "utf-8" if encoding == "utf-8-sig" else encoding
    with open(src, "rb") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        for n, raw in enumerate(fin, start=1):
            if n == 1 and encoding == "utf-8-sig" and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            problem = None
            if b"\x00" in raw:
                problem = "a NUL byte"
            else:
                try:
                    text = raw.decode(name)
                except UnicodeDecodeError as exc:
                    problem = (f"bytes not valid {name.upper()} at column {exc.start + 1} "
                               f"({raw[exc.start:exc.start + 4].hex(' ')})")
            if problem is None:
                fout.write(text)
                continue
            if n == 1:  # no header: the file as a whole (NUL there: binary content)
                raise IngestError(UNREADABLE_FILE if "NUL" in problem else ENCODING_ERROR,
                                  rel_path, f"the header line holds {problem}: not a readable "
                                            f"text file")
            bad.append(BadLine(n, problem, raw.replace(b"\x00", b"").decode(
                name, errors="replace").rstrip("\r\n")))
    return bad


def check_not_empty(fp: Fingerprint, rel_path: str) -> None:
    if fp.size == 0:
        raise IngestError(EMPTY_FILE, rel_path, "the file is empty (0 bytes)")
    if fp.binary and fp.encoding == "utf-16":
        raise IngestError(UNREADABLE_FILE, rel_path,
                          "binary content (NUL bytes) in a text file")
