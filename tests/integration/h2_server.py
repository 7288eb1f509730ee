"""A plain server on the ``h2`` library, as h2's documentation builds one (asyncio, one task
per connection), answering with the application of apps.py; nothing checked beyond what h2
checks. Not the reference target (which adds the rules h2 leaves out). Judged by the
integration tests as "h2-library".

    python tests/integration/h2_server.py PORT
"""

from __future__ import annotations

import asyncio
import email.utils
import sys

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from apps import answer

MAX_BODY = 1024 * 1024


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="latin-1")
        )
        self.requests: dict[int, dict[str, str]] = {}
        self.pending: dict[int, bytes] = {}

    async def serve(self) -> None:
        self.conn.initiate_connection()
        await self.flush()
        try:
            while True:
                data = await asyncio.wait_for(self.reader.read(65536), timeout=30)
                if not data:
                    break
                try:
                    events = self.conn.receive_data(data)
                except h2.exceptions.ProtocolError:
                    await self.flush()
                    break
                for event in events:
                    self.handle(event)
                await self.flush()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            self.writer.close()

    def handle(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            self.requests[event.stream_id] = dict(event.headers)
        elif isinstance(event, h2.events.DataReceived):
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            self.respond(event.stream_id)
        elif isinstance(event, h2.events.WindowUpdated | h2.events.RemoteSettingsChanged):
            for stream_id in list(self.pending):
                self.send_body(stream_id)
        elif isinstance(event, h2.events.StreamReset):
            self.pending.pop(event.stream_id, None)

    def respond(self, stream_id: int) -> None:
        request = self.requests.pop(stream_id, None)
        if request is None:
            return
        method = request.get(":method", "GET")
        status, headers, body = answer(
            method,
            request.get(":path", "/").split("?")[0],
            request.get("if-none-match"),
            request.get("if-match"),
        )
        fields = [(":status", str(status)), ("date", email.utils.formatdate(usegmt=True))]
        fields += [(name.lower(), value) for name, value in headers]
        if status != 304:
            fields.append(("content-length", str(len(body))))
        if method == "HEAD":
            body = b""
        try:
            self.conn.send_headers(stream_id, fields, end_stream=not body)
        except h2.exceptions.ProtocolError:
            # The stream was reset meanwhile, or the client's GOAWAY closed h2's state
            # machine (h2 sends nothing after one): nothing can be answered.
            return
        if body:
            self.pending[stream_id] = body
            self.send_body(stream_id)

    def send_body(self, stream_id: int) -> None:
        body = self.pending.pop(stream_id, b"")
        while body:
            try:
                window = self.conn.local_flow_control_window(stream_id)
            except (h2.exceptions.StreamClosedError, h2.exceptions.NoSuchStreamError):
                return
            size = min(window, self.conn.max_outbound_frame_size)
            if size <= 0:
                self.pending[stream_id] = body
                return
            chunk, body = body[:size], body[size:]
            self.conn.send_data(stream_id, chunk, end_stream=not body)

    async def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.writer.write(data)
            await self.writer.drain()


async def main(port: int) -> None:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await Connection(reader, writer).serve()

    server = await asyncio.start_server(accept, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
