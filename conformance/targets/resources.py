"""What the reference target serves: a small, correct origin server's resources.

Pure functions from a parsed request to a response, so that the HTTP/1.1 front end (and
later the HTTP/2 one) share them; no framing, no connection management here. ``/`` is a
text resource with validators, so that conditional requests (RFC 9110 §13) have something
to compare against; ``/chunked`` is the same resource, streamed (chunked to HTTP/1.1, and
framed by its length for HTTP/1.0, which has no chunked); ``/echo`` reflects the parsed
request as JSON; ``*`` (OPTIONS only) is the server as a whole; every other path is 404.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass

SERVER = "conformance-reference"
BODY = b"conformance reference target\n"
ETAG = '"v1"'
LAST_MODIFIED = "Sun, 06 Nov 1994 08:49:37 GMT"
ALLOW = "GET, HEAD, POST, PUT, OPTIONS"
#: methods this server knows but allows on none of its resources (405, RFC 9110 §15.5.6)
KNOWN_NOT_ALLOWED = frozenset({"DELETE", "PATCH", "TRACE", "CONNECT"})
ALLOWED = frozenset({"GET", "HEAD", "POST", "PUT", "OPTIONS"})
RESOURCE_PATH = "/"
ECHO_PATH = "/echo"
CHUNKED_PATH = "/chunked"
SERVER_WIDE = "*"  # the asterisk-form target (RFC 9112 §3.2.4)
#: The resources this server offers to the cases that require them (capability -> path; see
#: conformance.target.RESOURCE_SETTINGS): a run against it needs no --target-option.
RESOURCES = {"echo": ECHO_PATH, "validator": RESOURCE_PATH, "chunked": CHUNKED_PATH}
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True, kw_only=True)
class Request:
    """A complete request as the front end parsed it."""

    method: str
    target: str  # as sent
    path: str  # the path of the target, without the query ("*" for asterisk-form)
    version: str  # "HTTP/1.1", "HTTP/1.0"
    authority: str = ""  # the absolute-form target's authority, else the Host field's value
    headers: tuple[tuple[str, str], ...] = ()  # names as sent, values without OWS, latin-1
    body: bytes = b""

    def get(self, name: str) -> list[str]:
        """Every value of the field ``name`` (case-insensitive), in order."""
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]


@dataclass(frozen=True, kw_only=True)
class Response:
    """Status, fields and content; the front end adds Date, Server, framing and Connection."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    # Sent as it is produced, its length not announced: HTTP/1.1 frames it with chunked
    # (RFC 9112 §7.1); HTTP/1.0 has no chunked (§6.1), so the front end sends it whole.
    streamed: bool = False


def respond(request: Request) -> Response:
    """The response to a complete request."""
    method, path = request.method, request.path
    if path == ECHO_PATH:
        return _echo(request)
    if method not in ALLOWED and method not in KNOWN_NOT_ALLOWED:
        # https://www.rfc-editor.org/rfc/rfc9110#section-9.1: an unrecognized or
        # unimplemented method SHOULD be answered with 501 (method names are case-sensitive,
        # so "get" lands here too).
        return _text(501, f"method {method} is not implemented\n")
    if method == "CONNECT":
        # https://www.rfc-editor.org/rfc/rfc9110#section-9.3.6: a request for a tunnel; this
        # origin server is no proxy, so it never answers 2xx (which would start one).
        return _not_allowed(method)
    if path == SERVER_WIDE:
        # The front end accepts "*" for OPTIONS only (RFC 9112 §3.2.4).
        return _options()
    if path not in (RESOURCE_PATH, CHUNKED_PATH):
        return _text(404, "not found\n")
    if method == "OPTIONS":
        return _options()
    if method in KNOWN_NOT_ALLOWED:
        return _not_allowed(method)
    precondition = evaluate_preconditions(request)
    if precondition is not None:
        return precondition
    if method in ("POST", "PUT"):
        return _text(200, f"received {len(request.body)} bytes\n")
    return Response(
        status=200, headers=(("Content-Type", TEXT), *_validators()), body=BODY, streamed=path == CHUNKED_PATH
    )


def _not_allowed(method: str) -> Response:
    # https://www.rfc-editor.org/rfc/rfc9110#section-15.5.6: a 405 MUST carry Allow.
    return _text(405, f"method {method} is not allowed here\n", ("Allow", ALLOW))


def _options() -> Response:
    # https://www.rfc-editor.org/rfc/rfc9110#section-9.3.7: a 2xx answer to OPTIONS
    # describes the allowed methods; 204 carries no content and no Content-Length (§8.6).
    return Response(status=204, headers=(("Allow", ALLOW),))


def _text(status: int, text: str, *headers: tuple[str, str]) -> Response:
    return Response(status=status, headers=(("Content-Type", TEXT), *headers), body=text.encode())


def _validators() -> tuple[tuple[str, str], ...]:
    return (("ETag", ETAG), ("Last-Modified", LAST_MODIFIED))


# -- conditional requests

