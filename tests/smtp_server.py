"""A real SMTP server on loopback (aiosmtpd) for tests: collects what it receives, and can be told to
refuse recipients (550), defer them (451 then 250), answer slowly, throttle like Microsoft 365 (451 4.4.2
beyond N messages in a rolling minute), hang up after each message, or be down.

Use the `smtp_server` fixture (import it into the test module) or `SmtpServer` directly.
"""
from __future__ import annotations

import asyncio
import socket
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Callable

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    """A TCP port nothing listens on (at the moment of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Received:
    recipients: tuple[str, ...]
    message: EmailMessage
    mail_from: str = ""  # the envelope sender (SMTP MAIL FROM)

    @property
    def to(self) -> str:
        return self.recipients[0]


class RecordingHandler:
    """aiosmtpd handler: records accepted messages and plays scripted replies per recipient."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.scripted: dict[str, list[str]] = {}
        self.refused: dict[str, str] = {}
        self.delay = 0.0
        self.drop_after_message = False
        self.rate_limit: int | None = None
        self.rate_reply = "451 4.4.2 Message rate exceeded"
        self.clock: Callable[[], float] = time.monotonic
        self.accepted_at: list[float] = []  # by `clock`, one per accepted message
        self.throttled = 0  # throttling replies given
        self._recent: deque[float] = deque()
        # Sessions that will be hung up: they take no further message. Weak, and by identity of the object:
        # a bare id() can come back for a new session once the old one is freed.
        self._closing: weakref.WeakSet = weakref.WeakSet()
        self._lock = threading.Lock()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if session in self._closing:
            return "421 4.3.2 Closing connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        key = address.lower()
        with self._lock:
            if self.rate_limit is not None:
                now = self.clock()
                while self._recent and self._recent[0] <= now - 60:
                    self._recent.popleft()
                if len(self._recent) >= self.rate_limit:
                    self.throttled += 1
                    return self.rate_reply
            if key in self.refused:
                return self.refused[key]
            script = self.scripted.get(key)
            reply = script.pop(0) if script else None
        if reply is not None and not reply.startswith("250"):
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.received.append(Received(tuple(a.lower() for a in envelope.rcpt_tos), message,
                                          envelope.mail_from or ""))
            now = self.clock()
            self.accepted_at.append(now)
            self._recent.append(now)
        if self.drop_after_message:
            # Hang up right after accepting, as servers with per-session message limits do: once the reply
            # is written (the callback runs after this reply is pushed, before anything the client sends
            # next is read), and refusing any further message on this session in the meantime.
            self._closing.add(session)
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server in a background thread on 127.0.0.1 and a free port."""

    def __init__(self, *, auth: tuple[str, str] | None = None) -> None:
        self.handler = RecordingHandler()
        self.host = "127.0.0.1"
        self.port = free_port()
        self.auth = auth
        self.logins: list[str] = []
        self._controller: Controller | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and self.auth and \
                (auth_data.login.decode(), auth_data.password.decode()) == self.auth:
            self.logins.append(auth_data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def start(self) -> SmtpServer:
        kwargs = {}
        if self.auth:
            kwargs = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
        self._controller = Controller(self.handler, hostname=self.host, port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Take the server down: connections are refused until `start()`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    # scripting -----------------------------------------------------------------------------------

    def refuse(self, address: str, reply: str = "550 5.1.1 User unknown") -> None:
        """Answer RCPT for `address` with a permanent failure, every time."""
        self.handler.refused[address.lower()] = reply

    def defer_once(self, address: str, reply: str = "451 4.3.0 Try again later") -> None:
        """Answer RCPT for `address` with a temporary failure once, then accept."""
        self.handler.scripted.setdefault(address.lower(), []).append(reply)

    def hang_up_after_each_message(self) -> None:
        self.handler.drop_after_message = True

    def slow_down(self, seconds: float) -> None:
        self.handler.delay = seconds

    def throttle_after(self, per_minute: int, reply: str = "451 4.4.2 Message rate exceeded",
                       clock: Callable[[], float] | None = None) -> None:
        """Answer RCPT with `reply` while `per_minute` messages were accepted in the last 60 s of `clock`
        (seconds; real monotonic time unless a test simulates it)."""
        with self.handler._lock:
            self.handler.rate_limit = per_minute
            self.handler.rate_reply = reply
            if clock is not None:
                self.handler.clock = clock

    def most_in_any_minute(self) -> int:
        """The most messages accepted within any 60 s (by the throttle's clock)."""
        with self.handler._lock:
            times = sorted(self.handler.accepted_at)
        most, start = 0, 0
        for end, at in enumerate(times):
            while times[start] <= at - 60:
                start += 1
            most = max(most, end - start + 1)
        return most

    # what arrived ----------------------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        with self.handler._lock:
            return list(self.handler.received)

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.received if address.lower() in r.recipients]

    def settings(self, **overrides):
        """Mail settings pointing at this server (security none), for `run_dispatch_pass`."""
        from app.services.mailer import MailSettings

        values = dict(base_url="http://vendorpulse.test", timezone="Europe/London",
                      mail_from="VendorPulse <surveys@vendorpulse.test>", smtp_host=self.host, smtp_port=self.port,
                      smtp_security="none", smtp_timeout=5.0)
        if self.auth:
            values.update(smtp_username=self.auth[0], smtp_password=self.auth[1])
        values.update(overrides)
        return MailSettings(**values)


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()
