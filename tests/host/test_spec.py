"""The launch spec's JSON contract between a runtime and its host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from volundr.domain.models import AgentTemplate
from volundr.host.spec import HostSpec, SpecError, encode_spec, parse_spec


def test_spec_round_trips_through_json(make_spec) -> None:
    agent = AgentTemplate(name="a", kind="codex", command=("codex",), env={"K": "v"}, model="m")
    spec = HostSpec(make_spec(agent=agent, allowed_http_hosts=("h",)), Path("/s/1"), 1000, 2.5, 0.3)
    assert parse_spec(encode_spec(spec)) == spec


def test_agent_is_an_object_with_its_template_fields(make_spec) -> None:
    body = json.loads(encode_spec(HostSpec(make_spec(), Path("/s/1"), 1000, 1.0)))
    assert set(body["agent"]) == {
        "name", "kind", "command", "env", "stop_on_exit", "model", "idle_timeout_s",
    }  # fmt: skip
    assert body["session_dir"] == "/s/1"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json", "not JSON"),
        ("[]", "JSON object"),
        ("{}", "field 'agent' must be an object"),
    ],
)
def test_bad_specs_are_rejected_with_the_problem_named(text: str, problem: str) -> None:
    with pytest.raises(SpecError, match=problem):
        parse_spec(text)


def test_a_relative_session_dir_is_rejected(make_spec) -> None:
    body = json.loads(encode_spec(HostSpec(make_spec(), Path("/s/1"), 1000, 1.0)))
    body["session_dir"] = "relative/dir"
    with pytest.raises(SpecError, match="absolute"):
        parse_spec(json.dumps(body))
