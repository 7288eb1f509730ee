"""A tiny, correct origin application for the Python servers under test (WSGI and ASGI).

What the application decides (status, validators, conditionals, methods) is written once in
:func:`answer`, so that the verdicts of a server reflect its HTTP/1.1 handling, not a sloppy
application: ``/`` is a 200 page with ``ETag: "v1"``; other paths are 404; If-None-Match is
evaluated (RFC 9110 §13.1.1, §13.1.2); OPTIONS lists the allowed methods; other known methods get 405
and unknown ones 501 (RFC 9110 §9.1). Framing, persistence, HEAD bodies and Date are left to
the server.

``/echo`` (any method) is the echo contract (README, "The echo contract"): the request as the
server handed it to the application, as JSON, so that the echo cases judge what the server
parsed. The application adds nothing of its own: WSGI names come back from ``HTTP_*`` keys
(which is how a WSGI application sees them), ASGI names as the server lists them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ws_apps import websocket_echo

BODY = b"<p>hello</p>\n"
ECHO_PATH = "/echo"
ETAG = '"v1"'
ALLOW = "GET, HEAD, POST, OPTIONS"
KNOWN = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
REASONS = {
    200: "OK",
    304: "Not Modified",
    404: "Not Found",
    405: "Method Not Allowed",
    412: "Precondition Failed",
    501: "Not Implemented",
}


def answer(
    method: str, path: str, if_none_match: str | None, if_match: str | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    if method not in KNOWN:
        return 501, [("Content-Type", "text/plain")], b"not implemented\n"
    if method == "OPTIONS":
        return 200, [("Allow", ALLOW)], b""
    if path != "/":
        return 404, [("Content-Type", "text/plain")], b"not found\n"
    if method not in ALLOW:
        return 405, [("Allow", ALLOW), ("Content-Type", "text/plain")], b"not allowed\n"
    if if_match is not None:  # RFC 9110 §13.1.1, strong comparison
        tags = {tag.strip() for tag in if_match.split(",")}
        if "*" not in tags and ETAG not in tags:
            return 412, [("Content-Type", "text/plain")], b"precondition failed\n"
    if if_none_match is not None:  # RFC 9110 §13.1.2, weak comparison
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        if "*" in tags or ETAG in tags:
            if method in ("GET", "HEAD"):
                return 304, [("ETag", ETAG)], b""
            return 412, [("Content-Type", "text/plain")], b"precondition failed\n"
    return 200, [("Content-Type", "text/html"), ("ETag", ETAG)], BODY


def echo_document(
    method: str, target: str, version: str, authority: str, headers: list[list[str]], body: bytes
) -> bytes:
    """The echo contract's JSON: every string one character per octet (latin-1)."""
    document = {
        "method": method,
        "target": target,
        "version": version,
        "authority": authority,
        "headers": headers,
        "body": body.decode("latin-1"),
    }
    return json.dumps(document).encode("ascii")


def wsgi_echo(environ: dict[str, Any], body: bytes) -> bytes:
    """PEP 3333: header fields are ``HTTP_`` keys (``-`` read as ``_``), except Content-Type
    and Content-Length; strings are latin-1 already."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append([key[5:].replace("_", "-").title(), value])
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append([key.replace("_", "-").title(), value])
    query = environ.get("QUERY_STRING", "")
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not target:
        target = environ.get("PATH_INFO", "/") + (f"?{query}" if query else "")
    authority = (
        environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    )
    return echo_document(
        environ["REQUEST_METHOD"], target, environ.get("SERVER_PROTOCOL", ""), authority, headers, body
    )


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    content = stream.read(int(length)) if length and length.isdigit() else stream.read()
    if environ.get("PATH_INFO") == ECHO_PATH:
        echoed = wsgi_echo(environ, content)
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(echoed)))])
        return [echoed]
    status, headers, body = answer(
        environ["REQUEST_METHOD"],
        environ.get("PATH_INFO", "/"),
        environ.get("HTTP_IF_NONE_MATCH"),
        environ.get("HTTP_IF_MATCH"),
    )
    if status != 304:
        headers.append(("Content-Length", str(len(body))))
    start_response(f"{status} {REASONS[status]}", headers)
    return [body]


async def asgi_app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await websocket_echo(scope, receive, send)
        return
    if scope["type"] != "http":
        return
    more = True
    content = b""
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            # The server aborted the request (a body it rejected, or a client gone): answering
            # it as if it were complete would put our 200 on the wire after the server's
            # own verdict, or on a request the server never finished reading.
            return
        content += message.get("body", b"")
        more = message.get("more_body", False)
    path = _asgi_target(scope)[1]
    if path == ECHO_PATH:
        await asgi_echo(scope, content, send)
        return
    fields = {name.lower(): value.decode("latin-1") for name, value in scope["headers"]}
    # RFC 9112 §3.2.2: an absolute-form target names the same resource as its path (the ASGI
    # path is the whole URI then), so the route is taken from the path part.
    status, headers, body = answer(
        scope["method"], path, fields.get(b"if-none-match"), fields.get(b"if-match")
    )
    if status != 304:
        headers.append(("Content-Length", str(len(body))))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _asgi_target(scope: dict[str, Any]) -> tuple[str | None, str]:
    """(the authority of an absolute-form target or None, the path). The ASGI ``path`` is the
    request-target without its query, so with the absolute-form it is the whole URI, and the
    application finds the authority there (RFC 9112 §3.2.2)."""
    path = scope["path"]
    scheme, sep, rest = path.partition("://")
    if sep and scheme.lower() in ("http", "https"):
        authority, slash, tail = rest.partition("/")
        return authority, slash + tail or "/"
    return None, path


async def asgi_echo(scope: dict[str, Any], content: bytes, send: Callable[..., Any]) -> None:
    """ASGI lists the header fields as the server parsed them; the authority is the
    absolute-form target's, else the Host field's."""
    headers = [[name.decode("latin-1"), value.decode("latin-1")] for name, value in scope["headers"]]
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    query = scope.get("query_string", b"")
    target = (raw_path + (b"?" + query if query else b"")).decode("latin-1")
    hosts = [value for name, value in headers if name.lower() == "host"]
    authority = _asgi_target(scope)[0]
    if authority is None:
        authority = hosts[0] if hosts else ""
    echoed = echo_document(
        scope["method"], target, f"HTTP/{scope['http_version']}", authority, headers, content
    )
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(echoed)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": echoed})
