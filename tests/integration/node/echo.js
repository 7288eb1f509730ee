// Node's ws as a WebSocket echo server for the conformance suite (tests/integration/servers_ws.py).
// permessage-deflate on for every message (threshold 0), 16 MiB messages, subprotocols
// "chat" and "superchat" accepted; listens on 127.0.0.1 at the port given as argv[2].
"use strict";
const { WebSocketServer } = require("ws");

const port = Number(process.argv[2]);
const server = new WebSocketServer({
  host: "127.0.0.1",
  port,
  maxPayload: 16 * 1024 * 1024,
  perMessageDeflate: { threshold: 0 },
  handleProtocols: (protocols) => ["chat", "superchat"].find((p) => protocols.has(p)) ?? false,
});
server.on("connection", (socket) => {
  // A client that breaks the protocol makes ws emit "error" (and close with the code the RFC
  // asks for); without a listener Node would stop the whole server.
  socket.on("error", () => {});
  socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
});
