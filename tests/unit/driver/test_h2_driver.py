"""The HTTP/2 session and openings against tiny scripted HTTP/2 servers: the preface
exchange, a server that never acknowledges our SETTINGS, bad openings, the error verifiers'
grades, streamed 16 MiB frames, the server's output checked, the h2c upgrade and ALPN."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_driver import Scripted, serve

from conformance.codecs import h2frames as fr
from conformance.codecs import h2hpack as hp
from conformance.driver.interpreter import RunOptions
from conformance.scenario.loader import load_cases
from conformance.target import Target
from conformance.verdicts.verdict import Verdict


class H2Script:
    """A scripted HTTP/2 server: ``on_frame(server, p, frame)`` decides what each frame gets."""

    def __init__(
        self,
        *,
        settings: tuple[tuple[int, int], ...] = (),
        ack: bool = True,
        first: bytes | None = None,
        on_frame: Callable[[H2Script, Scripted, fr.Frame], None] | None = None,
        response_fields: tuple[tuple[bytes, bytes], ...] = ((b":status", b"200"),),
    ) -> None:
        self.settings = settings
        self.ack = ack
        self.first = first
        self.on_frame = on_frame or H2Script.answer
        self.response_fields = response_fields
        self.received = 0  # octets of DATA payload received

    def __call__(self, p: Scripted, data: bytes) -> None:
        state = p.__dict__.setdefault(
            "h2",
            {
                "buffer": b"",
                "opened": False,
                "decoder": fr.FrameDecoder(max_frame_size=fr.MAX_FRAME_SIZE_LIMIT, payload_cap=64),
            },
        )
        if not state["opened"]:
            state["buffer"] += data
            if len(state["buffer"]) < len(fr.PREFACE):
                return
            data = state["buffer"][len(fr.PREFACE) :]
            state["opened"] = True
            p.transport.write(
                self.first if self.first is not None else fr.encode(fr.SettingsFrame(settings=self.settings))
            )
        for frame in state["decoder"].feed(data):
            self.on_frame(self, p, frame)

    def answer(self, p: Scripted, frame: fr.Frame) -> None:
        if isinstance(frame, fr.SettingsFrame) and not frame.flags & fr.Flag.ACK and self.ack:
            p.transport.write(fr.encode(fr.SettingsFrame(flags=fr.Flag.ACK)))
        elif isinstance(frame, fr.PingFrame) and not frame.flags & fr.Flag.ACK:
            p.transport.write(fr.encode(fr.PingFrame(opaque=frame.opaque, flags=fr.Flag.ACK)))
        elif isinstance(frame, fr.DataFrame):
            self.received += len(frame.data) + frame.truncated
        elif isinstance(frame, fr.HeadersFrame) and frame.flags & fr.Flag.END_STREAM:
            block = hp.encode_fields(self.response_fields)
            p.transport.write(
                fr.encode(fr.HeadersFrame(stream_id=frame.stream_id, block=block, flags=fr.Flag.END_HEADERS))
                + fr.encode(fr.DataFrame(stream_id=frame.stream_id, data=b"ok", flags=fr.Flag.END_STREAM))
            )


def run_h2(
    reactor_thread: Any, tmp_path: Path, cases_yaml: str, on_data: Any, **options: Any
) -> dict[str, Any]:
    path = tmp_path / "cases.yaml"
    path.write_text(
        "protocol: h2\nrfc: 9113\nsection: '6'\ncases:\n" + textwrap.indent(textwrap.dedent(cases_yaml), "  ")
    )
    cases = load_cases([path])
    port, _ = serve(reactor_thread, on_data)
    try:
        target = Target.parse(f"h2c://127.0.0.1:{port.getHost().port}/")
        results = reactor_thread.run(cases, [target], RunOptions(**{"timeout": 1.5, **options}))
    finally:
        reactor_thread.call(port.stopListening)
    return {c.id.rsplit("/", 1)[1]: c for c in results.targets[0].cases}


BASIC = """
- id: ping
  title: t
  requirement: MUST
  steps:
    - send: {frame: PING, data: !hex "0102030405060708"}
    - expect: {ping_ack: {data: !hex "0102030405060708"}}
- id: ack
  title: t
  requirement: MUST
  steps:
    - expect: {settings_ack: true}
- id: get
  title: t
  requirement: MUST
  steps:
    - send: {headers: {stream: 1}}
    - expect: {response: {stream: 1, status: 200, body: "ok"}}
