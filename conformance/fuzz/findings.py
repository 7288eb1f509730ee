"""A finding as a case file: the only artefact a finding leaves; replay is ``conformance run``.

Each finding becomes ``findings/NNN-KIND.yaml`` in the ordinary scenario language: the shrunk
bytes as ``send`` steps (one per TCP write, with a ``wait`` between), an expectation, and the
RFC sentence that decides it, with the server (or the recipient, or the sender of what the
target itself sent) as its subject:

- a complete chunked request never answered: RFC 9112 §7.1, a recipient MUST be able to
  parse the chunked coding (MUST);
- a response that breaks RFC 9112's grammar: the sentence on what a sender must not generate
  (MUST, ``judges-output``);
- two targets that read valid bytes differently, where h11 (RFC 9112 framing) reads them as
  complete requests: the reading every conforming server must make is the expectation (RFC
  9112 §7.1 or §9.3, MUST), refusing or closing stay acceptable;
- everything else (a crash, a hang on bytes that are not a complete chunked request, a
  differential on bytes the RFC does not decide): INFO, with ``rule.exception`` saying that no
  RFC sentence decides it, for a person to triage. A crash replays as an ERROR (the target no
  longer accepts the connection of the last steps): no RFC sentence forbids a server to stop.

The provenance (seed, versions, targets and what each did, the mutations) is in YAML comments
at the top of the file: the schema is closed, and comments cannot change a verdict.
"""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass
from pathlib import Path

from conformance import __version__
from conformance.fuzz.engine import Finding, Fuzzer
from conformance.fuzz.model import Token
from conformance.fuzz.oracles import Reading
from conformance.fuzz.wire import WRITE_DELAY_MS


@dataclass(frozen=True)
class Rule:
    rfc: int
    section: str
    quote: str
    subject: str


CHUNKED = Rule(
    9112, "7.1", "A recipient MUST be able to parse and decode the chunked transfer coding.", "A recipient"
)
READ_BODY = Rule(
    9112,
    "9.3",
    "A server MUST read the entire request message body or close the connection after sending its response",
    "A server",
)
MAY_CLOSE = Rule(
    9112, "9.5", "A client, server, or proxy MAY close the transport connection at any time.", "server"
)
GRAMMAR = Rule(
    9110,
    "2.2",
    "A sender MUST NOT generate protocol elements that do not match the grammar defined by the corresponding "
    "ABNF rules.",
    "A sender",
)
OUTPUT_RULES = {
    "cl-and-te": Rule(
        9112,
        "6.2",
        "A sender MUST NOT send a Content-Length header field in any message that contains a "
        "Transfer-Encoding header field.",
        "A sender",
    ),
    "bare-cr": Rule(
        9112,
        "2.2",
        "A sender MUST NOT generate a bare CR (a CR character not immediately followed by LF) within any "
        "protocol elements other than the content.",
        "A sender",
    ),
    "obs-fold": Rule(
        9112,
        "5.2",
        "A sender MUST NOT generate a message that includes line folding (i.e., that has any field line "
        "value that contains a match to the obs-fold rule) unless the message is intended for packaging "
        'within the "message/http" media type.',
        "A sender",
    ),
}


def yaml_text(data: bytes) -> str:
    """A YAML double-quoted scalar holding ``data``, one character per byte."""
    out = []
    for byte in data:
        char = chr(byte)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\r":
            out.append("\\r")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\x{byte:02x}")
    return '"' + "".join(out) + '"'


def payload_text(tokens: list[Token]) -> str:
    """A ``send`` payload: templates as ``{name}``, literal braces doubled."""
    parts = []
    for token in tokens:
        if isinstance(token, str):
            parts.append(f"{{{token}}}")
        else:
            text = yaml_text(bytes([token]))[1:-1]
            parts.append(text.replace("{", "{{").replace("}", "}}"))
    return '"' + "".join(parts) + '"'


