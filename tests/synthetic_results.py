"""Synthetic run results of any size, for the HTML report's browser tests and benchmark.

:func:`synthetic_results` builds ``cases`` cases x ``targets`` targets, deterministic for a
seed: verdicts spread over every kind (mostly PASS, as in real runs), cases spread over the
three protocols and many sections, and per case a realistic transcript: the connection, the
request bytes, the response bytes, the decoded response (an HTTP/1.1 ``detail()``), and for
HTTP/2 and WebSocket cases events shaped like those suites' frames and messages.
"""

from __future__ import annotations

import random

from conformance.results import CaseResult, Direction, RunResults, TargetResults, TranscriptEntry
from conformance.verdicts.verdict import Requirement, Verdict

PROTOCOLS = (("h1", "9112"), ("h2", "9113"), ("ws", "6455"))
VERDICT_WEIGHTS = (
    (Verdict.PASS, 70),
    (Verdict.FAIL, 10),
    (Verdict.NON_STRICT, 8),
    (Verdict.ERROR, 3),
    (Verdict.INFORMATIONAL, 4),
    (Verdict.UNIMPLEMENTED, 3),
    (Verdict.SKIPPED, 2),
)
REQUIREMENTS = (Requirement.MUST, Requirement.MUST, Requirement.SHOULD, Requirement.MAY, Requirement.INFO)


def _response_detail(status: int, body: bytes) -> dict[str, object]:
    return {
        "type": "response",
        "version": "HTTP/1.1",
        "status": status,
        "reason": "OK" if status == 200 else "Bad Request",
        "headers": [
            ["Content-Length", str(len(body))],
            ["Content-Type", "text/plain"],
            ["Server", "synthetic"],
        ],
        "body_length": len(body),
        "body": body.decode("latin-1"),
        "framing": "content-length",
        "trailers": [],
        "violations": [],
        "complete": True,
        "request_method": "GET",
    }


def _transcript(protocol: str, n: int, status: int) -> tuple[TranscriptEntry, ...]:
    request = f"GET /case/{n} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: conformance\r\n\r\n".encode()
    body = (f"case {n} " * 12).encode()
    reason = b"OK" if status == 200 else b"Bad Request"
    response = (
        b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\nContent-Type: text/plain\r\nServer: synthetic\r\n\r\n"
        % (status, reason, len(body))
    ) + body
    entries = [
        TranscriptEntry(
            t=0.0, direction=Direction.EVENT, text="connected (tcp)", detail={"type": "connected"}
        ),
        TranscriptEntry(
            t=0.0003, direction=Direction.EVENT, text=f"step 1: send 'GET /case/{n} HTTP/1.1\\r\\n…'"
        ),
        TranscriptEntry(t=0.0004, direction=Direction.SENT, data=request, size=len(request)),
        TranscriptEntry(t=0.0005, direction=Direction.EVENT, text="step 2: expect response (status 400)"),
        TranscriptEntry(t=0.0019, direction=Direction.RECEIVED, data=response, size=len(response)),
    ]
    if protocol == "h2":
        entries.append(
            TranscriptEntry(
                t=0.002,
                direction=Direction.EVENT,
                text=f"HEADERS (stream 1, flags: END_HEADERS) :status {status}",
                detail={
                    "type": "frame",
                    "frame": "HEADERS",
                    "stream": 1,
                    "flags": ["END_HEADERS"],
                    "length": 12,
                    "headers": [[":status", str(status)], ["content-type", "text/plain"]],
                    "violations": [],
                },
            )
        )
    elif protocol == "ws":
        entries.append(
            TranscriptEntry(
                t=0.002,
                direction=Direction.EVENT,
                text=f"text message ({len(body)} bytes)",
                detail={
                    "type": "message",
                    "opcode": "TEXT",
                    "frames": [
                        {"fin": True, "rsv": [0, 0, 0], "opcode": 1, "masked": False, "length": len(body)}
                    ],
                    "text": body.decode(),
                },
            )
        )
    else:
        entries.append(
            TranscriptEntry(
                t=0.002,
                direction=Direction.EVENT,
                text=f"HTTP/1.1 {status} (Content-Length: {len(body)}, body {len(body)} bytes)",
                detail=_response_detail(status, body),
            )
        )
    entries.append(
        TranscriptEntry(
            t=0.003,
            direction=Direction.EVENT,
            text="connection closed by the target",
            detail={"type": "closed", "reset": False, "reason": ""},
        )
    )
    return tuple(entries)


def synthetic_results(cases: int = 1000, targets: int = 5, *, seed: int = 1) -> RunResults:
    rng = random.Random(seed)
    verdicts = [verdict for verdict, _ in VERDICT_WEIGHTS]
    weights = [weight for _, weight in VERDICT_WEIGHTS]
    definitions = []
    for n in range(cases):
        protocol, rfc = PROTOCOLS[n % len(PROTOCOLS)]
        section = f"{1 + (n // 7) % 9}.{1 + (n // 3) % 6}"
        definitions.append(
            {
                "id": f"{protocol}/{rfc}/{section}/synthetic-{n:04d}",
                "title": f"Synthetic case {n}: a request with property {n % 17}",
                "protocol": protocol,
                "rfc": rfc,
                "section": section,
                "requirement": REQUIREMENTS[n % len(REQUIREMENTS)],
                "reference": f"RFC {rfc} §{section} — what the case checks, in words",
            }
        )
    all_targets = []
    for t in range(targets):
        results = []
        for n, definition in enumerate(definitions):
            verdict = rng.choices(verdicts, weights)[0]
            status = 200 if verdict is Verdict.PASS else 400
            failed = verdict is Verdict.FAIL
            results.append(
                CaseResult(
                    **definition,  # type: ignore[arg-type]
                    verdict=verdict,
                    expected="a 400 response or a closed connection",
                    observed=f"HTTP/1.1 {status} (Content-Length: 96)",
                    step=2 if failed else None,
                    step_text="expect response (status 400)" if failed else "",
                    duration_s=0.003 + (n % 10) / 1000,
                    transcript=_transcript(definition["protocol"], n, status),  # type: ignore[arg-type]
                )
            )
        all_targets.append(
            TargetResults(name=f"server-{t + 1}", url=f"http://127.0.0.1:{8080 + t}/", cases=tuple(results))
        )
    return RunResults(
        tool_version="0.1.0",
        started_at="2024-05-01T12:00:00Z",
        duration_s=42.0,
        targets=tuple(all_targets),
    )
