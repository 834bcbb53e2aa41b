"""Sealing: what a sealed blob hides, and that any change to it, its key or its context is refused."""
from __future__ import annotations

import pytest

from app.services.sealing import SMALLEST_BUCKET, SealBroken, draft_key, padded_size, pool_key, seal, unseal

TOKEN = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3Jh"


def test_a_sealed_payload_opens_with_its_key_and_context_only():
    key = draft_key(TOKEN)
    payload = {"area1__comment": ["Ça marche — mostly"], "rel__partnership": ["4"], "n": 1.5, "ok": None}
    blob = seal(key, payload, context="response_draft:7")
    assert unseal(key, blob, context="response_draft:7") == payload
    with pytest.raises(SealBroken):
        unseal(key, blob, context="response_draft:8")  # moved to another row
    with pytest.raises(SealBroken):
        unseal(draft_key(TOKEN[:-1] + "A"), blob, context="response_draft:7")  # another link


def test_the_blob_holds_no_plaintext_and_a_fresh_nonce_each_time():
    key = pool_key("s3cret")
    payload = {"text": "A distinctive sentence about the printer on floor 4"}
    first, second = seal(key, payload), seal(key, payload)
    assert first != second
    assert first[:12] != second[:12]
    assert b"printer" not in first and b"distinctive" not in first


@pytest.mark.parametrize("position", [0, 11, 12, 40, -1])
def test_any_flipped_byte_is_refused(position):
    key = pool_key("s3cret")
    blob = bytearray(seal(key, {"score": 4}))
    blob[position] ^= 0x01
    with pytest.raises(SealBroken):
        unseal(key, bytes(blob))


def test_short_or_empty_blobs_are_refused():
    with pytest.raises(SealBroken):
        unseal(pool_key("s3cret"), b"")
    with pytest.raises(SealBroken):
        unseal(pool_key("s3cret"), b"x" * 27)


def test_lengths_fall_into_buckets_so_the_size_says_little():
    key = pool_key("s3cret")
    short = seal(key, {"text": "ok"})
    longer = seal(key, {"text": "x" * 3000})
    assert len(short) == len(longer) == 12 + SMALLEST_BUCKET + 16
    assert padded_size(SMALLEST_BUCKET) == 2 * SMALLEST_BUCKET
    assert len(seal(key, {"text": "x" * (SMALLEST_BUCKET + 10)})) == 12 + 2 * SMALLEST_BUCKET + 16


def test_keys_differ_by_purpose_and_secret():
    assert draft_key(TOKEN) != pool_key(TOKEN)
    assert pool_key("a") != pool_key("b")
    assert len(pool_key("a")) == len(draft_key(TOKEN)) == 32