def _comment(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]", " ", text)


def _echo_alternatives(reading: Reading) -> list[str]:
    echoes = []
    for item in reading.items:
        if item[0] != "echo":
            break
        body = item[4].encode("latin-1") if len(item[4]) == int(item[3]) else None
        pattern = f"method: {yaml_text(item[1].encode('latin-1'))}"
        pattern += f", body: {yaml_text(body)}" if body is not None else f", body: {{length: {item[3]}}}"
        echoes.append(f"{{echo: {{{pattern}}}}}")
    return echoes


def _case_head(
    protocol: str, rule: Rule, slug: str, title: str, requirement: str, exception: str, tool: str, kind: str
) -> list[str]:
    """A finding's case file from ``protocol:`` to its rule (``exception`` when no RFC sentence
    decides it)."""
    lines = [
        f"protocol: {protocol}",
        f"rfc: {rule.rfc}",
        f'section: "{rule.section}"',
        "cases:",
        f"  - id: {slug}",
        f"    title: {yaml_text(title.encode('latin-1', 'replace'))}",
        f"    requirement: {requirement}",
        "    reference: >-",
        f"      RFC {rule.rfc} §{rule.section}: found by {tool} (oracle: {kind}); see the comments",
        "      above for what each target did.",
        "    rule:",
        f"      quote: {yaml_text(rule.quote.encode('latin-1'))}",
        f"      source: RFC {rule.rfc} §{rule.section}",
        f"      subject: {rule.subject}",
    ]
    if exception:
        lines.append(f"      exception: {yaml_text(exception.encode('latin-1'))}")
    return lines


