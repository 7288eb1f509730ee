"""What a client under test did, and the patterns that judge it (client mode).

In client mode the harness is the server: the client's requests arrive as
:class:`~conformance.codecs.http1_requests.Request` events on the accepted connection, and the
end of the client's process is one more event, :class:`ClientExited`, so that ``one_of``,
``strict: false`` and every other part of the expectation language work on it unchanged. The
client contract (README, "Client mode") gives the exit status its meaning: 0 when the client
accepted the response, non-zero when it rejected it; standard output is the body it read.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any, ClassVar

from conformance.codecs.common import Event, printable
from conformance.codecs.h2frames import GoAwayFrame, RstStreamFrame
from conformance.codecs.http1_requests import Request
from conformance.verdicts.expectations import (
    Cursor,
    EventPattern,
    Grade,
    Matched,
    Mismatch,
    Observation,
    Outcome,
    Pending,
)
from conformance.verdicts.http1 import BodySpec, HeaderSpec

#: Bytes of the client's standard output kept (the body it printed), and of its standard error.
STDOUT_CAP = 64 * 1024
STDERR_TAIL = 2048


def _sent_error(events: list[Event]) -> bool:
    """Whether the client sent an HTTP/2 RST_STREAM or GOAWAY with an error code."""
    return any(isinstance(e, RstStreamFrame | GoAwayFrame) and e.error_code != 0 for e in events)


@dataclass(frozen=True, kw_only=True)
class ClientExited:
    """The client's process ended: by itself (``status``, or the ``signal`` that ended it) or
    killed by the harness past its deadline (``killed``)."""

    #: Observed beside the wire: patterns about the connection pass over it (Closed).
    beside_the_wire: ClassVar[bool] = True

    status: int | None  # the exit status; None when a signal ended the process
    signal: int | None = None
    killed: bool = False  # the harness ended it: it outlived its deadline
    after: float = 0.0  # seconds from its start
    stdout: bytes = b""  # at most STDOUT_CAP bytes
    stdout_length: int = 0
    stderr: bytes = b""  # the last STDERR_TAIL bytes

    @property
    def accepted(self) -> bool:
        return self.status == 0 and not self.killed

    @property
    def rejected(self) -> bool:
        """A non-zero status, or a signal the client died of by itself (a crash rejects
        nothing cleanly, but it did not accept the response either)."""
        return not self.killed and self.status != 0

    def describe(self) -> str:
        if self.killed:
            return f"the client was still running after {self.after:.1f} s (the harness ended it)"
        if self.status is None:
            name = _signal_name(self.signal)
            how = f"the client died of signal {name}"
        else:
            how = f"the client exited with status {self.status}"
        out = (
            f'stdout "{printable(self.stdout, 40)}" ({self.stdout_length} bytes)'
            if self.stdout_length
            else ""
        )
        err = f'stderr "…{printable(self.stderr[-120:], 60)}"' if self.stderr and self.status != 0 else ""
        notes = ", ".join(part for part in (out, err) if part)
        return f"{how}" + (f" ({notes})" if notes else "")

    def detail(self) -> dict[str, Any]:
        return {
            "type": "client-exit",
            "status": self.status,
            "signal": self.signal,
            "killed": self.killed,
            "after_s": round(self.after, 3),
            "stdout": self.stdout[:1024].decode("latin-1"),
            "stdout_length": self.stdout_length,
            "stderr": self.stderr.decode("latin-1"),
        }


def _signal_name(number: int | None) -> str:
    if number is None:
        return "?"
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


@dataclass(frozen=True, kw_only=True)
class ExitPattern(EventPattern):
    """How the client's process ends: it accepted the response (status 0, optionally with
    ``body`` on standard output) or rejected it (a non-zero status)."""

    accepted: bool
    body: BodySpec | None = None

    def describe(self) -> str:
        if not self.accepted:
            return "the client rejects the response (a non-zero exit status)"
        text = "the client accepts the response (exit status 0)"
        if self.body is not None:
            text += f" and reads {self.body.describe()}"
        return text

    def _evaluate(self, obs: Observation, cursor: Cursor) -> Outcome:
        # The client ends once, wherever its exit falls among the connection's events (an
        # earlier step may have passed over it, waiting for the close): look at all of them.
        for index, event in enumerate(obs.events):
            if isinstance(event, ClientExited):
                problem = self.check(event)
                end = max(cursor.index, index + 1)
                if problem is not None and not self.accepted and event.accepted and _sent_error(obs.events):
                    # It found the error and said so on the wire (RST_STREAM or GOAWAY with an
                    # error code), then reported the response as accepted: no RFC sentence binds
                    # what a client reports, but its user takes a response it reset for a good
                    # one. Acceptable, not preferred.
                    return Matched(end=end, grade=Grade.NON_STRICT)
                return Matched(end=end) if problem is None else Mismatch(observed=problem, end=end, at=index)
        if obs.timed_out:
            return Mismatch(observed=f"the client still running after {obs.elapsed:.1f} s", end=cursor.index)
        return Pending()

    def check(self, event: Event) -> str | None:
        if not isinstance(event, ClientExited):
            return event.describe()
        if self.accepted and not event.accepted:
            return event.describe()
        if not self.accepted and not event.rejected:
            return event.describe()
        if self.accepted and self.body is not None:
            problem = self.body.check_bytes(event.stdout if event.stdout_length <= STDOUT_CAP else b"")
            if problem is not None:
                return f"{event.describe()} — {problem} on stdout"
        return None


@dataclass(frozen=True, kw_only=True)
class RequestPattern(EventPattern):
    """The client's next request matches: its method, request-target, version, fields, and
    whether its framing and syntax are correct (``violations: none``)."""

    method: str | None = None
    target: str | None = None
    version: str | None = None
    headers: tuple[HeaderSpec, ...] = ()
    body: BodySpec | None = None  # the content, with any transfer coding removed
    forbid_violations: bool = False
    require_violations: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = []
        if self.method is not None:
            parts.append(f"method {self.method}")
        if self.target is not None:
            parts.append(f"request-target {self.target!r}")
        if self.version is not None:
            parts.append(f"version {self.version}")
        parts.extend(spec.describe() for spec in self.headers)
        if self.body is not None:
            parts.append(self.body.describe())
        if self.forbid_violations:
            parts.append("correct RFC 9112 syntax")
        if self.require_violations:
            parts.append("violations " + ", ".join(self.require_violations))
        return "a request" + (" with " + ", ".join(parts) if parts else "")

    def check(self, event: Event) -> str | None:
        if not isinstance(event, Request):
            return event.describe()
        problems = []
        if self.method is not None and event.method != self.method:
            problems.append(f"method {event.method}")
        if self.target is not None and event.target != self.target:
            problems.append(f"request-target {event.target!r}")
        if self.version is not None and event.version != self.version:
            problems.append(f"version {event.version}")
        for spec in self.headers:
            problem = spec.check(event)  # type: ignore[arg-type]  # duck-typed: .header()
            if problem:
                problems.append(problem)
        if self.body is not None:
            problem = self.body.check_bytes(event.body)
            if problem:
                problems.append(problem)
        codes = {violation.code for violation in event.violations}
        if self.forbid_violations and codes:
            problems.append("violations: " + ", ".join(sorted(codes)))
        missing = [code for code in self.require_violations if code not in codes]
        if missing:
            problems.append("no " + ", ".join(missing))
        return f"{event.describe()} — " + "; ".join(problems) if problems else None
