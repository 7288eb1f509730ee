"""Twisted's log history: what keeps every connection of a run alive unless logging begins.

Until a program calls ``globalLogBeginner.beginLoggingTo``, Twisted keeps the last 65 536
log events in memory, to replay them to the first observer. Every connection the harness
makes logs "Starting factory" and "Stopping factory" events that reference the factory, and
through it the protocol, its transport (with any bytes still buffered: megabytes for a case
that sends a 16 MiB message the target stopped reading), the session and the recorder. A run
of a few hundred cases therefore held every connection it ever made until the process
exited. The harness never shows Twisted's log, so it begins logging to an observer that
keeps nothing.
"""

from __future__ import annotations

from typing import Any

from twisted.logger import globalLogBeginner


def _discard(event: dict[str, Any]) -> None:
    """Twisted's events are not the harness's output: results say what happened."""


def keep_no_log_history() -> None:
    """Begin Twisted logging to an observer that keeps nothing, and drop what was buffered,
    unless the program has begun logging already (then its observers are its choice)."""
    if getattr(globalLogBeginner, "_temporaryObserver", None) is None:
        return  # logging has begun: nothing is being buffered
    globalLogBeginner.beginLoggingTo([_discard], discardBuffer=True, redirectStandardIO=False)
