"""What the reference target serves: a small, correct origin server's resources.

Pure functions from a parsed request to a response, so the HTTP/1.1 (and later HTTP/2)
front ends share them. ``/`` is a text resource with validators, so that conditional
requests (RFC 9110 §13) have something to compare against; ``/echo`` reflects the parsed
request as JSON; every other path is 404.
"""

from __future__ import annotations

import email.utils
import json
from dataclasses import dataclass, field

SERVER = "conformance-reference"
BODY = b"conformance reference target\n"
ETAG = '"v1"'
LAST_MODIFIED = "Sun, 06 Nov 1994 08:49:37 GMT"
_LAST_MODIFIED_TS = email.utils.parsedate_to_datetime(LAST_MODIFIED).timestamp()
ALLOW = "GET, HEAD, POST, PUT, OPTIONS"
#: methods this server knows but does not allow on its resources (405, RFC 9110 §15.5.6)
KNOWN_NOT_ALLOWED = {"DELETE", "PATCH", "TRACE", "CONNECT"}
ECHO_PATH = "/echo"


@dataclass
class Request:
    method: str
    target: str  # as sent
    path: str  # the path of the target ("*" for asterisk-form)
    version: str  # "HTTP/1.1"
    headers: list[tuple[str, str]] = field(default_factory=list)  # names as sent, values latin-1
    body: bytes = b""

    def get(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def respond(request: Request) -> Response:
    """The response to a complete request (framing and connection fields are added by the
    front end)."""
    method = request.method
    if request.path == ECHO_PATH:
        return _echo(request)
    if method == "OPTIONS":
        # RFC 9110 §9.3.7: Allow lists the methods; 204 carries no content and no length.
        return Response(204, [("Allow", ALLOW)])
    if method in KNOWN_NOT_ALLOWED:
        return _text(405, "method not allowed here\n", [("Allow", ALLOW)])
    if method not in ("GET", "HEAD", "POST", "PUT"):
        # RFC 9110 §9.1: an unrecognised method is answered with 501.
        return _text(501, f"method {method} is not implemented\n")
    if request.path != "/":
        return _text(404, "not found\n")
    if method in ("POST", "PUT"):
        failed = _precondition_failed(request)
        if failed is not None:
            return failed
        return _text(200, f"received {len(request.body)} bytes\n")
    conditional = _conditional(request)
    if conditional is not None:
        return conditional
    return Response(200, [("Content-Type", "text/plain; charset=utf-8"), *_validators()], BODY)


def _text(status: int, text: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, [("Content-Type", "text/plain; charset=utf-8"), *(headers or [])], text.encode())


def _validators() -> list[tuple[str, str]]:
    return [("ETag", ETAG), ("Last-Modified", LAST_MODIFIED)]


def _tags(values: list[str]) -> list[str]:
    return [element.strip() for value in values for element in value.split(",") if element.strip()]


def _weak_match(tags: list[str]) -> bool:
    """RFC 9110 §8.8.3.2: weak comparison ignores the W/ prefix on either side."""
    return any(tag == "*" or tag.removeprefix("W/") == ETAG for tag in tags)


def _strong_match(tags: list[str]) -> bool:
    return any(tag == "*" or tag == ETAG for tag in tags)


def _date(values: list[str]) -> float | None:
    if len(values) != 1:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(values[0])
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.timestamp() if parsed is not None else None


def _precondition_failed(request: Request) -> Response | None:
    """RFC 9110 §13.2.2, steps 1-2: If-Match, else If-Unmodified-Since."""
    if_match = request.get("If-Match")
    if if_match:
        if not _strong_match(_tags(if_match)):
            return _text(412, "precondition failed\n", _validators())
    else:
        since = _date(request.get("If-Unmodified-Since"))
        if since is not None and since < _LAST_MODIFIED_TS:
            return _text(412, "precondition failed\n", _validators())
    return None


def _conditional(request: Request) -> Response | None:
    """RFC 9110 §13.2.2 for GET and HEAD: 412, 304, or None to serve the resource."""
    failed = _precondition_failed(request)
    if failed is not None:
        return failed
    if_none_match = request.get("If-None-Match")
    if if_none_match:
        if _weak_match(_tags(if_none_match)):
            return Response(304, _validators())
        return None
    since = _date(request.get("If-Modified-Since"))
    if since is not None and since >= _LAST_MODIFIED_TS:
        return Response(304, _validators())
    return None


def _echo(request: Request) -> Response:
    """The echo contract: what the server parsed, as JSON."""
    document = {
        "method": request.method,
        "target": request.target,
        "version": request.version,
        "headers": [[name, value] for name, value in request.headers],
        "body": request.body.decode("latin-1"),
    }
    body = json.dumps(document, ensure_ascii=True).encode()
    return Response(200, [("Content-Type", "application/json")], body)
