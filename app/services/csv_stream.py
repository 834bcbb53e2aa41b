"""Streaming CSV that spreadsheets open correctly, in every locale, and cannot turn into formulas.

Rows are encoded one at a time through a tiny echo buffer, so a million-row export never holds
more than one row in memory. Numbers are rounded as the dashboard shows them and written with the
decimal separator the reader's spreadsheet expects: a point beside ',' and a comma beside ';'.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# A text cell starting with one of these is read as a formula by Excel, LibreOffice and Sheets;
# such cells get a leading apostrophe, so `=HYPERLINK(...)` shows as typed.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class CsvDialect:
    """`excel` adds a UTF-8 byte order mark (Excel misreads UTF-8 without one; other readers dislike
    it); `delimiter` is ';' for spreadsheets in locales that use a decimal comma."""

    excel: bool = False
    delimiter: str = ","

    @property
    def decimal_comma(self) -> bool:
        """Spreadsheets that want ';' between cells are those whose locale writes 3,16 for 3.16."""
        return self.delimiter == ";"

    def filename(self, base: str) -> str:
        """A distinct name per variant, so the three downloads of one export do not overwrite each other:
        `x.csv`, `x-excel.csv`, `x-excel-semicolon.csv` (and `x-semicolon.csv`)."""
        stem = base.removesuffix(".csv")
        return f"{stem}{'-excel' if self.excel else ''}{'-semicolon' if self.decimal_comma else ''}.csv"


@dataclass(frozen=True)
class Column:
    """`digits`: how a float in a number (or value) column is rounded, as the dashboard shows it. A
    `Decimal` is written as it is: builders use it where the rounding depends on the row (the summary's
    satisfaction has 2 decimals, its happiness score none). Ints are written as ints."""

    name: str
    kind: str = "text"  # text | number | value (a number or text) | date | datetime | list (joined with ';')
    digits: int | None = None


class _Echo:
    def write(self, value: str) -> str:
        return value


def _format_date(value: Any) -> Any:
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def _format_datetime(value: Any) -> Any:
    return value.isoformat(timespec="seconds") if isinstance(value, (datetime, date)) else value


def format_number(value: Any, digits: int | None = None, *, decimal_comma: bool = False) -> Any:
    """A number as the cell's text: floats rounded to `digits` (never "-0.00" or an exponent), Decimals as
    they are, with ',' for the decimal point where the reader's locale uses one. Anything else passes."""
    cls = value.__class__
    if cls is float:
        if digits is not None:
            text = f"{round(value, digits) + 0.0:.{digits}f}"
        else:
            text = repr(value)
            if "e" in text or "n" in text:  # 1e-05, nan, inf: spreadsheets read none of them as numbers
                text = format(Decimal(text), "f") if "e" in text else ""
    elif cls is Decimal:
        text = format(value, "f")
    else:  # ints have no decimal point; text is text
        return value
    return text.replace(".", ",") if decimal_comma else text


_TRIGGER_SET = frozenset(FORMULA_TRIGGERS)


def _format_list(value: Any) -> str:
    return ";".join(str(item) for item in value)


_CONVERTERS = {"date": _format_date, "datetime": _format_datetime, "list": _format_list}


def _number_converter(digits: int | None, decimal_comma: bool):
    def convert(value: Any) -> Any:
        return format_number(value, digits, decimal_comma=decimal_comma)
    return convert


def stream_csv(columns: Sequence[Column], rows: Iterable[Sequence[Any]], dialect: CsvDialect,
               *, chunk_bytes: int = 64 * 1024) -> Iterator[bytes]:
    """Yield the encoded header, then the rows (RFC 4180 quoting, CRLF line ends) in ~64 KB chunks.

    Only text cells (the formula guard) and non-integer numbers (rounding, decimal separator) are touched
    per row, which keeps the export close to the speed of a bare csv.writer loop; chunks keep the WSGI
    server's per-write overhead small.
    """
    writer = csv.writer(_Echo(), delimiter=dialect.delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    header = writer.writerow([c.name for c in columns]).encode("utf-8")
    yield (b"\xef\xbb\xbf" + header) if dialect.excel else header
    text_columns = [i for i, c in enumerate(columns) if c.kind in ("text", "value")]
    converted = [(i, _CONVERTERS[c.kind]) for i, c in enumerate(columns) if c.kind in _CONVERTERS]
    comma = dialect.decimal_comma
    numbers = [(i, _number_converter(c.digits, comma)) for i, c in enumerate(columns) if c.kind in ("number", "value")]
    triggers = _TRIGGER_SET
    pending: list[str] = []
    size = 0
    for row in rows:
        cells = row
        for i in text_columns:
            value = row[i]
            if value.__class__ is str and value[:1] in triggers:
                if cells is row:
                    cells = list(row)
                cells[i] = "'" + value
        for i, convert in converted:
            value = cells[i]
            if value is not None:
                if cells is row:
                    cells = list(row)
                cells[i] = convert(value)
        for i, convert in numbers:
            value = cells[i]
            if value.__class__ is float or value.__class__ is Decimal:  # ints and text are written as they are
                if cells is row:
                    cells = list(row)
                cells[i] = convert(value)
        line = writer.writerow(cells)
        pending.append(line)
        size += len(line)
        if size >= chunk_bytes:
            yield "".join(pending).encode("utf-8")
            pending.clear()
            size = 0
    if pending:
        yield "".join(pending).encode("utf-8")
