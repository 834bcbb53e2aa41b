"""`flask init` (migrate, load the survey catalog, create the first admin) and `flask demo`."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from app.cli.surveys import surveys_load
from app.errors import InvalidInput
from app.models.base import utcnow
from app.services import users


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Migrate the database, load the survey catalog and create the first admin (idempotent)."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    surveys_load.callback(None)
    try:
        user, password = users.create_first_admin(current_app.config["ADMIN_EMAIL"],
                                                  current_app.config["ADMIN_PASSWORD"])
    except InvalidInput as error:
        raise click.ClickException(f"ADMIN_PASSWORD: {error.message}" if "password" in error.errors
                                   else error.message) from error
    if user is not None:
        click.echo(f"Created admin {user.email}")
        if password:
            click.echo(f"One-time admin password: {password}  (to be changed at first sign-in)")
    click.echo("Database ready.")


@click.command("demo")
@with_appcontext
@click.option("--stakeholders", default=300, show_default=True, help="How many employees to invent.")
def demo_command(stakeholders: int) -> None:
    """Seed believable demo data once; does nothing when the demo provider already exists."""
    # The demo scores its comments, which loads TextBlob: imported here, for this command alone.
    from app.services import demo
    from app.services.comment_scores import Thresholds

    thresholds = Thresholds.from_config(current_app.config)
    summary = demo.seed_demo(now=utcnow(), timezone=current_app.config["TIMEZONE"],
                             base_url=current_app.config["BASE_URL"], stakeholder_count=stakeholders,
                             thresholds=thresholds)
    if not summary.created:
        click.echo("Demo data already present; nothing to do.")
        return
    click.echo(f"Seeded {summary.stakeholders} stakeholders, {summary.waves} waves, {summary.responses} responses"
               + (f"; the deep dive {summary.deep_dive_waves} waves, {summary.deep_dive_responses} responses"
                  if summary.deep_dive_waves else "") + ".")
    if summary.sample_link:
        click.echo(f"Try the survey as an employee: {summary.sample_link}")
