"""The WebSocket client contract (README, "WebSocket clients") for websocket-client.

    conformance client --suite ws 'websocket-client=python3 websocket_client_ws.py {url}'

websocket-client has no permessage-deflate: it offers no extension whatever the URL asks, so the
permessage-deflate cases are UNIMPLEMENTED for it. It answers pings and the server's close
frame itself (``recv_data``); an error it finds is raised, and this adapter then drops the
connection and exits non-zero.
"""

import sys

import websocket

try:
    ws = websocket.create_connection(sys.argv[1], timeout=30)
except Exception as exc:  # the opening handshake failed, or the connection could not open
    sys.exit(f"failed: {exc!r}")
try:
    while True:
        opcode, data = ws.recv_data()  # whole messages; pings answered, close answered
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
        ws.send(data, opcode)  # same type, same bytes
except Exception as exc:
    ws.shutdown()
    sys.exit(f"failed the connection: {exc!r}")
# The server's close frame came and recv_data answered it; wait for the server's TCP close.
try:
    while ws.sock is not None and ws.sock.recv(1):
        pass
except OSError:
    pass
ws.shutdown()
