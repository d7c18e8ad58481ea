"""The branch-name rule (API §4.2.4) and the agent environment rule (API §4.2.1)."""

from __future__ import annotations

import pytest

from volundr.domain.validation import branch_name, env_vars, model_id


@pytest.mark.parametrize(
    "value",
    [
        "",
        "main",
        "feature/a/b",
        "feature/auth/login-fix",
        "release-1.2",
        "v1.2.3",
        "a.b",
        "user@host",
        "a@b",
        "x" * 255,
        "UPPER/Case_ok",
        "a/b.c/d",
        "lock",
        "a.lockx",
    ],
)
def test_valid_branch_names_pass_unchanged(value: str) -> None:
    assert branch_name(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "-b",
        "--force",
        "../x",
        "a..b",
        "a/../b",
        "a b",
        "a\tb",
        "a\nb",
        "a\x00b",
        "a\x7fb",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[b",
        "a\\b",
        "/a",
        "a/",
        "a//b",
        ".hidden",
        ".hidden/x",
        "x/.hidden",
        "a.",
        "a.lock",
        "feature/x.lock",
        "a@{b",
        "@{",
        "@",
        "x" * 256,
    ],
)
def test_invalid_branch_names_name_the_value_and_the_rule(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        branch_name(value)
    message = str(caught.value)
    assert message.startswith(f"Invalid branch name '{value}': ")
    assert len(message) > len(f"Invalid branch name '{value}': ")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("-b", "'-'"),
        ("../x", "'..'"),
        ("a b", "spaces"),
        ("/a", "'/'"),
        ("a//b", "'//'"),
        (".hidden/x", "'.'"),
        ("a.", "end with '.'"),
        ("a.lock", "'.lock'"),
        ("a@{b", "'@{'"),
        ("@", "'@'"),
        ("x" * 256, "255"),
    ],
)
def test_each_branch_clause_has_its_own_reason(value: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        branch_name(value)
    assert fragment in str(caught.value)


# ------------------------------------------------------------------ env


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"ANTHROPIC_API_KEY": "sk-x"},
        {"_": ""},
        {"a1": "x"},
        {"X" * 128: "v"},
        {"V": "x" * 8192},
        {"volundr_lower": "case-sensitive, so not reserved"},
        {"MY_VOLUNDR_X": "only the prefix is reserved"},
        {f"K{i}": "v" for i in range(64)},
    ],
)
def test_valid_environments_pass(env: dict[str, str]) -> None:
    assert env_vars(env) == env


@pytest.mark.parametrize(
    "env",
    [
        {f"K{i}": "v" for i in range(65)},
        {"": "x"},
        {"1ABC": "x"},
        {"A-B": "x"},
        {"A B": "x"},
        {"A.B": "x"},
        {"FOO\n": "x"},
        {"Ä": "x"},
        {"X" * 129: "v"},
        {"VOLUNDR_TOKEN": "x"},
        {"VOLUNDR_": "x"},
        {"V": "x" * 8193},
    ],
)
def test_invalid_environments_are_rejected(env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        env_vars(env)


def test_head_is_not_a_branch_name() -> None:
    with pytest.raises(ValueError, match="must not be 'HEAD'"):
        branch_name("HEAD")
    assert branch_name("HEADS-UP") == "HEADS-UP"


@pytest.mark.parametrize(
    "value", ["", "claude-sonnet-4-6", "llama3.2:latest", "openai/gpt-4o", "gpt-4o@2024-08"]
)
def test_model_ids_pass_unchanged(value: str) -> None:
    assert model_id(value) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("--help", "must not start with '-'"),
        ("-m", "must not start with '-'"),
        ("claude sonnet", "whitespace or control characters"),
        ("a\nb", "whitespace or control characters"),
        ("a\x00b", "whitespace or control characters"),
    ],
)
def test_model_ids_that_would_read_as_options_or_split_are_refused(
    value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        model_id(value)
