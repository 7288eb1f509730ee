// A test script written for Autobahn's fuzzingserver, as ws keeps one: ask the case count, run
// every case echoing each message, ask for the reports. Nothing in it knows it talks to
// `conformance client --serve-autobahn` instead of Autobahn.
//   node fuzzingclient.js ws://127.0.0.1:9001 AGENT
'use strict';
const path = require('path');
const WebSocket = require(path.join(__dirname, '..', '..', 'node', 'node_modules', 'ws'));

const [server, agent] = process.argv.slice(2);

function open(url, onOpen, onMessage) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 0 });
    ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
    ws.on('error', () => {});
    ws.on('close', resolve);
  });
}

async function main() {
  let count = 0;
  await open(`${server}/getCaseCount`, null, (ws, data) => { count = JSON.parse(data); });
  for (let c = 1; c <= count; c++) {
    await open(`${server}/runCase?case=${c}&agent=${agent}`, null,
      (ws, data, isBinary) => ws.send(data, { binary: isBinary }));
  }
  await open(`${server}/updateReports?agent=${agent}`, null, () => {});
}

main();