# https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3: entity-tag = [ weak ] opaque-tag,
# opaque-tag = DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text (a comma may be quoted)
_ENTITY_TAG = re.compile(r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"')
# https://www.rfc-editor.org/rfc/rfc9110#section-5.6.1: a list, empty elements allowed
_ENTITY_TAG_LIST = re.compile(
    rf"[ \t]*(?:{_ENTITY_TAG.pattern})?(?:[ \t]*,[ \t]*(?:{_ENTITY_TAG.pattern})?)*[ \t]*"
)


def entity_tags(values: list[str]) -> list[str]:
    """The members of If-Match or If-None-Match: "*" or entity-tags. A value that is not
    valid contributes nothing, so it matches no tag: If-Match is then false (412, the safe
    outcome for a state-changing request) and If-None-Match true."""
    tags: list[str] = []
    for value in values:
        if value.strip(" \t") == "*":
            tags.append("*")
        elif _ENTITY_TAG_LIST.fullmatch(value):
            tags += _ENTITY_TAG.findall(value)
    return tags


def _weak_match(tags: list[str]) -> bool:
    """https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3.2: weak comparison ignores the
    W/ prefix on either side."""
    return any(tag == "*" or tag.removeprefix("W/") == ETAG for tag in tags)


def _strong_match(tags: list[str]) -> bool:
    """Strong comparison: both tags strong and identical (our ETag is strong)."""
    return any(tag in ("*", ETAG) for tag in tags)


_MONTHS = {name: number for number, name in enumerate(calendar.month_abbr) if name}
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_TIME = r"([0-9]{2}):([0-9]{2}):([0-9]{2})"
_MONTH = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7: a recipient MUST accept all three
# HTTP-date formats.
_IMF_FIXDATE = re.compile(rf"{_DAY}, ([0-9]{{2}}) {_MONTH} ([0-9]{{4}}) {_TIME} GMT")
_DAY_NAME = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_RFC850_DATE = re.compile(rf"{_DAY_NAME}, ([0-9]{{2}})-{_MONTH}-([0-9]{{2}}) {_TIME} GMT")
_ASCTIME_DATE = re.compile(rf"{_DAY} {_MONTH} ([0-9 ][0-9]) {_TIME} ([0-9]{{4}})")


def parse_http_date(text: str) -> int | None:
    """Seconds since the epoch for an HTTP-date, or None when ``text`` is not one."""
    if match := _IMF_FIXDATE.fullmatch(text):
        day, month, year, hour, minute, second = match.groups()
    elif match := _RFC850_DATE.fullmatch(text):
        day, month, two_digit_year, hour, minute, second = match.groups()
        # RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past
        # century; with the dates this server compares, 70-99 is 19xx and 00-69 is 20xx.
        year = str((1900 if int(two_digit_year) >= 70 else 2000) + int(two_digit_year))
    elif match := _ASCTIME_DATE.fullmatch(text):
        month, day, hour, minute, second, year = match.groups()
    else:
        return None
    fields = (int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second))
    if not (1 <= fields[2] <= 31 and fields[3] <= 23 and fields[4] <= 59 and fields[5] <= 60):
        return None
    return calendar.timegm((*fields, 0, 0, 0))


_LAST_MODIFIED_SECONDS = parse_http_date(LAST_MODIFIED)


def _single_date(values: list[str]) -> int | None:
    """The date of an If-(Un)Modified-Since field; None (ignore the field) unless it has
    exactly one member that is a valid HTTP-date (RFC 9110 §13.1.3, §13.1.4)."""
    return parse_http_date(values[0]) if len(values) == 1 else None


def evaluate_preconditions(request: Request) -> Response | None:
    """https://www.rfc-editor.org/rfc/rfc9110#section-13.2.2: the preconditions in their
    order of precedence; a 412 or 304 response, or None to perform the method."""
    assert _LAST_MODIFIED_SECONDS is not None
    safe = request.method in ("GET", "HEAD")
    if request.get("If-Match"):
        # Step 1: If-Match false → 412.
        if not _strong_match(entity_tags(request.get("If-Match"))):
            return _text(412, "precondition failed\n", *_validators())
    else:
        # Step 2: If-Unmodified-Since, ignored when If-Match is present; false → 412.
        since = _single_date(request.get("If-Unmodified-Since"))
        if since is not None and since < _LAST_MODIFIED_SECONDS:
            return _text(412, "precondition failed\n", *_validators())
    if request.get("If-None-Match"):
        # Step 3: If-None-Match false → 304 for GET and HEAD, 412 for other methods.
        if _weak_match(entity_tags(request.get("If-None-Match"))):
            return _not_modified() if safe else _text(412, "precondition failed\n", *_validators())
    elif safe:
        # Step 4: If-Modified-Since, for GET and HEAD only, ignored with If-None-Match.
        since = _single_date(request.get("If-Modified-Since"))
        if since is not None and since >= _LAST_MODIFIED_SECONDS:
            return _not_modified()
    return None


def _not_modified() -> Response:
    # https://www.rfc-editor.org/rfc/rfc9110#section-15.4.5: a 304 carries the ETag a 200
    # would have, and no content; with an ETag present, Last-Modified is not needed.
    return Response(status=304, headers=(("ETag", ETAG),))


# -- /echo


def _echo(request: Request) -> Response:
    """The echo contract (conformance.verdicts.echo): what the server parsed, as JSON, every
    string one character per octet. Trailer fields were discarded: they are not headers."""
    document = {
        "method": request.method,
        "target": request.target,
        "version": request.version,
        "authority": request.authority,
        "headers": [[name, value] for name, value in request.headers],
        "body": request.body.decode("latin-1"),
    }
    body = json.dumps(document, ensure_ascii=True).encode()
    return Response(status=200, headers=(("Content-Type", "application/json"),), body=body)