def case_text(finding: Finding, fuzzer: Fuzzer, *, command_line: str = "") -> str:
    """The case file of ``finding``."""
    import hypothesis

    signature = finding.signature
    kind = str(signature[0])
    item = finding.input
    chunked = item.base.framing == "chunked"
    observation = finding.observation
    requires_echo = fuzzer.echo_path is not None
    tags = ["fuzz", kind if kind != "invalid" else "invalid-response"]
    exception = ""
    timeout = max(2.0, fuzzer.bounds.deadline + 1.0)
    after: list[str] = []

    if kind == "crash":
        rule, requirement = MAY_CLOSE, "INFO"
        title = f"Fuzzing: {signature[1]} stopped answering after these bytes"
        exception = (
            "No RFC sentence forbids a server to stop serving; a crash is a robustness defect. The last "
            "steps open a new connection: a crashed server makes them an ERROR (the connection is refused)."
        )
        expect = ["- response: {}", "- closed: true", "- silence: 500"]
        after = [
            "- connect: target",
            '- send: "GET {path} HTTP/1.1\\r\\nHost: {authority}\\r\\nConnection: close\\r\\n\\r\\n"',
            "- expect: {response: {}}",
        ]
    elif kind == "hang":
        title = f"Fuzzing: no answer and no close from {signature[1]} to a complete request"
        rule, requirement = (CHUNKED, "MUST") if chunked else (MAY_CLOSE, "INFO")
        if not chunked:
            exception = (
                "h11 reads these bytes as a complete request, but no RFC sentence requires a server to "
                "answer within a deadline; a person should look at why it waits."
            )
        expect = ["- response: {}", "- closed: true"]
    elif kind == "invalid":
        codes = [str(code) for code in signature[2]]  # type: ignore[attr-defined]
        rule = next((OUTPUT_RULES[code] for code in codes if code in OUTPUT_RULES), GRAMMAR)
        requirement = "MUST"
        tags.append("judges-output")
        title = f"Fuzzing: the response of {signature[1]} breaks RFC 9112 ({', '.join(codes)})"
        expect = ["- response: {violations: none}", "- closed: true"]
    else:
        decided = bool(signature[2])
        groups = signature[1]
        title = (
            "Fuzzing: "
            + " vs ".join("/".join(names) for names, _ in groups)
            + " read these bytes differently"
        )  # type: ignore[attr-defined]
        if decided:
            reference = observation.reference.reading
            assert reference is not None
            rule, requirement = (CHUNKED if chunked else READ_BODY), "MUST"
            echoes = ", ".join(_echo_alternatives(reference))
            expect = [
                f"- [{echoes}, {{silence: 300}}]",
                f"- [{echoes}, {{closed: true}}]",
                "- response: {status: [4xx, 5xx]}",
                "- closed: true",
            ]
        else:
            rule, requirement = MAY_CLOSE, "INFO"
            exception = (
                "No RFC sentence decides how these bytes are read (h11 does not read them as complete, valid "
                "requests): the targets disagree, and a person should decide which reading, if any, is wrong."
            )
            expect = []
            for reading in dict.fromkeys(observation.readings.values()):
                echoes = _echo_alternatives(reading)
                line = f"- [{', '.join(echoes)}]"
                if echoes and line not in expect:
                    expect.append(line)
            expect += ["- response: {status: [4xx, 5xx]}", "- closed: true"]
        tags.append("smuggling")

    slug = f"fuzz-{kind}-{finding.number:03d}"
    lines = [
        f"# conformance fuzz, finding {finding.number}: {_comment(title)}",
        f"# Found by conformance {__version__} (Hypothesis {hypothesis.__version__}, Python "
        f"{platform.python_version()}) with --seed {fuzzer.seed} (round seed {finding.round_seed}), "
        f"input {finding.found_after}; shrunk in {finding.shrink_steps} steps.",
    ]
    if command_line:
        lines.append(f"# Command: {_comment(command_line)}")
    lines.append("# Targets, and what each did with these bytes:")
    for target in fuzzer.targets:
        how = f" (started as: {_comment(target.server.command)})" if target.server else ""
        lines.append(f"#   {target.name} {target.url}{how}")
        result = observation.exchanges.get(target.name)
        if result is not None:
            lines.append(f"#     answered: {_comment(result.describe())[:300]}")
        if target.name in observation.crashed:
            lines.append(f"#     then: {_comment(observation.crashed[target.name])[:300]}")
        if target.name in observation.readings and requires_echo:
            lines.append(f"#     read: {_comment(observation.readings[target.name].describe())[:300]}")
    reference = observation.reference
    lines.append(
        "# h11 (RFC 9112 framing) reads: "
        + (
            reference.reading.describe()
            if reference.complete and reference.reading
            else (f"an error ({_comment(reference.error)})" if reference.error else "an incomplete request")
        )
    )
    lines.append(f"# The valid request: {_comment(item.describe().split(', ')[0])}; mutations:")
    for mutation in item.mutations:
        lines.append(f"#   {_comment(repr(mutation))}")
    if finding.flaky:
        lines.append("# FLAKY: the shrunk input did not show the finding again when replayed.")
    lines += _case_head("h1", rule, slug, title, requirement, exception, "conformance fuzz", kind)
    lines.append(f"    tags: [{', '.join(tags)}]")
    if requires_echo:
        lines.append("    requires: [echo]")
    lines += [f"    timeout: {timeout:g}", "    steps:"]
    for number, piece in enumerate(item.writes()):
        if number:
            lines.append(f"      - wait: {WRITE_DELAY_MS}")
        lines.append(f"      - send: {payload_text(piece)}")
    lines += ["      - expect:", "          one_of:"]
    lines += [f"            {line}" for line in expect]
    lines += [f"      {line}" for line in after]
    return "\n".join(lines) + "\n"


