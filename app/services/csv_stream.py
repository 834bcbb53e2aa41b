"""Streaming CSV that spreadsheets open correctly and cannot turn into formulas.

Rows are encoded one at a time through a tiny echo buffer, so a million-row export never holds
more than one row in memory.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

# A text cell starting with one of these is read as a formula by Excel, LibreOffice and Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class CsvDialect:
    """`excel` adds a UTF-8 byte order mark (Excel misreads UTF-8 without one; other readers dislike
    it); `delimiter` is ';' for spreadsheets in locales that use a decimal comma."""

    excel: bool = False
    delimiter: str = ","


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "text"  # text | number | date | datetime


class _Echo:
    def write(self, value: str) -> str:
        return value


def neutralise(text: str) -> str:
    """Keep a cell as text: `=HYPERLINK(...)` becomes `'=HYPERLINK(...)`, shown as typed."""
    if text and text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def format_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "number":
        if isinstance(value, float):
            return f"{value:.6g}" if abs(value) < 1e15 else repr(value)
        return str(value)
    if kind == "date":
        return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
    if kind == "datetime":
        return value.isoformat(timespec="seconds") if isinstance(value, (datetime, date)) else str(value)
    return neutralise(str(value))


def stream_csv(columns: Sequence[Column], rows: Iterable[Sequence[Any]], dialect: CsvDialect) -> Iterator[bytes]:
    """Yield the encoded header, then one encoded line per row (RFC 4180 quoting, CRLF line ends)."""
    writer = csv.writer(_Echo(), delimiter=dialect.delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    header = writer.writerow([c.name for c in columns]).encode("utf-8")
    yield (b"\xef\xbb\xbf" + header) if dialect.excel else header
    kinds = [c.kind for c in columns]
    for row in rows:
        yield writer.writerow([format_cell(value, kind) for value, kind in zip(row, kinds)]).encode("utf-8")
