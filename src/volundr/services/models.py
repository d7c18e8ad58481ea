"""The model catalogue (API §7.3): from the configuration, else the built-in list."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from volundr.domain.pricing import BUILTIN_MODELS, ModelInfo


class ModelCatalogue:
    """Models in catalogue order, looked up by exact id."""

    def __init__(self, models: Iterable[ModelInfo] | None = None) -> None:
        self.models: tuple[ModelInfo, ...] = tuple(models) if models is not None else BUILTIN_MODELS
        self._by_id = {m.id: m for m in self.models}

    def get(self, model_id: str) -> ModelInfo | None:
        return self._by_id.get(model_id)

    def views(self) -> list[dict[str, Any]]:
        return [model_view(m) for m in self.models]


def _price(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def model_view(m: ModelInfo) -> dict[str, Any]:
    """A `GET /models` item; every key always present."""
    return {
        "id": m.id,
        "name": m.name,
        "description": m.description,
        "provider": m.provider,
        "tier": m.tier,
        "color": m.color,
        "cost_per_million_tokens": _price(m.cost_per_million_tokens),
        "input_cost_per_million": _price(m.input_cost_per_million),
        "output_cost_per_million": _price(m.output_cost_per_million),
        "vram_required": m.vram_required,
    }