def _provenance(
    finding: Finding, fuzzer: Fuzzer, title: str, *, command_line: str = "", answers: bool = True
) -> list[str]:
    """The comment lines at the top of a non-h1 finding: how it was found, the targets and
    what each did (``answers``: the exchange too, not only the crash)."""
    import hypothesis

    observation = finding.observation
    lines = [
        f"# conformance fuzz, finding {finding.number}: {_comment(title)}",
        f"# Found by conformance {__version__} (Hypothesis {hypothesis.__version__}, Python "
        f"{platform.python_version()}) with --suite {fuzzer.suite} --seed {fuzzer.seed} "
        f"(round seed {finding.round_seed}), input {finding.found_after}; "
        f"shrunk in {finding.shrink_steps} steps.",
    ]
    if command_line:
        lines.append(f"# Command: {_comment(command_line)}")
    lines.append("# Targets, and what each did:")
    for target in fuzzer.targets:
        how = f" (started as: {_comment(target.server.command)})" if target.server else ""
        lines.append(f"#   {target.name} {target.url}{how}")
        result = observation.exchanges.get(target.name)
        if answers and result is not None:
            lines.append(f"#     answered: {_comment(result.describe())[:300]}")
        if target.name in observation.crashed:
            lines.append(f"#     then: {_comment(observation.crashed[target.name])[:300]}")
    if finding.flaky:
        lines.append("# FLAKY: the shrunk input did not show the finding again when replayed.")
    return lines


H2_MAY_END = Rule(9113, "5.4.1", "An endpoint can end a connection at any time.", "An endpoint")


#: A violation in the server's output -> the bundled case whose rule it breaks, with the
#: server as the sender; a violation not listed makes an INFO case.
H2_OUTPUT_CASES = {
    "h2-connection-specific-field": "h2/9113/8.2.1/response-fields-valid",
    "h2-missing-status": "h2/9113/8.3/response-has-status",
}


def _bundled_rule(case_id: str) -> tuple[str, list[str]]:
    """The requirement and the ``rule:`` lines of a bundled case: a finding of the same rule
    quotes it as the suite does."""
    from conformance.scenario import bundled_cases_dir
    from conformance.scenario.loader import load_cases

    protocol = case_id.split("/", 1)[0]
    case = next(c for c in load_cases([bundled_cases_dir() / protocol]) if c.id == case_id)
    assert case.rule is not None, case_id
    return case.requirement.value, [
        "    rule:",
        f"      quote: {yaml_text(case.rule.quote.encode('latin-1', 'replace'))}",
        f"      source: {case.rule.source}",
        f"      subject: {case.rule.subject}",
    ]


