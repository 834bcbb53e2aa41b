"""Commands for getting surveys out: `flask dispatch ...`, `flask stakeholders import`, `flask campaigns ...`."""
from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.errors import InvalidInput
from app.extensions import db
from app.models import Provider
from app.models.base import utcnow
from app.models.campaign import ANONYMITY_MODES, CADENCES
from app.services import campaigns, catalog, dispatch, stakeholders

log = logging.getLogger(__name__)

dispatch_group = AppGroup("dispatch", help="Send survey invitations and reminders.")
stakeholders_group = AppGroup("stakeholders", help="Import the people who are surveyed.")
campaigns_group = AppGroup("campaigns", help="Create and list survey campaigns.")


def _pass_options(command):
    command = click.option("--batch-size", default=dispatch.BATCH_SIZE, show_default=True,
                           help="Invitations claimed and sent over one SMTP connection.")(command)
    command = click.option("--commit-every", default=dispatch.COMMIT_EVERY, show_default=True,
                           help="Record results every N messages; also the most messages a killed "
                                "dispatcher can send twice.")(command)
    command = click.option("--worker-id", default=None, help="Name in claims; default host:pid:random.")(command)
    return command


@dispatch_group.command("run")
@_pass_options
def dispatch_run(batch_size: int, commit_every: int, worker_id: str | None) -> None:
    """One pass: plan and open due waves, send invitations and reminders, close ended waves."""
    report = dispatch.run_dispatch_pass(utcnow(), worker_id=worker_id, batch_size=batch_size,
                                        commit_every=commit_every)
    click.echo(report.summary())


@dispatch_group.command("serve")
@click.option("--interval", default=60.0, show_default=True, help="Seconds between the starts of passes.")
@_pass_options
def dispatch_serve(interval: float, batch_size: int, commit_every: int, worker_id: str | None) -> None:
    """Run passes every INTERVAL seconds until SIGTERM or Ctrl-C; a pass in progress finishes its
    current message, releases the rest of its batch and records everything before exiting."""
    stopping = threading.Event()

    def request_stop(signum, _frame) -> None:
        click.echo(f"{signal.Signals(signum).name} received: stopping after the current message.", err=True)
        stopping.set()

    previous = {signum: signal.signal(signum, request_stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    worker_id = worker_id or dispatch.default_worker_id()
    click.echo(f"Dispatcher {worker_id} running a pass every {interval:g} s.")
    try:
        while not stopping.is_set():
            try:
                report = dispatch.run_dispatch_pass(utcnow(), worker_id=worker_id, batch_size=batch_size,
                                                    commit_every=commit_every, should_stop=stopping.is_set)
                click.echo(report.summary())
            except Exception:  # a database hiccup must not end the service; the next pass retries
                log.exception("Dispatch pass failed")
                db.session.rollback()
            db.session.remove()
            stopping.wait(interval)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    click.echo("Dispatcher stopped.")


@stakeholders_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sync", is_flag=True, help="Deactivate active stakeholders who are not in the file.")
@click.option("--force", is_flag=True,
              help=f"With --sync, deactivate even more than {stakeholders.SYNC_CONFIRM_SHARE:.0%} of the active "
                   f"people.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows even when some rows are invalid.")
def stakeholders_import(file: Path, sync: bool, force: bool, skip_invalid: bool) -> None:
    """Upsert stakeholders from a CSV file (email, name, department, location, service areas).

    The file is read as a stream; a file whose shape is broken (an unclosed quote, a row with more or
    fewer values than the header) changes nothing."""
    try:
        with file.open("rb") as stream:
            report = stakeholders.import_stakeholders(stream, sync=sync, skip_invalid=skip_invalid, force=force)
    except stakeholders.TooManyDeactivations as error:
        db.session.rollback()
        raise click.ClickException(f"{error.message} If it is, run the import again with --force.") from error
    except InvalidInput as error:
        db.session.rollback()
        raise click.ClickException(f"{file.name}: {error.message}") from error
    for row_error in report.errors:
        click.echo(f"{file.name}:{row_error}", err=True)
    if report.unlisted_errors:
        click.echo(f"{file.name}: ... and {report.unlisted_errors} more invalid rows", err=True)
    if not report.applied:
        db.session.rollback()
        click.echo(report.summary(), err=True)
        raise SystemExit(1)
    db.session.commit()
    click.echo(report.summary())


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
@click.option("--department", "departments", multiple=True, help="Only these departments (repeatable).")
@click.option("--audience-area", "audience_areas", multiple=True,
              help="Only users of this service area code (repeatable).")
def campaigns_create(name: str, provider_name: str, survey_code: str, cadence: str, interval_count: int,
                     anchor_date: datetime, window_days: int, reminders: str, anonymity: str, min_group_size: int,
                     fatigue_days: int, departments: tuple[str, ...], audience_areas: tuple[str, ...]) -> None:
    """Create a campaign and plan its first waves."""
    provider = db.session.scalar(select(Provider).where(Provider.name == provider_name))
    definition = catalog.latest_definition(survey_code)
    try:
        campaign = campaigns.create_campaign(
            name=name, provider_id=provider.id if provider else 0, definition_id=definition.id if definition else 0,
            anchor_date=anchor_date.date(), now=utcnow(), timezone=current_app.config["TIMEZONE"], cadence=cadence,
            interval_count=interval_count, window_days=window_days, reminder_days=campaigns.parse_day_list(reminders),
            anonymity=anonymity, min_group_size=min_group_size, fatigue_days=fatigue_days,
            audience_departments=departments, audience_area_codes=audience_areas)
        db.session.commit()
    except InvalidInput as error:
        db.session.rollback()
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


COMMANDS = [dispatch_group, stakeholders_group, campaigns_group]
