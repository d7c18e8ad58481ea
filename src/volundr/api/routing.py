"""Routes whose JSON bodies are read by the strict loader (`volundr.api.strict_json`)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from volundr.api import strict_json


class StrictJsonRequest(Request):
    """A request whose `json()` is `strict_json.loads` of the body (cached like Starlette's)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_json.loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """An APIRoute whose handler sees a `StrictJsonRequest`.

    FastAPI reads every JSON body with `await request.json()` and answers its
    `JSONDecodeError` with the `json_invalid` 422, so strict rejections take that path.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler
