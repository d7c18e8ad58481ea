"""Strict JSON bodies (`volundr.api.strict_json`): what cannot be carried onward is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.app_fixtures import LiveServer
from volundr.api import strict_json


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"name": "a\\u0000b"}', "at name"),
        (b'{"env": {"A": "x\\u0000"}}', "at env.A"),
        (b'{"events": [{"data": {"k": ["ok", "\\u0000"]}}]}', "at events.0.data.k.1"),
        (b'{"env": {"A\\u0000": "x"}}', "in a key of env"),
        (b'"\\u0000"', "at the body"),
    ],
)
def test_a_nul_anywhere_is_refused_naming_its_place(body: bytes, where: str) -> None:
    with pytest.raises(json.JSONDecodeError) as raised:
        strict_json.loads(body)
    assert "NUL character" in raised.value.msg and where in raised.value.msg


def test_an_escaped_backslash_before_u0000_is_just_text() -> None:
    assert strict_json.loads(b'{"path": "C:\\\\u0000"}') == {"path": "C:\\u0000"}


@pytest.mark.parametrize(
    "body",
    [
        {"name": "nul", "initial_prompt": "do\u0000it"},
        {"name": "nul", "system_prompt": "\u0000"},
        {"name": "nul", "model": "a\u0000b"},
        {"name": "nul", "env": {"TOKEN": "a\u0000b"}},
    ],
)
async def test_a_create_carrying_a_nul_is_422_and_creates_nothing(
    server: LiveServer, body: dict[str, Any]
) -> None:
    response = await server.api.post("/sessions", json=body)
    assert response.status_code == 422
    item = response.json()["detail"][0]
    assert item["type"] == "json_invalid" and "NUL character" in item["ctx"]["error"]
    assert (await server.api.get("/sessions")).json() == []


USAGE = {"tokens": 5, "provider": "cloud", "model": "claude-sonnet-4-6"}


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/usage", {**USAGE, "tokens": True}, ["body", "tokens"]),
        ("/usage", {**USAGE, "tokens": "5"}, ["body", "tokens"]),
        ("/usage", {**USAGE, "tokens": 5.0}, ["body", "tokens"]),
        ("/usage", {**USAGE, "cost": "0.1"}, ["body", "cost"]),
        ("/events", {"event_type": "error", "sequence": "3"}, ["body", "sequence"]),
        ("/events", {"event_type": "error", "tokens_in": False}, ["body", "tokens_in"]),
    ],
)
async def test_values_of_the_wrong_json_type_are_422_and_record_nothing(
    server: LiveServer, wait_for_status: Any, path: str, body: dict[str, Any], loc: list[str]
) -> None:
    sid = (await server.api.post("/sessions", json={"name": "typed"})).json()["id"]
    await wait_for_status(server.api, sid, "running")
    response = await server.api.post(f"/sessions/{sid}{path}", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc
    session = (await server.api.get(f"/sessions/{sid}")).json()
    assert session["tokens_used"] == 0
    assert (await server.api.get(f"/sessions/{sid}/events/counts")).json().get("error") is None


async def test_ids_and_times_are_read_from_strings_and_whole_numbers_are_prices(
    server: LiveServer, wait_for_status: Any
) -> None:
    created = await server.api.post("/sessions", json={
        "name": "typed", "preset_id": "0B9C5C0E-6A43-4F0E-9B3E-1F2A3B4C5D6E", "max_cost_usd": 2,
        "terminal_restricted": True,
    })  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["preset_id"] == "0b9c5c0e-6a43-4f0e-9b3e-1f2a3b4c5d6e"
    sid = created.json()["id"]
    await wait_for_status(server.api, sid, "running")
    event = {"event_type": "error", "timestamp": "2026-04-11T10:30:00+02:00", "session_id": sid}
    stored = await server.api.post(f"/sessions/{sid}/events", json=event)
    assert stored.status_code == 201 and stored.json()["timestamp"] == "2026-04-11T08:30:00+00:00"
    bad = await server.api.post("/sessions", json={"name": "b", "terminal_restricted": "yes"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == [
        "body", "terminal_restricted",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "body", [b'{"n": 18446744073709551616}', b'[{"n": -9223372036854775809}]']
)
def test_integers_beyond_64_bits_are_refused(body: bytes) -> None:
    with pytest.raises(json.JSONDecodeError) as raised:
        strict_json.loads(body)
    assert raised.value.msg.startswith("Integer out of range (it must fit in 64 bits)")


def test_the_64_bit_edges_and_long_digit_strings_are_fine() -> None:
    body = b'{"a": 18446744073709551615, "b": -9223372036854775808, "c": "12345678901234567890"}'
    assert strict_json.loads(body) == {
        "a": 2**64 - 1, "b": -(2**63), "c": "12345678901234567890",
    }  # fmt: skip
