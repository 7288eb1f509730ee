"""Client mode for HTTP/2: the server-side session (the client's preface, its requests), the
accept step's prefaces, and one case end to end against the reference client and a client
whose preface is wrong."""

from __future__ import annotations

import shlex
import sys
import textwrap
from pathlib import Path

import hpack
import pytest

from conformance.client_cli import reference_command
from conformance.codecs import h2frames as fr
from conformance.codecs.h2fields import HeaderBlock
from conformance.driver import client_process
from conformance.driver.client_role import parse_client, run_client_case
from conformance.driver.h2_server import ClientPreface, H2ServerSession
from conformance.driver.interpreter import RunOptions
from conformance.scenario.loader import load_text
from conformance.verdicts.verdict import Verdict

REQUEST = hpack.Encoder().encode(
    [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "a")]
)


def _client_bytes() -> bytes:
    return (
        fr.PREFACE
        + fr.encode_frame(fr.FrameType.SETTINGS, fr.settings_payload([(fr.Setting.ENABLE_PUSH, 0)]))
        + fr.encode_frame(
            fr.FrameType.HEADERS, REQUEST, flags=fr.Flag.END_STREAM | fr.Flag.END_HEADERS, stream_id=1
        )
    )


def test_the_preface_is_read_across_pieces_and_the_request_is_no_idle_stream_frame() -> None:
    session = H2ServerSession()
    data = _client_bytes()
    events = []
    for at in range(0, len(data), 7):  # the preface arrives cut, as TCP may cut it
        events += session.receive(data[at : at + 7])
    assert isinstance(events[0], ClientPreface) and events[0].ok
    blocks = [e for e in events if isinstance(e, HeaderBlock)]
    assert len(blocks) == 1 and blocks[0].get(":method") == "GET" and not blocks[0].violations
    frames = [e for e in events if isinstance(e, fr.Frame)]
    assert [f.name for f in frames] == ["SETTINGS", "HEADERS"]
    assert all(not f.violations for f in frames)
    assert session.outgoing() == b""  # nothing before our own preface (RFC 9113 §3.4)
    session.sent(fr.encode_frame(fr.FrameType.SETTINGS, b""))
    assert session.outgoing() == fr.encode_frame(fr.FrameType.SETTINGS, flags=fr.Flag.ACK)


def test_a_wrong_preface_is_one_event_and_nothing_after_it_is_read_as_frames() -> None:
    session = H2ServerSession()
    events = session.receive(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" + _client_bytes())
    assert len(events) == 1 and isinstance(events[0], ClientPreface) and not events[0].ok


def test_a_request_breaking_rfc_9113_section_8_shows_its_violations() -> None:
    session = H2ServerSession()
    block = hpack.Encoder().encode([(":method", "GET"), ("Upper", "x"), (":path", "/")])
    flags = fr.Flag.END_STREAM | fr.Flag.END_HEADERS
    events = session.receive(
        fr.PREFACE + fr.encode_frame(fr.FrameType.HEADERS, block, flags=flags, stream_id=1)
    )
    (block_event,) = [e for e in events if isinstance(e, HeaderBlock)]
    codes = {v.code for v in block_event.violations}
    assert {"h2-uppercase-field-name", "h2-pseudo-after-regular", "h2-missing-pseudo-header"} <= codes


CASE = """\
protocol: h2
role: client
rfc: 9113
section: "6.7"
cases:
  - id: ping
    title: t
    requirement: MUST
    steps:
      - expect: {request: {method: GET, path: /, violations: none}}
      - send: {frame: PING, data: !hex "0102030405060708"}
      - expect: {ping_ack: {data: !hex "0102030405060708"}}
      - send: {headers: {stream: 1, flags: [END_HEADERS], fields: [[":status", "200"], [content-length, "2"]]}}
      - send: {frame: DATA, stream: 1, flags: [END_STREAM], data: "ok"}
      - expect: {exit: {accepted: {body: ok}}}
"""

BAD_PREFACE_CLIENT = textwrap.dedent(
    """\
    import socket, sys, time
    from urllib.parse import urlsplit
    u = urlsplit(sys.argv[1])
    s = socket.create_connection((u.hostname, u.port))
    s.sendall(b"PRI * HTTP/1.1\\r\\n\\r\\nSM\\r\\n\\r\\n" + bytes(9))
    time.sleep(1)
    """
)


def _run(reactor_thread, command: str):  # type: ignore[no-untyped-def]
    (case,), errors = load_text(CASE, "case.yaml")
    assert errors == []
    client = parse_client(command, "h2")
    return reactor_thread.call(run_client_case, reactor_thread.reactor, case, client, RunOptions(timeout=2.0))


def test_the_reference_client_passes_a_case_end_to_end(reactor_thread) -> None:  # type: ignore[no-untyped-def]
    outcome = _run(reactor_thread, reference_command("h2"))
    assert outcome.result.verdict is Verdict.PASS, outcome.result.observed
    assert client_process.live_count() == 0


def test_a_client_with_a_wrong_preface_fails_at_the_accept_step(reactor_thread, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.py"
    path.write_text(BAD_PREFACE_CLIENT)
    outcome = _run(reactor_thread, f"{shlex.quote(sys.executable)} {shlex.quote(str(path))} {{url}}")
    assert outcome.result.verdict is Verdict.FAIL
    assert "not the client connection preface" in outcome.result.observed
    assert client_process.live_count() == 0


@pytest.mark.parametrize("value, grade", [(0, "UNIMPLEMENTED"), (1, "PASS")])
def test_requires_setting_takes_an_absent_enable_push_for_its_initial_1(value: int, grade: str) -> None:
    from conformance.verdicts.expectations import Cursor, Matched, Observation
    from conformance.verdicts.h2 import RequiresSetting

    settings = fr.parse_frame(fr.FrameType.SETTINGS, 0, 0, False, 0, b"")  # no ENABLE_PUSH in it
    pattern = RequiresSetting(setting=fr.Setting.ENABLE_PUSH, value=value)
    observation = Observation(events=[settings], timed_out=False, elapsed=0.0, received=0)
    outcome = pattern.evaluate(observation, Cursor(index=0, received=0))
    assert isinstance(outcome, Matched) and outcome.grade.name == grade
