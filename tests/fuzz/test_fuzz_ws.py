"""``conformance fuzz --suite ws`` finds planted WebSocket bugs, shrinks them, and writes cases
that replay: FAIL (or ERROR, for a crash) on the bugged server, PASS on the reference target.

tests/fuzz/planted_ws_server.py has one bug per ``--bug``: ``utf8`` echoes invalid UTF-8 text
instead of failing the connection (RFC 6455 §8.1, MUST), ``hang`` stops answering at a
fragmented ping (RFC 6455 §10.7, SHOULD), ``crash`` ends the process at a pong inside a
fragmented message (no RFC sentence forbids a server to stop: INFO, its replay ends in ERROR
at the second connection); ``last-fragment`` echoes a fragmented message as its last fragment
(a differential against its correct twin: INFO); ``lax-after-pong`` takes unmasked frames,
reserved bits and opcodes once it has answered a ping (RFC 6455 §5.1, §5.2, MUST: a rule
broken after earlier answers). The seeds are ones whose inputs reach each bug early (checked
offline, the inputs of a seed being always the same); the budget only covers the machine.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.fuzz import ws
from conformance.servers import ManagedServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from reference_process import ReferenceServer, start_reference  # noqa: E402
from test_fuzz_planted import conformance  # noqa: E402

SERVER = Path(__file__).with_name("planted_ws_server.py")

#: bug -> (seed, the finding's kinds, its level, the minimal frames (or how many at most),
#: replay on the bugged server)
PLANTED = {
    "utf8": (1, {"rule", "invalid"}, "MUST", None, "FAIL"),
    "hang": (
        0,
        {"hang"},
        "SHOULD",
        '{ws_frame: {opcode: ping, payload: "", fin: false, mask: "00000000"}}',
        "FAIL",
    ),
    "crash": (
        8,
        {"crash"},
        "INFO",
        '{ws_frame: {opcode: text, payload: "", fin: false, mask: "00000000"}}, '
        '{ws_frame: {opcode: pong, payload: "", mask: "00000000"}}',
        "ERROR",
    ),
    # A rule broken after earlier answers: a ping answered, then a frame that must fail the
    # connection taken. The frames before the ping may stay (a continuation needs its start).
    "lax-after-pong": (0, {"rule"}, "MUST", 4, "FAIL"),
}


def _server(bug: str) -> str:
    return f"{sys.executable} {SERVER} --port {{port}} --bug {bug}"


def _replay(
    cases: Path, bug: str, reference: ReferenceServer, report: Path
) -> tuple[dict[str, list[str]], str]:
    """``conformance run`` of the findings against the bugged server and the reference
    target: each target's verdicts, and what the run printed."""
    bugged = ManagedServer(name="bugged", command=_server(bug))
    try:
        bugged.start()
        replay = conformance(
            "run", "--cases", str(cases), "--no-progress", "-o", str(report),
            f"bugged=ws://127.0.0.1:{bugged.port}/", f"reference={reference.urls['ws']}",
        )  # fmt: skip
    finally:
        bugged.stop()
    results = json.loads((report / "results.json").read_text())
    verdicts = {t["name"]: [case["verdict"] for case in t["cases"]] for t in results["targets"]}
    return verdicts, replay.stdout


@pytest.fixture(scope="module")
def reference() -> Iterator[ReferenceServer]:
    server = start_reference()
    yield server
    server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_fuzz_ws_finds_shrinks_and_replays_a_planted_bug(
    bug: str, tmp_path: Path, reference: ReferenceServer
) -> None:
    seed, kinds, level, frames, on_bugged = PLANTED[bug]
    out = tmp_path / "fuzz"
    fuzz = conformance(
        "fuzz", "--suite", "ws", "--budget", "5", "--seed", str(seed), "--timeout", "0.5", "--shrink-time", "6",
        "--max-findings", "1", "--no-progress", "-o", str(out), "--server", f"bugged={_server(bug)}",
    )  # fmt: skip
    assert fuzz.returncode == 1, fuzz.stdout + fuzz.stderr
    findings = sorted((out / "findings").glob("*.yaml"))
    assert findings, fuzz.stdout
    # Only the planted bug: another oracle's finding would be a false one.
    assert {path.stem.split("-", 1)[1] for path in findings} <= kinds, fuzz.stdout
    assert not (out / "flaky").exists()
    first = findings[0].read_text()
    assert f"requirement: {level}" in first
    assert "protocol: ws" in first and "      quote: " in first
    if isinstance(frames, str):
        # Shrunk to the minimal deviation: only the frames that matter, nothing else on them.
        assert f"- send: {{concat: [{frames}]}}" in first, first
    else:
        send = next(line for line in first.splitlines() if line.startswith("      - send:"))
        assert send.count("ws_frame") <= (frames or 2), first
    assert "(oracle: " in first and findings[0].name in (out / "index.html").read_text()

    validate = conformance("validate", str(out / "findings"))
    assert validate.returncode == 0, validate.stdout + validate.stderr

    verdicts, replay = _replay(out / "findings", bug, reference, tmp_path / "run")
    on_reference = "INFORMATIONAL" if level == "INFO" else "PASS"
    assert set(verdicts["bugged"]) == {on_bugged}, replay
    assert set(verdicts["reference"]) == {on_reference}, replay


