"""The recorded transcripts of `tests/fixtures/transcripts` and their own totals."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TRANSCRIPTS = FIXTURES / "transcripts"
FAKE_AGENT = FIXTURES / "fake_agent.py"
RECORDED_CWD = Path("/home/dev/project")


def lines(name: str) -> list[bytes]:
    return [line.encode() for line in (TRANSCRIPTS / f"{name}.jsonl").read_text().splitlines()]


def objects(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines(name)]


def claude_totals(*names: str) -> tuple[int, Decimal]:
    """(tokens, cost) of the transcripts' `result` lines, per the token convention."""
    tokens, cost = 0, Decimal(0)
    for name in names:
        for obj in objects(name):
            if obj["type"] != "result":
                continue
            for figures in obj["modelUsage"].values():
                tokens += (figures["inputTokens"] + figures["outputTokens"]
                           + figures["cacheReadInputTokens"]
                           + figures["cacheCreationInputTokens"])  # fmt: skip
                cost += Decimal(str(figures["costUSD"]))
            assert Decimal(str(obj["total_cost_usd"])) == sum(
                (Decimal(str(f["costUSD"])) for f in obj["modelUsage"].values()), Decimal(0)
            )
    return tokens, cost


def codex_totals(*names: str) -> list[tuple[int, int]]:
    """(tokens, tokens_out) of each `turn.completed` of the transcripts."""
    return [
        (o["usage"]["input_tokens"] + o["usage"]["output_tokens"], o["usage"]["output_tokens"])
        for name in names for o in objects(name) if o["type"] == "turn.completed"
    ]  # fmt: skip


def fake_command() -> list[str]:
    """The agent template `command` (executable prefix) that runs the fake agent."""
    return [sys.executable, str(FAKE_AGENT), "--transcripts", str(TRANSCRIPTS)]
