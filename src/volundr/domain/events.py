"""Session events (API §6): the closed set of types and the token convention."""

from __future__ import annotations

from volundr.domain.errors import InvalidRequest

EVENT_TYPES = frozenset(
    {
        "message_user",
        "message_assistant",
        "file_created",
        "file_modified",
        "file_deleted",
        "git_commit",
        "git_push",
        "git_branch",
        "git_checkout",
        "terminal_command",
        "tool_use",
        "error",
        "token_usage",
        "session_start",
        "session_stop",
        "session_status",
    }
)

SERVER_ONLY_TYPES = frozenset({"session_status"})
"""Written by the server on lifecycle transitions; clients may not submit them."""

MAX_BATCH = 500
MAX_DATA_BYTES = 64 * 1024


def check_submitted_type(event_type: str) -> str:
    """A type a client may submit; InvalidRequest (422 string) otherwise."""
    if event_type not in EVENT_TYPES:
        raise InvalidRequest(f"Invalid event_type: {event_type}")
    if event_type in SERVER_ONLY_TYPES:
        raise InvalidRequest(f"Event type {event_type} is reserved")
    return event_type


def check_filter_types(raw: str) -> frozenset[str]:
    """A `?event_type=` filter: one type or a comma list (any known type, reserved too).
    An empty item (`event_type=`, `a,,b`) is no type: refused, never read as "all"."""
    parts = [part.strip() for part in raw.split(",")]
    if "" in parts:
        raise InvalidRequest(f"Invalid event_type: {raw}")
    types = frozenset(parts)
    for event_type in sorted(types):
        if event_type not in EVENT_TYPES:
            raise InvalidRequest(f"Invalid event_type: {event_type}")
    return types


def split_tokens(tokens: int, tokens_out: int | None) -> tuple[int, int]:
    """(tokens_in, tokens_out) of a usage report, API §6.6: `tokens_in = tokens − tokens_out`.

    This is also the agents' convention: tokens_in counts input plus cache-creation plus
    cache-read tokens, tokens_out the output tokens, and their sum is the report's tokens.
    """
    out = tokens_out or 0
    return tokens - out, out
