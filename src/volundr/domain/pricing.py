"""The model catalogue's entries and the cost rule of a usage report (API §7.2, §7.3).

Money is decimal: prices are `Decimal`, a cost is rounded once, half-even, to 6 decimal
places and kept as integer micro-dollars, so sums are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

MICRO = Decimal("0.000001")
_PER_MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class ModelInfo:
    """One catalogue entry; prices are USD per million tokens, None when not priced."""

    id: str
    name: str
    provider: str
    tier: str
    color: str
    description: str = ""
    cost_per_million_tokens: Decimal | None = None
    input_cost_per_million: Decimal | None = None
    output_cost_per_million: Decimal | None = None
    vram_required: str | None = None


def _cloud(id_: str, name: str, tier: str, color: str, price: str, text: str) -> ModelInfo:
    return ModelInfo(id_, name, "cloud", tier, color, text, cost_per_million_tokens=Decimal(price))


def _local(id_: str, name: str, tier: str, color: str, vram: str) -> ModelInfo:
    return ModelInfo(
        id_, name, "local", tier, color, f"{name} served locally by Ollama", vram_required=vram
    )


BUILTIN_MODELS: tuple[ModelInfo, ...] = (
    _cloud("claude-opus-4-6", "Opus 4.6", "frontier", "#7C3AED", "15.00",
           "Most capable model, for long and complex work"),
    _cloud("claude-sonnet-4-6", "Sonnet 4.6", "balanced", "#2563EB", "3.00",
           "Balanced speed and capability for everyday coding"),
    _cloud("claude-haiku-4-5-20251001", "Haiku 4.5", "execution", "#10B981", "1.00",
           "Fastest and cheapest, for simple tasks"),
    _local("llama3.2:latest", "Llama 3.2", "balanced", "#F59E0B", "8GB"),
    _local("codellama:latest", "Code Llama", "execution", "#EF4444", "16GB"),
    _local("deepseek-r1:latest", "DeepSeek R1", "reasoning", "#8B5CF6", "32GB"),
)  # fmt: skip
"""The built-in catalogue (API §7.3), used when the configuration gives no `models`."""


def to_micros(amount: Decimal) -> int:
    """USD rounded once, half-even, to 6 places, as integer micro-dollars."""
    return int(amount.quantize(MICRO, rounding=ROUND_HALF_EVEN) / MICRO)


def micros_of_float(value: float) -> int:
    """A JSON number (USD) as micro-dollars; the float's shortest repr is read as decimal."""
    return to_micros(Decimal(repr(float(value))))


def report_cost(
    *,
    tokens: int,
    tokens_out: int | None,
    provider: str,
    model: ModelInfo | None,
    given: Decimal | None,
) -> int | None:
    """The cost of one usage report in micro-dollars (API §7.2), None when unpriced."""
    if given is not None:
        return to_micros(given)
    if provider == "local" or model is None:
        return None
    inp, out = model.input_cost_per_million, model.output_cost_per_million
    if inp is not None and out is not None and tokens_out is not None:
        amount = (Decimal(tokens_out) * out + Decimal(tokens - tokens_out) * inp) / _PER_MILLION
        return to_micros(amount)
    if model.cost_per_million_tokens is None:
        return None
    return to_micros(Decimal(tokens) * model.cost_per_million_tokens / _PER_MILLION)
