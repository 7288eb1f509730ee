"""Run many cases against many targets at once, and gather one :class:`RunResults`."""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Callable, Sequence

from twisted.internet import defer

from conformance import __version__
from conformance.driver.interpreter import RunOptions, run_case
from conformance.results import CaseResult, RunResults, TargetResults
from conformance.scenario.model import Case
from conformance.target import Target

ProgressCallback = Callable[[str, CaseResult], None]


def default_jobs() -> int:
    """Cases in flight at once: loopback servers answer in microseconds, so the limit is
    what a modest server accepts without dropping connections, not our CPU."""
    return max(8, min(32, 8 * (os.cpu_count() or 1)))


def plan(cases: Sequence[Case], targets: Sequence[Target]) -> list[tuple[Target, list[Case]]]:
    """Which cases run against which target: those of the suites its URL can serve."""
    return [(target, [case for case in cases if case.protocol in target.suites]) for target in targets]


async def run_suite(
    reactor: object,
    cases: Sequence[Case],
    targets: Sequence[Target],
    options: RunOptions,
    *,
    jobs: int | None = None,
    on_case_done: ProgressCallback | None = None,
) -> RunResults:
    started_at = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    wall_start = time.monotonic()
    semaphore = defer.DeferredSemaphore(jobs or default_jobs())
    work = plan(cases, targets)

    async def one(target: Target, case: Case) -> tuple[CaseResult, bool]:
        await semaphore.acquire()
        try:
            result, connected = await run_case(reactor, case, target, options)
        finally:
            semaphore.release()
        if on_case_done is not None:
            on_case_done(target.name, result)
        return result, connected

    per_target: list[defer.Deferred[list[tuple[CaseResult, bool]]]] = []
    for target, target_cases in work:
        deferreds = [defer.Deferred.fromCoroutine(one(target, case)) for case in target_cases]
        per_target.append(defer.gatherResults(deferreds, consumeErrors=True))
    gathered = await defer.gatherResults(per_target, consumeErrors=True)
    target_results = []
    for (target, _), outcomes in zip(work, gathered, strict=True):
        reachable = any(connected for _, connected in outcomes) or not outcomes
        target_results.append(
            TargetResults(
                name=target.name, url=target.url, cases=tuple(r for r, _ in outcomes), reachable=reachable
            )
        )
    return RunResults(
        tool_version=__version__,
        started_at=started_at,
        duration_s=time.monotonic() - wall_start,
        targets=tuple(target_results),
    )
