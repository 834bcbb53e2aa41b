"""Stakeholders from HR's CSV export: parsing, validation with line numbers, upsert and sync; opt-outs."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import selectinload

from app.errors import InvalidInput
from app.extensions import db
from app.models import ServiceArea, Stakeholder

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


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str
    email: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    """What an import did. With errors and no `skip_invalid`, `applied` is False and nothing changed."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    errors: list[RowError] = field(default_factory=list)
    applied: bool = False

    def summary(self) -> str:
        text = (f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.deactivated} deactivated")
        if self.errors:
            text += f", {len(self.errors)} invalid row{'s' if len(self.errors) != 1 else ''}"
            text += " skipped" if self.applied else " (nothing was changed)"
        return text


@dataclass(frozen=True)
class _Row:
    line: int
    email: str
    values: dict[str, str | None]
    areas: list[ServiceArea] | None


def _normalise_header(name: str) -> str:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return HEADER_ALIASES.get(key, key)


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("The file is not UTF-8 text. Save it as \"CSV UTF-8\" and try again.",
                           errors={"file": ["not UTF-8"]}) from exc


def _delimiter(header_line: str) -> str:
    """Excel writes semicolons in locales whose decimal separator is a comma: count on the header."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def parse_csv(data: bytes | str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Columns (normalised names) and rows with their line numbers, blank rows left out."""
    text = _decode(data)
    if not text.strip():
        raise InvalidInput("The file is empty.", errors={"file": ["empty"]})
    if "\x00" in text:
        raise InvalidInput("The file contains NUL characters: it is not a CSV text file.", errors={"file": ["NUL"]})
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.splitlines()[0]))
    try:
        header = [_normalise_header(h) for h in next(reader)]
        if "email" not in header:
            raise InvalidInput("The first line must name the columns, including an \"email\" column.",
                               errors={"file": ["no email column"]})
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            row = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header) if name}
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise InvalidInput(f"Line {reader.line_num}: the file is not valid CSV ({exc}).",
                           errors={"file": [str(exc)]}) from exc
    return [h for h in header if h in COLUMNS], rows


def _area_lookup() -> dict[str, ServiceArea]:
    lookup: dict[str, ServiceArea] = {}
    for area in db.session.scalars(select(ServiceArea).order_by(ServiceArea.position.desc())):
        lookup[area.name.strip().lower()] = area
    for area in db.session.scalars(select(ServiceArea)):
        lookup[area.code.lower()] = area  # codes win over names
    return lookup


def _validate(columns: list[str], raw_rows: list[tuple[int, dict[str, str]]]) -> tuple[list[_Row], list[RowError]]:
    areas = _area_lookup() if "service_areas" in columns else {}
    seen: dict[str, int] = {}
    valid, errors = [], []
    for line, raw in raw_rows:
        address = raw.get("email", "")
        if not address:
            errors.append(RowError(line, "email is missing"))
            continue
        try:
            email = validate_email(address, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            errors.append(RowError(line, f"{address!r} is not a valid email address: {exc}", address))
            continue
        if email in seen:
            errors.append(RowError(line, f"{email} already appears on line {seen[email]}", email))
            continue
        seen[email] = line
        row_areas = None
        if "service_areas" in columns:
            names = [n.strip() for n in re.split(r"[;|]", raw.get("service_areas", "")) if n.strip()]
            unknown = [n for n in names if n.lower() not in areas]
            if unknown:
                errors.append(RowError(line, f"unknown service area {', '.join(repr(n) for n in unknown)}", email))
                continue
            row_areas = list(dict.fromkeys(areas[n.lower()] for n in names))
        values = {c: (raw.get(c) or None) for c in ("name", "department", "location") if c in columns}
        too_long = [c for c, value in values.items() if value and len(value) > MAX_LENGTHS[c]]
        if too_long:
            errors.append(RowError(line, f"{too_long[0]} is longer than {MAX_LENGTHS[too_long[0]]} characters", email))
            continue
        valid.append(_Row(line, email, values, row_areas))
    return valid, errors


def import_stakeholders(data: bytes | str, *, sync: bool = False, skip_invalid: bool = False) -> ImportReport:
    """Upsert stakeholders by email from CSV. The caller commits when `report.applied`.

    Columns: email, name, department, location, service areas (`;`-separated codes or names); only
    the columns present are updated. An opt-out is never undone by an import. With `sync`, active
    stakeholders missing from the file are deactivated (people on an invalid row are not "missing").
    A file with invalid rows changes nothing unless `skip_invalid`.
    """
    columns, raw_rows = parse_csv(data)
    rows, errors = _validate(columns, raw_rows)
    report = ImportReport(errors=errors)
    if errors and not skip_invalid:
        return report
    existing = {s.email: s for s in db.session.scalars(
        select(Stakeholder).options(selectinload(Stakeholder.service_areas)))}
    for row in rows:
        stakeholder = existing.get(row.email)
        if stakeholder is None:
            stakeholder = Stakeholder(email=row.email, name=row.values.get("name") or "",
                                      department=row.values.get("department"), location=row.values.get("location"),
                                      service_areas=row.areas or [], active=True)
            db.session.add(stakeholder)
            report.created += 1
            continue
        changed = not stakeholder.active
        stakeholder.active = True
        for column, value in row.values.items():
            value = value or ("" if column == "name" else None)
            if getattr(stakeholder, column) != value:
                setattr(stakeholder, column, value)
                changed = True
        if row.areas is not None and {a.id for a in stakeholder.service_areas} != {a.id for a in row.areas}:
            stakeholder.service_areas = row.areas
            changed = True
        if changed:
            report.updated += 1
        else:
            report.unchanged += 1
    if sync:
        present = {row.email for row in rows} | {e.email for e in errors if e.email}
        for email, stakeholder in existing.items():
            if stakeholder.active and email not in present:
                stakeholder.active = False
                report.deactivated += 1
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


def undo_opt_out(stakeholder: Stakeholder) -> None:
    """An admin restores someone who opted out by mistake. The caller commits."""
    stakeholder.opt_in()
