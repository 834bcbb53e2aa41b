"""Stakeholders from HR's CSV export: parsing, validation with line numbers, upsert and sync; opt-outs.

An import reads the file twice and never holds it whole: the first pass checks its shape and every row
(nothing is written), the second writes in chunks of `CHUNK_SIZE` rows, each compared with the
database by one query. A file whose shape is broken (a quote left open, a row with more or fewer
values than the header) is refused as a whole, because the rows after the break cannot be trusted.
"""
from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import IO

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, case, delete, func, insert, or_, select, update

from app.errors import InvalidInput
from app.extensions import db
from app.models import ServiceArea, Stakeholder
from app.models.base import utcnow
from app.models.org import stakeholder_service_area
from app.services.transactions import unit_of_work

COLUMNS = ("email", "name", "department", "location", "service_areas")
MAX_LENGTHS = {"name": 200, "department": 120, "location": 120}  # the Stakeholder columns' sizes
# Header spellings HR systems and people use, after lower-casing and turning spaces/dashes into "_".
HEADER_ALIASES = {
    "e_mail": "email", "email_address": "email", "mail": "email",
    "full_name": "name", "display_name": "name",
    "dept": "department", "team": "department",
    "office": "location", "site": "location",
    "service_area": "service_areas", "areas": "service_areas", "services": "service_areas",
    "service_areas_used": "service_areas",
}
CHUNK_SIZE = 1000  # rows compared with the database and written per statement
MAX_LISTED_ERRORS = 1000  # a file of garbage reports this many invalid rows by line, and counts the rest
# `sync` deactivating more than this share of the active people is refused unless confirmed: a cut-short
# export or a filter left on in HR's system looks exactly like that.
SYNC_CONFIRM_SHARE = 0.10

_stakeholders = Stakeholder.__table__
_links = stakeholder_service_area
_BOM = b"\xef\xbb\xbf"


class TooManyDeactivations(InvalidInput):
    """A sync would deactivate more than `SYNC_CONFIRM_SHARE` of the active people; nothing was changed."""

    def __init__(self, would_deactivate: int, active: int) -> None:
        self.would_deactivate = would_deactivate
        self.active = active
        super().__init__(
            f"This file would deactivate {would_deactivate} of the {active} active people "
            f"({would_deactivate / active:.0%}), more than the {SYNC_CONFIRM_SHARE:.0%} an import deactivates "
            f"without confirmation. Nothing was changed. Check that the file is complete: an export cut short "
            f"or filtered in HR's system looks like this.",
            errors={"sync": [f"{would_deactivate} people would be deactivated"]})


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str
    email: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    """What an import did. With errors and no `skip_invalid`, `applied` is False and nothing changed.
    `errors` lists the first MAX_LISTED_ERRORS invalid rows; `invalid_rows` counts them all."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    errors: list[RowError] = field(default_factory=list)
    invalid_rows: int = 0
    applied: bool = False

    def add_error(self, error: RowError) -> None:
        self.invalid_rows += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(error)

    @property
    def unlisted_errors(self) -> int:
        return self.invalid_rows - len(self.errors)

    def summary(self) -> str:
        text = (f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.deactivated} deactivated")
        if self.invalid_rows:
            text += f", {self.invalid_rows} invalid row{'s' if self.invalid_rows != 1 else ''}"
            text += " skipped" if self.applied else " (nothing was changed)"
        return text


@dataclass(frozen=True)
class _Row:
    line: int
    email: str
    values: dict[str, str | None]
    area_ids: tuple[int, ...] | None


# --- reading the file -------------------------------------------------------------------------------

def _normalise_header(name: str) -> str:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return HEADER_ALIASES.get(key, key)


def _delimiter(header_line: str) -> str:
    """Excel writes semicolons in locales whose decimal separator is a comma: count on the header."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _seekable(source: bytes | str | IO[bytes]) -> IO[bytes]:
    """A binary stream the two passes can each read from the start."""
    if isinstance(source, str):
        return io.BytesIO(source.encode("utf-8"))
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(source)
    if source.seekable():
        return source
    spooled = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
    shutil.copyfileobj(source, spooled)
    return spooled


def _text_lines(stream: IO[bytes]) -> Iterator[str]:
    """The file's lines, decoded one at a time (so an encoding problem is reported with its line), with
    their line endings, which the csv module needs; old Mac files' lone CRs end lines too."""
    stream.seek(0)
    number = 0
    for chunk in stream:
        for raw in chunk.splitlines(keepends=True):
            number += 1
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInput(f"Line {number} is not UTF-8 text. Save the file as \"CSV UTF-8\" and try "
                                   f"again.", errors={"file": ["not UTF-8"]}) from exc
            if "\x00" in line:
                raise InvalidInput(f"Line {number} contains NUL characters: the file is not a CSV text file.",
                                   errors={"file": ["NUL"]})
            yield line


