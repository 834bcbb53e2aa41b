"""`flask dispatch run|serve|test|bounces|pack-jobs`: send survey invitations and reminders, open and close
waves, read bounces back, prepare the review packs managers asked for."""
from __future__ import annotations

import logging
import signal
import threading
import time

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.models.base import utcnow
from app.services import dispatch

log = logging.getLogger(__name__)

dispatch_group = AppGroup("dispatch", help="Send survey invitations and reminders.")
BOUNCE_CHECK_INTERVAL = 300.0  # seconds: `serve` reads the bounce mailbox at most this often
PACK_POLL_INTERVAL = 1.0  # seconds: how soon `serve` starts a review pack a manager is waiting for


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


@dispatch_group.command("test")
@click.argument("email")
def dispatch_test(email: str) -> None:
    """Send one test message to EMAIL through the configured mail server (or the outbox without
    SMTP_HOST) and print the server's reply; exits 1 when the message was not accepted."""
    from flask import current_app

    from app.errors import InvalidInput
    from app.services.mail_check import send_test_message
    from app.services.mailer import MailSettings

    try:
        result = send_test_message(MailSettings.from_config(current_app.config), email, utcnow())
    except InvalidInput as error:
        raise click.BadParameter(error.message, param_hint="EMAIL") from error
    click.echo(result.summary(), err=not result.delivered)
    if not result.delivered:
        raise SystemExit(1)


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
    next_bounce_check = 0.0
    # Packs are built beside the passes, not between them: a manager waits for a pack, and a pass may
    # spend minutes waiting for send quota.
    packs = threading.Thread(target=_serve_pack_jobs, args=(current_app._get_current_object(), worker_id, stopping),
                             name="review-pack-jobs", daemon=True)
    packs.start()
    try:
        while not stopping.is_set():
            try:
                report = dispatch.run_dispatch_pass(utcnow(), worker_id=worker_id, batch_size=batch_size,
                                                    commit_every=commit_every, should_stop=stopping.is_set)
                click.echo(report.summary())
            except Exception:  # a database hiccup must not end the service; the next pass retries
                log.exception("Dispatch pass failed")
                db.session.rollback()
            if not stopping.is_set() and time.monotonic() >= next_bounce_check:
                next_bounce_check = time.monotonic() + BOUNCE_CHECK_INTERVAL
                _read_bounces_logged()
            db.session.remove()
            stopping.wait(interval)
    finally:
        stopping.set()
        packs.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    click.echo("Dispatcher stopped.")


def _serve_pack_jobs(app, worker_id: str, stopping: threading.Event) -> None:
    """The serve loop's pack step, in its own thread (own app context, own session): build every due pack,
    then look again after `PACK_POLL_INTERVAL`. A pack being built when SIGTERM comes is finished first."""
    from app.services import pack_jobs

    with app.app_context():
        while not stopping.is_set():
            try:
                built = pack_jobs.run_pack_jobs(worker_id, should_stop=stopping.is_set)
                if built:
                    click.echo(f"Review packs: {built} prepared.")
            except Exception:  # a database hiccup must not end the worker; the next look retries
                log.exception("Review pack jobs failed")
                db.session.rollback()
            db.session.remove()
            stopping.wait(PACK_POLL_INTERVAL)


@dispatch_group.command("pack-jobs")
@click.option("--worker-id", default=None, help="Name in claims; default host:pid:random.")
def dispatch_pack_jobs(worker_id: str | None) -> None:
    """Prepare every review pack waiting for a worker, then exit (`serve` does this continuously)."""
    from app.services import pack_jobs

    built = pack_jobs.run_pack_jobs(worker_id or dispatch.default_worker_id())
    click.echo(f"Review packs: {built} prepared.")


@dispatch_group.command("bounces")
def dispatch_bounces() -> None:
    """Read the bounce mailbox (BOUNCE_IMAP_*): mark bounced invitations and, after a hard bounce, the
    stakeholder undeliverable. Mail that is not a bounce of ours stays in the mailbox, untouched."""
    from flask import current_app

    from app.services import bounces

    settings = bounces.BounceSettings.from_config(current_app.config)
    if settings is None:
        raise click.ClickException("Set BOUNCE_ADDRESS and BOUNCE_IMAP_HOST (and BOUNCE_IMAP_USER, "
                                   "BOUNCE_IMAP_PASSWORD) to read bounces.")
    try:
        report = bounces.read_bounces(settings, utcnow())
    except bounces.BounceMailboxError as error:
        raise click.ClickException(str(error)) from error
    click.echo(report.summary())


def _read_bounces_logged() -> None:
    """The serve loop's bounce step: skipped when not configured, and never ends the service."""
    from flask import current_app

    from app.services import bounces

    settings = bounces.BounceSettings.from_config(current_app.config)
    if settings is None:
        return
    try:
        click.echo(f"Bounces: {bounces.read_bounces(settings, utcnow()).summary()}")
    except Exception:
        log.exception("Reading the bounce mailbox failed")
        db.session.rollback()
