"""The plugin tests' fixtures: a loopback server that answers 200 to everything, and a
pytester project holding the case file of :mod:`plugin_support`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from plugin_support import CASES, ROOT
from twisted.internet import protocol


class _Ok(protocol.Protocol):
    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture(scope="module")
def ok_server(reactor_thread: Any) -> Iterator[str]:
    port = reactor_thread.call(
        reactor_thread.reactor.listenTCP, 0, protocol.Factory.forProtocol(_Ok), interface="127.0.0.1"
    )
    yield f"http://127.0.0.1:{port.getHost().port}/"
    reactor_thread.call(port.stopListening)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    pytester.makefile(".yaml", cases=CASES)
    return pytester
