"""A test script written for Autobahn's fuzzingserver, as WebSocket client libraries keep them
(websocket-client's ``compliance/test_fuzzingclient.py``, aiohttp's and tornado's scripts):
ask the case count, run every case echoing each message, ask for the reports. Nothing in it
knows it talks to ``conformance client --serve-autobahn`` instead of Autobahn.

    python3 fuzzingclient.py websockets|websocket-client|aiohttp|tornado ws://127.0.0.1:9001 AGENT
"""

import asyncio
import json
import sys


def websockets_sync(server: str, agent: str) -> None:
    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    with connect(f"{server}/getCaseCount") as ws:
        count = json.loads(ws.recv())
    for case in range(1, count + 1):
        try:
            with connect(f"{server}/runCase?case={case}&agent={agent}", max_size=2**27) as ws:
                for message in ws:
                    ws.send(message)
        except WebSocketException:
            pass
    with connect(f"{server}/updateReports?agent={agent}", open_timeout=60):
        pass


def websocket_client(server: str, agent: str) -> None:
    import websocket

    ws = websocket.create_connection(f"{server}/getCaseCount")
    count = json.loads(ws.recv())
    ws.close()
    for case in range(1, count + 1):
        try:
            ws = websocket.create_connection(f"{server}/runCase?case={case}&agent={agent}")
            while True:
                opcode, data = ws.recv_data()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    break
                ws.send(data, opcode)
        except Exception:
            pass
        finally:
            ws.close()
    websocket.create_connection(f"{server}/updateReports?agent={agent}").close()


async def aiohttp_main(server: str, agent: str) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{server}/getCaseCount") as ws:
            count = json.loads((await ws.receive()).data)
        for case in range(1, count + 1):
            try:
                async with session.ws_connect(
                    f"{server}/runCase?case={case}&agent={agent}", max_msg_size=0
                ) as ws:
                    async for message in ws:
                        if message.type == aiohttp.WSMsgType.TEXT:
                            await ws.send_str(message.data)
                        elif message.type == aiohttp.WSMsgType.BINARY:
                            await ws.send_bytes(message.data)
                        else:
                            break
            except Exception:
                pass
        async with session.ws_connect(f"{server}/updateReports?agent={agent}"):
            pass


async def tornado_main(server: str, agent: str) -> None:
    from tornado.websocket import websocket_connect

    ws = await websocket_connect(f"{server}/getCaseCount")
    count = json.loads(await ws.read_message())
    ws.close()
    for case in range(1, count + 1):
        try:
            ws = await websocket_connect(
                f"{server}/runCase?case={case}&agent={agent}", max_message_size=2**27
            )
            while True:
                message = await ws.read_message()
                if message is None:
                    break
                await ws.write_message(message, binary=isinstance(message, bytes))
        except Exception:
            pass
    ws = await websocket_connect(f"{server}/updateReports?agent={agent}")
    ws.close()


def main() -> None:
    library, server, agent = sys.argv[1:4]
    if library == "websockets":
        websockets_sync(server, agent)
    elif library == "websocket-client":
        websocket_client(server, agent)
    elif library == "aiohttp":
        asyncio.run(aiohttp_main(server, agent))
    elif library == "tornado":
        asyncio.run(tornado_main(server, agent))
    else:
        sys.exit(f"unknown library {library!r}")


main()
