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

if TYPE_CHECKING:
    from conformance.driver.connection import WireProtocol
    from conformance.driver.interpreter import CaseRun
    from conformance.scenario import model
    from conformance.target import Target


class OpeningFailed(Exception):
    """The target did not complete the protocol opening as the RFC requires."""

    def __init__(self, *, expected: str, observed: str, unimplemented: bool = False) -> None:
        super().__init__(observed)
        self.expected = expected
        self.observed = observed
        self.unimplemented = unimplemented  # an optional feature the target does not offer


@dataclass(frozen=True)
class OpeningContext:
    run: CaseRun  # the case being run: target, options, recorder, reactor, step deadline
    connection: WireProtocol  # the connection just opened (TLS handshake done)
    step: model.Connect


@dataclass(frozen=True)
class Opener:
    # Returns how many of the connection's events the opening consumed (the steps see the
    # rest), or None for all of them.
    open: Callable[[OpeningContext], Awaitable[int | None]]
    alpn: tuple[str, ...] = ()  # ALPN offered over TLS unless the step names its own
    # Why the mode cannot apply to a target at all (None: it can), asked before connecting:
    # the case then ends UNIMPLEMENTED with that reason, without a connection.
    applies: Callable[[Target], str | None] | None = None

    def not_applicable(self, target: Target) -> str | None:
        return self.applies(target) if self.applies is not None else None


__all__ = ["OPENERS", "NotApplicable", "Opener", "OpeningContext", "OpeningFailed", "register_opener"]

#: connect mode -> its opening. Modes without an entry open only the transport.
OPENERS: dict[str, Opener] = {}


def register_opener(mode: str, opener: Opener) -> None:
    if mode in OPENERS:
        raise RuntimeError(f"opener for {mode!r} registered twice")
    OPENERS[mode] = opener