@dataclass(frozen=True)
class _Table:
    header: list[str]  # normalised names, "" for unnamed columns
    records: Iterator[tuple[int, list[str]]]  # (first line, cells) of each non-blank row

    @property
    def columns(self) -> list[str]:
        return [h for h in self.header if h in COLUMNS]


def _read_table(stream: IO[bytes]) -> _Table:
    """The header and an iterator over the rows. Raises InvalidInput, naming the line, for a file that is
    empty, has no email column, or whose shape is broken; the iterator raises it when it gets there."""
    lines = _text_lines(stream)
    first = next(lines, None)
    if first is None or (not first.strip() and not any(line.strip() for line in lines)):
        raise InvalidInput("The file is empty.", errors={"file": ["empty"]})
    delimiter = _delimiter(first)
    # strict: a quote followed by more text, or the file ending inside quotes, is an error, not a guess.
    reader = csv.reader(chain([first], lines), delimiter=delimiter, strict=True)
    header = [_normalise_header(h) for h in _next_record(reader, 1) or []]
    if "email" not in header:
        raise InvalidInput("The first line must name the columns, including an \"email\" column.",
                           errors={"file": ["no email column"]})
    return _Table(header, _records(reader, len(header), delimiter))


def _next_record(reader, start: int) -> list[str] | None:
    """The record starting on line `start`, or None at the end; InvalidInput when its quotes are broken
    or it runs over several lines (no value of this file may contain a line break)."""
    try:
        cells = next(reader, None)
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise InvalidInput(
                f"Line {start}: a quoted value starts on this line and is never closed, so every line after "
                f"it would be read as part of that value. Add the missing closing quote (\") and try again.",
                errors={"file": [f"line {start}: quote never closed"]}) from exc
        if "expected after" in str(exc):
            raise InvalidInput(
                f"Line {reader.line_num}: a quote (\") ends a value but more text follows it. Inside a quoted "
                f"value, write a quote twice (\"\"); or take the quotes away.",
                errors={"file": [f"line {reader.line_num}: {exc}"]}) from exc
        raise InvalidInput(f"Line {reader.line_num}: the file is not valid CSV ({exc}).",
                           errors={"file": [f"line {reader.line_num}: {exc}"]}) from exc
    if cells is not None and reader.line_num > start:
        raise InvalidInput(
            f"Line {start}: a quoted value runs over several lines, to line {reader.line_num}. Values cannot "
            f"contain line breaks: a closing quote (\") is probably missing on line {start}, which makes the "
            f"lines after it part of one value.",
            errors={"file": [f"lines {start}-{reader.line_num}: line break inside a value"]})
    return cells


