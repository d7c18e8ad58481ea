"""Fast JSON for hot paths (stored JSON columns, large response bodies), exact everywhere.

orjson is several times faster than the standard library, but differs at the edges:
`loads` reads integers beyond 64 bits as floats, and `dumps` refuses them. Those values
are rare but legal in what Volundr stores (an event's free-form `data`), so both functions
fall back to the standard library whenever orjson could differ.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_NUMBER = re.compile(r"\d{19}")
"""19 digits: the shortest run that can hold an integer beyond 64 bits (a false positive,
e.g. digits inside a string, only costs the slower parser)."""


def loads(text: str | bytes) -> Any:
    """Parse JSON text exactly as `json.loads` would."""
    if _LONG_NUMBER.search(text if isinstance(text, str) else text.decode("utf-8")):
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
