"""Command-line interface: one module per command group, all registered here by `register`.

The services behind a command that needs scipy, matplotlib or TextBlob import them when they run, so
`flask --help` and the start of `flask dispatch run` stay quick.
"""
from __future__ import annotations

from flask import Flask

from app.cli import campaigns, dispatch, export, sentiment, setup, stakeholders, surveys, tallies, users

COMMANDS = (
    setup.init_command,
    setup.demo_command,
    users.users_group,
    surveys.surveys_group,
    stakeholders.stakeholders_group,
    campaigns.campaigns_group,
    dispatch.dispatch_group,
    export.export_command,
    export.review_pack_command,
    sentiment.sentiment_group,
    tallies.tallies_group,
)


def register(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