"""


def test_a_correct_server_passes(reactor_thread: Any, tmp_path: Path) -> None:
    results = run_h2(reactor_thread, tmp_path, BASIC, H2Script())
    assert {k: r.verdict for k, r in results.items()} == {k: Verdict.PASS for k in ("ping", "ack", "get")}


def test_a_server_that_never_acks_fails_only_the_ack_case(reactor_thread: Any, tmp_path: Path) -> None:
    results = run_h2(reactor_thread, tmp_path, BASIC, H2Script(ack=False))
    assert results["ack"].verdict is Verdict.FAIL
    assert results["ping"].verdict is Verdict.PASS
    assert results["get"].verdict is Verdict.PASS


def test_a_first_frame_other_than_settings_fails_the_connect_step(
    reactor_thread: Any, tmp_path: Path
) -> None:
    first = fr.encode(fr.PingFrame(opaque=bytes(8)))
    results = run_h2(reactor_thread, tmp_path, BASIC, H2Script(first=first))
    failed = results["ping"]
    assert failed.verdict is Verdict.FAIL and failed.step == 1
    assert "§3.4" in failed.expected and failed.observed.startswith("PING")


def test_a_server_that_closes_fails_the_connect_step(reactor_thread: Any, tmp_path: Path) -> None:
    results = run_h2(reactor_thread, tmp_path, BASIC, lambda p, data: p.transport.loseConnection())
    assert results["ping"].verdict is Verdict.FAIL
    assert results["ping"].observed == "connection closed by the target"


ERRORS = """
- id: conn
  title: t
  requirement: MUST
  steps:
    - send: {frame: PING, stream: 1, data: !hex "0000000000000000"}
    - expect: {connection_error: PROTOCOL_ERROR}
- id: stream
  title: t
  requirement: MUST
  steps:
    - send: {headers: {stream: 1, add: [[X-UPPER, "1"]]}}
    - expect: {stream_error: PROTOCOL_ERROR}
"""


def _errors(code: int | None) -> Callable[[H2Script, Scripted, fr.Frame], None]:
    def on_frame(server: H2Script, p: Scripted, frame: fr.Frame) -> None:
        if isinstance(frame, (fr.PingFrame, fr.HeadersFrame)):
            if code is None:
                p.transport.loseConnection()
            elif isinstance(frame, fr.HeadersFrame):
                p.transport.write(fr.encode(fr.RstStreamFrame(stream_id=frame.stream_id, error_code=code)))
            else:
                p.transport.write(fr.encode(fr.GoAwayFrame(error_code=code)))
                p.transport.loseConnection()
        else:
            H2Script.answer(server, p, frame)

    return on_frame


@pytest.mark.parametrize(
    ("code", "verdict"),
    [
        (fr.ErrorCode.PROTOCOL_ERROR, Verdict.PASS),
        (None, Verdict.NON_STRICT),
        # §5.4: a generic code can always stand in for a specific one (allowed, says less).
        (fr.ErrorCode.INTERNAL_ERROR, Verdict.NON_STRICT),
        (fr.ErrorCode.FLOW_CONTROL_ERROR, Verdict.FAIL),
    ],
)
def test_error_verifiers_grade_goaway_rst_and_close(
    reactor_thread: Any, tmp_path: Path, code: int | None, verdict: Verdict
) -> None:
    results = run_h2(reactor_thread, tmp_path, ERRORS, H2Script(on_frame=_errors(code)))
    assert results["conn"].verdict is verdict, results["conn"].observed
    assert results["stream"].verdict is verdict, results["stream"].observed


def test_a_16_mib_frame_is_streamed_whole(reactor_thread: Any, tmp_path: Path) -> None:
    server = H2Script()
    cases = """
    - id: big
      title: t
      requirement: MUST
      steps:
        - send: {headers: {stream: 1, flags: [END_HEADERS], method: POST}}
        - send: {frame: DATA, stream: 1, data: {repeat: "a", count: 16777215}}
        - send: {frame: PING, data: !hex "0102030405060708"}
        - expect: {ping_ack: {data: !hex "0102030405060708"}}
    """
    results = run_h2(reactor_thread, tmp_path, cases, server, timeout=10.0)
    assert results["big"].verdict is Verdict.PASS, results["big"].observed
    assert server.received == 16777215
    assert results["big"].truncated  # the transcript keeps a capped part


def test_the_servers_output_is_checked(reactor_thread: Any, tmp_path: Path) -> None:
    server = H2Script(response_fields=((b":status", b"200"), (b"X-Upper", b"1"), (b"connection", b"close")))
    cases = """
    - id: any
      title: t
      requirement: MUST
      steps:
        - send: {headers: {stream: 1}}
        - expect: {response: {stream: 1}}
    - id: strict
      title: t
      requirement: MUST
      steps:
        - send: {headers: {stream: 1}}
        - expect: {response: {stream: 1, violations: none}}
    """
    results = run_h2(reactor_thread, tmp_path, cases, server)
    assert results["any"].verdict is Verdict.PASS
    assert any("h2-uppercase-field-name" in note for note in results["any"].notes)
    assert any("h2-connection-specific-field" in note for note in results["any"].notes)
    assert results["strict"].verdict is Verdict.FAIL


def test_a_fill_past_the_largest_frame_is_unimplemented(reactor_thread: Any, tmp_path: Path) -> None:
    server = H2Script(settings=((fr.Setting.MAX_FRAME_SIZE, fr.MAX_FRAME_SIZE_LIMIT),))
    cases = """
    - id: over
      title: t
      requirement: MUST
      steps:
        - send: {frame: HEADERS, stream: 1, flags: [END_STREAM, END_HEADERS], fill: max_frame_size+1}
        - expect: {connection_error: FRAME_SIZE_ERROR}
    """
    result = run_h2(reactor_thread, tmp_path, cases, server)["over"]
    assert result.verdict is Verdict.UNIMPLEMENTED
    assert "16777215" in result.observed


UPGRADE = """
- id: upgrade
  title: t
  requirement: MAY
  steps:
    - connect: h2c-upgrade
    - expect: {response: {stream: 1, status: 200}}
