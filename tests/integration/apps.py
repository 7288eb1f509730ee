"""A tiny, correct origin application for the Python servers under test (WSGI and ASGI).

What the application decides (status, validators, conditionals, methods) is written once in
:func:`answer`, so that the verdicts of a server reflect its HTTP/1.1 handling, not a sloppy
application: ``/`` is a 200 page with ``ETag: "v1"``; other paths are 404; If-None-Match is
evaluated (RFC 9110 §13.1.1, §13.1.2); OPTIONS lists the allowed methods; other known methods get 405
and unknown ones 501 (RFC 9110 §9.1). Framing, persistence, HEAD bodies and Date are left to
the server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b"<p>hello</p>\n"
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


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length and length.isdigit():
        stream.read(int(length))
    else:
        stream.read()
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
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    fields = {name.lower(): value.decode("latin-1") for name, value in scope["headers"]}
    status, headers, body = answer(
        scope["method"], scope["path"], fields.get(b"if-none-match"), fields.get(b"if-match")
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
