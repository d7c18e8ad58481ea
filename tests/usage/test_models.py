"""`GET /models` (API §7.3) and pricing from a configured catalogue (API §7.2 rule 4)."""

from __future__ import annotations

from decimal import Decimal

from tests.app_fixtures import LiveServer, LiveServerFactory
from tests.usage.helpers import report, running_session
from volundr.domain.pricing import BUILTIN_MODELS, ModelInfo, report_cost

BUILTIN = [
    ("claude-opus-4-6", "Opus 4.6", "cloud", "frontier", "#7C3AED", 15.0, None,
     "Most capable model, for long and complex work"),
    ("claude-sonnet-4-6", "Sonnet 4.6", "cloud", "balanced", "#2563EB", 3.0, None,
     "Balanced speed and capability for everyday coding"),
    ("claude-haiku-4-5-20251001", "Haiku 4.5", "cloud", "execution", "#10B981", 1.0, None,
     "Fastest and cheapest, for simple tasks"),
    ("llama3.2:latest", "Llama 3.2", "local", "balanced", "#F59E0B", None, "8GB",
     "Llama 3.2 served locally by Ollama"),
    ("codellama:latest", "Code Llama", "local", "execution", "#EF4444", None, "16GB",
     "Code Llama served locally by Ollama"),
    ("deepseek-r1:latest", "DeepSeek R1", "local", "reasoning", "#8B5CF6", None, "32GB",
     "DeepSeek R1 served locally by Ollama"),
]  # fmt: skip


async def test_the_built_in_catalogue(server: LiveServer) -> None:
    response = await server.api.get("/models")
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": id_, "name": name, "description": text, "provider": provider, "tier": tier,
            "color": color, "cost_per_million_tokens": price, "input_cost_per_million": None,
            "output_cost_per_million": None, "vram_required": vram,
        }
        for id_, name, provider, tier, color, price, vram, text in BUILTIN
    ]  # fmt: skip


async def test_a_configured_catalogue_replaces_it_and_prices_split_reports(
    live_server: LiveServerFactory,
) -> None:
    server = await live_server(
        models=[
            {"id": "gpt-x", "name": "GPT X", "provider": "cloud", "tier": "reasoning",
             "color": "#000000", "cost_per_million_tokens": 2.0,
             "input_cost_per_million": 1.25, "output_cost_per_million": 10},
            {"id": "free", "name": "Free", "provider": "cloud", "tier": "execution",
             "color": "#FFFFFF", "cost_per_million_tokens": 0},
        ]
    )  # fmt: skip
    models = (await server.api.get("/models")).json()
    assert [m["id"] for m in models] == ["gpt-x", "free"]
    assert models[0]["input_cost_per_million"] == 1.25
    assert models[0]["description"] == "" and models[0]["vram_required"] is None
    sid = await running_session(server.api)
    split = await report(server.api, sid, model="gpt-x", tokens=1_000_000, tokens_out=100_000)
    assert split.json()["cost"] == 0.1 * 10 + 0.9 * 1.25  # 2.125
    blended = await report(server.api, sid, model="gpt-x", tokens=1_000_000)
    assert blended.json()["cost"] == 2.0
    assert (await report(server.api, sid, model="free")).json()["cost"] == 0.0
    unknown = await report(server.api, sid, model="claude-sonnet-4-6")
    assert unknown.json()["cost"] is None, "the configured list replaces the built-in one"


def test_cost_is_decimal_and_rounded_once_half_even() -> None:
    sonnet = next(m for m in BUILTIN_MODELS if m.id == "claude-sonnet-4-6")
    # 1 token at 3.00/M = 0.000003 exactly; 7 tokens at 0.5/M = 0.0000035 → 0.000004 (even)
    assert report_cost(tokens=1, tokens_out=None, provider="cloud", model=sonnet,
                       given=None) == 3  # fmt: skip
    half = ModelInfo("h", "H", "cloud", "balanced", "#000000",
                     cost_per_million_tokens=Decimal("0.5"))  # fmt: skip
    assert report_cost(tokens=7, tokens_out=None, provider="cloud", model=half, given=None) == 4
    assert report_cost(tokens=5, tokens_out=None, provider="cloud", model=half, given=None) == 2
    assert report_cost(tokens=5, tokens_out=None, provider="local", model=half, given=None) is None
