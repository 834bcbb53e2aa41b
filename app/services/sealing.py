"""Sealing: small JSON payloads encrypted and authenticated (AES-256-GCM) under keys derived with HKDF.

A sealed blob is a random 12-byte nonce followed by the ciphertext and its tag. The JSON is padded to a
size bucket before sealing, so a blob's length tells little about what was written inside it.
"""
from __future__ import annotations

import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import VendorPulseError

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
# Padded sizes are this many bytes, or the next power of two above it. A draft, or a submission with six
# service areas and a few long comments, fits the smallest bucket, so nearly all blobs look alike; only
# unusually much text shows, as a larger bucket.
SMALLEST_BUCKET = 16384
_PAD_START = b"\x80"  # ISO/IEC 7816-4 padding: one 0x80 byte, then zeros up to the bucket


class SealBroken(VendorPulseError):
    """A blob that does not open with this key and context: altered, cut short, or sealed with another key."""

    title = "Sealed data cannot be opened"


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 256-bit key for one purpose, so one secret never serves two uses with the same key."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=f"vendorpulse/{purpose}".encode()).derive(secret)


def draft_key(token: str) -> bytes:
    """The key of drafts saved from one personal link. The server keeps only the token's SHA-256, so
    only a request that carries the link can derive it."""
    return derive_key(token.encode(), "draft")


def pool_key(secret_key: str) -> bytes:
    """The key of anonymous submissions waiting in the response pool, derived from the app's SECRET_KEY."""
    return derive_key(secret_key.encode(), "response-pool")


def seal(key: bytes, payload: dict[str, Any], *, context: str = "") -> bytes:
    """Encrypt `payload` (JSON-serialisable) under `key`. `context` is authenticated, not stored: the blob
    opens only with the same context (say, the row it belongs to), so it cannot be moved elsewhere."""
    plain = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, _pad(plain), context.encode())


def unseal(key: bytes, blob: bytes, *, context: str = "") -> dict[str, Any]:
    """The payload sealed in `blob`; SealBroken if the blob was altered or sealed with another key or context."""
    blob = bytes(blob)
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise SealBroken("The sealed data is too short.")
    try:
        padded = AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode())
    except InvalidTag:
        raise SealBroken("The sealed data does not open with this key.") from None
    try:
        payload = json.loads(_unpad(padded))
    except ValueError:
        raise SealBroken("The sealed data is not JSON.") from None
    if not isinstance(payload, dict):
        raise SealBroken("The sealed data is not an object.")
    return payload


def padded_size(length: int) -> int:
    """The bucket a plaintext of `length` bytes (plus its padding mark) is padded to."""
    size = SMALLEST_BUCKET
    while size < length + len(_PAD_START):
        size *= 2
    return size


def _pad(plain: bytes) -> bytes:
    return plain + _PAD_START + bytes(padded_size(len(plain)) - len(plain) - len(_PAD_START))


def _unpad(padded: bytes) -> bytes:
    body = padded.rstrip(b"\x00")
    if not body.endswith(_PAD_START):
        raise SealBroken("The sealed data is not padded as expected.")
    return body[:-len(_PAD_START)]
