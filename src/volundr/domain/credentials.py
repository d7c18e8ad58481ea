"""Session runtime credentials: the token a session's host reports with (API §1.3).

A token names its session (`vst_<session id hex>_<secret>`), so the server checks it
against that one session's stored hash; only the hash is stored, and clearing it when the
run ends revokes the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "vst_"


def new_runtime_token(session_id: str) -> str:
    """A fresh secret for one run of `session_id`."""
    return f"{PREFIX}{session_id.replace('-', '')}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(stored_hash: str | None, token: str) -> bool:
    return stored_hash is not None and hmac.compare_digest(stored_hash, hash_token(token))


def is_runtime_token(token: str) -> bool:
    return token.startswith(PREFIX)


def token_session(token: str) -> str | None:
    """The session id a runtime token claims (hyphenated), None when malformed."""
    if not is_runtime_token(token):
        return None
    hexid, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or not secret or len(hexid) != 32:
        return None
    try:
        int(hexid, 16)
    except ValueError:
        return None
    h = hexid.lower()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