def h2_case_text(finding: Finding, fuzzer: Fuzzer, *, command_line: str = "") -> str:
    """The case file of an HTTP/2 finding: the bytes as the fuzzer wrote them, then what the
    oracle expected. A crash is INFO (no RFC sentence forbids a server to stop; the replay
    against a crashed server ends in ERROR at its second ``connect``); a rule or hang finding
    has the rule, and level, of the bundled case the input's frame falls under; an invalid
    output has the rule the server broke as sender, or INFO."""
    from conformance.codecs.h2frames import error_name
    from conformance.fuzz import h2

    item = finding.input
    signature = finding.signature
    kind, name = str(signature[0]), str(signature[1])
    wanted = finding.observation.details.get("due") or h2.Due()
    assert isinstance(wanted, h2.Due)
    probe = f'!hex "{h2.PROBE.hex()}"'
    codes_text = ", ".join(error_name(code) for code in wanted.errors)
    answered = [
        f"- ping_ack: {{data: {probe}}}",
        "- goaway: {}",
        "- closed: true",
    ]
    after: list[str] = []
    exception = ""
    if kind == "crash":
        title = f"Fuzzing: {name} stopped answering HTTP/2 after these frames"
        requirement, rule_lines = "INFO", _rule_lines(H2_MAY_END)
        exception = (
            "No RFC sentence forbids a server to stop serving; a crash is a robustness defect. The last "
            "steps open a new connection: a crashed server makes them an ERROR (the connection is refused)."
        )
        expect = ["- closed: true", "- silence: 500", "- frame: {}"]
        after = ["- connect: h2", "- send: {headers: {stream: 1}}", "- expect: {response: {stream: 1}}"]
    elif kind == "rule":
        title = f"Fuzzing: {name} went on after a frame that is a connection error ({wanted.frame})"
        requirement, rule_lines = _bundled_rule(wanted.case)
        expect = [f"- connection_error: {{error: [{codes_text}], before_ping_ack: {probe}}}"]
    elif kind == "hang":
        title = f"Fuzzing: no answer and no close from {name} to these frames"
        requirement, rule_lines = _bundled_rule(wanted.case)
        expect = [f"- connection_error: [{codes_text}]"] if wanted.kind == "error" else answered
    else:
        codes = [str(code) for code in signature[2]]  # type: ignore[attr-defined]
        title = f"Fuzzing: the frames {name} sent break RFC 9113 ({', '.join(codes)})"
        known = next((code for code in codes if code in H2_OUTPUT_CASES), None)
        if known is not None:
            requirement, rule_lines = _bundled_rule(H2_OUTPUT_CASES[known])
        else:
            requirement, rule_lines = "INFO", _rule_lines(H2_MAY_END)
            exception = (
                f"The harness's HTTP/2 reader reports {', '.join(codes)} in what the server sent; no "
                "sentence with the server as its subject is on record for it here: for a person to triage."
            )
        # What the server sends for the input (the response, the PING's acknowledgement), or
        # its end of the connection; then judged.
        expect = [
            f"- all_of: [{{response: {{stream: 1}}}}, {{ping_ack: {{data: {probe}}}}}]",
            "- goaway: {}",
            "- closed: true",
        ]
        after = [f"- expect: {{no_violation: [{', '.join(codes)}]}}"]
    lines = _provenance(finding, fuzzer, title, command_line=command_line, answers=kind != "crash")
    if wanted.kind:
        lines.append(f"# Due, read frame by frame as the server reads them: {wanted.kind} at {wanted.frame}")
    source = next(line for line in rule_lines if line.startswith("      source: "))
    rfc, _, section = source.removeprefix("      source: RFC ").partition(" §")
    lines += [
        "protocol: h2",
        f"rfc: {rfc}",
        f'section: "{section}"',
        "cases:",
        f"  - id: fuzz-{kind}-{finding.number:03d}",
        f"    title: {yaml_text(title.encode('latin-1', 'replace'))}",
        f"    requirement: {requirement}",
        "    reference: >-",
        f"      Found by conformance fuzz --suite h2 (oracle: {kind}); see the comments above.",
        *rule_lines,
    ]
    if exception:
        lines.append(f"      exception: {yaml_text(exception.encode('latin-1'))}")
    lines += [
        f"    tags: [fuzz, {kind}]",
        f"    timeout: {max(2.0, fuzzer.bounds.deadline + 1.0):g}",
        "    steps:",
        "      - connect: h2",
    ]
    # The bytes exactly as the fuzzer wrote them after its preface and SETTINGS (the request
    # on stream 1, the frames, the probe PING): frame by frame steps would let the server act
    # on one frame (close, say) before the next arrives, which the fuzzer's writes did not.
    pieces = item.writes()
    cuts, at = [], 0
    for piece in pieces[:-1]:
        at += len(piece)
        cuts.append(str(at))
    split = f", split: [{', '.join(cuts)}], delay_ms: {WRITE_DELAY_MS}" if cuts else ""
    lines.append("      # HEADERS stream 1 (GET /, END_STREAM, END_HEADERS), then:")
    seed = getattr(item, "seed", ())
    if seed:
        lines.append("      #   the frames of a bundled case (streams two up from its own):")
    for number, frame in enumerate((*seed, *item.frames)):
        if seed and number == len(seed) and item.frames:
            lines.append("      #   then the drawn frames:")
        lines.append(
            f"      #   type {frame.type:#04x}, flags {frame.flags:#04x}, stream {frame.stream}, "
            f"payload {frame.payload.hex() or '(empty)'}"
            + (
                f", declared length {max(0, len(frame.payload) + frame.length_delta)}"
                if max(0, len(frame.payload) + frame.length_delta) != len(frame.payload)
                else ""
            )
        )
    lines.append(f"      #   then PING {h2.PROBE.hex()} (its ACK: the frames before it were read)")
    lines.append(f'      - send: {{hex: "{b"".join(pieces).hex()}"{split}}}')
    if len(expect) == 1:
        lines.append(f"      - expect: {{{expect[0][2:]}}}")
    else:
        lines += ["      - expect:", "          one_of:"]
        lines += [f"            {line}" for line in expect]
    lines += [f"      {line}" for line in after]
    return "\n".join(lines) + "\n"


