"""Reference clients: what ``conformance client`` judges when given no command.

Each follows the client contract (README, "Client mode"): given ``{url}``, it sends one
request, writes the response body to standard output, and exits 0 when it accepted the
response, non-zero when it rejected it. Like the reference target, they are built on the
sans-IO libraries (h11 here) and show that every client case can PASS.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Sequence
from urllib.parse import SplitResult

#: Scheme -> (default port, TLS?), of the URLs each suite's reference client takes.
SCHEMES = {
    "h1": {"http": (80, False), "https": (443, True)},
    "h2": {"http": (80, False), "https": (443, True)},
    "ws": {"ws": (80, False), "wss": (443, True)},
}
#: ALPN each suite's client offers over TLS (RFC 9113 §3.2: HTTP/2 over TLS is "h2").
ALPN = {"h1": ["http/1.1"], "h2": ["h2"], "ws": ["http/1.1"]}


def arguments(argv: Sequence[str], module: str) -> tuple[str, str | None] | None:
    """``[--ca FILE] URL`` -> (URL, the CA file to trust over TLS); None (a usage message
    written) when the arguments are not that."""
    args = list(argv)
    ca = None
    if len(args) == 3 and args[0] == "--ca":
        ca = args[1]
        args = args[2:]
    if len(args) != 1 or args[0].startswith("-"):
        sys.stderr.write(f"usage: python -m {module} [--ca CA_FILE] URL\n")
        return None
    return args[0], ca


def connect(suite: str, parts: SplitResult, ca: str | None, timeout: float) -> socket.socket:
    """A connection to the URL's host and port, wrapped in TLS for https:// and wss://
    (verified against ``ca``, else the system's CAs). Raises OSError (ssl.SSLError is one)."""
    port, tls = SCHEMES[suite][parts.scheme]
    host = parts.hostname or ""
    sock = socket.create_connection((host, parts.port or port), timeout=timeout)
    if not tls:
        return sock
    import ssl  # only over TLS: a client started per case pays for what it uses

    context = ssl.create_default_context(cafile=ca)
    context.set_alpn_protocols(ALPN[suite])
    try:
        # A TCP close without TLS's close_notify is an error of the connection (it may cut the
        # response short: RFC 9112 §8), not the end of the data.
        return context.wrap_socket(sock, server_hostname=host, suppress_ragged_eofs=False)
    except BaseException:
        sock.close()
        raise
