"""The WebSocket client contract (README, "WebSocket clients") for tornado's websocket_connect.

    conformance client --suite ws 'tornado=python3 tornado_ws.py {url}'

tornado answers pings and the server's close frame itself; ``read_message`` returns None once
the connection closed, and ``close_code`` tells whether the server's close frame came (None when
tornado failed the connection or the TCP connection ended without one).
"""

import asyncio
import sys
from urllib.parse import urlsplit

from tornado.websocket import websocket_connect


async def main(url: str) -> int:
    # The case's URL asks for permessage-deflate with a query element "permessage-deflate".
    deflate = "permessage-deflate" in urlsplit(url).query.split("&")
    try:
        ws = await websocket_connect(
            url, compression_options={} if deflate else None, max_message_size=1 << 30
        )
    except Exception as exc:  # the opening handshake failed, or the connection could not open
        print(f"failed: {exc!r}", file=sys.stderr)
        return 1
    while True:
        message = await ws.read_message()
        if message is None:
            break
        await ws.write_message(message, binary=isinstance(message, bytes))
    if ws.close_code is None:
        print("failed the connection: no close frame from the server", file=sys.stderr)
        return 1
    return 0


sys.exit(asyncio.run(main(sys.argv[1])))
