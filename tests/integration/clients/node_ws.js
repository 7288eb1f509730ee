// The WebSocket client contract (README, "WebSocket clients") for Node's ws, the version pinned
// in tests/integration/node (npm ci there first).
//   conformance client --suite ws 'ws=node node_ws.js {url}'
// ws answers pings and the server's close frame itself; an error it finds is an 'error' event
// (it then fails the connection), and a close without a close frame from the server is 1006.
'use strict';
const path = require('path');
const WebSocket = require(path.join(__dirname, '..', 'node', 'node_modules', 'ws'));

const url = process.argv[2];
// The case's URL asks for permessage-deflate with a query element "permessage-deflate"; ws
// offers it by default, so it is turned off unless asked.
const query = new URL(url).search.replace(/^\?/, '').split('&');
const deflate = query.includes('permessage-deflate');
const ws = new WebSocket(url, { perMessageDeflate: deflate, maxPayload: 0 });
let failed = null;
ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
ws.on('error', (err) => { failed = failed || String(err); });
ws.on('close', (code) => {
  if (failed === null && code === 1006) failed = 'closed without a close frame from the server';
  if (failed !== null) {
    process.stderr.write(`failed: ${failed}\n`);
    process.exit(1);
  }
  process.exit(0);
});
