"""`flask sentiment rescore`: re-score stored comments after the lexicon or thresholds change."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from app.services.comment_scores import ANALYZER_VERSION, Thresholds, count_comments, rescore_comments

sentiment_group = AppGroup("sentiment", help="Sentiment scores of comments.")


@sentiment_group.command("rescore")
@click.option("--wave", "waves", multiple=True, help="Only comments of this wave label (repeatable), e.g. 2026-Q4.")
@click.option("--stale-only", is_flag=True, help="Only comments scored by another analyzer version.")
@click.option("--chunk-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
def rescore(waves: tuple[str, ...], stale_only: bool, chunk_size: int) -> None:
    """Re-score comments in chunks with a progress bar. Managers' corrections of labels and aspects are kept."""
    thresholds = Thresholds.from_config(current_app.config)
    total = count_comments(waves, stale_only)
    if total == 0:
        click.echo("No comments to re-score.")
        return
    with click.progressbar(length=total, label=f"Re-scoring with {ANALYZER_VERSION}",
                           file=sys.stderr) as bar:
        for done in rescore_comments(thresholds, waves, stale_only=stale_only, chunk_size=chunk_size):
            bar.update(done)
    click.echo(f"Re-scored {total} comments.")
