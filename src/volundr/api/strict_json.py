"""Strict JSON request bodies: only what can be written back out as JSON is accepted.

Python's `json` module is lenient: it reads `NaN`, `Infinity` and `-Infinity`, turns `1e400`
into `inf`, keeps lone surrogates (`"\\ud800"`) in strings, and fails on invalid UTF-8, very
long integer literals and deep nesting with errors FastAPI answers as a 400. `loads` rejects
all of these with `json.JSONDecodeError`, which FastAPI (and `validation_error`) turn into
the usual 422 `json_invalid` item (API §0.1).

Integers must fit in 64 bits (signed, or unsigned when positive): no JSON client reads more
exactly, and what Volundr stores is read back by a parser with that range.

Strings holding NUL (`"\\u0000"`) are refused too, naming where: no text Volundr receives can
carry one onward — PostgreSQL text and JSON refuse it, and a process argument or
environment value cannot hold it (an agent would fail to start, or a turn never run).
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

from fastapi.exceptions import RequestValidationError

MAX_DEPTH = 128
"""Deepest nesting of arrays and objects accepted in a body. Far below the interpreter's
recursion limit, so every later step (validation, the store's serializer, responses and
stream frames) can walk an accepted value."""

_SURROGATE_ESCAPES = ("\\ud", "\\uD")
"""A lone surrogate can only come from a `\\uD800`–`\\uDFFF` escape once the body decoded
as strict UTF-8; without one of these prefixes in the text, no string needs checking."""
INT_MIN, INT_MAX = -(2**63), 2**64 - 1
_NUL_ESCAPE = "\\u0000"
"""The only way a NUL reaches a string: strict JSON refuses raw control characters."""


def loads(body: bytes) -> Any:
    """The value of a JSON body (UTF-8, an optional BOM ignored), or `JSONDecodeError`.

    Costs one strict UTF-8 decode, a range check per integer literal and, for bodies that
    might be too deep or hold escaped surrogates or NULs, one walk over the parsed containers.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError(f"Invalid UTF-8 at byte {exc.start}", "", exc.start) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        value = json.loads(
            text, parse_constant=_constant, parse_float=_finite_float, parse_int=_bounded_int
        )
    except RecursionError:
        _reject(f"Nesting deeper than {MAX_DEPTH} levels")
    strings = any(escape in text for escape in _SURROGATE_ESCAPES)
    nul = _NUL_ESCAPE in text
    if strings or nul or text.count("[") + text.count("{") > MAX_DEPTH:
        try:
            _check(value, 1, strings, nul)
        except _NulFound:
            _refuse_nul(value, ())  # the error path only: find where, for the message
    return value


class _NulFound(Exception):
    """A string or key holds a NUL (`_refuse_nul` then names where)."""


def _refuse_nul(value: Any, path: tuple[str | int, ...]) -> None:
    """Reject the first string (or object key) holding a NUL, naming its place."""
    where = ".".join(map(str, path)) or "the body"
    if type(value) is str:
        if "\0" in value:
            _reject(f"NUL character (\\u0000) in the string at {where}: not accepted")
    elif type(value) is dict:
        for key, child in value.items():
            if "\0" in key:
                _reject(f"NUL character (\\u0000) in a key of {where}: not accepted")
            _refuse_nul(child, (*path, key))
    elif type(value) is list:
        for index, child in enumerate(value):
            _refuse_nul(child, (*path, index))


def validation_error(exc: json.JSONDecodeError) -> RequestValidationError:
    """The 422 FastAPI answers for a body that is not JSON, for bodies parsed by hand."""
    return RequestValidationError(
        [{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
          "input": {}, "ctx": {"error": exc.msg}}]
    )  # fmt: skip


def _reject(reason: str) -> NoReturn:
    """Position 0: these faults are found after parsing, where positions are gone."""
    raise json.JSONDecodeError(reason, "", 0) from None


def _constant(name: str) -> NoReturn:
    _reject(f"{name} is not valid JSON")


def _bounded_int(literal: str) -> int:
    """An integer literal that fits in 64 bits (checked by length first: `int()` of a
    literal of thousands of digits is itself slow)."""
    value = int(literal) if len(literal) <= 21 else None
    if value is None or not INT_MIN <= value <= INT_MAX:
        _reject(f"Integer out of range (it must fit in 64 bits): {literal[:40]}")
    return value


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        _reject(f"Number out of range: {literal[:40]}")
    return value


def _check(value: Any, depth: int, strings: bool, nul: bool) -> None:
    """One walk: reject nesting deeper than MAX_DEPTH, and in strings and keys, lone
    surrogates (when `strings`) and NULs (when `nul`, raising _NulFound)."""
    if depth > MAX_DEPTH:
        _reject(f"Nesting deeper than {MAX_DEPTH} levels")
    if type(value) is dict:
        if strings or nul:
            for key in value:
                _check_string(key, strings, nul)
        children: Any = value.values()
    elif type(value) is list:
        children = value
    else:
        if type(value) is str:
            _check_string(value, strings, nul)
        return
    for child in children:
        kind = type(child)
        if kind is dict or kind is list:
            _check(child, depth + 1, strings, nul)
        elif kind is str:
            _check_string(child, strings, nul)


def _check_string(value: str, strings: bool, nul: bool) -> None:
    if nul and "\0" in value:
        raise _NulFound
    if not strings or value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        _reject(f"Lone surrogate \\u{ord(value[exc.start]):04x} in a string")
