"""Pure rules of the events and usage domain: event types, token split, runtime tokens."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from volundr.domain import credentials
from volundr.domain.errors import InvalidRequest
from volundr.domain.events import check_filter_types, check_submitted_type, split_tokens
from volundr.domain.pricing import micros_of_float, to_micros
from volundr.domain.usage import UsageReport


def test_submitted_types_are_the_closed_set_minus_the_servers_own() -> None:
    assert check_submitted_type("git_push") == "git_push"
    with pytest.raises(InvalidRequest, match="Invalid event_type: push"):
        check_submitted_type("push")
    with pytest.raises(InvalidRequest, match="reserved"):
        check_submitted_type("session_status")
    assert check_filter_types("session_status, error") == {"session_status", "error"}
    for empty in ("", ",", "error,,git_push", " "):
        with pytest.raises(InvalidRequest, match="Invalid event_type"):
            check_filter_types(empty)


def test_the_token_convention() -> None:
    assert split_tokens(1000, 300) == (700, 300)
    assert split_tokens(1000, None) == (1000, 0)


def test_money_is_rounded_once_half_even() -> None:
    assert to_micros(Decimal("0.0000125")) == 12
    assert to_micros(Decimal("0.0000135")) == 14
    assert micros_of_float(0.1) == 100_000


def test_a_retry_has_the_same_fingerprint_and_another_body_not() -> None:
    a = UsageReport(tokens=10, provider="cloud", model="m", cost=Decimal("0.10"))
    assert a.fingerprint() == UsageReport(10, "cloud", "m", cost=Decimal("0.1")).fingerprint()
    assert a.fingerprint() != UsageReport(11, "cloud", "m", cost=Decimal("0.1")).fingerprint()


def test_runtime_tokens_name_their_session() -> None:
    sid = str(uuid.uuid4())
    token = credentials.new_runtime_token(sid)
    assert credentials.is_runtime_token(token)
    assert credentials.token_session(token) == sid
    assert credentials.token_matches(credentials.hash_token(token), token)
    assert not credentials.token_matches(None, token)
    assert credentials.token_session("vst_xyz_abc") is None
    assert credentials.token_session(token.upper().replace("VST_", "vst_")) == sid
    assert credentials.new_runtime_token(sid) != token
