"""`flask export KIND` (the dashboard's CSV exports, streamed to a file) and `flask review-pack` (the PDF)."""
from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any

import click

from app.errors import InvalidInput
from app.services.csv_stream import CsvDialect, stream_csv
from app.services.exports import KINDS, build_table, scope_for_labels


class _RowCounter:
    """Passes rows through and counts them: stream_csv yields chunks of many rows, not one per row."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        for row in self._rows:
            self.count += 1
            yield row


@click.command("export")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--waves", help="A wave label or a range, e.g. 2026-Q1..2026-Q4 (default: every wave).")
@click.option("--area", help="Service area code, e.g. service-desk.")
@click.option("--department", help="Only responses from this department.")
@click.option("--provider", type=int, help="Provider id.")
@click.option("--campaign", type=int, help="Campaign id (default: the provider's busiest campaign).")
@click.option("--excel", is_flag=True, help="Start with a UTF-8 byte order mark so Excel reads accents right.")
@click.option("--semicolon", is_flag=True,
              help="Separate cells with ';' and write numbers with a decimal comma (3,16), for spreadsheets set to "
                   "a decimal-comma locale (e.g. German, French).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout).")
def export_command(kind, waves, area, department, provider, campaign, excel, semicolon, output) -> None:
    """Write one CSV export."""
    try:
        scope = scope_for_labels(waves, provider_id=provider, campaign_id=campaign, department=department)
        table = build_table(kind, scope, area)
    except InvalidInput as error:
        raise click.ClickException(error.message) from error
    dialect = CsvDialect(excel=excel, delimiter=";" if semicolon else ",")
    rows = _RowCounter(table.rows)
    target = open(output, "wb") if output else sys.stdout.buffer
    try:
        for chunk in stream_csv(table.columns, rows, dialect):
            target.write(chunk)
    finally:
        if output:
            target.close()
    if output:
        click.echo(f"Wrote {rows.count} rows to {output}", err=True)


@click.command("review-pack")
@click.option("--waves", help="A wave label or a range, e.g. 2026-Q1..2026-Q4 (default: every wave).")
@click.option("--provider", type=int, help="Provider id.")
@click.option("--campaign", type=int, help="Campaign id (default: the provider's busiest campaign).")
@click.option("--prepared-by", default="the vendor management office", show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
def review_pack_command(waves, provider, campaign, prepared_by, output) -> None:
    """Write the PDF pack for the quarterly review with the provider."""
    # The pack draws its charts with matplotlib: imported here, so no other command pays for it.
    from app.models.base import utcnow
    from app.services.review_pack import PackMeta, build_review_pack

    try:
        scope = scope_for_labels(waves, provider_id=provider, campaign_id=campaign)
    except InvalidInput as error:
        raise click.ClickException(error.message) from error
    pdf = build_review_pack(scope, PackMeta(generated_at=utcnow(), prepared_by=prepared_by))
    with open(output, "wb") as target:
        target.write(pdf)
    click.echo(f"Wrote {len(pdf) // 1024} KB to {output}", err=True)
