"""Real WebSocket echo servers for integration tests and benchmarks, each in a process of
its own on a free loopback port, always stopped: ``websockets`` (asyncio) and
autobahn-python (Twisted), with permessage-deflate on.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

from servers import free_port, need_module, running

WEBSOCKETS = """
import asyncio, sys
from websockets.asyncio.server import serve

async def echo(connection):
    async for message in connection:
        await connection.send(message)

async def main(port):
    async with serve(echo, "127.0.0.1", port, max_size=16 * 2**20, compression="deflate",
                     ping_interval=None) as server:
        await server.serve_forever()

asyncio.run(main(int(sys.argv[1])))
"""

AUTOBAHN = """
import sys
from twisted.internet import reactor
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateOfferAccept

class Echo(WebSocketServerProtocol):
    def onConnect(self, request):
        return next((p for p in request.protocols if p in ("chat", "superchat")), None)

    def onMessage(self, payload, is_binary):
        self.sendMessage(payload, is_binary)

def accept(offers):
    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            return PerMessageDeflateOfferAccept(offer)
    return None

port = int(sys.argv[1])
factory = WebSocketServerFactory(f"ws://127.0.0.1:{port}")
factory.protocol = Echo
factory.setProtocolOptions(perMessageCompressionAccept=accept)
reactor.listenTCP(port, factory, interface="127.0.0.1")
reactor.run()
"""


@contextlib.contextmanager
def _script(source: str, module: str) -> Iterator[str]:
    need_module(module)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="conformance-ws-server-") as tmp:
        script = Path(tmp) / "server.py"
        script.write_text(textwrap.dedent(source))
        with running([sys.executable, str(script), str(port)], port) as _url:
            yield f"ws://127.0.0.1:{port}/"


def websockets_server() -> contextlib.AbstractContextManager[str]:
    return _script(WEBSOCKETS, "websockets")


def autobahn_server() -> contextlib.AbstractContextManager[str]:
    return _script(AUTOBAHN, "autobahn")


WS_SERVERS = {
    "websockets": websockets_server,
    "autobahn": autobahn_server,
}
