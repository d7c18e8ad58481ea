"""Running the app under uvicorn so that live streams never hold up a graceful shutdown.

uvicorn's shutdown stops accepting connections, then waits for every open response to
finish before it runs the app's lifespan shutdown. A live stream never finishes on its
own, so the app cannot end it from the lifespan: `Server.shutdown` first ends them all
(each with a `reconnect` frame), then lets uvicorn proceed.
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn

STREAM_GRACE_S = 1.0
"""How long streams get to write their last frame before they are cancelled."""


class Server(uvicorn.Server):
    """A `uvicorn.Server` that ends the app's live streams when it shuts down.

    Drop-in: `Server(uvicorn.Config(app, ...))`. Apps without an event hub in
    `app.state.hub` shut down exactly as with uvicorn's own server.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        state = getattr(self.config.app, "state", None)
        hub = getattr(state, "hub", None)
        if hub is not None:
            await hub.end_streams(grace_s=STREAM_GRACE_S)
        await super().shutdown(sockets)


def run(app: Any, **config: Any) -> None:
    """Like `uvicorn.run(app, **config)`, with the stream-aware `Server`."""
    Server(uvicorn.Config(app, **config)).run()
