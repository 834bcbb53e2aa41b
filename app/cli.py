"""Command-line interface: `flask init`, `flask demo`, `flask users ...`, `flask surveys ...`.

Feature areas add their own groups in their `cli.py`; `register` wires them all.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from app.errors import CatalogError, InvalidInput
from app.extensions import db
from app.models import Provider, User
from app.models.base import utcnow
from app.services import catalog, users

users_cli = AppGroup("users", help="Manage accounts of managers, admins and provider users.")
surveys_cli = AppGroup("surveys", help="Validate and load survey definitions from surveys/.")


def _surveys_dir(directory: str | None) -> Path:
    return Path(directory or current_app.config["SURVEYS_DIR"])


@surveys_cli.command("validate")
@click.argument("directory", required=False)
def surveys_validate(directory: str | None) -> None:
    """Check every definition file; exit 1 naming each broken file and the place inside it."""
    failures = 0
    for path, error in catalog.validate_directory(_surveys_dir(directory)):
        if error is None:
            click.echo(f"ok      {path.name}")
        else:
            failures += 1
            click.echo(f"INVALID {error}", err=True)
    if failures:
        raise SystemExit(1)


@surveys_cli.command("load")
@click.argument("directory", required=False)
def surveys_load(directory: str | None) -> None:
    """Load definitions; an unchanged file is a no-op, a changed one becomes a new version."""
    try:
        results = catalog.load_directory(_surveys_dir(directory))
    except CatalogError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    for result in results:
        state = "loaded" if result.created else "unchanged"
        click.echo(f"{state:9} {result.code} v{result.version} ({result.source})")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "manager", "provider"]), default="manager", show_default=True)
@click.option("--name", default="")
@click.option("--provider", "provider_name", help="Provider name, for provider accounts.")
@click.option("--password", envvar="NEW_USER_PASSWORD", help="Default: a generated one, printed once.")
def users_create(email: str, role: str, name: str, provider_name: str | None, password: str | None) -> None:
    """Create an account. A given --password must meet the password policy; without it a one-time
    password is printed and must be changed."""
    provider = None
    if provider_name:
        provider = db.session.scalar(select(Provider).where(Provider.name == provider_name))
        if provider is None:
            raise click.ClickException(f"No provider named {provider_name!r}.")
    generated = password is None
    password = password or users.generate_password()
    try:
        user = users.create_user(email, password, role=role, name=name, provider=provider,
                                 must_change_password=generated)
        db.session.commit()
    except InvalidInput as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    click.echo(f"Created {user.role} {user.email}")
    if generated:
        click.echo(f"One-time password: {password}  (to be changed at first sign-in)")


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password", envvar="NEW_USER_PASSWORD", help="Default: a generated one, printed once.")
def users_set_password(email: str, password: str | None) -> None:
    """Reset a password (for a forgotten admin password) and end the account's sessions. A given
    password must meet the password policy; generated ones must be changed at sign-in."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No account for {email}.")
    try:
        one_time = users.reset_password(user, password)
    except InvalidInput as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    click.echo(f"Password of {user.email} reset; every session of the account has ended.")
    if one_time:
        click.echo(f"One-time password: {one_time}  (to be changed at first sign-in)")


def ensure_admin(email: str, password: str | None) -> tuple[User | None, str | None]:
    """Create the first admin unless one exists. Returns the user and a password to print, if generated."""
    if db.session.scalar(select(User.id).where(User.role == "admin").limit(1)) is not None:
        return None, None
    generated = password is None
    password = password or users.generate_password()
    user = users.create_user(email, password, role="admin", name="Administrator", must_change_password=generated)
    db.session.commit()
    return user, password if generated else None


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Migrate the database, load the survey catalog and create the first admin (idempotent)."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    surveys_load.callback(None)
    try:
        user, password = ensure_admin(current_app.config["ADMIN_EMAIL"], current_app.config["ADMIN_PASSWORD"])
    except InvalidInput as error:
        db.session.rollback()
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
    from app.services import demo  # imports TextBlob; kept out of every other command's start-up
    from app.services.comment_scores import Thresholds

    thresholds = Thresholds(current_app.config["SENTIMENT_POSITIVE_THRESHOLD"],
                            current_app.config["SENTIMENT_NEGATIVE_THRESHOLD"])
    summary = demo.seed_demo(now=utcnow(), timezone=current_app.config["TIMEZONE"],
                             base_url=current_app.config["BASE_URL"], stakeholder_count=stakeholders,
                             thresholds=thresholds)
    if not summary.created:
        click.echo("Demo data already present; nothing to do.")
        return
    click.echo(f"Seeded {summary.stakeholders} stakeholders, {summary.waves} waves, {summary.responses} responses.")
    if summary.sample_link:
        click.echo(f"Try the survey as an employee: {summary.sample_link}")


def register(app: Flask) -> None:
    app.cli.add_command(init_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(surveys_cli)
    for module in FEATURE_CLI_MODULES:
        for group in importlib.import_module(module).COMMANDS:
            app.cli.add_command(group)


# Each feature keeps its commands in its own module, exposing a COMMANDS list of click groups.
FEATURE_CLI_MODULES: tuple[str, ...] = ("app.sentiment_cli", "app.export_cli", "app.dispatch_cli")
