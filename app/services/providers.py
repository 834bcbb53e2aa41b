"""Providers and the service areas they deliver, with the experience targets of their contract."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app.errors import InvalidInput
from app.extensions import db
from app.models import Provider, ServiceArea
from app.services.transactions import unit_of_work

SATISFACTION_RANGE = (1.0, 5.0)
HAPPINESS_RANGE = (-100.0, 100.0)
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")


def _check_target(name: str, value: float | None, bounds: tuple[float, float], errors: dict[str, list[str]]) -> None:
    if value is not None and not bounds[0] <= value <= bounds[1]:
        errors.setdefault(name, []).append(f"Use a number from {bounds[0]:g} to {bounds[1]:g}.")


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        first = next(iter(errors.values()))[0]
        raise InvalidInput(first, errors=errors)


@unit_of_work
def save_provider(name: str, contract_reference: str | None = None, provider: Provider | None = None) -> Provider:
    """Create a provider, or rename/update `provider`. Names are unique, ignoring case. A unit of work."""
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Enter the provider's name."]
    clash = db.session.scalar(select(Provider.id).where(func.lower(Provider.name) == name.lower()))
    if clash is not None and (provider is None or clash != provider.id):
        errors["name"] = [f"A provider called {name} already exists."]
    _raise(errors)
    provider = provider or Provider()
    provider.name = name
    provider.contract_reference = (contract_reference or "").strip() or None
    db.session.add(provider)
    return provider


@unit_of_work
def save_service_area(provider: Provider, *, code: str, name: str, description: str | None = None,
                      position: int = 0, target_satisfaction: float | None = None,
                      target_happiness: float | None = None, active: bool = True,
                      area: ServiceArea | None = None) -> ServiceArea:
    """Create or update a service area and its targets (satisfaction 1-5, happiness -100..100). A unit of
    work."""
    code = code.strip().lower()
    errors: dict[str, list[str]] = {}
    if not _CODE.match(code):
        errors["code"] = ["Use lower-case letters, digits, - and _ (up to 60 characters)."]
    elif area is not None and code != area.code:
        errors["code"] = ["A code cannot change once set: reports and exports use it to line waves up."]
    else:
        clash = db.session.scalar(select(ServiceArea.id).where(ServiceArea.code == code))
        if clash is not None and (area is None or clash != area.id):
            errors["code"] = [f"The code {code} is already used."]
    if not name.strip():
        errors["name"] = ["Enter a name."]
    _check_target("target_satisfaction", target_satisfaction, SATISFACTION_RANGE, errors)
    _check_target("target_happiness", target_happiness, HAPPINESS_RANGE, errors)
    _raise(errors)
    area = area or ServiceArea(provider=provider, code=code)
    area.name = name.strip()
    area.description = (description or "").strip() or None
    area.position = position
    area.target_satisfaction = target_satisfaction
    area.target_happiness = target_happiness
    area.active = active
    db.session.add(area)
    return area


def all_providers() -> list[Provider]:
    """Every provider, by name (for the admin pages' lists and choices)."""
    return list(db.session.scalars(select(Provider).order_by(Provider.name)))


def active_service_areas() -> list[ServiceArea]:
    """Every active service area, grouped by provider in their order (for a campaign's audience)."""
    return list(db.session.scalars(select(ServiceArea).where(ServiceArea.active.is_(True))
                                   .order_by(ServiceArea.provider_id, ServiceArea.position)))
