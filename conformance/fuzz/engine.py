"""The fuzzing loop: Hypothesis generates, the oracles judge, Hypothesis shrinks.

One *round* is one Hypothesis run of a test function over :func:`strategies.fuzz_inputs`,
seeded from ``--seed`` and the round's number, with no example database (nothing carries
over between runs: the same seed and targets give the same inputs). While no finding is
wanted, the function sends each input and looks for a signature not reported yet; the first
one becomes the round's *wanted* signature and the function raises :class:`_Found`. From then
on (Hypothesis is shrinking) it raises only when an input shows that same signature, so the
shrinker can only move to smaller inputs with the same bug. Hypothesis replays the minimal
input once at the end; if that replay does not show the signature it reports the failure as
flaky, and so do we. Then the next round starts, until the budget is spent.

The budget ends generation, not a shrink under way: a shrink has its own cap (steps and
seconds), so the run ends at most that much later.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn
from urllib.parse import urlsplit

from conformance.fuzz import oracles, wire
from conformance.fuzz.model import FuzzInput
from conformance.fuzz.oracles import Reading, ReferenceReading, Signature
from conformance.servers import ManagedServer


class FuzzError(Exception):
    """The fuzzer cannot go on (a target that will not start, a bound that is not valid)."""


class _StopFuzzing(BaseException):  # noqa: N818 - a signal, not an error
    """The budget is spent. A BaseException, so that Hypothesis lets it through at once
    instead of shrinking it as a failure of the test."""


class _Found(Exception):  # noqa: N818 - a signal, not an error
    """The input shows the wanted signature."""


def _found() -> NoReturn:
    # One place raises it: Hypothesis tells failures apart by where they were raised, and
    # the first sighting and the shrinking must be one failure to it.
    raise _Found()


@dataclass
class FuzzTarget:
    name: str
    url: str
    server: ManagedServer | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def authority(self) -> str:
        return urlsplit(self.url).netloc


@dataclass(frozen=True, kw_only=True)
class Bounds:
    budget: float = 60.0  # seconds of generation
    rate: float | None = None  # inputs per second at most
    max_bytes: int = 4096  # per input
    max_total_bytes: int = 256 << 20  # sent and received, all targets
    max_connections: int = 1_000_000
    max_shrinks: int = 300  # inputs tried while shrinking one finding
    shrink_seconds: float = 30.0  # and seconds
    max_findings: int = 0  # stop after this many (0: no limit)
    deadline: float = 2.0  # seconds an input waits for an answer (the hang oracle)
    idle: float = 0.02  # seconds of quiet after an answer before the next input
    incomplete: float = 0.25  # seconds to wait for an answer to bytes that stop inside a request


@dataclass
class Observation:
    """What every target did with one input."""

    writes: dict[str, list[bytes]]
    exchanges: dict[str, wire.Exchange]
    crashed: dict[str, str]  # target -> what the liveness probe saw
    reference: ReferenceReading
    readings: dict[str, Reading]
    signatures: list[Signature]
    details: dict[str, object] = field(default_factory=dict)  # a suite's own (ws: demand, echoes)


@dataclass
class Finding:
    number: int
    signature: Signature
    input: FuzzInput
    observation: Observation
    found_after: int  # inputs generated before it
    round_seed: int
    shrink_steps: int
    flaky: bool = False
    path: str = ""  # the case file, once written


@dataclass
class FuzzStats:
    inputs: int = 0
    shrink_inputs: int = 0
    kinds: set[str] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)
    restarts: int = 0
    stopped_because: str = ""

    def rate(self) -> float:
        return self.inputs / max(1e-6, time.monotonic() - self.started)


class Fuzzer:
    def __init__(
        self,
        targets: list[FuzzTarget],
        *,
        seed: int = 0,
        bounds: Bounds = Bounds(),
        echo_path: str | None = None,
        strategy: object | None = None,
        progress: Callable[[Fuzzer, str], None] | None = None,
        suite: str = "h1",
    ) -> None:
        if not targets:
            raise FuzzError("no target")
        if suite not in ("h1", "h2", "ws"):
            raise FuzzError(f"suite {suite!r}: h1, h2 and ws can be fuzzed")
        self.suite = suite
        self.targets = targets
        self.seed = seed
        self.bounds = bounds
        self.echo_path = echo_path
        self.differential = suite == "h1" and echo_path is not None and len(targets) >= 2
        self.counters = wire.Counters()
        self.stats = FuzzStats()
        self.findings: list[Finding] = []
        self.reported: set[Signature] = set()
        self._progress = progress or (lambda fuzzer, phase: None)
        self._strategy = strategy
        self._deadline = 0.0
        self._last_input = 0.0

    # -- one input

    def fill(self, target: FuzzTarget) -> dict[str, bytes]:
        return {
            "authority": target.authority.encode("latin-1"),
            "path": target.path.encode("latin-1"),
            "echo_path": (self.echo_path or target.path).encode("latin-1"),
        }

    def evaluate(self, item: FuzzInput) -> Observation | None:
        """Send ``item`` to every target, probe each one's liveness, apply the oracles."""
        if self.suite == "h2":
            return self._evaluate_h2(item)
        if self.suite == "ws":
            return self._evaluate_ws(item)
        writes = {t.name: item.render(self.fill(t)) for t in self.targets}
        if any(sum(map(len, pieces)) > self.bounds.max_bytes for pieces in writes.values()):
            return None
        self._pace()
        first = self.targets[0]
        reference = oracles.reference_reading(b"".join(writes[first.name]))
        # Bytes that stop inside a request leave a server waiting, as the RFC lets it: no
        # hang to judge there, so no need to wait the whole deadline for one.
        deadline = (
            self.bounds.deadline if reference.complete else min(self.bounds.deadline, self.bounds.incomplete)
        )
        exchanges: dict[str, wire.Exchange] = {}
        crashed: dict[str, str] = {}
        for target in self.targets:
            exchanges[target.name] = wire.exchange(
                target.host,
                target.port,
                writes[target.name],
                method=item.method,
                deadline=deadline,
                idle=self.bounds.idle,
                counters=self.counters,
            )
            why = self._liveness(target)
            if why:
                crashed[target.name] = why
        signatures: list[Signature] = []
        readings: dict[str, Reading] = {}
        for target in self.targets:
            result = exchanges[target.name]
            if target.name in crashed:
                signatures.append(("crash", target.name))
                continue
            if not result.connected:
                continue
            if oracles.is_hang(result, reference, b"".join(writes[target.name])):
                signatures.append(("hang", target.name))
            codes = oracles.invalid_codes(result)
            if codes:
                signatures.append(("invalid", target.name, codes))
            readings[target.name] = oracles.echo_reading(result)
        if self.differential and len(readings) >= 2:
            decided = oracles.decided(reference, b"".join(writes[first.name]), readings)
            signature = oracles.differential(readings, decided)
            if signature is not None:
                signatures.append(signature)
        self._check_totals()
        return Observation(
            writes=writes,
            exchanges=exchanges,
            crashed=crashed,
            reference=reference,
            readings=readings,
            signatures=signatures,
        )

    def _evaluate_h2(self, item: object) -> Observation | None:
        """HTTP/2: the input, its oracles (:mod:`.h2`), then the liveness probe."""
        from conformance.fuzz import h2

        assert isinstance(item, h2.H2Input)
        writes = item.render()
        if sum(map(len, writes)) > self.bounds.max_bytes:
            return None
        self._pace()
        wanted = h2.due(item.body())
        sent = b"".join(writes)
        exchanges: dict[str, wire.Exchange] = {}
        crashed: dict[str, str] = {}
        signatures: list[Signature] = []
        for target in self.targets:
            # Something due: the whole deadline, which the acknowledgement or a close cuts
            # short. Nothing due: a short look at what the server sends.
            result = h2.exchange(
                target.host,
                target.port,
                writes,
                deadline=self.bounds.deadline if wanted.kind else self.bounds.incomplete,
                counters=self.counters,
                idle=self.bounds.idle,
            )
            exchanges[target.name] = result
            found = h2.signatures(target.name, result, wanted, sent, drawn=(*item.seed, *item.frames))
            why = self._liveness(target)
            if why:
                crashed[target.name] = why
                signatures.append(("crash", target.name))
                continue
            signatures += found
        self._check_totals()
        return Observation(
            writes={t.name: writes for t in self.targets},
            exchanges=exchanges,
            crashed=crashed,
            reference=ReferenceReading(False, None),
            readings={},
            signatures=signatures,
            details={"due": wanted},
        )

    def _evaluate_ws(self, item: object) -> Observation | None:
        """WebSocket: open, send the frames, read (the oracles in :mod:`.ws`); then the liveness probe."""
        from conformance.fuzz import ws

        assert isinstance(item, ws.WsInput)
        writes = item.writes()
        if sum(map(len, writes)) > self.bounds.max_bytes:
            return None
        self._pace()
        wanted = ws.demand(item.body())
        exchanges: dict[str, ws.WsExchange] = {}
        crashed: dict[str, str] = {}
        signatures: list[Signature] = []
        echoes: dict[str, tuple[tuple[str, ...], ...]] = {}
        for target in self.targets:
            # Nothing asked of the server: a short look for what it sends unasked. Else the whole
            # deadline, which a server cuts short by closing or by sending every frame due (an
            # echo endpoint's answers: all of them, or a differential would compare a part).
            result = ws.exchange(
                target.host,
                target.port,
                ws.handshake_request(target.authority, target.path),
                writes,
                wait=self.bounds.deadline if wanted.kind else self.bounds.idle * 2,
                counters=self.counters,
                frames_due=None if wanted.kind == "fail" else ws.answers(item.body()),
                idle=self.bounds.idle,
            )
            found = ws.signatures(target.name, result, wanted)
            exchanges[target.name] = result
            why = self._liveness(target)
            if why:
                crashed[target.name] = why
                signatures.append(("crash", target.name))
                continue
            signatures += found
            if result.upgraded:
                echoes[target.name] = ws.echoed(result)
        if len(echoes) >= 2:
            signature = ws.differential(echoes)
            if signature is not None:
                signatures.append(signature)
        self._check_totals()
        return Observation(
            writes={t.name: writes for t in self.targets},
            exchanges=exchanges,  # type: ignore[arg-type]
            crashed=crashed,
            reference=ReferenceReading(False, None),
            readings={},
            signatures=signatures,
            details={"demand": wanted, "echoes": echoes},
        )

    def _probe(self, target: FuzzTarget, deadline: float) -> tuple[bool, wire.Exchange]:
        if self.suite == "ws":
            from conformance.fuzz import ws

            probe = ws.alive(
                target.host,
                target.port,
                target.authority,
                target.path,
                deadline=deadline,
                counters=self.counters,
            )
            return ws.is_alive(probe), probe  # type: ignore[return-value]
        if self.suite == "h2":
            from conformance.fuzz import h2

            result = h2.alive(target.host, target.port, deadline=deadline, counters=self.counters)
            return h2.is_alive(result), result
        result = wire.alive(target.host, target.port, target.path, deadline=deadline, counters=self.counters)
        return wire.is_alive(result), result

    def _pace(self) -> None:
        if self.bounds.rate:
            wait = self._last_input + 1.0 / self.bounds.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        self._last_input = time.monotonic()

    def _liveness(self, target: FuzzTarget) -> str:
        """Empty when the target still answers; else what it did, and it is started again
        (a --server) or waited for (a URL: a supervisor may bring it back)."""
        server = target.server
        if server is not None and not server.running:
            why = f"the process exited with status {server.exit_status}"
        else:
            ok, probe = self._probe(target, self.bounds.deadline)
            if ok:
                return ""
            probe_name = "a handshake and an echo" if self.suite == "ws" else "a GET"
            why = f"{probe_name} after the input got {probe.describe()}"
        self.stats.restarts += 1
        if server is not None:
            server.restart()
            return why
        until = time.monotonic() + 10.0
        while time.monotonic() < until:
            time.sleep(0.5)
            if self._probe(target, 1.0)[0]:
                return why
        self.stats.stopped_because = f"target {target.name} stopped answering and did not come back"
        raise _StopFuzzing()

    def _check_totals(self) -> None:
        counters = self.counters
        if counters.bytes_sent + counters.bytes_received > self.bounds.max_total_bytes:
            self.stats.stopped_because = f"the total bytes cap ({self.bounds.max_total_bytes}) was reached"
            raise _StopFuzzing()
        if counters.connections > self.bounds.max_connections:
            self.stats.stopped_because = f"the connections cap ({self.bounds.max_connections}) was reached"
            raise _StopFuzzing()

    def kind_names(self) -> tuple[str, ...]:
        """The mutation kinds of this suite's inputs (for the progress line)."""
        if self.suite == "h2":
            from conformance.fuzz import h2

            return h2.KIND_NAMES
        if self.suite == "ws":
            from conformance.fuzz import ws

            return ws.KIND_NAMES
        from conformance.fuzz.model import KIND_NAMES

        return KIND_NAMES

    # -- the loop

    def strategy(self) -> object:
        if self._strategy is None and self.suite == "h2":
            from conformance.fuzz import h2

            self._strategy = h2.h2_inputs(seeds=h2.suite_seeds())
        if self._strategy is None and self.suite == "ws":
            from conformance.fuzz import ws

            self._strategy = ws.ws_inputs()
        if self._strategy is None:
            from conformance.fuzz import strategies

            target = "echo_path" if self.echo_path else "path"
            self._strategy = strategies.fuzz_inputs(target, strategies.suite_vocabulary())
        return self._strategy

    def run(self) -> list[Finding]:
        self.stats = FuzzStats()
        self._deadline = time.monotonic() + self.bounds.budget
        for target in self.targets:
            if target.server is not None and not target.server.running:
                target.server.start()
        number = 0
        try:
            while time.monotonic() < self._deadline:
                self._round(self.seed * 1_000_003 + number)
                number += 1
                if self.bounds.max_findings and len(self.findings) >= self.bounds.max_findings:
                    self.stats.stopped_because = f"--max-findings {self.bounds.max_findings} was reached"
                    break
        except _StopFuzzing:
            pass
        if not self.stats.stopped_because:
            self.stats.stopped_because = "the budget was spent"
        self._progress(self, "done")
        return self.findings

    def _round(self, round_seed: int) -> None:
        from hypothesis import HealthCheck, Phase, Verbosity, given, settings
        from hypothesis import seed as seeded
        from hypothesis.errors import Flaky

        state: dict[str, object] = {"wanted": None, "hit": None, "observation": None, "steps": 0}
        first_seen: dict[str, object] = {}

        def test(item: FuzzInput) -> None:
            wanted = state["wanted"]
            if wanted is None:
                if time.monotonic() >= self._deadline:
                    raise _StopFuzzing()
                observation = self.evaluate(item)
                if observation is None:
                    return
                self.stats.inputs += 1
                self.stats.kinds |= item.kinds()
                self._progress(self, "search")
                new = [s for s in observation.signatures if s not in self.reported]
                if new:
                    state.update(wanted=new[0], hit=item, observation=observation, until=self._shrink_until())
                    first_seen.update(inputs=self.stats.inputs)
                    _found()
                return
            steps = int(state["steps"])  # type: ignore[call-overload]
            if steps >= self.bounds.max_shrinks or time.monotonic() >= float(state["until"]):  # type: ignore[arg-type]
                if item == state["hit"]:
                    _found()  # Hypothesis' last replay of the smallest input: already shown
                return
            state["steps"] = steps + 1
            self.stats.shrink_inputs += 1
            observation = self.evaluate(item)
            self._progress(self, "shrink")
            if observation is not None and wanted in observation.signatures:
                state.update(hit=item, observation=observation)
                _found()

        run = settings(
            database=None,
            deadline=None,
            max_examples=1_000_000,
            phases=(Phase.generate, Phase.shrink),
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
            print_blob=False,
            verbosity=Verbosity.quiet,
        )(given(self.strategy())(test))  # type: ignore[call-overload]
        run = seeded(round_seed)(run)
        flaky = False
        try:
            run()
        except _Found:
            pass
        except Flaky as exc:
            import os

            if os.environ.get("FUZZ_DEBUG"):
                import traceback

                traceback.print_exception(exc)
            flaky = True
        if state["wanted"] is None:
            return
        signature = state["wanted"]
        assert isinstance(signature, tuple)
        self.reported.add(signature)
        finding = Finding(
            number=len(self.findings) + 1,
            signature=signature,
            input=state["hit"],  # type: ignore[arg-type]
            observation=state["observation"],  # type: ignore[arg-type]
            found_after=int(first_seen.get("inputs", 0)),  # type: ignore[call-overload]
            round_seed=round_seed,
            shrink_steps=int(state["steps"]),  # type: ignore[call-overload]
            flaky=flaky,
        )
        if not flaky and self.suite == "ws":
            self._simplify(finding)
        if not flaky:
            # Once more, outside Hypothesis: a finding must show again on its own.
            again = self.evaluate(finding.input)
            finding.flaky = again is None or signature not in again.signatures
        self.findings.append(finding)
        self._progress(self, "found")

    def _simplify(self, finding: Finding) -> None:
        """After Hypothesis' shrink, the suite's own simpler forms of the input (WebSocket: the
        frames that matter, without the seed's others; see :func:`.ws.simpler`), greedily,
        while the signature holds; bounded by ``max_shrinks`` and half of ``shrink_seconds``."""
        from conformance.fuzz import ws

        until = time.monotonic() + self.bounds.shrink_seconds / 2
        steps, improved = 0, True
        while improved:
            improved = False
            for candidate in ws.simpler(finding.input):  # type: ignore[arg-type]
                if steps >= self.bounds.max_shrinks or time.monotonic() >= until:
                    return
                steps += 1
                finding.shrink_steps += 1
                self.stats.shrink_inputs += 1
                observation = self.evaluate(candidate)  # type: ignore[arg-type]
                if observation is not None and finding.signature in observation.signatures:
                    finding.input, finding.observation = candidate, observation  # type: ignore[assignment]
                    improved = True
                    break

    def _shrink_until(self) -> float:
        """A shrink takes at most ``shrink_seconds``, and ends with the budget unless that
        leaves it less than five seconds."""
        now = time.monotonic()
        return now + min(self.bounds.shrink_seconds, max(self._deadline - now, 5.0))

    def stop(self) -> None:
        for target in self.targets:
            if target.server is not None:
                target.server.stop()
