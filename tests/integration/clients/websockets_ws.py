"""The WebSocket client contract (README, "WebSocket clients") for websockets, its sync client:
the README's ``echo_ws.py``.

    conformance client --suite ws 'websockets=python3 websockets_ws.py {url}'
    conformance client --suite ws --tls 'websockets=python3 websockets_ws.py --ca {ca} {url}'
"""

import ssl
import sys
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

args = sys.argv[1:]
context = None
if args[0] == "--ca":  # wss://: trust the CA of the run (conformance client --tls)
    context = ssl.create_default_context(cafile=args[1])
    args = args[2:]
url = args[0]
# The case's URL asks for permessage-deflate with a query element "permessage-deflate".
deflate = "permessage-deflate" in urlsplit(url).query.split("&")
try:
    with connect(
        url, ssl=context, compression="deflate" if deflate else None, max_size=None, open_timeout=30
    ) as ws:
        try:
            for message in ws:  # str for text, bytes for binary: sent back as they came
                ws.send(message)
        except ConnectionClosed:
            pass
except Exception as exc:  # the opening handshake failed, or the connection could not open
    sys.exit(f"failed: {exc!r}")
# Clean: the server's close frame came first and ours answered it (else the client failed it).
closing = ws.protocol
if not (closing.close_rcvd and closing.close_sent and closing.close_rcvd_then_sent):
    sys.exit(f"failed the connection: sent {closing.close_sent}, received {closing.close_rcvd}")