def _rule_lines(rule: Rule) -> list[str]:
    return [
        "    rule:",
        f"      quote: {yaml_text(rule.quote.encode('latin-1'))}",
        f"      source: RFC {rule.rfc} §{rule.section}",
        f"      subject: {rule.subject}",
    ]


WS_MAY_CLOSE = Rule(6455, "7.3", "Servers MAY close the WebSocket connection whenever desired.", "Servers")
WS_PONG = Rule(
    6455,
    "5.5.2",
    "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, unless it already "
    "received a Close frame.",
    "an endpoint",
)
WS_CLOSE = Rule(
    6455,
    "5.5.1",
    "If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint MUST "
    "send a Close frame in response.",
    "the endpoint",
)
_CONTROL = Rule(
    6455,
    "5.5",
    "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented.",
    "All control frames",
)
#: what the server sent -> the sentence it breaks, with the server as sender
WS_OUTPUT_RULES = {
    "ws-server-masked": Rule(
        6455, "5.1", "A server MUST NOT mask any frames that it sends to the client.", "A server"
    ),
    "ws-invalid-utf8": Rule(
        6455,
        "5.6",
        "Note that a particular text frame might include a partial UTF-8 sequence; however, the whole "
        "message MUST contain valid UTF-8.",
        "the whole message",
    ),
    "ws-frame-after-close": Rule(
        6455,
        "5.5.1",
        "After sending a Close frame, the endpoint MUST NOT send any further data frames.",
        "the endpoint",
    ),
    "ws-rsv-set": Rule(
        6455,
        "5.2",
        "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values.",
        "RSV1, RSV2, RSV3",
    ),
    "ws-length-not-minimal": Rule(
        6455,
        "5.2",
        "Note that in all cases, the minimal number of bytes MUST be used to encode the length",
        "the minimal number of bytes",
    ),
    "ws-control-too-long": _CONTROL,
    "ws-control-fragmented": _CONTROL,
    "ws-close-1-byte": Rule(
        6455,
        "5.5.1",
        "If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer (in network "
        "byte order) representing a status code with value /code/ defined in Section 7.4.",
        "the first two bytes of the body",
    ),
}


def _ws_frame(frame: object) -> str:
    from conformance.codecs.ws.frames import Opcode, minimal_encoding
    from conformance.fuzz.ws import WsFrame

    assert isinstance(frame, WsFrame)
    opcode = Opcode.name_of(frame.opcode)
    fields = [f"opcode: {opcode if not opcode.startswith('reserved') else frame.opcode}"]
    fields.append(f'payload: {{hex: "{frame.payload.hex()}"}}' if frame.payload else 'payload: ""')
    if not frame.fin:
        fields.append("fin: false")
    for number, bit in ((1, 4), (2, 2), (3, 1)):
        if frame.rsv & bit:
            fields.append(f"rsv{number}: true")
    fields.append(f'mask: "{frame.mask_key.hex()}"' if frame.mask_key is not None else "mask: none")
    form = frame.length_form or minimal_encoding(frame.declared)
    if frame.length_form is not None or frame.length_delta:
        fields.append(f"length: {{encoding: {form}, value: {frame.declared}}}")
    return "{ws_frame: {" + ", ".join(fields) + "}}"


