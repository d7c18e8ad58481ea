"""Who is calling: identity modes `none` and `headers` (API §1)."""

from __future__ import annotations

import base64
import binascii
import json

from fastapi import HTTPException, Request

from volundr.domain.models import LOCAL_ADMIN, Principal, Role

_SHORT_ROLES = {"admin": Role.ADMIN, "developer": Role.DEVELOPER, "viewer": Role.VIEWER}
_STRENGTH = [Role.ADMIN, Role.DEVELOPER, Role.VIEWER]


def parse_roles(raw: str | None) -> tuple[Role, ...]:
    """Roles from `x-auth-roles`: base64 of a JSON array, else a comma list.

    Unknown values are ignored; none left means developer; the strongest wins.
    """
    values: list[str] = []
    if raw:
        decoded = _base64_json_list(raw)
        values = decoded if decoded is not None else [v.strip() for v in raw.split(",")]
    known = set()
    for value in values:
        role = _SHORT_ROLES.get(value) or next((r for r in Role if r.value == value), None)
        if role is not None:
            known.add(role)
    strongest = next((r for r in _STRENGTH if r in known), Role.DEVELOPER)
    return (strongest,)


def _base64_json_list(raw: str) -> list[str] | None:
    try:
        decoded = json.loads(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if isinstance(decoded, list) and all(isinstance(v, str) for v in decoded):
        return [v.strip() for v in decoded]
    return None


def _header(request: Request, name: str) -> str | None:
    """A header's value read as UTF-8 (how proxies send non-ASCII names), falling back to
    the Latin-1 that HTTP defines when the bytes are not UTF-8."""
    value = request.headers.get(name)
    if value is None or value.isascii():
        return value
    raw = value.encode("latin-1")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return value


def principal_from_headers(request: Request) -> Principal:
    user = _header(request, "x-auth-user-id")
    if not user:
        raise HTTPException(
            401,
            "Missing required header: x-auth-user-id",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Principal(
        user_id=user,
        tenant_id=_header(request, "x-auth-tenant") or "default",
        email=_header(request, "x-auth-email"),
        roles=parse_roles(request.headers.get("x-auth-roles")),
    )


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, per the server's identity mode."""
    if request.app.state.auth_mode == "none":
        return LOCAL_ADMIN
    return principal_from_headers(request)