"""


def _upgrade(reply: bytes | None) -> Callable[[Scripted, bytes], None]:
    h2 = H2Script()

    def on_data(p: Scripted, data: bytes) -> None:
        if p.__dict__.get("upgraded"):
            h2(p, data)
            return
        seen = b"".join(p.reads)
        if b"\r\n\r\n" not in seen:
            return
        p.__dict__["upgraded"] = True
        assert b"Upgrade: h2c" in seen and b"HTTP2-Settings: " in seen
        if reply is None:
            p.transport.loseConnection()
            return
        p.transport.write(reply)
        if reply.startswith(b"HTTP/1.1 101"):
            block = hp.encode_fields([(b":status", b"200")])
            p.transport.write(
                fr.encode(fr.SettingsFrame())
                + fr.encode(
                    fr.HeadersFrame(stream_id=1, block=block, flags=fr.Flag.END_HEADERS | fr.Flag.END_STREAM)
                )
            )
            p.h2 = {"buffer": b"", "opened": False, "decoder": fr.FrameDecoder()}
            rest = seen[seen.index(b"\r\n\r\n") + 4 :]
            if rest:
                h2(p, rest)

    return on_data


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        (b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n", Verdict.PASS),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", Verdict.UNIMPLEMENTED),
        (None, Verdict.UNIMPLEMENTED),
    ],
)
def test_the_h2c_upgrade(reactor_thread: Any, tmp_path: Path, reply: bytes | None, verdict: Verdict) -> None:
    result = run_h2(reactor_thread, tmp_path, UPGRADE, _upgrade(reply))["upgrade"]
    assert result.verdict is verdict, result.observed


def test_a_tls_target_whose_alpn_does_not_select_h2_is_unimplemented(
    reactor_thread: Any, tmp_path: Path
) -> None:
    import sys

    import trustme
    from OpenSSL import crypto
    from twisted.internet import ssl

    from conformance.driver.endpoints import TLSSettings

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "faulty"))
    import h1_server

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    key = crypto.load_privatekey(crypto.FILETYPE_PEM, cert.private_key_pem.bytes())
    chain = [crypto.load_certificate(crypto.FILETYPE_PEM, blob.bytes()) for blob in cert.cert_chain_pems]
    options = ssl.CertificateOptions(privateKey=key, certificate=chain[0], acceptableProtocols=[b"http/1.1"])

    def listen() -> Any:
        factory = h1_server.factory(reactor_thread.reactor)
        return reactor_thread.reactor.listenSSL(0, factory, options, interface="127.0.0.1")

    port = reactor_thread.call(listen)
    path = tmp_path / "cases.yaml"
    path.write_text(
        "protocol: h2\nrfc: 9113\nsection: '3.2'\ncases:\n" + textwrap.indent(textwrap.dedent(BASIC), "  ")
    )
    try:
        target = Target.parse(f"https://127.0.0.1:{port.getHost().port}/")
        results = reactor_thread.run(
            load_cases([path]), [target], RunOptions(timeout=1.5, tls=TLSSettings(insecure=True))
        )
    finally:
        reactor_thread.call(port.stopListening)
    for result in results.targets[0].cases:
        assert result.verdict is Verdict.UNIMPLEMENTED, result.observed
        assert "does not offer HTTP/2 over TLS" in result.observed


def test_content_length_and_table_size_updates_are_checked(reactor_thread: Any, tmp_path: Path) -> None:
    server = H2Script(response_fields=((b":status", b"200"), (b"content-length", b"5")))  # DATA is "ok"
    cases = """
    - id: length
      title: t
      requirement: MUST
      steps:
        - send: {headers: {stream: 1}}
        - expect: {response: {stream: 1, violations: none}}
    - id: head
      title: t
      requirement: MUST
      steps:
        - send: {headers: {stream: 1, method: HEAD}}
        - expect: {response: {stream: 1}}
        - expect: {no_violation: h2-content-in-no-content-response}
    - id: table
      title: t
      requirement: MUST
      steps:
        - connect: {mode: h2, settings: {HEADER_TABLE_SIZE: 0}}
        - expect: {settings_ack: true}
        - send: {headers: {stream: 1}}
        - expect: {response: {stream: 1}}
        - expect: {no_violation: hpack-missing-size-update}
    """
    results = run_h2(reactor_thread, tmp_path, cases, server)
    assert results["length"].verdict is Verdict.FAIL
    assert "h2-content-length-mismatch" in results["length"].observed
    assert results["head"].verdict is Verdict.FAIL  # "ok" is content, which a HEAD response has none of
    assert results["table"].verdict is Verdict.FAIL
    assert "RFC 7541 §4.2" in results["table"].observed


def test_a_missing_feature_ends_the_case_unimplemented(reactor_thread: Any, tmp_path: Path) -> None:
    cases = """
    - id: extended-connect
      title: t
      requirement: MUST
      steps:
        - expect: {requires_setting: {ENABLE_CONNECT_PROTOCOL: 1}}
        - send: {frame: PING, data: !hex "0102030405060708"}
        - expect: {goaway: {error: PROTOCOL_ERROR}}
    - id: offered
      title: t
      requirement: MUST
      steps:
        - expect: {requires_setting: {ENABLE_CONNECT_PROTOCOL: 0}}
        - send: {frame: PING, data: !hex "0102030405060708"}
        - expect: {goaway: {error: PROTOCOL_ERROR}}
    """
    results = run_h2(reactor_thread, tmp_path, cases, H2Script())
    assert results["extended-connect"].verdict is Verdict.UNIMPLEMENTED  # later steps not run
    assert results["offered"].verdict is Verdict.FAIL  # the feature check passed: the rest ran


def _answers(status: bytes, reset: bool) -> Callable[[H2Script, Scripted, fr.Frame], None]:
    def on_frame(server: H2Script, p: Scripted, frame: fr.Frame) -> None:
        if isinstance(frame, fr.HeadersFrame):
            block = hp.encode_fields([(b":status", status)])
            data = fr.encode(
                fr.HeadersFrame(stream_id=frame.stream_id, block=block, flags=fr.Flag.END_HEADERS)
            )
            data += fr.encode(fr.DataFrame(stream_id=frame.stream_id, data=b"no", flags=fr.Flag.END_STREAM))
            if reset:
                data += fr.encode(
                    fr.RstStreamFrame(stream_id=frame.stream_id, error_code=fr.ErrorCode.PROTOCOL_ERROR)
                )
            p.transport.write(data)
        else:
            H2Script.answer(server, p, frame)

    return on_frame


@pytest.mark.parametrize(
    ("status", "reset", "verdict"),
    [(b"400", True, Verdict.PASS), (b"400", False, Verdict.NON_STRICT), (b"200", False, Verdict.FAIL)],
)
def test_the_malformed_verifier(
    reactor_thread: Any, tmp_path: Path, status: bytes, reset: bool, verdict: Verdict
) -> None:
    cases = """
    - id: upper
      title: t
      requirement: MUST
      steps:
        - send: {headers: {stream: 1, add: [[X-UPPER, "1"]]}}
        - expect: {malformed: true}
    """
    result = run_h2(reactor_thread, tmp_path, cases, H2Script(on_frame=_answers(status, reset)))["upper"]
    assert result.verdict is verdict, result.observed


def test_a_server_that_stops_reading_does_not_hang_a_streamed_send(
    reactor_thread: Any, tmp_path: Path
) -> None:
    server = H2Script()

    def on_data(p: Scripted, data: bytes) -> None:
        server(p, data)
        if p.__dict__.get("h2", {}).get("opened"):
            p.transport.pauseProducing()  # read nothing more: our send buffer fills up

    cases = """
    - id: stalled
      title: t
      requirement: MUST
      steps:
        - send: {headers: {stream: 1, flags: [END_HEADERS], method: POST}}
        - send: {frame: DATA, stream: 1, data: {repeat: "a", count: 16777215}}
        - expect: {ping_ack: true}
    """
    result = run_h2(reactor_thread, tmp_path, cases, on_data)["stalled"]
    assert result.verdict is Verdict.FAIL
    assert any("sending stopped" in (entry.text or "") for entry in result.transcript)
    assert result.duration_s < 5


BODY = """
- id: body
  title: t
  requirement: MUST
  steps:
    - send: {headers: {stream: 1, flags: [END_HEADERS], method: POST}}
    - send: {body: {stream: 1, data: {repeat: "a", count: 100000}}}
    - expect: {ping_ack: true}
