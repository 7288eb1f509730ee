"""conformance: a protocol conformance harness for HTTP/1.1, HTTP/2 and WebSocket servers."""

from __future__ import annotations

__version__ = "0.1.0"
