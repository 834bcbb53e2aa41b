"""`flask stakeholders import`: upsert the people who are surveyed from a CSV file."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.errors import InvalidInput
from app.services import stakeholders

stakeholders_group = AppGroup("stakeholders", help="Import the people who are surveyed.")


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
        raise click.ClickException(f"{error.message} If it is, run the import again with --force.") from error
    except InvalidInput as error:
        raise click.ClickException(f"{file.name}: {error.message}") from error
    for row_error in report.errors:
        click.echo(f"{file.name}:{row_error}", err=True)
    if report.unlisted_errors:
        click.echo(f"{file.name}: ... and {report.unlisted_errors} more invalid rows", err=True)
    if not report.applied:
        click.echo(report.summary(), err=True)
        raise SystemExit(1)
    click.echo(report.summary())
