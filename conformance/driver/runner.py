"""Run many cases against many targets at once, and gather one :class:`RunResults`."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from twisted.internet import defer

from conformance import __version__
from conformance.driver.context import RunOptions
from conformance.driver.interpreter import CaseOutcome, run_case, skip_reason
from conformance.driver.logs import keep_no_log_history
from conformance.driver.preflight import Diagnosis, probe
from conformance.results import CaseResult, RunResults, TargetResults
from conformance.scenario.model import Case
from conformance.target import Target
from conformance.verdicts.judge import judge, skipped
from conformance.verdicts.profiles import apply_profile
from conformance.verdicts.verdict import Verdict

ProgressCallback = Callable[[str, CaseResult], None]
#: Called with the target's name and the case id as a case starts (the terminal names the
#: cases still running at the end of a run).
StartCallback = Callable[[str, str], None]
#: Runs one case against one target to its outcome: ``run_case`` (the target is a server), or
#: ``client_role.run_client_case`` (the target is a client the harness starts).
CaseRunner = Callable[[object, Case, Any, RunOptions], Coroutine[Any, Any, CaseOutcome]]


def default_jobs() -> int:
    """Cases in flight at once: 32. Loopback servers answer in microseconds and most cases
    wait, not compute, so the limit is what a modest server accepts without dropping
    connections, not our CPU; a case that a busy single worker could not answer in time is
    run again alone (see :func:`run_suite`)."""
    return 32


#: Cases tagged ``heavy`` (messages of many MiB) in flight at once per target, besides the
#: ``jobs`` others: what bounds the harness's memory, not its speed.
HEAVY_JOBS = 1


class RunControl:
    """Lets the caller stop a run early (Ctrl-C): after :meth:`interrupt` no case starts, the
    cases in flight are cancelled, and :func:`run_suite` returns the cases that had finished,
    its results marked interrupted."""

    def __init__(self) -> None:
        self.interrupted = ""  # the reason (the signal's name) once interrupted
        self._in_flight: set[defer.Deferred[CaseOutcome]] = set()
        self._cancelled: set[defer.Deferred[CaseOutcome]] = set()

    def interrupt(self, reason: str) -> None:
        if self.interrupted:
            return
        self.interrupted = reason
        for running in list(self._in_flight):
            if not running.called:
                self._cancelled.add(running)
                running.cancel()

    async def run(
        self, reactor: object, case: Case, target: Target, options: RunOptions, run_one: CaseRunner = run_case
    ) -> CaseOutcome | None:
        """``run_one`` (``run_case``: the target is a server), or None when the run was
        interrupted before the case started or while it ran (its result would say so, not
        what the target did)."""
        if self.interrupted:
            return None
        running = defer.Deferred.fromCoroutine(run_one(reactor, case, target, options))
        self._in_flight.add(running)
        try:
            outcome = await running
        except defer.CancelledError:
            return None
        finally:
            self._in_flight.discard(running)
        return None if running in self._cancelled else outcome


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
    heavy_jobs: int | None = None,
    on_case_done: ProgressCallback | None = None,
    control: RunControl | None = None,
    on_case_start: StartCallback | None = None,
    run_one: CaseRunner = run_case,
    down: Mapping[str, str] | None = None,
) -> RunResults:
    """Run every case against every target, ``jobs`` at a time, and of the cases tagged
    ``heavy`` ``heavy_jobs`` per target (default :data:`HEAVY_JOBS`) besides.

    A server with a single worker (gunicorn's sync worker, a blocking test server) serves
    one connection at a time: while one case holds it, the others queue and can run out of
    time through no fault of the server. So a case that ran out of time on a connection the
    target answered late (after half the deadline) or never is run again, alone, once its
    target's other cases are done, if the target answered anything in the first pass (a
    target that never answers gets no second pass: the run stays about cases / jobs x
    timeout). The second verdict is the one reported.

    ``run_one`` runs one case (the client role passes its own: the targets are then clients).
    ``control`` (a :class:`RunControl`) can interrupt the run: the results then hold only the
    cases that finished, and say so. ``down``: the targets known to be out of reach before
    the run (target name -> why: a ``--server`` command that did not start), whose cases are
    ERRORs with that reason, as for an unreachable target, without a connection tried.
    """
    control = control or RunControl()
    keep_no_log_history()  # else Twisted's log history keeps every connection alive
    started_at = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    wall_start = time.monotonic()
    semaphore = defer.DeferredSemaphore(jobs or default_jobs())
    cases = [apply_profile(case, options.profile) for case in cases]
    heavy = {target.name: defer.DeferredSemaphore(heavy_jobs or HEAVY_JOBS) for target in targets}
    work = plan(cases, targets)

    def report(target: Target, outcome: CaseOutcome) -> CaseOutcome:
        if on_case_done is not None:
            on_case_done(target.name, outcome.result)
        return outcome

    async def one(target: Target, case: Case) -> CaseOutcome | None:
        # A heavy case waits for its own slot only (HEAVY_JOBS per target), not in the queue of
        # all the others: the heavy cases of a target run one after another, and queued behind
        # every case launched before them (a run launches target after target) that chain
        # started late and was the run's tail, one case at a time on an idle machine.
        is_heavy = "heavy" in case.tags
        slot = heavy[target.name] if is_heavy else semaphore
        await slot.acquire()
        if on_case_start is not None and not control.interrupted:
            on_case_start(target.name, case.id)
        try:
            outcome = await control.run(reactor, case, target, options, run_one)
        finally:
            # Released on the reactor's next turn, not here: a release hands the slot to the
            # next waiting case at once, inside this call, and a case that ends without
            # waiting (SKIPPED, interrupted) releases in turn, nesting deeper with each; a
            # few hundred such cases in a row hit the recursion limit inside Twisted, which
            # then loses a slot for good, and the run never ends.
            reactor.callLater(0, slot.release)  # type: ignore[attr-defined]
        return outcome if outcome is None or outcome.waited_out else report(target, outcome)

    async def diagnosed(target: Target, case: Case, diagnosis: Diagnosis) -> CaseOutcome:
        """The outcome of a case of a suite the pre-flight probe found the target cannot run:
        SKIPPED as it would be anyway, else an ERROR with the diagnosis."""
        reason = skip_reason(case, target, options)
        if reason:
            result = skipped(case, reason)
        else:
            result = judge(
                case, grades=(), failure=None, error=diagnosis.reason, transcript=diagnosis.transcript
            )
        return report(
            target,
            CaseOutcome(result=result, connected=diagnosis.connected, answered=False, waited_out=False),
        )

    async def all_of(target: Target, target_cases: list[Case]) -> list[CaseOutcome | None]:
        diagnoses: dict[str, Diagnosis | None] = {}
        if down and target.name in down:
            unstarted = Diagnosis(reason=down[target.name], connected=False)
            diagnoses = {case.protocol: unstarted for case in target_cases}
        elif options.preflight:
            for suite in dict.fromkeys(case.protocol for case in target_cases):
                diagnoses[suite] = await probe(
                    reactor, target, suite, options.tls, options.timeout, options.connect_timeout
                )

        def start(case: Case) -> defer.Deferred[CaseOutcome | None]:
            diagnosis = diagnoses.get(case.protocol)
            if diagnosis is not None:
                return defer.Deferred.fromCoroutine(diagnosed(target, case, diagnosis))
            return defer.Deferred.fromCoroutine(one(target, case))

        outcomes: list[CaseOutcome | None] = await defer.gatherResults(
            [start(case) for case in target_cases], consumeErrors=True
        )
        alive = any(outcome.answered for outcome in outcomes if outcome is not None)
        deadline = reactor.seconds() + options.retry_budget  # type: ignore[attr-defined]
        for index, (case, outcome) in enumerate(zip(target_cases, outcomes, strict=True)):
            if outcome is None or not outcome.waited_out:
                continue
            if alive and reactor.seconds() < deadline:  # type: ignore[attr-defined]
                if on_case_start is not None and not control.interrupted:
                    on_case_start(target.name, case.id)
                retried = await control.run(reactor, case, target, options, run_one)
                if retried is not None:  # else interrupted: the first verdict stands
                    outcome = outcomes[index] = CaseOutcome(
                        result=retried.result,
                        connected=outcome.connected or retried.connected,
                        answered=retried.answered,
                        waited_out=retried.waited_out,
                    )
            report(target, outcome)
        return outcomes

    gathered = await defer.gatherResults(
        [defer.Deferred.fromCoroutine(all_of(target, target_cases)) for target, target_cases in work],
        consumeErrors=True,
    )
    target_results = []
    for (target, _), all_outcomes in zip(work, gathered, strict=True):
        outcomes = [outcome for outcome in all_outcomes if outcome is not None]
        reachable = any(outcome.connected for outcome in outcomes) or all(
            outcome.result.verdict is Verdict.SKIPPED for outcome in outcomes
        )
        target_results.append(
            TargetResults(
                name=target.name,
                url=target.url,
                cases=tuple(outcome.result for outcome in outcomes),
                reachable=reachable,
                resources=options.resolve(target).resources,
            )
        )
    return RunResults(
        tool_version=__version__,
        started_at=started_at,
        duration_s=time.monotonic() - wall_start,
        targets=tuple(target_results),
        profile=options.profile,
        echo_path=options.echo_path,
        interrupted=control.interrupted,
    )
