"""`flask tallies rebuild`: count the score tallies the dashboards read again from the stored answers."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app.services.tallies import rebuild_tallies

tallies_group = AppGroup("tallies", help="The score tallies dashboards and exports read.")


@tallies_group.command("rebuild")
@click.option("--wave", "waves", multiple=True, help="Only waves with this label (repeatable), e.g. 2026-Q4.")
def rebuild(waves: tuple[str, ...]) -> None:
    """Count each wave's tallies again from its answers, one wave per transaction: after answers were
    restored or edited by hand, or when a figure looks wrong. Best run while no wave takes answers: on
    PostgreSQL a submission stored at the same moment can make a wave's rebuild fail (nothing is lost, its
    tallies stay as they were: run it again)."""
    done = 0
    for label in rebuild_tallies(waves):
        click.echo(f"Rebuilt the tallies of {label}.")
        done += 1
    click.echo(f"Rebuilt {done} wave(s)." if done else "No wave to rebuild.")
