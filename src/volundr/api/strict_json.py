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
import re
from typing import Any, NoReturn

from fastapi.exceptions import RequestValidationError

MAX_DEPTH = 128
"""Deepest nesting of arrays and objects accepted in a body. Far below the interpreter's
recursion limit, so every later step (validation, the store's serializer, responses and
stream frames) can walk an accepted value."""

_SURROGATE_ESCAPES = ("\\ud", "\\uD")
"""A lone surrogate can only come from a `\\uD800`–`\\uDFFF` escape once the body decoded
as strict UTF-8; without one of these prefixes in the text, no string needs checking."""
_LONG_DIGITS = re.compile(r"[0-9]{19}")
"""The shortest digit run that can spell an integer beyond 64 bits; bodies without one are
not walked for integers."""
INT_MIN, INT_MAX = -(2**63), 2**64 - 1
_NUL_ESCAPE = "\\u0000"
"""The only way a NUL reaches a string: strict JSON refuses raw control characters."""


def loads(body: bytes) -> Any:
    """The value of a JSON body (UTF-8, an optional BOM ignored), or `JSONDecodeError`.

    Costs one strict UTF-8 decode and, for bodies that might be too deep or hold escaped
    surrogates or NULs, a walk over the parsed containers.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError(f"Invalid UTF-8 at byte {exc.start}", "", exc.start) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_finite_float)
    except RecursionError:
        _reject(f"Nesting deeper than {MAX_DEPTH} levels")
    except json.JSONDecodeError:
        raise
    except ValueError:  # `int()` refuses literals over sys.get_int_max_str_digits()
        _reject("Integer literal has too many digits")
    strings = any(escape in text for escape in _SURROGATE_ESCAPES)
    if strings or text.count("[") + text.count("{") > MAX_DEPTH:
        _check(value, 1, strings)
    if _NUL_ESCAPE in text:  # after the depth check: the walks below recurse
        _refuse_nul(value, ())
    if _LONG_DIGITS.search(text):
        _refuse_long_ints(value)
    return value


def _refuse_long_ints(value: Any) -> None:
    kind = type(value)
    if kind is int and not INT_MIN <= value <= INT_MAX:
        _reject(f"Integer out of range (it must fit in 64 bits): {str(value)[:40]}")
    elif kind is dict:
        for child in value.values():
            _refuse_long_ints(child)
    elif kind is list:
        for child in value:
            _refuse_long_ints(child)


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


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        _reject(f"Number out of range: {literal[:40]}")
    return value


def _check(value: Any, depth: int, strings: bool) -> None:
    """Reject nesting deeper than MAX_DEPTH and, when `strings`, lone surrogates."""
    if depth > MAX_DEPTH:
        _reject(f"Nesting deeper than {MAX_DEPTH} levels")
    if type(value) is dict:
        if strings:
            for key in value:
                _check_string(key)
        children: Any = value.values()
    elif type(value) is list:
        children = value
    else:
        if strings and type(value) is str:
            _check_string(value)
        return
    for child in children:
        kind = type(child)
        if kind is dict or kind is list:
            _check(child, depth + 1, strings)
        elif strings and kind is str:
            _check_string(child)


def _check_string(value: str) -> None:
    if value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        _reject(f"Lone surrogate \\u{ord(value[exc.start]):04x} in a string")
