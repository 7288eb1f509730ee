"""What a case run is, as the parts of the driver below the interpreter see it.

The protocol drivers (``h2``, ``ws``, ``ws_h2``) and the openings registry (``openers``) need
the run's options, its deadline and recorder, and a way to say "the harness could not run
this" — but not the interpreter, which imports them. They import this module instead, so
imports in the driver run one way: interpreter -> protocols -> openers -> context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from conformance.driver.endpoints import ListenerTLS, TLSSettings

if TYPE_CHECKING:
    from conformance.driver.recording import Recorder
    from conformance.target import Target


class CaseError(Exception):
    """The harness could not run the case (becomes an ERROR verdict)."""


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    timeout: float = 2.0  # seconds an expect step waits for its outcome
    connect_timeout: float = 5.0
    case_timeout: float = 30.0  # the whole case's budget; past it, ERROR
    byte_cap: int = 64 * 1024 * 1024  # bytes received per case before the harness stops reading
    # Cases that ended waiting for a target that did answer other cases are run again, one
    # at a time, for at most this many seconds per target (see runner.run_suite).
    retry_budget: float = 30.0
    tls: TLSSettings = field(default_factory=TLSSettings)
    profile: str = "default"  # verdicts.profiles.PROFILES
    # The echo endpoint of every target that names none of its own (Target.resources): cases
    # that require "echo" run against it.
    echo_path: str | None = None
    # Whose wire transcripts the results keep: "all", or "failures" (every case that did not
    # PASS): a PASS case's transcript is most of a report's size and of a run's memory.
    transcripts: str = "all"
    # Probe each target once per suite before its cases (conformance.driver.preflight): a
    # target that does not speak what its URL says gets one diagnosis, not a FAIL per case.
    preflight: bool = False
    # Client mode with --tls: the listening side's CA and certificate (None: plain TCP).
    serve_tls: ListenerTLS | None = None

    def resolve(self, target: Target) -> Target:
        """``target`` with the run-wide resource paths (``echo_path``) it does not name itself."""
        if self.echo_path is None or target.resource("echo") is not None:
            return target
        return target.with_resources({"echo": self.echo_path}, override=False)


class RunContext(Protocol):
    """A case being run, as an opening sees it (the interpreter's ``CaseRun`` is one)."""

    reactor: object
    target: Target
    options: RunOptions
    recorder: Recorder

    @property
    def step_timeout(self) -> float: ...


def tls_error_reason(exc: BaseException) -> str:
    """The OpenSSL reasons of a failed handshake, e.g. 'certificate verify failed'."""
    value = getattr(exc, "value", exc)
    args = getattr(value, "args", ())
    reasons = [
        str(entry[2])
        for arg in args
        if isinstance(arg, list)
        for entry in arg
        if isinstance(entry, tuple) and len(entry) == 3 and entry[2]
    ]
    return "; ".join(reasons) or connect_error_reason(value)


def connect_error_reason(exc: BaseException) -> str:
    """'Connection refused', 'timed out', ... from Twisted's connect errors."""
    import errno
    import os

    code = getattr(exc, "osError", None)
    if isinstance(code, int) and code in errno.errorcode:
        return os.strerror(code)
    message = str(exc).strip() or type(exc).__name__
    return message.rstrip(".")