@pytest.mark.slow
def test_fuzz_ws_differential_is_informational(tmp_path: Path, reference: ReferenceServer) -> None:
    """Two targets echo different messages for the same frames; no RFC sentence says what an
    echo endpoint echoes, so the case is INFO, with each reading as an accepted outcome."""
    out = tmp_path / "fuzz"
    fuzz = conformance(
        "fuzz", "--suite", "ws", "--budget", "6", "--seed", "1", "--timeout", "0.5", "--shrink-time", "4",
        "--no-progress", "-o", str(out),
        "--server", f"bugged={_server('last-fragment')}", "--server", f"twin={_server('none')}",
    )  # fmt: skip
    assert fuzz.returncode == 1, fuzz.stdout + fuzz.stderr
    findings = sorted((out / "findings").glob("*.yaml"))
    assert [path.name for path in findings] == ["001-differential.yaml"], fuzz.stdout
    text = findings[0].read_text()
    assert "requirement: INFO" in text and "exception: " in text
    assert (
        '- send: {concat: [{ws_frame: {opcode: text, payload: {hex: "66"}, fin: false, mask: "00000000"}}, '
        '{ws_frame: {opcode: continuation, payload: "", mask: "00000000"}}]}'
    ) in text, text
    assert conformance("validate", str(out / "findings")).returncode == 0
    verdicts, replay = _replay(out / "findings", "last-fragment", reference, tmp_path / "run")
    assert verdicts == {"bugged": ["INFORMATIONAL"], "reference": ["INFORMATIONAL"]}, replay


@pytest.mark.slow
def test_fuzz_ws_is_deterministic_by_seed(tmp_path: Path) -> None:
    texts = []
    for run in ("a", "b"):
        out = tmp_path / run
        fuzz = conformance(
            "fuzz", "--suite", "ws", "--budget", "5", "--seed", "0", "--timeout", "0.5", "--shrink-time", "3",
            "--no-progress", "-o", str(out), "--server", f"bugged={_server('hang')}",
        )  # fmt: skip
        assert fuzz.returncode == 1, fuzz.stdout + fuzz.stderr
        texts.append((out / "findings" / "001-hang.yaml").read_text().split("protocol: ws", 1)[1])
    assert texts[0] == texts[1]


def test_a_zero_record_changes_nothing_and_the_empty_seed_comes_first() -> None:
    payloads = ws.suite_payloads()
    assert payloads.seeds[0] == ()
    assert ws.decode_edit(payloads, bytes(12), b"") == ws.Edit(index=0)
    frame = ws.decode_frame(payloads, bytes(8), b"")
    assert frame.opcode == 0x1 and frame.fin and frame.deviations() == []
    # The suite's own sequences are there: a ping inside a fragmented text message (RFC 6455 §5.4).
    assert any([f.opcode for f in seed] == [0x1, 0x9, 0x0] for seed in payloads.seeds)


