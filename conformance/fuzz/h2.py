"""HTTP/2 inputs and the crash oracle for them (``--suite h2``).

An input is a valid request (a HEADERS frame on stream 1: GET ``/``, END_STREAM and
END_HEADERS) plus a list of extra frames, each drawn as one record of data: its type (the
ten of RFC 9113 and an unknown one), flags, stream, a short payload and a declared length
off by up to two; and the offsets where the bytes are cut into TCP writes. Shrinking deletes
frames and simplifies what is left. The connection preface and an empty SETTINGS frame go
first, as a client sends them.

Only the crash oracle judges HTTP/2 so far: after each input a new connection must still get
a response to a GET. A finding is written as an ``h2`` case with ``frame`` steps, at level
INFO (no RFC sentence forbids a server to stop); replaying it against a server that crashed
ends in ERROR at its second ``connect``.
"""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass

from hypothesis import strategies as st

from conformance.codecs.h2frames import encode_frame
from conformance.fuzz.wire import FUZZ_WRITE_DELAY_MS, Counters, Exchange

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#: DATA .. CONTINUATION, then a type no extension defines here
FRAME_TYPES = (0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0x8, 0x9, 0xFA)
STREAMS = (1, 0, 3, 2, 0x7FFFFFFF, 5)
#: :method GET, :scheme http, :path / (static table), :authority localhost (literal)
REQUEST_BLOCK = bytes.fromhex("828684") + b"\x41\x09localhost"
END_STREAM_END_HEADERS = 0x1 | 0x4


@dataclass(frozen=True)
class H2Frame:
    """One frame, every field as drawn: nothing checks it."""

    type: int
    flags: int
    stream: int
    payload: bytes
    length_delta: int = 0

    kind = "frame"

    def encode(self) -> bytes:
        length = max(0, len(self.payload) + self.length_delta)
        return encode_frame(self.type, self.payload, flags=self.flags, stream_id=self.stream, length=length)


@dataclass(frozen=True, kw_only=True)
class H2Input:
    frames: tuple[H2Frame, ...] = ()
    splits: tuple[int, ...] = ()

    method = "GET"

    @property
    def mutations(self) -> tuple[H2Frame, ...]:
        return self.frames

    def body(self) -> bytes:
        """Everything after our SETTINGS: the request, then the extra frames."""
        request = encode_frame(0x1, REQUEST_BLOCK, flags=END_STREAM_END_HEADERS, stream_id=1)
        return request + b"".join(frame.encode() for frame in self.frames)

    def writes(self) -> list[bytes]:
        data = self.body()
        cuts = sorted({1 + offset % (len(data) - 1) for offset in self.splits}) if len(data) > 1 else []
        pieces, start = [], 0
        for cut in cuts:
            pieces.append(data[start:cut])
            start = cut
        pieces.append(data[start:])
        return pieces

    def render(self, fill: object = None) -> list[bytes]:
        pieces = self.writes()
        pieces[0] = PREFACE + encode_frame(0x4) + pieces[0]
        return pieces

    def kinds(self) -> set[str]:
        kinds = {f"frame-{frame.type:#x}" for frame in self.frames}
        if len(self.writes()) > 1:
            kinds.add("split")
        return kinds

    def describe(self) -> str:
        return (
            ", ".join(f"type {f.type:#x} flags {f.flags:#x} stream {f.stream}" for f in self.frames)
            or "GET only"
        )


KIND_NAMES = (*(f"frame-{kind:#x}" for kind in FRAME_TYPES), "split")


def decode_frame(record: bytes, payload: bytes) -> H2Frame:
    return H2Frame(
        type=FRAME_TYPES[record[0] % len(FRAME_TYPES)],
        flags=record[1],
        stream=STREAMS[record[2] % len(STREAMS)],
        payload=payload,
        length_delta=(record[3] % 5) - 2 if record[4] % 4 == 0 else 0,
    )


def h2_inputs(*, max_frames: int = 5) -> st.SearchStrategy[H2Input]:
    frame = st.tuples(st.binary(min_size=5, max_size=5), st.binary(max_size=12)).map(
        lambda r: decode_frame(*r)
    )
    return st.builds(
        H2Input,
        frames=st.lists(frame, max_size=max_frames).map(tuple),
        splits=st.lists(st.integers(0, 10_000), max_size=2).map(tuple),
    )


def _frames(data: bytes) -> list[tuple[int, int, int]]:
    """(type, flags, stream) of each whole frame in ``data``."""
    found, at = [], 0
    while at + 9 <= len(data):
        length = int.from_bytes(data[at : at + 3], "big")
        if at + 9 + length > len(data):
            break
        found.append((data[at + 3], data[at + 4], int.from_bytes(data[at + 5 : at + 9], "big") & 0x7FFFFFFF))
        at += 9 + length
    return found


def exchange(
    host: str,
    port: int,
    writes: list[bytes],
    *,
    deadline: float,
    counters: Counters,
    until_response: bool = False,
) -> Exchange:
    """Send ``writes``; read until the target closes, ``deadline`` passes, or (``until_response``)
    a HEADERS frame on stream 1 arrives. ``responses`` stays empty: HTTP/2 answers are frames."""
    counters.connections += 1
    try:
        sock = socket.create_connection((host, port), timeout=min(deadline, 5.0))
    except OSError as exc:
        return Exchange(connected=False, error=exc.strerror or str(exc))
    data = bytearray()
    closed = reset = answered = False
    start = time.monotonic()
    with sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for number, piece in enumerate(writes):
                if number:
                    time.sleep(FUZZ_WRITE_DELAY_MS / 1000)
                sock.sendall(piece)
                counters.bytes_sent += len(piece)
        except OSError:
            pass
        sock.setblocking(False)
        while time.monotonic() - start < deadline and len(data) < (1 << 20):
            readable, _, _ = select.select([sock], [], [], max(0.0, start + deadline - time.monotonic()))
            if not readable:
                break
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk, reset = b"", True
            if not chunk:
                closed = True
                break
            data += chunk
            counters.bytes_received += len(chunk)
            if until_response and any(t == 0x1 and s == 1 for t, _, s in _frames(bytes(data))):
                answered = True
                break
    return Exchange(
        connected=True, closed=closed, reset=reset, timed_out=not closed and not answered, received=len(data)
    )


def alive(host: str, port: int, *, deadline: float, counters: Counters) -> Exchange:
    """The liveness probe: a GET on a new connection gets a HEADERS frame on stream 1."""
    return exchange(host, port, H2Input().render(), deadline=deadline, counters=counters, until_response=True)


def is_alive(result: Exchange) -> bool:
    return result.connected and not result.timed_out and not result.closed
