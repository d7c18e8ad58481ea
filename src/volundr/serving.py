"""Running the app under uvicorn so that live streams never hold up a graceful shutdown.

uvicorn's shutdown stops accepting connections, then waits for every open response to
finish before it runs the app's lifespan shutdown. A stream never finishes on its own,
so the app cannot end it from the lifespan: `Server.shutdown` first ends every stream
registered in the app's `sse.StreamRegistry` (the live stream, log follows; each with a
`reconnect` frame), then lets uvicorn proceed.
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn

from volundr.api import sse

STREAM_GRACE_S = 1.0
"""How long streams get to write their last frame before they are cancelled."""


class Server(uvicorn.Server):
    """A `uvicorn.Server` that ends the app's streams when it shuts down.

    Drop-in: `Server(uvicorn.Config(app, ...))`. Apps without a `state` shut down
    exactly as with uvicorn's own server.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        app = self.config.app
        if getattr(app, "state", None) is not None:
            await sse.streams_of(app).end_all(grace_s=STREAM_GRACE_S)
        await super().shutdown(sockets)


def run(app: Any, **config: Any) -> None:
    """Like `uvicorn.run(app, **config)`, with the stream-aware `Server`."""
    Server(uvicorn.Config(app, **config)).run()
