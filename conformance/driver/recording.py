"""The wire transcript of one case, with caps so that it never grows without bound."""

from __future__ import annotations

from typing import Any

from conformance.results import Direction, TranscriptEntry

#: Bytes of wire data kept per case in the transcript; past it, only sizes are kept.
TRANSCRIPT_BYTE_CAP = 256 * 1024
#: Entries kept per case.
TRANSCRIPT_ENTRY_CAP = 2000


class Recorder:
    def __init__(
        self, clock: Any, *, byte_cap: int = TRANSCRIPT_BYTE_CAP, entry_cap: int = TRANSCRIPT_ENTRY_CAP
    ) -> None:
        self._clock = clock
        self._start = clock.seconds()
        self._byte_cap = byte_cap
        self._entry_cap = entry_cap
        self._kept = 0
        self.entries: list[TranscriptEntry] = []
        self.truncated = False
        self.connection = 0

    @property
    def accepting(self) -> bool:
        """False once the entry cap is reached: further entries would be dropped."""
        return len(self.entries) < self._entry_cap

    def elapsed(self) -> float:
        return self._clock.seconds() - self._start

    def _add(self, entry: TranscriptEntry) -> None:
        if len(self.entries) >= self._entry_cap:
            self.truncated = True
            return
        # Merge consecutive chunks in the same direction that arrive together, to keep the
        # transcript readable when a server trickles bytes.
        self.entries.append(entry)

    def data(self, direction: Direction, data: bytes) -> None:
        room = max(0, self._byte_cap - self._kept)
        kept = data[:room]
        if len(kept) < len(data):
            self.truncated = True
        self._kept += len(kept)
        self._add(
            TranscriptEntry(
                t=self.elapsed(), direction=direction, data=kept, size=len(data), connection=self.connection
            )
        )

    def event(self, text: str, detail: dict[str, Any] | None = None) -> None:
        self._add(
            TranscriptEntry(
                t=self.elapsed(),
                direction=Direction.EVENT,
                text=text,
                detail=detail or {},
                connection=self.connection,
            )
        )
