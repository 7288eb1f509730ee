"""Unit tests of the test application (apps.py) that the real ASGI servers serve.

No server is started: the ASGI application is called with the messages a server would hand
it, and what it sends back is recorded. A wrong answer here would show up as a false verdict
against every ASGI server (daphne, hypercorn, uvicorn), blamed on the server.
"""

from __future__ import annotations

import asyncio
from typing import Any

from apps import asgi_app


def call(scope: dict[str, Any], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the application sends for ``scope`` when the server hands it ``messages``; a
    receive past the last one fails the test (the application would wait for ever there)."""
    incoming = iter(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        try:
            return next(incoming)
        except StopIteration:
            raise AssertionError(f"the application waits for more than {messages}") from None

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asgi_app(scope, receive, send))
    return sent


def http_scope(method: str, path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
    }


def test_disconnect_during_the_body_gets_no_answer() -> None:
    """The server gave up on the body (it rejected it, or the client went): the application
    must not answer the request as if it had been read whole."""
    sent = call(
        http_scope("POST", "/"),
        [{"type": "http.request", "body": b"hel", "more_body": True}, {"type": "http.disconnect"}],
    )
    assert sent == []


def test_complete_request_is_answered() -> None:
    sent = call(http_scope("POST", "/"), [{"type": "http.request", "body": b"hello", "more_body": False}])
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 200


def test_absolute_form_target_is_routed_by_its_path() -> None:
    """RFC 9112 §3.2.2: with the absolute-form the ASGI path is the whole URI; the resource
    is its path part, "/" here (200, not 404)."""
    sent = call(http_scope("GET", "http://127.0.0.1/"), [{"type": "http.request", "body": b""}])
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"<p>hello</p>\n"


def test_absolute_form_target_of_another_path_is_not_found() -> None:
    sent = call(http_scope("GET", "http://127.0.0.1/missing"), [{"type": "http.request", "body": b""}])
    assert sent[0]["status"] == 404


def test_websocket_is_accepted_and_echoed() -> None:
    """A websocket scope is answered: accepted (with the first of chat/superchat offered),
    text echoed as text and binary as binary, until the disconnect."""
    scope = {"type": "websocket", "path": "/", "headers": [], "subprotocols": ["superchat", "chat"]}
    sent = call(
        scope,
        [
            {"type": "websocket.connect"},
            {"type": "websocket.receive", "text": "héllo"},
            {"type": "websocket.receive", "bytes": b"\x00\xff"},
            {"type": "websocket.receive", "text": ""},
            {"type": "websocket.disconnect", "code": 1000},
        ],
    )
    assert sent == [
        {"type": "websocket.accept", "subprotocol": "chat"},
        {"type": "websocket.send", "text": "héllo"},
        {"type": "websocket.send", "bytes": b"\x00\xff"},
        {"type": "websocket.send", "text": ""},
    ]


def test_websocket_without_subprotocols_key() -> None:
    """ASGI makes ``subprotocols`` optional: no key, no subprotocol chosen."""
    sent = call(
        {"type": "websocket", "path": "/", "headers": []},
        [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}],
    )
    assert sent == [{"type": "websocket.accept", "subprotocol": None}]
