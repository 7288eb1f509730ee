"""The bundled reference target in a process of its own, for ``conformance run`` with no target.

The harness and the reference target then each have a core of their own (a run against it
used to share one process, and so one core, between both sides). The child is
``conformance serve --managed``: it announces its URLs as one JSON line on stdout, and exits
when its stdin closes, so that it cannot outlive the run whatever happens to the parent (a
crash or a kill included: the kernel closes the pipe).
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO

from conformance.errors import ConformanceError


class ReferenceStartError(ConformanceError):
    """The reference target's process did not start serving."""


@dataclass
class ReferenceProcess:
    urls: dict[str, str]  # by name, as ReferenceTarget.urls
    suites: dict[str, tuple[str, ...]]  # as ReferenceTarget.suites
    process: subprocess.Popen[str]

    def stop(self, timeout: float = 5.0) -> None:
        """End the process: close its stdin (it exits by itself), then terminate, then kill."""
        if self.process.poll() is None:
            try:
                if self.process.stdin is not None:
                    self.process.stdin.close()
                self.process.wait(timeout=timeout)
            except (subprocess.TimeoutExpired, OSError):
                self.process.terminate()
                try:
                    self.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_reference_process(timeout: float = 30.0) -> ReferenceProcess:
    """Start the reference target on free 127.0.0.1 ports and return once it serves."""
    command = [sys.executable, "-m", "conformance", "serve", "--managed"]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    errors: list[str] = []

    def read(stream: IO[str], into: queue.Queue[str] | list[str]) -> None:
        # A thread of its own: a child that says nothing cannot hold us past the deadline.
        for line in stream:
            if isinstance(into, list):
                if len(into) < 50:
                    into.append(line)
            else:
                into.put(line)
        if not isinstance(into, list):
            into.put("")

    threading.Thread(target=read, args=(process.stdout, lines), daemon=True).start()
    threading.Thread(target=read, args=(process.stderr, errors), daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line:
            try:
                announced = json.loads(line)
            except ValueError:
                continue
            return ReferenceProcess(
                urls=dict(announced["urls"]),
                suites={name: tuple(s) for name, s in announced["suites"].items()},
                process=process,
            )
        # The child exited (an empty line), or the deadline passed.
        ReferenceProcess(urls={}, suites={}, process=process).stop(timeout=2.0)
        why = "".join(errors).strip()[-1000:] or (
            f"it exited with status {process.returncode}" if line == "" else f"no answer within {timeout:g} s"
        )
        raise ReferenceStartError(f"the bundled reference target did not start: {why}")
