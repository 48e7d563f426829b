"""Signed opaque ids: session ids, version cookies and job ids any replica can verify.

An id is `<payload>.<mac>`, the mac an HMAC-SHA256 of the payload under the Deployment's key
and the id's purpose (a session id is never accepted as a job id). Replicas of one version share
the key (the chart's Secret), so any of them accepts an id another issued: nothing is kept in
memory, and a restart loses nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from typing import Literal

Purpose = Literal["session", "cookie", "job"]
# For local runs only: every process without a configured key uses it, so ids work across
# processes on one machine. The chart always sets a key of its own (docs/mcp_server.md).
DEVELOPMENT_KEY = "codemode-development-key"
_MAC_CHARS = 22  # 128 bits of the HMAC, base64url

logger = logging.getLogger(__name__)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def random_part() -> str:
    """16 random bytes in base64url: no dots, so an id splits unambiguously."""
    return _b64(secrets.token_bytes(16))


class Signer:
    def __init__(self, key: str | None) -> None:
        if not key:
            logger.warning("no sessionKey configured: using the development key (local runs only)")
        self._key = (key or DEVELOPMENT_KEY).encode()

    def _mac(self, purpose: Purpose, payload: str) -> str:
        digest = hmac.new(self._key, f"{purpose}|{payload}".encode(), hashlib.sha256).digest()
        return _b64(digest)[:_MAC_CHARS]

    def sign(self, purpose: Purpose, payload: str) -> str:
        return f"{payload}.{self._mac(purpose, payload)}"

    def verify(self, purpose: Purpose, token: str) -> str | None:
        """The payload of a token this key signed for `purpose`, else None."""
        payload, dot, mac = token.rpartition(".")
        if not dot or not payload or not mac.isascii():
            return None
        return payload if hmac.compare_digest(mac, self._mac(purpose, payload)) else None
