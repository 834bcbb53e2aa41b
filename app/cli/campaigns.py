"""`flask campaigns create|list`: survey campaigns and their planned waves."""
from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.errors import InvalidInput
from app.extensions import db
from app.models import Provider
from app.models.base import utcnow
from app.models.campaign import ANONYMITY_MODES, CADENCES
from app.services import campaigns

campaigns_group = AppGroup("campaigns", help="Create and list survey campaigns.")


@campaigns_group.command("create")
@click.option("--name", required=True)
@click.option("--provider", "provider_name", required=True, help="Provider name.")
@click.option("--survey", "survey_code", default="quarterly-provider-satisfaction", show_default=True,
              help="Survey definition code; its latest version is used.")
@click.option("--cadence", type=click.Choice(CADENCES), default="quarterly", show_default=True)
@click.option("--every", "interval_count", default=1, show_default=True, help="Every N weeks/months/quarters.")
@click.option("--start", "anchor_date", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="First wave's date (YYYY-MM-DD), in the configured time zone.")
@click.option("--window-days", default=14, show_default=True, help="Days each wave stays open.")
@click.option("--reminders", default="5,10", show_default=True, help="Reminder days after opening, e.g. 5,10.")
@click.option("--anonymity", type=click.Choice(ANONYMITY_MODES), default="confidential", show_default=True)
@click.option("--min-group-size", default=5, show_default=True)
@click.option("--fatigue-days", default=0, show_default=True,
              help="Leave out anyone invited to any survey in the last N days.")
@click.option("--areas-per-person", type=click.IntRange(min=1), default=None,
              help="Ask each person about at most this many of the areas they use (default: all).")
@click.option("--department", "departments", multiple=True, help="Only these departments (repeatable).")
@click.option("--audience-area", "audience_areas", multiple=True,
              help="Only users of this service area code (repeatable).")
def campaigns_create(name: str, provider_name: str, survey_code: str, cadence: str, interval_count: int,
                     anchor_date: datetime, window_days: int, reminders: str, anonymity: str, min_group_size: int,
                     fatigue_days: int, areas_per_person: int | None, departments: tuple[str, ...],
                     audience_areas: tuple[str, ...]) -> None:
    """Create a campaign and plan its first waves."""
    # The catalog loads jsonschema, which only this command of the group needs.
    from app.services import catalog

    provider = db.session.scalar(select(Provider).where(Provider.name == provider_name))
    definition = catalog.latest_definition(survey_code)
    try:
        campaign = campaigns.create_campaign(
            name=name, provider_id=provider.id if provider else 0, definition_id=definition.id if definition else 0,
            anchor_date=anchor_date.date(), now=utcnow(), timezone=current_app.config["TIMEZONE"], cadence=cadence,
            interval_count=interval_count, window_days=window_days, reminder_days=campaigns.parse_day_list(reminders),
            anonymity=anonymity, min_group_size=min_group_size, fatigue_days=fatigue_days,
            audience_departments=departments, audience_area_codes=audience_areas, areas_per_person=areas_per_person)
    except InvalidInput as error:
        details = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.errors.items())
        raise click.ClickException(f"{error.message} {details}".strip()) from error
    waves = ", ".join(f"{w.label} opens {w.opens_at:%Y-%m-%d %H:%M} UTC" for w in campaign.waves)
    click.echo(f"Created campaign {campaign.name!r} (id {campaign.id}); waves: {waves}")


@campaigns_group.command("list")
def campaigns_list() -> None:
    """Every campaign with its cadence and next wave."""
    summaries = campaigns.campaign_summaries()
    if not summaries:
        click.echo("No campaigns yet.")
    for summary in summaries:
        c = summary.campaign
        cadence = c.cadence if c.interval_count == 1 else f"every {c.interval_count} {c.cadence}"
        upcoming = f"next opens {summary.next_opens_at:%Y-%m-%d %H:%M} UTC" if summary.next_opens_at else "none planned"
        click.echo(f"{c.id:>4}  {c.name}  [{c.provider.name}; {cadence}; {c.anonymity}; "
                   f"{'active' if c.active else 'paused'}]  waves: {summary.waves} ({summary.open_waves} open), "
                   f"{upcoming}")
