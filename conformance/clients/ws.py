"""The reference WebSocket client: ``python -m conformance.clients.ws URL``.

The client contract of ``conformance client --suite ws`` (README, "Client mode"), on wsproto:
open the connection to URL (``ws://HOST:PORT/PATH``; ``wss://`` over TLS, trusting the CA
file of ``--ca FILE``) with no extension or subprotocol (but
permessage-deflate, wsproto's offer, when the URL's query has a ``permessage-deflate``
element: ``?permessage-deflate``), echo
every text and binary message as it arrived (as one message, of the same type), answer pings,
and close when the server closes. Exit status 0: the closing handshake completed cleanly
(close frames both ways, then the TCP close); 1: the client failed the WebSocket connection
or the opening handshake (why goes to standard error); 2: the command line was wrong or the
server could not be reached.
"""

from __future__ import annotations

import socket
import sys
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from conformance.clients import SCHEMES, arguments, connect
from conformance.codecs.ws.deflate import EXTENSION, DeflateParams, check_response, parse_extensions

#: Seconds the client waits for the server at any point before it gives up (fails).
TIMEOUT = 30.0


class Failed(Exception):
    """The client failed the connection or the opening handshake; the message says why."""


def run(url: str, ca: str | None = None) -> int:
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES["ws"] or not parts.hostname:
        print(f"usage: python -m conformance.clients.ws [--ca CA_FILE] URL (got {url!r})", file=sys.stderr)
        return 2
    port = parts.port or SCHEMES["ws"][parts.scheme][0]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        sock = connect("ws", parts, ca, TIMEOUT)
    except OSError as exc:
        print(f"cannot connect to {parts.hostname}:{port}: {exc}", file=sys.stderr)
        return 2
    with sock:
        try:
            _session(
                sock,
                WSConnection(ConnectionType.CLIENT),
                f"{parts.hostname}:{port}",
                target,
                deflate_asked(url),
            )
        except Failed as exc:
            print(f"failed: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"connection error: {exc}", file=sys.stderr)
            return 1
    return 0


def deflate_asked(url: str) -> bool:
    """Whether the client contract's URL asks for permessage-deflate: an element
    ``permessage-deflate`` of its query (``ws://HOST:PORT/PATH?permessage-deflate``)."""
    query = urlsplit(url).query
    return "permessage-deflate" in [item.partition("=")[0] for item in query.split("&")]


def _session(sock: socket.socket, ws: WSConnection, host: str, target: str, deflate: bool = False) -> None:
    """Play the contract until the TCP connection ends; Failed unless the closing handshake
    completed cleanly."""
    extensions = [PerMessageDeflate()] if deflate else []
    sock.sendall(ws.send(Request(host=host, target=target, extensions=extensions)))
    opened = False
    head = bytearray()
    parts: list[str | bytes] = []  # the fragments of the message being read
    failure: str | None = None
    clean = False
    while True:
        data = sock.recv(65536)
        if not opened:
            head += data  # wsproto keeps the answer's Sec-WebSocket-Extensions to itself
        try:
            ws.receive_data(data or None)
            events = list(ws.events())
        except RemoteProtocolError as exc:
            # The opening handshake (h11 under wsproto) refused the server's answer.
            raise Failed(f"opening handshake: {exc}") from None
        for event in events:
            if isinstance(event, AcceptConnection):
                opened = True
                if deflate:
                    _check_deflate_response(bytes(head))
            elif isinstance(event, RejectConnection | RejectData):
                raise Failed("the server refused the opening handshake")
            elif isinstance(event, TextMessage | BytesMessage):
                parts.append(event.data)
                if event.message_finished:
                    whole = "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)  # type: ignore[arg-type]
                    parts = []
                    _send(sock, ws, Message(data=whole))
            elif isinstance(event, Ping):
                _send(sock, ws, event.response())
            elif isinstance(event, CloseConnection):
                if ws.state is ConnectionState.REMOTE_CLOSING:
                    # The server closed: answer with its code (RFC 6455 §5.5.1).
                    _send(sock, ws, event.response())
                    clean = failure is None
                elif ws.state is ConnectionState.CLOSED and failure is None and event.code != 1006:
                    clean = True  # the server's answer to a close of ours
                elif ws.state is ConnectionState.OPEN:
                    # wsproto found the server's frames broken: fail the connection with its code.
                    failure = f"{event.code}: {event.reason}"
                    _send(sock, ws, CloseConnection(code=event.code, reason=""))
                    clean = False
        if not data:
            break
    if not opened:
        raise Failed("the connection closed during the opening handshake")
    if failure is not None:
        raise Failed(f"the server's frames were broken ({failure})")
    if not clean:
        raise Failed("the connection closed without a closing handshake")


#: wsproto's permessage-deflate offer (PerMessageDeflate's defaults).
OFFERED = DeflateParams(client_max_window_bits=15, server_max_window_bits=15)


def _check_deflate_response(head: bytes) -> None:
    """RFC 7692 §7: "A client MUST _Fail the WebSocket Connection_" on a response with a
    parameter not defined for a response, an invalid value or a parameter twice; wsproto takes
    some of those, so the reference client checks the answer's head itself."""
    lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")[1:]
    values = [
        value
        for name, _, value in (line.partition(":") for line in lines)
        if name.strip().lower() == "sec-websocket-extensions"
    ]
    for element in parse_extensions(", ".join(values))[0]:
        if element.name == EXTENSION:
            problems = check_response(element, OFFERED)[1]
            if problems:
                raise Failed(f"opening handshake: {'; '.join(problems)}")


def _send(sock: socket.socket, ws: WSConnection, event: object) -> None:
    try:
        data = ws.send(event)  # type: ignore[arg-type]
    except LocalProtocolError:
        return  # closing already: nothing more may be sent
    if data:
        sock.sendall(data)


def main() -> None:
    parsed = arguments(sys.argv[1:], "conformance.clients.ws")
    if parsed is None:
        sys.exit(2)
    sys.exit(run(*parsed))


if __name__ == "__main__":
    main()
