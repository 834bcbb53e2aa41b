"""`flask users create|set-password`: accounts of managers, admins and provider users."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.errors import InvalidInput
from app.extensions import db
from app.models import Provider, User
from app.services import users

users_group = AppGroup("users", help="Manage accounts of managers, admins and provider users.")


@users_group.command("create")
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
    except InvalidInput as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Created {user.role} {user.email}")
    if generated:
        click.echo(f"One-time password: {password}  (to be changed at first sign-in)")


@users_group.command("set-password")
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
        raise click.ClickException(error.message) from error
    click.echo(f"Password of {user.email} reset; every session of the account has ended.")
    if one_time:
        click.echo(f"One-time password: {one_time}  (to be changed at first sign-in)")
