"""`flask surveys validate|load`: check and load the survey definitions of surveys/."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.errors import CatalogError

# The catalog validates definitions with jsonschema, which no other command needs: each command here
# imports it when it runs, so `flask --help` and the dispatcher start without it.

surveys_group = AppGroup("surveys", help="Validate and load survey definitions from surveys/.")


def _surveys_dir(directory: str | None) -> Path:
    return Path(directory or current_app.config["SURVEYS_DIR"])


@surveys_group.command("validate")
@click.argument("directory", required=False)
def surveys_validate(directory: str | None) -> None:
    """Check every definition file; exit 1 naming each broken file and the place inside it."""
    from app.services import catalog

    failures = 0
    for path, error in catalog.validate_directory(_surveys_dir(directory)):
        if error is None:
            click.echo(f"ok      {path.name}")
        else:
            failures += 1
            click.echo(f"INVALID {error}", err=True)
    if failures:
        raise SystemExit(1)


@surveys_group.command("load")
@click.argument("directory", required=False)
def surveys_load(directory: str | None) -> None:
    """Load definitions; an unchanged file is a no-op, a changed one becomes a new version."""
    from app.services import catalog

    try:
        results = catalog.load_directory(_surveys_dir(directory))
    except CatalogError as error:
        raise click.ClickException(str(error)) from error
    for result in results:
        state = "loaded" if result.created else "unchanged"
        click.echo(f"{state:9} {result.code} v{result.version} ({result.source})")
