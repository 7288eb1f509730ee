"""Echo applications for the WebSocket servers under test that run an application (ASGI).

An ASGI application served by hypercorn (or any ASGI server): every WebSocket message comes
back as it came, text as text and binary as binary; the subprotocol is the first of "chat" and
"superchat" the client offered, if any, as the other echo servers of the suite choose it.
Anything that is not a WebSocket connection is answered 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

SUBPROTOCOLS = ("chat", "superchat")

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def choose_subprotocol(offered: list[str]) -> str | None:
    return next((name for name in SUBPROTOCOLS if name in offered), None)


async def asgi_echo(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http":
        await send(
            {"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"not found\n"})
        return
    await websocket_echo(scope, receive, send)


async def websocket_echo(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """One WebSocket connection (an ASGI ``websocket`` scope): accepted on connect, every
    message sent back as it came, done when the client or the server ends it. Shared by
    ``apps.asgi_app`` (daphne, uvicorn) and :func:`asgi_echo` (hypercorn)."""
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            # ASGI makes ``subprotocols`` optional (an empty list when absent).
            offered = list(scope.get("subprotocols") or [])
            await send({"type": "websocket.accept", "subprotocol": choose_subprotocol(offered)})
        elif event["type"] == "websocket.receive":
            if event.get("text") is not None:
                await send({"type": "websocket.send", "text": event["text"]})
            else:
                await send({"type": "websocket.send", "bytes": event.get("bytes") or b""})
        elif event["type"] == "websocket.disconnect":
            return
