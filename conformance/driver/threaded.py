"""A reactor running in a background thread, for callers that are not Twisted programs
(the test suite, the pytest plugin): call into it and block for the result."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from twisted.internet import defer, threads

from conformance.driver.context import RunOptions
from conformance.results import RunResults
from conformance.scenario.model import Case
from conformance.target import Target

T = TypeVar("T")
_lock = threading.Lock()
_instance: ReactorThread | None = None


class ReactorThread:
    def __init__(self) -> None:
        from twisted.internet import reactor

        self.reactor: Any = reactor
        self._thread = threading.Thread(
            target=lambda: reactor.run(installSignalHandlers=False), name="twisted-reactor", daemon=True
        )
        self._thread.start()

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` in the reactor thread and wait for its result (Deferreds and
        coroutines are awaited)."""

        def in_reactor() -> Any:
            result = fn(*args, **kwargs)
            if hasattr(result, "__await__") and not isinstance(result, defer.Deferred):
                return defer.Deferred.fromCoroutine(result)
            return result

        return threads.blockingCallFromThread(self.reactor, in_reactor)

    def run(
        self,
        cases: Sequence[Case],
        targets: Sequence[Target],
        options: RunOptions | None = None,
        *,
        jobs: int | None = None,
        heavy_jobs: int | None = None,
    ) -> RunResults:
        from conformance.driver.runner import run_suite

        return self.call(
            run_suite, self.reactor, cases, targets, options or RunOptions(), jobs=jobs, heavy_jobs=heavy_jobs
        )


def reactor_thread() -> ReactorThread:
    """The process-wide reactor thread, started on first use."""
    global _instance
    with _lock:
        if _instance is None:
            _instance = ReactorThread()
        return _instance
