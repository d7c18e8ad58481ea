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
