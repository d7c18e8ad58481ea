"""The session name rule (API §4.2.2): every rule, its exact message, and their order."""

from __future__ import annotations

import pytest

from volundr.domain.validation import session_name

EMPTY = "Session name must not be empty"
TOO_LONG = "Session name must be at most 63 characters (RFC 1123 hostname limit)"
UPPER = "Session name must be lowercase — uppercase characters are not allowed"
SPACE = "Session name must not contain spaces — use hyphens instead"
LEADING = "Session name must start with a letter or digit, not a hyphen"
TRAILING = "Session name must end with a letter or digit, not a hyphen"
CHARSET = "Session name may only contain lowercase letters (a-z), digits (0-9), and hyphens (-)"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", EMPTY),
        ("   ", EMPTY),
        ("\t\n", EMPTY),
        ("a" * 64, TOO_LONG),
        ("Bad", UPPER),
        ("a b", SPACE),
        ("-a", LEADING),
        ("a-", TRAILING),
        ("-", LEADING),
        ("a_b", CHARSET),
        ("a.b", CHARSET),
        ("a\tb", CHARSET),
        ("a\nb", CHARSET),
        ("café", CHARSET),
        ("straße", CHARSET),
        ("日本", CHARSET),
        ("a/b", CHARSET),
        ("ＡＢ", UPPER),
    ],
)
def test_each_rule_reports_its_exact_message(raw: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        session_name(raw)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        # rule 2 (length) before rule 3 (case)
        ("A" * 64, TOO_LONG),
        # rule 3 (case) before 4 (space), 5 and 6 (hyphens) and 7 (charset)
        ("A b", UPPER),
        ("-A", UPPER),
        ("A-", UPPER),
        ("A_b", UPPER),
        # rule 4 (space) before 5, 6, 7
        ("- a", SPACE),
        ("a -", SPACE),
        ("a_ b", SPACE),
        # rule 5 (leading hyphen) before 6 and 7
        ("-a-", LEADING),
        ("-a_b", LEADING),
        # rule 6 (trailing hyphen) before 7
        ("a_b-", TRAILING),
    ],
)
def test_the_first_failing_rule_is_reported(raw: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        session_name(raw)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("a", "a"),
        ("0", "0"),
        ("fix-auth-bug", "fix-auth-bug"),
        ("a--b", "a--b"),
        ("123", "123"),
        ("  padded  ", "padded"),
        ("\tx-1\n", "x-1"),
        ("a" * 63, "a" * 63),
        (" " + "a" * 63 + " ", "a" * 63),
    ],
)
def test_valid_names_are_trimmed_and_stored(raw: str, stored: str) -> None:
    assert session_name(raw) == stored


def test_63_characters_pass_and_64_fail() -> None:
    assert session_name("b" * 63) == "b" * 63
    with pytest.raises(ValueError, match="at most 63"):
        session_name("b" * 64)
