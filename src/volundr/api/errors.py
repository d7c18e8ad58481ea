"""The one place that maps errors to HTTP responses (API §0.1)."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError

from volundr.api import strict_json
from volundr.api.identity import current_principal
from volundr.api.responses import JSONResponse
from volundr.domain.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    RuntimeFailure,
    StoreUnavailable,
    VolundrError,
)

log = logging.getLogger("volundr.api")

STATUS_OF: list[tuple[type[VolundrError], int]] = [
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (InvalidRequest, 422),
    (RuntimeFailure, 502),
    (StoreUnavailable, 503),
]


def status_of(exc: VolundrError) -> int:
    return next((code for kind, code in STATUS_OF if isinstance(exc, kind)), 400)


async def handle_domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VolundrError)
    code = status_of(exc)
    log.info("%s: %s", code, exc.message)
    return JSONResponse({"detail": _text(exc.message)}, status_code=code)


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    denied = _identity_failure(request)
    if denied is not None:
        return denied
    return JSONResponse({"detail": [_error_item(e) for e in exc.errors()]}, status_code=422)


def _identity_failure(request: Request) -> JSONResponse | None:
    """The 401 owed to a caller without identity, on a route that needs one.

    Identity is checked before the schema (API §0.1), but FastAPI parses a JSON body before
    it resolves dependencies, so a malformed body would otherwise answer 422 first.
    """
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None or not _depends_on(dependant, current_principal):
        return None
    try:
        current_principal(request)
    except HTTPException as exc:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
    return None


def _depends_on(dependant: Any, call: Any) -> bool:
    return any(
        sub.call is call or _depends_on(sub, call) for sub in getattr(dependant, "dependencies", [])
    )


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


def _error_item(error: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": error.get("type", "value_error"),
        "loc": _jsonable(list(error.get("loc", ()))),
        "msg": _text(str(error.get("msg", ""))),
        "input": _jsonable(error.get("input")),
    }
    ctx = error.get("ctx")
    if ctx:
        item["ctx"] = {k: _jsonable(v) for k, v in ctx.items()}
    return item


def _jsonable(value: Any, depth: int = 0) -> Any:
    """`value` made safe to render as JSON, whatever the rejected input held.

    Non-finite floats become the strings `NaN`, `Infinity`, `-Infinity`; lone surrogates
    are shown as `\\udXXX` escapes; anything else that is not JSON becomes its `str`.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        bits = value.bit_length()
        return value if bits <= _MAX_INT_BITS else f"<{bits}-bit integer>"
    if isinstance(value, float):
        return value if math.isfinite(value) else _NON_FINITE[str(value)]
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if depth >= _MAX_ECHO_DEPTH:
        return "…"
    if isinstance(value, dict):
        return {_text(str(k)): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, depth + 1) for v in value]
    return _text(str(value))


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_MAX_INT_BITS = 4096
"""Wider integers are not echoed: rendering them may exceed the interpreter's digit limit."""
_MAX_ECHO_DEPTH = strict_json.MAX_DEPTH
"""Deeper parts of an echoed input are elided (never reached by a parsed body)."""


def _text(value: str) -> str:
    if value.isascii():
        return value
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def install(app: FastAPI) -> None:
    app.add_exception_handler(VolundrError, handle_domain_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(Exception, handle_unexpected)
