"""The one place that maps errors to HTTP responses (API §0.1)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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
    return JSONResponse({"detail": exc.message}, status_code=code)


async def handle_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": [_error_item(e) for e in exc.errors()]}, status_code=422)


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


def _error_item(error: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": error.get("type", "value_error"),
        "loc": list(error.get("loc", ())),
        "msg": error.get("msg", ""),
        "input": _jsonable(error.get("input")),
    }
    ctx = error.get("ctx")
    if ctx:
        item["ctx"] = {k: _jsonable(v) for k, v in ctx.items()}
    return item


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def install(app: FastAPI) -> None:
    app.add_exception_handler(VolundrError, handle_domain_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(Exception, handle_unexpected)
