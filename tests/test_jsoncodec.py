"""`volundr.jsoncodec`: the fast JSON path gives exactly what the standard library gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from volundr import jsoncodec

STANDARD = {"ensure_ascii": False, "separators": (",", ":")}


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 100000000000000000000000000001}',
        '[-9223372036854775809, 9223372036854775808, 18446744073709551616]',
        '{"x": 1e400}',
        '"\\ud800"',
        '{"s": "0123456789012345678901"}',
        '{"f": [0.1, -0.0, 1.7976931348623157e308, 5e-324]}',
    ],
)
def test_loads_reads_what_the_standard_library_reads(text: str) -> None:
    assert repr(jsoncodec.loads(text)) == repr(json.loads(text))
    assert repr(jsoncodec.loads(text.encode())) == repr(json.loads(text))


@pytest.mark.parametrize(
    "value", [{"big": 10**30}, {1: "int key"}, ["é", "\u2028", "/", {"n": None}], -(2**70)]
)
def test_dumps_writes_what_the_standard_library_writes(value: Any) -> None:
    assert jsoncodec.dumps(value) == json.dumps(value, **STANDARD).encode()  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_any_json_value_round_trips_as_with_the_standard_library(value: Any) -> None:
    text = json.dumps(value, **STANDARD)  # type: ignore[arg-type]
    assert repr(jsoncodec.loads(text)) == repr(json.loads(text))
    assert jsoncodec.loads(jsoncodec.dumps(value)) == json.loads(text)


@given(json_values)
def test_stored_json_without_long_integers_reads_the_same_fast(value: Any) -> None:
    text = json.dumps(value, **STANDARD)  # type: ignore[arg-type]
    if any(type(v) is int and not -(2**63) <= v < 2**64 for v in _leaves(value)):
        return  # the strict loader never lets such a value be stored
    assert repr(jsoncodec.loads_stored(text)) == repr(json.loads(text))


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for child in value.values() for leaf in _leaves(child)]
    if isinstance(value, list):
        return [leaf for child in value for leaf in _leaves(child)]
    return [value]
