"""Protocol openings run by ``connect`` steps after the transport is up.

``connect: tcp`` or ``tls`` opens a bare transport. A protocol mode (``h2``, ``websocket``,
...) registered in :data:`OPENERS` then runs its opening on the new connection: writes what
the protocol opens with, waits (with a deadline) for the target's part, and may replace the
connection's session (an upgrade). An opening the target gets wrong is a finding about the
target, raised as :class:`OpeningFailed` (a FAIL of the connect step, or UNIMPLEMENTED when
the target lacks an optional feature); an opening the harness cannot run raises
``CaseError`` (an ERROR).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conformance.errors import NotApplicable
from conformance.scenario import model

if TYPE_CHECKING:
    from conformance.driver.connection import WireProtocol
    from conformance.driver.context import RunContext
    from conformance.driver.sessions import Session
    from conformance.target import Target


class OpeningFailed(Exception):
    """The target did not complete the protocol opening as the RFC requires."""

    def __init__(
        self, *, expected: str, observed: str, unimplemented: bool = False, acceptable: bool = False
    ) -> None:
        super().__init__(observed)
        self.expected = expected
        self.observed = observed
        self.unimplemented = unimplemented  # an optional feature the target does not offer
        self.acceptable = acceptable  # allowed, not preferred: the case ends NON-STRICT


@dataclass(frozen=True)
class OpeningContext:
    run: RunContext  # the case being run: target, options, recorder, reactor, step deadline
    connection: WireProtocol  # the connection just opened (TLS handshake done)
    step: model.Connect


@dataclass(frozen=True)
class Opener:
    # Returns how many of the connection's events the opening consumed (the steps see the
    # rest), or None for all of them.
    open: Callable[[OpeningContext], Awaitable[int | None]]
    alpn: tuple[str, ...] = ()  # ALPN offered over TLS unless the step names its own
    # The session the connection starts with, when not the one of the case's protocol
    # (WebSocket over HTTP/2 reads HTTP/2 frames from the first byte).
    session: Callable[[], Session] | None = None
    # An opening that depends on the target: returns the one to run (the ``websocket`` mode
    # runs RFC 6455 against ws:// targets, RFC 8441 against h2c:// and https:// ones).
    choose: Callable[[Target], Opener] | None = None

    def for_target(self, target: Target) -> Opener:
        return self.choose(target) if self.choose is not None else self


__all__ = [
    "ACCEPTORS",
    "APPLICABILITY",
    "OPENERS",
    "NotApplicable",
    "Opener",
    "connect_steps",
    "OpeningContext",
    "OpeningFailed",
    "not_applicable",
    "register_opener",
]

#: connect mode -> its opening. Modes without an entry open only the transport.
OPENERS: dict[str, Opener] = {}


def register_opener(mode: str, opener: Opener) -> None:
    if mode in OPENERS:
        raise RuntimeError(f"opener for {mode!r} registered twice")
    OPENERS[mode] = opener


#: protocol -> the opening an ``accept`` step runs on a connection the harness accepted as the
#: server (client mode: the HTTP/2 prefaces); protocols without one start with the steps.
ACCEPTORS: dict[str, Opener] = {}


#: Rules saying why a case cannot run against a target at all (None: it can): the case is
#: then SKIPPED with that reason (an HTTP/1.1 opening-handshake case against a WebSocket
#: reached over HTTP/2, say).
APPLICABILITY: list[Callable[[model.Case, Target], str | None]] = []


def connect_steps(case: model.Case) -> list[model.Connect]:
    """The case's connect steps, with the implicit first one of its protocol's default mode."""
    steps = [s for s in case.steps if isinstance(s, model.Connect)]
    if not case.steps or not isinstance(case.steps[0], model.Connect):
        steps.insert(0, model.Connect(mode=model.DEFAULT_CONNECT[case.protocol]))
    return steps


def not_applicable(case: model.Case, target: Target) -> str | None:
    for rule in APPLICABILITY:
        reason = rule(case, target)
        if reason is not None:
            return reason
    return None
