"""A configurable WebSocket-over-HTTP/2 (RFC 8441) echo server whose every check can be
switched off.

With no faults it advertises SETTINGS_ENABLE_CONNECT_PROTOCOL = 1, treats a malformed CONNECT
(an ordinary CONNECT with :scheme or :path; an extended CONNECT without :scheme or :path, or
with an empty :path) as a stream error PROTOCOL_ERROR, answers an unknown :protocol with 501
and a version other than 13 with 400 and ``sec-websocket-version: 13``, and opens a
WebSocket echo (wsproto) on each stream whose extended CONNECT it accepts with 200: every
message echoed, pings answered, a close answered and the stream then ended (RFC 8441 §5),
a protocol error answered with a close frame and END_STREAM. Each fault in :data:`FAULTS`
switches exactly one behaviour wrong, so that a test can show that the RFC 8441 cases
about it FAIL.

HTTP/2 is the ``h2`` library's (with its header validation off, so that this server decides
what is malformed), not the harness's codec.

Run it in the foreground::

    python tests/faulty/ws_h2_server.py --port 18084 [--fault NAME ...]
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import fault_matrix
import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from h2.errors import ErrorCodes
from twisted.internet import protocol
from twisted.internet.interfaces import IListeningPort

from conformance.targets.ws_h2 import StreamEcho, accept

FAULTS: dict[str, str] = {
    "setting-2": "advertises SETTINGS_ENABLE_CONNECT_PROTOCOL = 2",
    "setting-withdrawn": "sets SETTINGS_ENABLE_CONNECT_PROTOCOL back to 0 after accepting a WebSocket",
    "plain-connect-accepted": "opens a WebSocket for a CONNECT without :protocol (but with :scheme, :path)",
    "scheme-unchecked": "accepts an extended CONNECT without :scheme",
    "path-unchecked": "accepts an extended CONNECT without :path, or with an empty one",
    "refuse-websocket": "answers every extended CONNECT with 403",
    "end-stream-on-200": "sets END_STREAM on the 200 that opens the WebSocket",
    "upgrade-fields": "puts Connection: upgrade and Upgrade: websocket in the 200",
    "any-version": "accepts any Sec-WebSocket-Version",
    "subprotocol-unoffered": "names a subprotocol the client did not offer",
    "deflate-bad-params": "accepts permessage-deflate with server_max_window_bits=16",
    "no-window-update": "never gives back flow-control window for what it reads",
    "no-end-stream": "answers a close but never ends the stream",
    "reset-protocol-error": "fails a WebSocket with RST_STREAM PROTOCOL_ERROR, not a close frame",
    "one-websocket": "refuses (RST_STREAM REFUSED_STREAM) a second WebSocket on a connection",
}

ENABLE_CONNECT_PROTOCOL = 8


@dataclass
class _Socket:
    echo: StreamEcho
    pending: bytes = b""
    end: bool = False


class FaultyH2WebSocket(protocol.Protocol):
    def __init__(self, faults: frozenset[str]) -> None:
        self.faults = faults
        config = h2.config.H2Configuration(
            client_side=False,
            header_encoding=None,
            validate_inbound_headers=False,
            normalize_inbound_headers=False,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
        )
        self.conn = h2.connection.H2Connection(config=config)
        self.sockets: dict[int, _Socket] = {}
        self.accepted = 0

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        self.conn.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.ENABLE_PUSH: 0,
                h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1,
            },
        )
        self.conn.initiate_connection()
        data = self.conn.data_to_send()
        if "setting-2" in self.faults:
            data = data.replace(b"\x00\x08\x00\x00\x00\x01", b"\x00\x08\x00\x00\x00\x02", 1)
        self.transport.write(data)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._flush()
            self.transport.loseConnection()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                self._request(event.stream_id, list(event.headers), ended=event.stream_ended is not None)
            elif isinstance(event, h2.events.DataReceived):
                self._data(event)
            elif isinstance(event, h2.events.StreamEnded):
                socket = self.sockets.get(event.stream_id)
                if socket is not None:
                    socket.end = True
                    self._send(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                self.sockets.pop(event.stream_id, None)
            elif isinstance(event, h2.events.WindowUpdated):
                for stream_id in [event.stream_id] if event.stream_id else list(self.sockets):
                    self._send(stream_id)
        self._flush()

    def _flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.transport.write(data)

    def _reset(self, stream_id: int, code: ErrorCodes) -> None:
        with contextlib.suppress(h2.exceptions.ProtocolError):
            self.conn.reset_stream(stream_id, code)

    def _request(self, stream_id: int, headers: list[tuple[bytes, bytes]], *, ended: bool) -> None:
        pseudo = dict(h for h in headers if h[0].startswith(b":"))
        method = pseudo.get(b":method")
        if method != b"CONNECT":
            self.conn.send_headers(
                stream_id, [(b":status", b"404"), (b"content-length", b"0")], end_stream=True
            )
            return
        if b":protocol" not in pseudo:
            # RFC 9113 §8.5: an ordinary CONNECT has neither :scheme nor :path.
            if (b":scheme" in pseudo or b":path" in pseudo) and "plain-connect-accepted" not in self.faults:
                self._reset(stream_id, ErrorCodes.PROTOCOL_ERROR)
                return
            if "plain-connect-accepted" not in self.faults:
                self.conn.send_headers(
                    stream_id, [(b":status", b"405"), (b"content-length", b"0")], end_stream=True
                )
                return
            headers = [*headers, (b":protocol", b"websocket")]
        # RFC 8441 §4: :scheme and :path go with :protocol; RFC 9113 §8.3.1: :path not empty.
        if b":scheme" not in pseudo and "scheme-unchecked" not in self.faults:
            self._reset(stream_id, ErrorCodes.PROTOCOL_ERROR)
            return
        if not pseudo.get(b":path") and "path-unchecked" not in self.faults:
            self._reset(stream_id, ErrorCodes.PROTOCOL_ERROR)
            return
        if "any-version" in self.faults:
            headers = [(n, v) for n, v in headers if n != b"sec-websocket-version"]
            headers.append((b"sec-websocket-version", b"13"))
        if "refuse-websocket" in self.faults:
            self.conn.send_headers(
                stream_id, [(b":status", b"403"), (b"content-length", b"0")], end_stream=True
            )
            return
        if "one-websocket" in self.faults and self.accepted:
            self._reset(stream_id, ErrorCodes.REFUSED_STREAM)
            return
        answer = accept(headers)
        fields = list(answer.fields)
        if answer.echo is None or ended:
            status = str(answer.status if answer.echo is None else 400).encode()
            self.conn.send_headers(
                stream_id, [(b":status", status), *fields, (b"content-length", b"0")], end_stream=True
            )
            return
        if "upgrade-fields" in self.faults:
            fields += [(b"connection", b"upgrade"), (b"upgrade", b"websocket")]
        if "subprotocol-unoffered" in self.faults:
            fields = [(n, v) for n, v in fields if n != b"sec-websocket-protocol"]
            fields.append((b"sec-websocket-protocol", b"x-unoffered"))
        if "deflate-bad-params" in self.faults and any(n == b"sec-websocket-extensions" for n, _ in fields):
            fields = [(n, v) for n, v in fields if n != b"sec-websocket-extensions"]
            fields.append((b"sec-websocket-extensions", b"permessage-deflate; server_max_window_bits=16"))
        end = "end-stream-on-200" in self.faults
        self.conn.send_headers(stream_id, [(b":status", b"200"), *fields], end_stream=end)
        self.accepted += 1
        if "setting-withdrawn" in self.faults:
            self.conn.update_settings({ENABLE_CONNECT_PROTOCOL: 0})
        if not end:
            self.sockets[stream_id] = _Socket(echo=answer.echo)

    def _data(self, event: h2.events.DataReceived) -> None:
        if "no-window-update" not in self.faults:
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        socket = self.sockets.get(event.stream_id)
        if socket is None:
            return
        echo = socket.echo
        out = echo.receive(event.data)
        # Our close frame opens the closing handshake (not an answer to the client's): the
        # WebSocket failed.
        failed = echo.done and echo.ws.state.name == "LOCAL_CLOSING"
        if failed and "reset-protocol-error" in self.faults:
            # The WebSocket failed (not a close answered): reset instead of a close frame.
            del self.sockets[event.stream_id]
            self._reset(event.stream_id, ErrorCodes.PROTOCOL_ERROR)
            return
        socket.pending += out
        socket.end = socket.end or (echo.done and "no-end-stream" not in self.faults)
        self._send(event.stream_id)

    def _send(self, stream_id: int) -> None:
        socket = self.sockets.get(stream_id)
        if socket is None:
            return
        try:
            window = self.conn.local_flow_control_window(stream_id)
            while socket.pending and window > 0:
                size = min(window, len(socket.pending), self.conn.max_outbound_frame_size)
                chunk, socket.pending = socket.pending[:size], socket.pending[size:]
                last = socket.end and not socket.pending
                self.conn.send_data(stream_id, chunk, end_stream=last)
                window -= size
            if socket.end and not socket.pending:
                if self.conn.streams[stream_id].open:
                    with contextlib.suppress(h2.exceptions.ProtocolError):
                        self.conn.end_stream(stream_id)
                del self.sockets[stream_id]
        except (h2.exceptions.ProtocolError, KeyError):
            self.sockets.pop(stream_id, None)


def listen(
    reactor: Any, faults: Iterable[str] = (), *, host: str = "127.0.0.1", port: int = 0
) -> IListeningPort:
    """Start the server on ``host:port`` (0: a free port) with the given faults switched on."""
    chosen = fault_matrix.check_faults(faults, FAULTS)
    listening: IListeningPort = fault_matrix.listen_tcp(
        reactor, lambda: FaultyH2WebSocket(chosen), host=host, port=port
    )
    return listening


def main(argv: list[str] | None = None) -> int:
    return fault_matrix.serve(
        argv,
        description=__doc__,
        faults=FAULTS,
        listen=listen,
        label="faulty WebSocket-over-HTTP/2 server",
        url="h2c://{host}:{port}/",
        default_port=18084,
    )


if __name__ == "__main__":
    sys.exit(main())
