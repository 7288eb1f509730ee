"""The typed case model: frozen, fully expanded, every part knowing where it came from.

After loading, nothing passes raw YAML around: the driver reads these objects only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.errors import SourceLocation
from conformance.scenario.payloads import Payload
from conformance.verdicts.expectations import Expectation
from conformance.verdicts.verdict import Requirement

PROTOCOLS = ("h1", "h2", "ws")
#: Which side the implementation under test plays: ``server`` (``conformance run``: the
#: harness connects to it) or ``client`` (``conformance client``: the harness listens, starts
#: the client and accepts its connection). A case file says ``role: client``; the default is
#: ``server``.
ROLES = ("server", "client")


@dataclass(frozen=True, kw_only=True)
class Step:
    location: SourceLocation | None = field(default=None, compare=False)

    def describe(self) -> str:
        raise NotImplementedError


#: The connect mode a case starts with when its first step is not a ``connect``.
DEFAULT_CONNECT = {"h1": "target", "h2": "h2", "ws": "websocket"}


@dataclass(frozen=True, kw_only=True)
class Connect(Step):
    """Open a connection. ``target``, ``tcp`` and ``tls`` only choose the transport; other
    modes (registered in ``scenario.registry.CONNECT_MODES``) also run a protocol opening
    (the HTTP/2 preface, the WebSocket handshake) with the mode's typed ``options``."""

    mode: str = "target"
    alpn: tuple[str, ...] = ()
    options: Any = None  # built by the mode's options builder; None when it has none

    def describe(self) -> str:
        alpn = f" (ALPN {', '.join(self.alpn)})" if self.alpn else ""
        return f"connect: {self.mode}{alpn}"


@dataclass(frozen=True, kw_only=True)
class Accept(Step):
    """Client role: wait for the client under test to connect to the harness's listening
    port. ``path`` is the path of the ``{url}`` the client is started with (the first
    ``accept`` of a case sets it)."""

    path: str = "/"
    options: Any = None  # the protocol's opening options (HTTP/2: our SETTINGS); None: defaults
    # WebSocket: how the client's opening handshake is answered (a WsAnswer), after it is
    # judged; None for the other protocols.
    answer: object | None = None

    def describe(self) -> str:
        return "accept the client's connection"


@dataclass(frozen=True, kw_only=True)
class Send(Step):
    payload: Payload
    split: int | tuple[int, ...] | None = None  # piece size, or cut offsets
    delay_ms: int = 20

    def describe(self) -> str:
        how = ""
        if isinstance(self.split, int):
            how = f" in {self.split}-byte pieces, {self.delay_ms} ms apart"
        elif self.split:
            how = f" cut at {list(self.split)}, {self.delay_ms} ms apart"
        return f"send {self.payload.describe()}{how}"

    def pieces(self, data: bytes) -> list[bytes]:
        if not self.split:
            return [data]
        if isinstance(self.split, int):
            return [data[i : i + self.split] for i in range(0, len(data), self.split)] or [b""]
        cuts = [0, *sorted(c for c in self.split if 0 < c < len(data)), len(data)]
        return [data[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


@dataclass(frozen=True, kw_only=True)
class Expect(Step):
    expectation: Expectation

    def describe(self) -> str:
        return f"expect {self.expectation.describe()}"


DATE_FORMS = ("imf-fixdate", "rfc850-date", "asctime-date")


@dataclass(frozen=True, kw_only=True)
class Captured:
    """One value a ``capture`` step takes: a header field of the response, optionally the
    first group of a regular expression on it, or an HTTP-date rewritten in another of the
    three HTTP-date forms (RFC 9110 §5.6.7)."""

    name: str  # the template name later steps use, {name}
    header: str
    pattern: str | None = None  # a regular expression with one group
    date_form: str | None = None  # one of DATE_FORMS

    def describe(self) -> str:
        how = f" =~ /{self.pattern}/" if self.pattern else ""
        how += f" as {self.date_form}" if self.date_form else ""
        return f"{{{self.name}}} = {self.header}{how}"


@dataclass(frozen=True, kw_only=True)
class Capture(Step):
    """Remember fields of the last response an ``expect`` matched, for ``{name}`` templates
    in the steps after it (a validator such as ETag, to send back in a condition)."""

    fields: tuple[Captured, ...]

    def describe(self) -> str:
        return "capture " + ", ".join(field.describe() for field in self.fields)


@dataclass(frozen=True, kw_only=True)
class Wait(Step):
    ms: int

    def describe(self) -> str:
        return f"wait {self.ms} ms"


@dataclass(frozen=True, kw_only=True)
class Shutdown(Step):
    def describe(self) -> str:
        return "half-close (send FIN)"


@dataclass(frozen=True, kw_only=True)
class Abort(Step):
    def describe(self) -> str:
        return "reset the connection"


@dataclass(frozen=True, kw_only=True)
class Rule:
    """The one RFC sentence that decides a case, quoted: its keyword sets the case's
    requirement, and its subject is the implementation under test (a server, the recipient,
    an endpoint; the target as the sender of what the case judges)."""

    quote: str  # the sentence, verbatim ("..." marks an elision)
    source: str  # e.g. "RFC 9112 §6.3"
    subject: str  # the sentence's subject, as written in it: "a server", "the recipient"
    # Why the keyword does not set the level, for the few tagged exceptions (a MUST that the
    # ABNF alone states, say); empty for every other case.
    exception: str = ""

    def describe(self) -> str:
        return f'{self.source}: "{self.quote}"'


@dataclass(frozen=True, kw_only=True)
class Case:
    """One expanded case: a stable id, what it checks, and the steps that check it."""

    id: str  # protocol/rfc/section/slug
    protocol: str
    rfc: str
    section: str
    slug: str
    title: str
    requirement: Requirement
    reference: str = ""
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    timeout: float | None = None  # per-step deadline override, seconds
    # Bytes of wire data the report keeps of this case (None: the recorder's default); cases
    # of hundreds of generated messages keep less, as Autobahn turns its wire log off there.
    transcript: int | None = None
    steps: tuple[Step, ...] = ()
    location: SourceLocation | None = field(default=None, compare=False)
    # What the target must offer for the case to run (registry.CAPABILITIES), e.g. "echo";
    # without it the case is SKIPPED.
    requires: tuple[str, ...] = ()
    # The case file's own level, when a run profile raised ``requirement`` (profiles.py).
    declared_requirement: Requirement | None = None
    # The RFC sentence that decides the case (``rule:`` in the file); None where not yet audited.
    rule: Rule | None = field(default=None, compare=False)
    role: str = "server"  # ROLES: the side the implementation under test plays

    def matches(self, prefix: str) -> bool:
        """Selection by id prefix, or by alias (``h2spec:http2/6.5``) prefix. A number is
        never cut: ``autobahn:13.4.1`` selects 13.4.1, not 13.4.10 to 13.4.18."""
        if _prefix_of(prefix, self.id) or any(_prefix_of(prefix, alias) for alias in self.aliases):
            return True
        # `conformance client --select h1/9112/6.3` means the client cases of that section.
        return self.role == "client" and _prefix_of(prefix, self.id.removeprefix("client/"))


def _prefix_of(prefix: str, name: str) -> bool:
    if not name.startswith(prefix):
        return False
    return not (prefix[-1:].isdigit() and name[len(prefix) : len(prefix) + 1].isdigit())
