"""The VERP bounce address and the reading of delivery status notifications, without a mail server."""
from __future__ import annotations

import pytest

from app.services.bounces import envelope_sender, invitation_from_address, read_message
from tests.imap_server import sample

SECRET = "unit-test-secret-key"
BOUNCES = "bounces@example.org"


def verp(invitation_id: int) -> str:
    return envelope_sender(invitation_id, BOUNCES, SECRET)


def test_the_address_names_the_invitation_and_round_trips():
    address = verp(4217)
    assert address.startswith("bounces+4217.") and address.endswith("@example.org")
    assert invitation_from_address(address, BOUNCES, SECRET) == 4217
    # Angle brackets, a display name and a server that upper-cases the address change nothing.
    assert invitation_from_address(f"Mail System <{address.upper()}>", BOUNCES, SECRET) == 4217


@pytest.mark.parametrize("tamper", [
    lambda a: a.replace("bounces+4217.", "bounces+4218."),           # another invitation, same tag
    lambda a: a[:13] + ("a" if a[13] != "a" else "b") + a[14:],      # one character of the tag changed
    lambda a: a.replace("@example.org", "@example.net"),              # someone else's domain
    lambda a: a.replace("bounces+", "other+"),                        # someone else's mailbox
    lambda a: a.split(".")[0] + "@example.org",                       # no tag
    lambda a: "bounces@example.org",
    lambda a: "not an address",
])
def test_a_forged_or_malformed_address_names_nothing(tamper):
    assert invitation_from_address(tamper(verp(4217)), BOUNCES, SECRET) is None


def test_another_secret_key_does_not_verify():
    assert invitation_from_address(verp(4217), BOUNCES, "another key") is None


ADDRESSES = {name: (verp(i), f"{name}@example.com") for i, name in
             enumerate(["hard", "soft", "exchange", "qmail", "auto"], start=101)}
ADDRESSES["forged"] = ("bounces+106.aaaaaaaaaa@example.org", "forged@example.com")


def read(name: str):
    return read_message(sample(name, ADDRESSES), BOUNCES, SECRET)


@pytest.mark.parametrize(("name", "invitation_id", "kind", "words", "recipient"), [
    ("hard_5.1.1.eml", 101, "hard", "550 5.1.1 <hard@example.com>: Recipient address rejected: User unknown", "hard@example.com"),
    ("soft_4.2.2.eml", 102, "soft", "452 4.2.2 Mailbox full", "soft@example.com"),
    ("exchange_ndr.eml", 103, "hard", "550 5.1.10 RESOLVER.ADR.RecipientNotFound", None),
    ("qmail_plain.eml", 104, "hard", "550 5.1.1 <qmail@example.com>... No such user", None),
])
def test_bounces_are_read_with_their_invitation_kind_and_reason(name, invitation_id, kind, words, recipient):
    reading = read(name)
    assert reading.outcome == "bounce", reading.detail
    assert reading.bounce.invitation_id == invitation_id
    assert reading.bounce.kind == kind
    assert words in reading.bounce.reason
    assert reading.bounce.recipient == recipient


@pytest.mark.parametrize(("name", "outcome"), [
    ("auto_reply.eml", "auto-reply"),
    ("forged.eml", "forged"),
    ("not_a_dsn.eml", "not-a-bounce"),
])
def test_what_is_not_a_bounce_of_ours_is_not_read_as_one(name, outcome):
    reading = read(name)
    assert reading.outcome == outcome
    assert reading.bounce is None


def test_a_delay_warning_is_a_soft_bounce_and_a_success_report_is_none():
    raw = sample("hard_5.1.1.eml", ADDRESSES)
    delayed = raw.replace(b"Action: failed", b"Action: delayed").replace(b"Status: 5.1.1", b"Status: 4.4.1")
    assert read_message(delayed, BOUNCES, SECRET).bounce.kind == "soft"
    delivered = raw.replace(b"Action: failed", b"Action: delivered").replace(b"Status: 5.1.1", b"Status: 2.0.0")
    # The report says delivered: the 550 quoted in its prose does not make it a failure.
    assert read_message(delivered, BOUNCES, SECRET).outcome == "not-a-bounce"


def test_a_bounce_without_any_address_of_ours_stays_unknown():
    raw = sample("hard_5.1.1.eml", {"hard": ("someone@example.org", "hard@example.com")})
    assert read_message(raw, BOUNCES, SECRET).outcome == "unknown-address"


def test_garbage_does_not_raise():
    assert read_message(b"\x00\xff garbage \r\n\r\n", BOUNCES, SECRET).outcome == "not-a-bounce"


@pytest.mark.parametrize("value", ["bounces+x@example.org", "VendorPulse <bounces@example.org>", "bounces"])
def test_a_bounce_address_that_cannot_carry_a_tag_is_refused_at_start(value, monkeypatch, tmp_path):
    from app.config import Config
    from app.errors import ConfigurationError

    monkeypatch.setenv("BOUNCE_ADDRESS", value)
    with pytest.raises(ConfigurationError, match="BOUNCE_ADDRESS"):
        Config(tmp_path)
