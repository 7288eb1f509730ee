"""The wire transcript of one case, with caps so that it never grows without bound."""

from __future__ import annotations

from typing import Any

from conformance.results import Direction, TranscriptEntry, cap_detail

#: Bytes of wire data kept per case in the transcript; past it, only sizes are kept (and
#: events keep their text, not their decoded fields).
TRANSCRIPT_BYTE_CAP = 64 * 1024
#: Entries kept per case.
TRANSCRIPT_ENTRY_CAP = 1000
#: Characters kept of one string in an event's decoded fields (a message's text, a body):
#: longer ones are kept as their head, length and SHA-256, so that a 16 MiB WebSocket
#: message or HTTP/2 DATA payload does not land whole in results.json.
DETAIL_STRING_CAP = 16 * 1024


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
        if detail and self._kept >= self._byte_cap:
            # Past the byte cap the wire data is kept as sizes only, and the events as their
            # line of text: a case of a thousand messages keeps its first ones decoded in full.
            detail, self.truncated = None, True
        self._add(
            TranscriptEntry(
                t=self.elapsed(),
                direction=Direction.EVENT,
                text=text,
                detail=cap_detail(detail, DETAIL_STRING_CAP) if detail else {},
                connection=self.connection,
            )
        )
