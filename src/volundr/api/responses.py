"""The JSON response of every route: Starlette's, rendered by `volundr.jsoncodec`.

Same bytes as `JSONResponse` (compact, UTF-8, no NaN in what routes return), several times
faster to render: a list of 1,000 sessions is ~0.9 MB.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse as _StarletteJSONResponse

from volundr import jsoncodec


class JSONResponse(_StarletteJSONResponse):
    def render(self, content: Any) -> bytes:
        return jsoncodec.dumps(content)
