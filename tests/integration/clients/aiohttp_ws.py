"""The WebSocket client contract (README, "WebSocket clients") for aiohttp's client.

    conformance client --suite ws 'aiohttp=python3 aiohttp_ws.py {url}'

aiohttp answers pings (autoping) and the server's close frame (autoclose) itself; a message it
reports as an error (WSMsgType.ERROR) is a connection it failed.
"""

import asyncio
import sys
from urllib.parse import urlsplit

import aiohttp


async def main(url: str) -> int:
    # The case's URL asks for permessage-deflate with a query element "permessage-deflate".
    deflate = "permessage-deflate" in urlsplit(url).query.split("&")
    async with aiohttp.ClientSession() as session:
        try:
            ws = await session.ws_connect(url, compress=15 if deflate else 0, max_msg_size=0)
        except Exception as exc:  # the opening handshake failed, or the connection could not open
            print(f"failed: {exc!r}", file=sys.stderr)
            return 1
        async with ws:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    await ws.send_str(message.data)
                elif message.type == aiohttp.WSMsgType.BINARY:
                    await ws.send_bytes(message.data)
                elif message.type == aiohttp.WSMsgType.ERROR:
                    print(f"failed the connection: {ws.exception()!r}", file=sys.stderr)
                    return 1
            # The loop ends on the server's close frame, answered by autoclose (CLOSE), or on a
            # connection that ended without one (close_code None or 1006).
            if ws.close_code in (None, 1006) or ws.exception() is not None:
                print(f"failed the connection: {ws.close_code} {ws.exception()!r}", file=sys.stderr)
                return 1
    return 0


sys.exit(asyncio.run(main(sys.argv[1])))