"""


def _granting(window_updates: bool) -> Callable[[H2Script, Scripted, fr.Frame], None]:
    """A server that gives window back only when a window is spent exactly (so a sender
    that overruns one is caught), and answers a PING once the body is complete."""

    def on_frame(server: H2Script, p: Scripted, frame: fr.Frame) -> None:
        H2Script.answer(server, p, frame)
        state = p.__dict__.setdefault("windows", {"connection": fr.DEFAULT_WINDOW, "stream": 1000})
        if isinstance(frame, fr.DataFrame):
            size = len(frame.data) + frame.truncated
            state["connection"] -= size
            state["stream"] -= size
            if min(state.values()) < 0:
                p.transport.write(fr.encode(fr.GoAwayFrame(error_code=fr.ErrorCode.FLOW_CONTROL_ERROR)))
                return
            if window_updates and state["stream"] == 0:
                state["stream"] = 1000
                p.transport.write(fr.encode(fr.WindowUpdateFrame(stream_id=1, increment=1000)))
            if window_updates and state["connection"] == 0:
                state["connection"] = fr.DEFAULT_WINDOW
                p.transport.write(fr.encode(fr.WindowUpdateFrame(stream_id=0, increment=fr.DEFAULT_WINDOW)))
            if frame.flags & fr.Flag.END_STREAM:
                p.transport.write(fr.encode(fr.PingFrame(opaque=bytes(8), flags=fr.Flag.ACK)))

    return on_frame


def test_a_body_waits_for_the_servers_window_updates(reactor_thread: Any, tmp_path: Path) -> None:
    server = H2Script(settings=((fr.Setting.INITIAL_WINDOW_SIZE, 1000),), on_frame=_granting(True))
    result = run_h2(reactor_thread, tmp_path, BODY, server)["body"]
    assert result.verdict is Verdict.PASS, result.observed
    assert server.received == 100000


def test_a_body_stops_when_no_window_comes(reactor_thread: Any, tmp_path: Path) -> None:
    server = H2Script(settings=((fr.Setting.INITIAL_WINDOW_SIZE, 1000),), on_frame=_granting(False))
    result = run_h2(reactor_thread, tmp_path, BODY, server)["body"]
    assert result.verdict is Verdict.FAIL
    assert server.received == 1000  # never beyond the window
    assert any("sending stopped" in (entry.text or "") for entry in result.transcript)


def test_an_h2c_upgrade_to_a_tls_target_is_skipped_without_connecting(
    reactor_thread: Any, tmp_path: Path
) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(
        "protocol: h2\nrfc: 9113\nsection: '3.2'\ncases:\n  - id: up\n    title: t\n    requirement: MAY\n"
        "    steps:\n      - connect: h2c-upgrade\n      - expect: {response: {stream: 1}}\n"
    )
    # Nothing listens on the port: a connection attempt would be an ERROR.
    target = Target.parse("https://127.0.0.1:9/")
    results = reactor_thread.run(load_cases([path]), [target], RunOptions(timeout=1.5))
    (result,) = results.targets[0].cases
    # RFC 9113 §3.2: the upgrade is for cleartext; over TLS the case is not tried at all.
    assert result.verdict is Verdict.SKIPPED, result.observed
    assert "TLS" in result.observed and "§3.2" in result.observed
    assert results.targets[0].reachable