@pytest.mark.parametrize(
    ("frames", "kind", "key"),
    [
        ([ws.WsFrame(opcode=0x1, payload=b"\xff")], "fail", "ws-invalid-utf8"),
        ([ws.WsFrame(opcode=0x1, payload=b"a", mask_key=None)], "fail", "ws-client-unmasked"),
        ([ws.WsFrame(opcode=0x1, payload=b"a", rsv=1)], "fail", "ws-rsv-set"),
        ([ws.WsFrame(opcode=0x3, payload=b"")], "fail", "ws-reserved-opcode"),
        ([ws.WsFrame(opcode=0x9, payload=b"", fin=False)], "fail", "ws-control-fragmented"),
        ([ws.WsFrame(opcode=0x9, payload=b"\xfe" * 126)], "fail", "ws-control-too-long"),
        (
            [ws.WsFrame(opcode=0x1, payload=b"a", fin=False), ws.WsFrame(opcode=0x9, payload=b"p")],
            "pong",
            "pong",
        ),
        ([ws.WsFrame(opcode=0x8, payload=b"\x03\xe8")], "close", "close"),
        ([ws.WsFrame(opcode=0x2, payload=b"\xff")], "echo", "echo"),
        # A sender rule only (RFC 6455 §5.2): the server may fail or go on, nothing is decided.
        ([ws.WsFrame(opcode=0x1, payload=b"a", encoding=64)], "", ""),
        # No rule above 4999 (RFC 6455 §7.4.2).
        ([ws.WsFrame(opcode=0x8, payload=b"\x13\x88")], "", ""),
        # A frame that has not all come: a server waits, as it may.
        ([ws.WsFrame(opcode=0x9, payload=b"p", length_delta=100)], "", ""),
        # A frame that fails the connection after one that asks for an answer: the failure is
        # due, the pong before it (see below).
        (
            [ws.WsFrame(opcode=0x9, payload=b"p"), ws.WsFrame(opcode=0x3, payload=b"")],
            "fail",
            "ws-reserved-opcode",
        ),
        # After a close, nothing more is decided: the first answer stands.
        (
            [
                ws.WsFrame(opcode=0x9, payload=b"p"),
                ws.WsFrame(opcode=0x8, payload=b""),
                ws.WsFrame(opcode=0x3, payload=b""),
            ],
            "pong",
            "pong",
        ),
    ],
)
def test_demand_reads_what_the_frames_ask_of_a_server(frames: list[ws.WsFrame], kind: str, key: str) -> None:
    wanted = ws.demand(b"".join(frame.encode() for frame in frames))
    assert (wanted.kind, wanted.key) == (kind, key)


def test_a_failure_after_answers_keeps_them_in_order() -> None:
    frames = [ws.WsFrame(opcode=0x9, payload=b"p"), ws.WsFrame(opcode=0x2, payload=b"m")]
    frames.append(ws.WsFrame(opcode=0x1, payload=b"x", mask_key=None))
    wanted = ws.demand(b"".join(frame.encode() for frame in frames))
    assert (wanted.kind, wanted.key) == ("fail", "ws-client-unmasked")
    assert [(a.kind, a.payload) for a in wanted.before] == [("pong", b"p"), ("echo", b"m")]


def test_output_codes_judge_the_server_frames() -> None:
    def frames(*items: ws.WsFrame) -> ws.WsExchange:
        data = b"".join(item.encode() for item in items)
        from conformance.codecs.ws.frames import FrameDecoder

        decoded = FrameDecoder(from_server=True).feed(data)
        return ws.WsExchange(connected=True, upgraded=True, frames=tuple(decoded))  # type: ignore[arg-type]

    assert ws.output_codes(frames(ws.WsFrame(opcode=0x1, payload=b"ok", mask_key=None))) == ()
    assert ws.output_codes(frames(ws.WsFrame(opcode=0x1, payload=b"ok"))) == ("ws-server-masked",)
    assert ws.output_codes(frames(ws.WsFrame(opcode=0x1, payload=b"\xff", mask_key=None))) == (
        "ws-invalid-utf8",
    )
    after_close = frames(
        ws.WsFrame(opcode=0x8, payload=b"\x03\xe8", mask_key=None),
        ws.WsFrame(opcode=0x2, payload=b"", mask_key=None),
    )
    assert ws.output_codes(after_close) == ("ws-frame-after-close",)
    pong_after_close = frames(
        ws.WsFrame(opcode=0x8, payload=b"", mask_key=None), ws.WsFrame(opcode=0xA, payload=b"", mask_key=None)
    )
    assert ws.output_codes(pong_after_close) == ()  # §5.5.1 forbids further *data* frames only


def test_simpler_leaves_out_frames_and_deviations() -> None:
    item = ws.WsInput(
        seed=(ws.WsFrame(opcode=0x1, payload=b"a", fin=False), ws.WsFrame(opcode=0x0, payload=b"b")),
        edits=(ws.Edit(index=1, rsv=4),),
        splits=(3,),
    )
    candidates = list(ws.simpler(item))
    assert candidates[0].frames == item.frames[1:]
    assert candidates[1].frames == item.frames[:1]
    assert any(
        len(c.frames) == 2 and c.frames[1].rsv == 0 and c.frames[0] == item.frames[0] for c in candidates
    )
    assert candidates[-1].splits == ()
    assert all(not c.seed and not c.edits for c in candidates)


def test_a_differential_is_which_targets_agree_not_what_they_echoed() -> None:
    one, two = (("text", "a", "1", "66"),), (("text", "b", "0", ""),)
    first = ws.differential({"x": one, "y": two})
    # The same disagreement on a longer input is the same finding.
    assert first == ws.differential({"x": one * 3, "y": two * 3})
    assert first == ("differential", ((("x",), ()), (("y",), ())), False)
    # Alike, or only one target echoing anything: nothing to compare.
    assert ws.differential({"x": one, "y": one}) is None
    assert ws.differential({"x": one, "y": ()}) is None