def _ws_answer(wanted: object) -> tuple[Rule, str, list[str], str]:
    """The rule, level, expectations (one_of alternatives) and exception for what the input
    asks of a server."""
    from conformance.fuzz.ws import Demand

    assert isinstance(wanted, Demand)
    may_close = ["- close: true", "- closed: true"]
    rule = wanted.rule
    if rule is not None:
        codes = sorted({code for c in wanted.codes for code in _fail_codes(c)})
        expect = [f"- fail: {{code: {codes[0] if len(codes) == 1 else codes}}}"]
        return Rule(rule.rfc, rule.section, rule.quote, rule.subject), rule.requirement, expect, ""
    if wanted.kind == "pong":
        payload = f'{{hex: "{wanted.payload.hex()}"}}' if wanted.payload else '""'
        return WS_PONG, "MUST", [f"- ws_frame: {{opcode: pong, payload: {payload}}}", *may_close], ""
    if wanted.kind == "close":
        return WS_CLOSE, "MUST", ["- close: true", "- closed: true", "  strict: false"], ""
    if wanted.kind == "echo":
        kind = "text" if wanted.opcode == 0x1 else "binary"
        exception = (
            "No RFC sentence requires a server to echo, or to answer a message within a deadline: the target "
            "is taken to be an echo endpoint, and a person should look at why it did not."
        )
        message = f'- message: {{{kind}: {{hex: "{wanted.payload.hex()}"}}}}'
        return WS_MAY_CLOSE, "INFO", [message, *may_close], exception
    return WS_MAY_CLOSE, "INFO", ["- silence: 500", *may_close], ""


def _fail_codes(code: str) -> tuple[int, ...]:
    from conformance.fuzz.ws import FAIL_RULES

    return FAIL_RULES[code].codes


