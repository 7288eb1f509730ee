"""Real WebSocket echo servers for integration tests and benchmarks, each in a process of
its own on a free loopback port, always stopped: ``websockets`` (asyncio), autobahn-python
(Twisted), Node's ``ws`` (npm, installed by ``npm ci`` in ``node/``), hypercorn (wsproto,
running the ASGI echo of ``ws_apps.py``), aiohttp, tornado and daphne (running the ASGI
application of ``apps.py``, whose websocket scope is the same echo).

Every one echoes text as text and binary as binary, takes messages of 16 MiB (the largest the
suite sends), and has permessage-deflate on (except daphne, which does not offer it). Those that let the application choose a
subprotocol (all but ``websockets`` here) take the first of "chat" and "superchat" offered.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import servers
from servers import HERE, IN_CI, free_port, need, need_module, running

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

AIOHTTP = """
import sys
from aiohttp import WSMsgType, web

async def echo(request):
    # aiohttp takes messages shorter than max_msg_size: one byte more, so 16 MiB ones fit.
    socket = web.WebSocketResponse(protocols=("chat", "superchat"), compress=True,
                                   max_msg_size=16 * 2**20 + 1)
    await socket.prepare(request)
    async for message in socket:
        if message.type == WSMsgType.TEXT:
            await socket.send_str(message.data)
        elif message.type == WSMsgType.BINARY:
            await socket.send_bytes(message.data)
    return socket

app = web.Application()
app.router.add_get("/", echo)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

TORNADO = """
import asyncio, sys
from tornado.web import Application
from tornado.websocket import WebSocketClosedError, WebSocketHandler

class Echo(WebSocketHandler):
    def get_compression_options(self):
        return {}  # permessage-deflate on, with tornado's defaults

    def select_subprotocol(self, subprotocols):
        return next((p for p in ("chat", "superchat") if p in subprotocols), None)

    async def on_message(self, message):
        try:
            await self.write_message(message, binary=isinstance(message, bytes))
        except WebSocketClosedError:
            pass

async def main(port):
    app = Application([(r"/", Echo)], websocket_max_message_size=16 * 2**20)
    app.listen(port, address="127.0.0.1")
    await asyncio.Event().wait()

asyncio.run(main(int(sys.argv[1])))
"""

NODE_DIR = HERE / "node"


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


def aiohttp_server() -> contextlib.AbstractContextManager[str]:
    return _script(AIOHTTP, "aiohttp")


def tornado_server() -> contextlib.AbstractContextManager[str]:
    return _script(TORNADO, "tornado")


@contextlib.contextmanager
def hypercorn_server(
    app: str = "ws_apps:asgi_echo", *, args: Sequence[str] = (), scheme: str = "ws", cwd: Path = HERE
) -> Iterator[str]:
    """hypercorn serving the ASGI ``app`` (``module:attribute``, importable from ``cwd``)
    on a free loopback port; yields ``{scheme}://127.0.0.1:{port}/``. ``args`` go to
    hypercorn as they are (``--certfile``/``--keyfile`` for TLS, for instance), and
    ``scheme`` names how the caller reaches it (``ws``, ``wss``, ``h2c``, ``https``).
    hypercorn's own WebSocket limit (``websocket_max_message_size``) is 16 MiB already."""
    need_module("hypercorn")
    port = free_port()
    command = [sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}", *args, app]
    with running(command, port, cwd=cwd):
        yield f"{scheme}://127.0.0.1:{port}/"


@contextlib.contextmanager
def node_ws_server() -> Iterator[str]:
    """Node's ws (``node/echo.js``), installed with ``npm ci`` in ``node/`` (``.ci/run``)."""
    node = need("node")
    if not (NODE_DIR / "node_modules" / "ws" / "package.json").is_file():
        message = f"Node's ws is not installed: run `npm ci` in {NODE_DIR}"
        if IN_CI:
            pytest.fail(message + " (.ci/run does)")
        pytest.skip(message)
    port = free_port()
    with running([node, str(NODE_DIR / "echo.js"), str(port)], port, cwd=NODE_DIR):
        yield f"ws://127.0.0.1:{port}/"


WS_SERVERS = {
    "websockets": websockets_server,
    "autobahn": autobahn_server,
    "node-ws": node_ws_server,
    "hypercorn": hypercorn_server,
    "aiohttp": aiohttp_server,
    "tornado": tornado_server,
    # daphne (Twisted and autobahn) serving apps.asgi_app, whose websocket scope is the echo
    "daphne": lambda: servers.daphne(scheme="ws"),
}
