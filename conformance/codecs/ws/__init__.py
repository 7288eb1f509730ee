"""WebSocket on the wire, without I/O (RFC 6455, RFC 7692).

- :mod:`.frames` — frames: an encoder that writes any frame (any opcode, reserved bits,
  masked or not, any length encoding) and a tolerant incremental decoder; fast masking.
- :mod:`.messages` — frames to messages (fragmentation, control frames interleaved, UTF-8,
  permessage-deflate) and messages to frames in any fragmentation pattern.
- :mod:`.utf8` — incremental UTF-8 validation that tells where invalid text began.
- :mod:`.close` — close codes and their RFC 6455 §7.4 ranges; close payloads.
- :mod:`.deflate` — permessage-deflate parameters and compression (RFC 7692).
- :mod:`.handshake` — the opening handshake: requests as told, responses checked fully.
- :mod:`.answer` — the server's side of the handshake, as client mode answers it.

The package imports none of them: a process that needs one (a client started per case, say)
does not pay for the rest.
"""