def _records(reader, width: int, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    separator = "semicolon (;)" if delimiter == ";" else "comma (,)"
    while True:
        start = reader.line_num + 1
        cells = _next_record(reader, start)
        if cells is None:
            return
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != width:
            raise InvalidInput(
                f"Line {start} has {len(cells)} value{'s' if len(cells) != 1 else ''} but the first line names "
                f"{width} column{'s' if width != 1 else ''}. Each line needs the same number of {separator} "
                f"separators; a value containing a {separator.split()[0]} must be in quotes.",
                errors={"file": [f"line {start}: {len(cells)} values, {width} columns"]})
        yield start, cells


# --- checking rows ----------------------------------------------------------------------------------

class _RowChecker:
    """Validates rows one at a time, remembering only each valid email's line (for duplicates)."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.areas = _area_lookup() if "service_areas" in columns else {}
        self.lines_by_email: dict[str, int] = {}

    def check(self, line: int, raw: dict[str, str]) -> _Row | RowError:
        address = raw.get("email", "")
        if not address:
            return RowError(line, "email is missing")
        try:
            email = validate_email(address, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            return RowError(line, f"{address!r} is not a valid email address: {exc}", address.lower())
        if email in self.lines_by_email:
            return RowError(line, f"{email} already appears on line {self.lines_by_email[email]}", email)
        area_ids = None
        if "service_areas" in self.columns:
            names = [n.strip() for n in re.split(r"[;|]", raw.get("service_areas", "")) if n.strip()]
            unknown = [n for n in names if n.lower() not in self.areas]
            if unknown:
                return RowError(line, f"unknown service area {', '.join(repr(n) for n in unknown)}", email)
            area_ids = tuple(dict.fromkeys(self.areas[n.lower()] for n in names))
        values = {c: (raw.get(c) or None) for c in ("name", "department", "location") if c in self.columns}
        too_long = [c for c, value in values.items() if value and len(value) > MAX_LENGTHS[c]]
        if too_long:
            return RowError(line, f"{too_long[0]} is longer than {MAX_LENGTHS[too_long[0]]} characters", email)
        self.lines_by_email[email] = line
        return _Row(line, email, values, area_ids)


def _area_lookup() -> dict[str, int]:
    """Service area ids by lower-cased name and code; codes win over names."""
    lookup: dict[str, int] = {}
    for area_id, name in db.session.execute(select(ServiceArea.id, ServiceArea.name)
                                            .order_by(ServiceArea.position.desc())):
        lookup[name.strip().lower()] = area_id
    for area_id, code in db.session.execute(select(ServiceArea.id, ServiceArea.code)):
        lookup[code.lower()] = area_id
    return lookup


def _rows(table: _Table) -> Iterator[tuple[int, dict[str, str]]]:
    for line, cells in table.records:
        yield line, {name: cells[i].strip() for i, name in enumerate(table.header) if name}


# --- writing ----------------------------------------------------------------------------------------

def _chunks(rows: Iterable[_Row], size: int) -> Iterator[list[_Row]]:
    chunk: list[_Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _apply_chunk(rows: list[_Row], columns: list[str], report: ImportReport) -> None:
    """Upsert one chunk: one query reads the people already known, then one statement per kind of write."""
    now = utcnow()
    known = {r.email: r for r in db.session.execute(
        select(_stakeholders.c.id, _stakeholders.c.email, _stakeholders.c.name, _stakeholders.c.department,
               _stakeholders.c.location, _stakeholders.c.active)
        .where(_stakeholders.c.email.in_([row.email for row in rows])))}
    with_areas = "service_areas" in columns
    current_areas: dict[int, set[int]] = {}
    if with_areas and known:
        for stakeholder_id, area_id in db.session.execute(
                select(_links.c.stakeholder_id, _links.c.service_area_id)
                .where(_links.c.stakeholder_id.in_([r.id for r in known.values()]))):
            current_areas.setdefault(stakeholder_id, set()).add(area_id)
    file_columns = [c for c in ("name", "department", "location") if c in columns]
    new, changed = [], []
    areas_of_new: dict[str, tuple[int, ...]] = {}
    areas_of_known: dict[int, tuple[int, ...]] = {}
    for row in rows:
        values = {c: row.values.get(c) or ("" if c == "name" else None) for c in file_columns}
        existing = known.get(row.email)
        if existing is None:
            new.append({"email": row.email, "name": "", "department": None, "location": None, **values,
                        "active": True, "created_at": now, "updated_at": now})
            if row.area_ids:
                areas_of_new[row.email] = row.area_ids
            report.created += 1
            continue
        columns_differ = not existing.active or any(getattr(existing, c) != v for c, v in values.items())
        areas_differ = row.area_ids is not None and set(row.area_ids) != current_areas.get(existing.id, set())
        if columns_differ:
            changed.append({"b_id": existing.id, **{f"b_{c}": v for c, v in values.items()}})
        if areas_differ:
            areas_of_known[existing.id] = row.area_ids
        if columns_differ or areas_differ:
            report.updated += 1
        else:
            report.unchanged += 1
    links = []
    if new:
        for stakeholder_id, email in db.session.execute(
                insert(_stakeholders).returning(_stakeholders.c.id, _stakeholders.c.email), new):
            links += [{"stakeholder_id": stakeholder_id, "service_area_id": a} for a in areas_of_new.get(email, ())]
    if changed:
        db.session.execute(
            update(_stakeholders).where(_stakeholders.c.id == bindparam("b_id"))
            .values(active=True, updated_at=now, **{c: bindparam(f"b_{c}") for c in file_columns}),
            changed)
    touched = sorted({c["b_id"] for c in changed} | set(areas_of_known))
    if touched:
        # HR changed (or reactivated) the person since the hard bounce: worth trying their address again.
        db.session.execute(update(_stakeholders).where(_stakeholders.c.id.in_(touched),
                                                       _stakeholders.c.undeliverable_at.is_not(None))
                           .values(undeliverable_at=None, undeliverable_reason=None))
    if areas_of_known:
        db.session.execute(delete(_links).where(_links.c.stakeholder_id.in_(list(areas_of_known))))
        links += [{"stakeholder_id": s, "service_area_id": a} for s, areas in areas_of_known.items() for a in areas]
    if links:
        db.session.execute(insert(_links), links)


def _missing_active(*present: Container[str]) -> tuple[list[int], int]:
    """Ids of active people whose email is in none of `present`, and how many people are active, read
    in batches of plain rows."""
    missing, active = [], 0
    result = db.session.execute(select(_stakeholders.c.id, _stakeholders.c.email)
                                .where(_stakeholders.c.active.is_(True))
                                .execution_options(yield_per=CHUNK_SIZE))
    for stakeholder_id, email in result:
        active += 1
        if not any(email in emails for emails in present):
            missing.append(stakeholder_id)
    return missing, active


@unit_of_work
def import_stakeholders(source: bytes | str | IO[bytes], *, sync: bool = False, skip_invalid: bool = False,
                        force: bool = False) -> ImportReport:
    """Upsert stakeholders by email from CSV (bytes, text, or a binary file). A unit of work: what it wrote
    is committed when `report.applied`; a refused file (InvalidInput, TooManyDeactivations) writes nothing.

    Columns: email, name, department, location, service areas (`;`-separated codes or names); only
    the columns present are updated. An opt-out is never undone by an import; an undeliverable mark
    (a hard bounce) is cleared for people whose row the import changes or reactivates, not by a file
    that lists them exactly as before (a routine export that still lists a leaver). With `sync`, active
    stakeholders missing from the file are deactivated (people on an invalid row are not "missing");
    more than SYNC_CONFIRM_SHARE of the active people only with `force`, else TooManyDeactivations.
    A file with invalid rows changes nothing unless `skip_invalid`; a file whose shape is broken
    (InvalidInput naming the line) never changes anything.
    """
    stream = _seekable(source)
    report = ImportReport()
    table = _read_table(stream)
    checker = _RowChecker(table.columns)
    present_on_invalid_rows: set[str] = set()
    for line, raw in _rows(table):
        result = checker.check(line, raw)
        if isinstance(result, RowError):
            report.add_error(result)
            if result.email:
                present_on_invalid_rows.add(result.email)
    if report.invalid_rows and not skip_invalid:
        return report
    to_deactivate: list[int] = []
    if sync:
        to_deactivate, active = _missing_active(checker.lines_by_email, present_on_invalid_rows)
        if len(to_deactivate) > SYNC_CONFIRM_SHARE * active and not force:
            raise TooManyDeactivations(len(to_deactivate), active)

    # Second pass: the same rows, now known to be valid or to be skipped, written chunk by chunk.
    table = _read_table(stream)
    writer = _RowChecker(table.columns)
    valid = (row for row in (writer.check(line, raw) for line, raw in _rows(table)) if isinstance(row, _Row))
    for chunk in _chunks(valid, CHUNK_SIZE):
        _apply_chunk(chunk, table.columns, report)
    for start in range(0, len(to_deactivate), CHUNK_SIZE):
        db.session.execute(update(_stakeholders).where(_stakeholders.c.id.in_(to_deactivate[start:start + CHUNK_SIZE]))
                           .values(active=False, updated_at=utcnow()))
    report.deactivated = len(to_deactivate)
    report.applied = True
    return report


@dataclass(frozen=True)
class StakeholderCounts:
    total: int
    active: int
    opted_out: int


def stakeholder_counts() -> StakeholderCounts:
    total, active, opted_out = db.session.execute(select(
        func.count(Stakeholder.id),
        func.coalesce(func.sum(case((Stakeholder.active.is_(True), 1), else_=0)), 0),
        func.count(Stakeholder.opted_out_at),
    )).one()
    return StakeholderCounts(int(total), int(active), int(opted_out))


def search_query(text: str | None = None, *, opted_out: bool = False):
    """Stakeholders matching a search on email, name or department, optionally only the opted out."""
    query = select(Stakeholder).order_by(Stakeholder.email)
    if text and text.strip():
        needle = text.strip().lower()
        query = query.where(or_(*(func.lower(column).contains(needle, autoescape=True)
                                  for column in (Stakeholder.email, Stakeholder.name, Stakeholder.department))))
    if opted_out:
        query = query.where(Stakeholder.opted_out_at.is_not(None))
    return query


@unit_of_work
def undo_opt_out(stakeholder: Stakeholder) -> None:
    """An admin restores someone who opted out by mistake. A unit of work."""
    stakeholder.opt_in()
