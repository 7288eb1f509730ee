"""Oracles: from what the targets did with one input to a finding's *signature*.

- **crash**: after the input, the target no longer answers a plain GET on a new connection
  (or its process exited).
- **hang**: the input is a complete request (h11, a strict parser, says so) and the target
  neither answered nor closed within the deadline. A server waiting for bytes an incomplete
  or ambiguous request announced is doing what the RFC lets it do, so that is never a hang.
- **invalid response**: the project's response parser found a violation of RFC 9112 in what
  the target sent (framing, syntax), on a response that came whole or was cut by the
  target's own close.
- **differential** (two targets or more, each with an echo endpoint): the targets read the
  same bytes as different requests. Each target's reading is the list of the requests it
  accepted (the method and body of each it echoed); targets that accepted a request and read
  alike form a group. The signature is the grouping with each group's *shape* (how many
  requests it read), never "the majority is right". Whether the RFC
  decides who is right is a separate question, answered by :func:`reference_reading`.

A signature is a hashable tuple; Hypothesis shrinks an input only while its signature stays
the same, so a shrunk finding cannot drift to another bug.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conformance.codecs.http1 import ViolationCode
from conformance.fuzz.wire import Exchange
from conformance.verdicts.echo import EchoDocument, parse_echo

Signature = tuple[object, ...]

#: Violations that say more about our reading than about the target: a head over our cap,
#: a message cut short because *we* stopped reading (only counted once the target closed).
_NOT_FINDINGS = {ViolationCode.HEAD_TOO_LARGE.value}


@dataclass(frozen=True)
class Reading:
    """What one request parser made of the bytes: per request, its method and body; or a
    refusal (4xx/5xx, or garbage) in place of a request."""

    items: tuple[tuple[str, ...], ...]

    @property
    def shape(self) -> tuple[str, ...]:
        return tuple(item[0] for item in self.items)

    def describe(self) -> str:
        words = []
        for item in self.items:
            if item[0] == "echo":
                words.append(f"read {item[1]} with a {item[3]}-byte body")
            else:
                words.append(item[0] if len(item) == 1 else f"{item[0]} {item[1]}")
        return "; ".join(words) or "nothing"


def invalid_codes(result: Exchange) -> tuple[str, ...]:
    """The RFC 9112 violations in what the target sent (sorted, unique)."""
    codes: set[str] = set()
    for response in result.responses:
        for violation in response.violations:
            if violation.code in _NOT_FINDINGS:
                continue
            # Cut short: a finding only when the target closed (FIN) in the middle. Before we
            # stopped reading it may be still sending; and a reset can discard what had come
            # (a server that closes with our bytes unread resets the connection, as it may).
            cut = violation.code == ViolationCode.INCOMPLETE_MESSAGE.value
            if cut and (not result.closed or result.reset):
                continue
            codes.add(violation.code)
    if result.garbage is not None:
        codes.add(result.garbage.violation.code)
    return tuple(sorted(codes))


def echo_reading(result: Exchange) -> Reading:
    """The requests a target says it read, from its echo responses, in order."""
    items: list[tuple[str, ...]] = []
    for response in result.finals:
        status = response.status or 0
        document = parse_echo(response.body) if 200 <= status < 300 else None
        if isinstance(document, EchoDocument):
            items.append(_echo_item(document.method, document.body))
        elif status >= 400:
            items.append(("refused",))
        else:
            items.append(("status", str(status // 100) + "xx"))
    if result.garbage is not None:
        items.append(("garbage",))
    if result.timed_out:
        items.append(("no-answer",))
    return Reading(tuple(items))


def _echo_item(method: str, body: bytes) -> tuple[str, ...]:
    return (
        "echo",
        method,
        hashlib.sha256(body).hexdigest()[:16],
        str(len(body)),
        body[:64].decode("latin-1"),
    )


def differential(readings: Mapping[str, Reading], decided: bool = False) -> Signature | None:
    """The grouping of the targets that accepted a request by what they read, when they did
    not all read alike. A target that accepted nothing (it refused, closed or waited) is
    left out: one server stricter than another is not two readings of the same bytes, and
    the RFC lets a server refuse or close at any point."""
    groups: dict[Reading, list[str]] = {}
    for name, reading in readings.items():
        # Only what was accepted counts: a 400 for what one server took as garbage after the
        # request, and another left unread and closed, is strictness, not another reading.
        accepted = Reading(tuple(item for item in reading.items if item[0] == "echo"))
        if accepted.items:
            groups.setdefault(accepted, []).append(name)
    if len(groups) < 2:
        return None
    # Sorted so that the signature does not depend on the order of the targets.
    parts = sorted((tuple(sorted(names)), reading.shape) for reading, names in groups.items())
    # Whether the RFC decides is part of the signature: shrinking must not turn a finding the
    # RFC decides (a MUST case) into one it does not (INFO), or the other way round.
    return ("differential", tuple(parts), decided)


# -- what the RFC says the bytes are


@dataclass(frozen=True)
class ReferenceReading:
    """h11's reading of the bytes: ``complete`` when they hold whole requests and nothing
    else (then ``reading`` is what every conforming server must read), ``error`` when h11
    refused them, neither when they stop in the middle of a request."""

    complete: bool
    reading: Reading | None
    error: str = ""


def reference_reading(data: bytes) -> ReferenceReading:
    """The requests in ``data`` as h11 reads them (RFC 9112 framing; strict on syntax)."""
    import h11

    connection = h11.Connection(h11.SERVER)
    connection.receive_data(data)
    connection.receive_data(b"")
    items: list[tuple[str, ...]] = []
    method, body = "", bytearray()
    try:
        while True:
            event = connection.next_event()
            if isinstance(event, h11.Request):
                method, body = event.method.decode("latin-1"), bytearray()
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                items.append(_echo_item(method, bytes(body)))
                connection.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
                connection.send(h11.EndOfMessage())
                connection.start_next_cycle()
            elif event is h11.NEED_DATA:
                return ReferenceReading(False, None)
            elif isinstance(event, h11.ConnectionClosed):
                if not items:
                    return ReferenceReading(False, None)
                return ReferenceReading(True, Reading(tuple(items)))
            else:  # PAUSED and the like: nothing a plain request produces
                return ReferenceReading(False, None)
    except h11.RemoteProtocolError as exc:
        return ReferenceReading(False, None, error=str(exc))
    except h11.LocalProtocolError as exc:  # pragma: no cover - our own use of h11
        return ReferenceReading(False, None, error=str(exc))


def decided(reference: ReferenceReading, data: bytes, readings: Mapping[str, Reading]) -> bool:
    """The RFC decides a differential: h11 read the bytes as complete requests, they have no
    bare CR or LF (:func:`plain_lines`), and some target read them as h11 did while another
    read something else."""
    if not reference.complete or reference.reading is None or not plain_lines(data):
        return False
    verdicts = [
        agrees(reading, reference.reading) for reading in readings.values() if "echo" in reading.shape
    ]
    return any(verdicts) and not all(verdicts)


def plain_lines(data: bytes) -> bool:
    """No bare CR or LF anywhere. h11 takes a bare LF for a line end; RFC 9112 §2.2 lets a
    recipient do so, or not, so bytes with one are complete for some servers and not for
    others (in a body, where they are only content, they are left out too: simpler, and safe)."""
    return re.search(rb"\r(?!\n)|(?<!\r)\n", data) is None


def is_hang(result: Exchange, reference: ReferenceReading, data: bytes) -> bool:
    """No answer and no close, to bytes that hold complete requests whichever way a server
    may read their line ends."""
    return (
        result.connected
        and result.timed_out
        and result.received == 0
        and reference.complete
        and plain_lines(data)
    )


def agrees(reading: Reading, reference: Reading) -> bool:
    """A target's reading is the reference's, or refuses where it read a request (a server
    may refuse any request, and close; it may not read another request than the one sent)."""
    mine = [item for item in reading.items if item[0] != "no-answer"]
    for index, item in enumerate(mine):
        if item[0] in ("refused", "garbage"):
            return True  # refused from here on: nothing read differently before it
        if index >= len(reference.items) or item != reference.items[index]:
            return False
    return True


def split_groups(signature: Signature) -> Sequence[tuple[tuple[str, ...], tuple[str, ...]]]:
    parts = signature[1]
    assert isinstance(parts, tuple)
    return parts