def ws_case_text(finding: Finding, fuzzer: Fuzzer, *, command_line: str = "") -> str:
    """The case file of a WebSocket finding: the frames as ``ws_frame`` payloads of one
    ``send`` (cut where the fuzzer cut its writes), and what the input asks of a server."""
    from conformance.fuzz.ws import WsInput

    signature = finding.signature
    kind = str(signature[0])
    item = finding.input
    assert isinstance(item, WsInput)
    observation = finding.observation
    wanted = observation.details["demand"]
    rule, requirement, expect, exception = _ws_answer(wanted)
    tags = ["fuzz", kind if kind != "invalid" else "invalid-output"]
    after: list[str] = []
    if kind == "crash":
        title = f"Fuzzing: {signature[1]} stopped answering WebSocket after these frames"
        rule, requirement = WS_MAY_CLOSE, "INFO"
        exception = (
            "No RFC sentence forbids a server to stop serving; a crash is a robustness defect. The last "
            "steps open a new connection: a crashed server makes them an ERROR (the connection is refused)."
        )
        expect = ["- closed: true", "- close: true", "- silence: 500", "- ws_frame: {}"]
        after = [
            "- wait: 300  # time for a crashed process to be gone: its port then refuses the connection",
            "- connect: websocket",
            '- send: {message: {text: "alive"}}',
            '- expect: {message: {text: "alive"}}',
        ]
    elif kind == "hang":
        title = f"Fuzzing: no answer and no close from {signature[1]} to these frames"
        if requirement == "INFO" and not exception:
            exception = "No RFC sentence requires an answer here; a person should look at why it waits."
    elif kind == "rule":
        title = f"Fuzzing: {signature[1]} did not fail the connection ({signature[2]})"
    elif kind == "invalid":
        codes = [str(code) for code in signature[2]]
        tags.append("judges-output")
        title = f"Fuzzing: the frames {signature[1]} sent break RFC 6455 ({', '.join(codes)})"
        known = next((code for code in codes if code in WS_OUTPUT_RULES), None)
        if known is not None:
            rule, requirement, exception = WS_OUTPUT_RULES[known], "MUST", ""
        else:
            rule, requirement = WS_MAY_CLOSE, "INFO"
            exception = (
                f"What the server sent ({', '.join(codes)}) breaks no sentence whose subject is the server; "
                "a client would fail the connection. A person should look at it."
            )
    else:
        groups = signature[1]
        names = " vs ".join("/".join(names) for names, _ in groups)
        title = f"Fuzzing: {names} echoed these frames differently"
        rule, requirement = WS_MAY_CLOSE, "INFO"
        exception = (
            "No RFC sentence decides how these frames are echoed: the targets disagree, and a person should "
            "decide which, if any, is wrong."
        )
        expect = []
        echoes = observation.details["echoes"]
        assert isinstance(echoes, dict)
        for reading in dict.fromkeys(echoes.values()):
            messages = [
                f'{{message: {{{message_kind}: {{hex: "{head}"}}}}}}'
                if int(length) * 2 == len(head)
                else f"{{message: {{length: {length}}}}}"
                for message_kind, _, length, head in reading
            ]
            if messages:
                expect.append(f"- [{', '.join(messages)}]")
        expect += ["- close: true", "- closed: true"]
    lines = _provenance(finding, fuzzer, title, command_line=command_line)
    lines.append(f"# The frames: {_comment(item.describe())}")
    slug = f"fuzz-{kind}-{finding.number:03d}"
    lines += _case_head("ws", rule, slug, title, requirement, exception, "conformance fuzz --suite ws", kind)
    lines += [
        f"    tags: [{', '.join(tags)}]",
        f"    timeout: {max(2.0, fuzzer.bounds.deadline + 1.0):g}",
        "    steps:",
        "      - connect: websocket",
    ]
    cuts = item.cuts()
    frames = ", ".join(_ws_frame(frame) for frame in item.frames)
    split = f", split: [{', '.join(map(str, cuts))}], delay_ms: {WRITE_DELAY_MS}" if cuts else ""
    if item.frames:
        lines.append(f"      - send: {{concat: [{frames}]{split}}}")
    if kind in ("rule", "hang") and wanted.kind == "fail" and wanted.before:
        # The answers due before the frame that fails the connection: each is awaited, or the
        # failure already under way (a server may fail the connection before answering them).
        failed = expect[0][2:-1] + ", earlier: true}"  # "fail: {code: ...}"
        for answer in wanted.before:
            awaited = _ws_answer(answer)[2][0]
            lines += ["      - expect:", "          one_of:", f"            {awaited}"]
            lines.append(f"            - {failed}")
        expect = [f"- {failed}", *expect[1:]]
    lines += ["      - expect:", "          one_of:"]
    lines += [f"            {line}" for line in expect]
    lines += [f"      {line}" for line in after]
    return "\n".join(lines) + "\n"


def write_findings(
    findings: list[Finding], fuzzer: Fuzzer, directory: Path, *, command_line: str = ""
) -> list[Path]:
    """Write each finding's case file under ``directory/findings`` (``directory/flaky`` when
    it did not reproduce); return their paths."""
    paths = []
    for finding in findings:
        # A finding that did not show again goes apart: `run --cases DIR/findings` replays
        # only those that did.
        out = directory / ("flaky" if finding.flaky else "findings")
        out.mkdir(parents=True, exist_ok=True)
        kind = str(finding.signature[0])
        path = out / f"{finding.number:03d}-{kind}.yaml"
        write = {"h2": h2_case_text, "ws": ws_case_text}.get(fuzzer.suite, case_text)
        path.write_text(write(finding, fuzzer, command_line=command_line), encoding="utf-8")
        finding.path = str(path)
        paths.append(path)
    return paths
