"""Fast JSON for hot paths (stored JSON columns, large response bodies).

orjson is several times faster than the standard library, but differs at the edges: it
reads integers beyond 64 bits as floats, and refuses to write them. `dumps` falls back to
the standard library for them; `loads` reads them exactly at the cost of a scan of the text.
What Volundr stores never holds such an integer (request bodies holding one are refused,
`volundr.api.strict_json`), so its columns are read by `loads_stored`, without the scan.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_NUMBER = re.compile(r"[0-9]{19}")
"""19 digits: the shortest run that can hold an integer beyond 64 bits (a false positive,
e.g. digits inside a string, only costs the slower parser)."""


def loads(text: str | bytes) -> Any:
    """Parse JSON text exactly as `json.loads` would (scanning it for long integers)."""
    if _LONG_NUMBER.search(text if isinstance(text, str) else text.decode("utf-8")):
        return json.loads(text)
    return loads_stored(text)


def loads_stored(text: str | bytes) -> Any:
    """`loads` of a JSON column, without the scan: Volundr writes no integer beyond 64 bits
    (which orjson would read as a float)."""
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
