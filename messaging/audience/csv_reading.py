"""Reading an import's CSV as a stream of rows, each with the file line it starts on and where it ends.

The file arrives as byte chunks (an upload, or the encrypted chunks of a stored import) and is
never joined: physical lines are cut at ``\\n`` (a byte that never occurs inside a UTF-8
sequence), decoded one by one and fed to ``csv.reader``, which reads no further than the record it
returns. So after each row the byte offset just past it is known, and a later run can resume at
that offset and line. A UTF-8 byte-order mark (Excel's "CSV UTF-8") is skipped; the delimiter is
``,`` or ``;`` (Excel in many European locales), chosen from the header line.
"""
from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

BOM = codecs.BOM_UTF8
DELIMITERS = (",", ";")
# One physical line longer than this is not a contact list (and would have to be held whole).
MAX_LINE_BYTES = 1024 * 1024
SAVE_AS = 'Save it from your spreadsheet as "CSV UTF-8" (comma- or semicolon-separated) and try again.'


class CsvUnreadable(ValueError):
    """The file cannot be read as CSV at all (binary, not UTF-8, broken quoting); the message says why and where."""


@dataclass(frozen=True)
class CsvRow:
    """One record: the file line it starts on, its values, and where the next record starts (line, byte)."""

    line: int
    values: list[str]
    next_line: int
    end: int


class TextCheck:
    """Checks, chunk by chunk, that a file is UTF-8 text without NUL bytes, before anything is imported."""

    def __init__(self):
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._lines = 1
        self._bytes = 0

    def feed(self, chunk: bytes, final: bool = False) -> None:
        """Check the next piece of the file; raises CsvUnreadable naming the line of the first bad byte."""
        nul = chunk.find(b"\x00")
        if nul >= 0:
            line = self._lines + chunk.count(b"\n", 0, nul)
            raise CsvUnreadable(f"The file is not a CSV file: it holds binary data (a NUL byte on line {line}). "
                                f"{SAVE_AS}")
        try:
            self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            line = self._lines + chunk.count(b"\n", 0, max(exc.start, 0))
            raise CsvUnreadable(f"The file is not UTF-8 text (line {line} holds bytes that are not UTF-8; "
                                f"it may be in another encoding such as Windows-1252). {SAVE_AS}") from None
        self._lines += chunk.count(b"\n")
        self._bytes += len(chunk)

    def finish(self) -> None:
        """The file has ended: a UTF-8 sequence cut off at its end is an error too."""
        self.feed(b"", final=True)
        if self._bytes == 0:
            raise CsvUnreadable("The file is empty.")


def _physical_lines(chunks: Iterable[bytes], offset: int, first_line: int, progress: list) -> Iterator[str]:
    """Decoded physical lines (ending included); ``progress`` holds [lines yielded, end offset] as they go."""
    pending = b""
    position = offset
    at_start = offset == 0
    for chunk in chunks:
        if not chunk:
            continue
        data = pending + chunk if pending else chunk
        if at_start:
            if len(data) < len(BOM) and BOM.startswith(data):
                pending = data
                continue
            if data.startswith(BOM):
                data = data[len(BOM):]
                position += len(BOM)
                progress[1] = position
            at_start = False
        start = 0
        while (newline := data.find(b"\n", start)) >= 0:
            raw = data[start:newline + 1]
            start = newline + 1
            position += len(raw)
            text = _decode(raw, first_line + progress[0])
            # Counted before the line is handed over: csv.reader returns a record without asking for more.
            progress[0] += 1
            progress[1] = position
            yield text
        pending = data[start:]
        if len(pending) > MAX_LINE_BYTES:
            raise CsvUnreadable(f"Line {first_line + progress[0]} is longer than {MAX_LINE_BYTES // 1024:,} KB: "
                                f"this is not a contact list. {SAVE_AS}")
    if pending:
        position += len(pending)
        text = _decode(pending, first_line + progress[0])
        progress[0] += 1
        progress[1] = position
        yield text


def _decode(raw: bytes, line: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CsvUnreadable(f"The file is not UTF-8 text (line {line} holds bytes that are not UTF-8). "
                            f"{SAVE_AS}") from None


def read_rows(chunks: Iterable[bytes], delimiter: str, offset: int = 0, line: int = 1) -> Iterator[CsvRow]:
    """The records from byte ``offset`` (which starts file line ``line``) on; blank records are skipped.

    Raises CsvUnreadable when the CSV is broken (e.g. a quote that never closes runs a field past
    csv's field size limit).
    """
    progress = [0, offset]  # physical lines consumed, byte offset after them
    reader = csv.reader(_physical_lines(chunks, offset, line, progress), delimiter=delimiter)
    while True:
        start_line = line + progress[0]
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvUnreadable(f"The file is not valid CSV at line {start_line}: {exc}. {SAVE_AS}") from None
        if any(value.strip() for value in values):
            yield CsvRow(line=start_line, values=values, next_line=line + progress[0], end=progress[1])


def sniff_delimiter(first_line: str) -> str:
    """``;`` when the header line holds more semicolons than commas (outside quotes), else ``,``."""
    outside = first_line.split('"')[::2]
    commas = sum(part.count(",") for part in outside)
    semicolons = sum(part.count(";") for part in outside)
    return ";" if semicolons > commas else ","


@dataclass(frozen=True)
class Header:
    """The header row: the delimiter it uses, its column names, and where the first data row starts."""

    delimiter: str
    columns: list[str]
    next_line: int
    end: int


def read_header(chunks: Iterable[bytes]) -> Header:
    """The first non-blank record of the file, as its header. Takes an iterable that can be read twice
    (a list, or an object whose ``__iter__`` starts over)."""
    first_line = next((text for text in _physical_lines(chunks, 0, 1, [0, 0]) if text.strip()), None)
    if first_line is None:
        raise CsvUnreadable("The file has no header row: it is empty or blank.")
    delimiter = sniff_delimiter(first_line)
    row = next(read_rows(chunks, delimiter), None)
    if row is None:
        raise CsvUnreadable("The file has no header row: it is empty or blank.")
    return Header(delimiter=delimiter, columns=[value.strip() for value in row.values], next_line=row.next_line,
                  end=row.end)
