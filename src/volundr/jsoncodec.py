"""Fast JSON for hot paths (stored JSON columns, large response bodies).

orjson is several times faster than the standard library, but differs at the edges:
`loads` reads integers beyond 64 bits as floats, and `dumps` refuses them. `dumps` falls
back to the standard library for them; `loads` reads them exactly only while `exact_ints`
is asked for, which costs a scan of the text. What Volundr stores never holds such an
integer (request bodies holding one are refused, `volundr.api.strict_json`), so its columns
are read without the scan.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_NUMBER = re.compile(r"[0-9]{19}")
"""19 digits: the shortest run that can hold an integer beyond 64 bits (a false positive,
e.g. digits inside a string, only costs the slower parser)."""


def loads(text: str | bytes, *, exact_ints: bool = True) -> Any:
    """Parse JSON text as `json.loads` would; with `exact_ints=False`, integers beyond 64
    bits may come back as floats."""
    if exact_ints and _LONG_NUMBER.search(
        text if isinstance(text, str) else text.decode("utf-8")
    ):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # e.g. 1e400 or a lone surrogate, which json reads
        return json.loads(text)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of `value`, as `json.dumps(…, ensure_ascii=False,
    separators=(",", ":"))` would write it."""
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):  # e.g. an integer beyond 64 bits
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def loads_stored(text: str | bytes) -> Any:
    """`loads` of a JSON column: written by Volundr, so without integers beyond 64 bits."""
    return loads(text, exact_ints=False)
