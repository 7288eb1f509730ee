"""The bundled reference target in a process of its own (``conformance serve``), for the tests
and benchmarks that must not count what it holds as the harness's memory."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class ReferenceServer:
    urls: dict[str, str]  # by suite: h1, h2, ws
    process: subprocess.Popen[str]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_reference(env: Mapping[str, str] | None = None, *, timeout: float = 60.0) -> ReferenceServer:
    """Start ``conformance serve`` on free ports (this checkout's package, unless ``env``
    says otherwise) and return once it serves; RuntimeError if it does not within
    ``timeout`` seconds."""
    if env is None:
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
        )
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance", "serve", "--port", "0", "--h2-port", "0", "--h2-tls-port", "0"],
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    # Read in a thread of its own, so that a server that says nothing cannot hold us past
    # the deadline (a readline on the pipe would wait for ever).
    lines: queue.Queue[str] = queue.Queue()

    def read(stream: IO[str]) -> None:
        for line in stream:
            lines.put(line)
        lines.put("")  # the end: the server exited

    threading.Thread(target=read, args=(process.stdout,), daemon=True).start()
    urls: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if not line:
            break
        suite, _, rest = line.partition(": ")
        if suite in ("h1", "h2", "ws") and "://" in rest:
            urls[suite] = rest.strip()
        if line.startswith("Serving"):
            return ReferenceServer(urls=urls, process=process)
    process.kill()
    process.wait(timeout=10)
    raise RuntimeError(f"the reference target did not start: {urls}")
