"""What an HTTP/2 input asks of a server (``conformance.fuzz.h2.due``) and how its oracles read
an exchange, without a network: the connection error of the first frame the RFC decides, the
PING's acknowledgement when every frame before it is handled alike in every state, nothing
when a frame's handling depends on what the server did, and no hang where the bytes leave the
server waiting for more."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from conformance.codecs.h2frames import encode_frame
from conformance.fuzz import h2
from conformance.fuzz.h2 import H2Exchange, H2Frame, H2Input
from conformance.scenario import bundled_cases_dir
from conformance.scenario.loader import load_cases

QUICK = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def due(*frames: H2Frame) -> h2.Due:
    return h2.due(H2Input(frames=frames).body())


@pytest.mark.parametrize(
    ("frame", "case"),
    [
        (H2Frame(0x0, 0, 0, b"x"), "h2/9113/6.1/data-on-stream-0"),
        (H2Frame(0x0, 0, 3, b"x"), "h2/9113/5.1/idle-data"),
        (H2Frame(0x1, 0x4, 0, b""), "h2/9113/6.2/headers-on-stream-0"),
        (H2Frame(0x1, 0x4, 2, b""), "h2/9113/5.1.1/even-stream-id"),
        (H2Frame(0x2, 0, 0, b"\0\0\0\0\x10"), "h2/9113/6.3/priority-on-stream-0"),
        (H2Frame(0x3, 0, 0, b"\0\0\0\x08"), "h2/9113/6.4/rst-stream-on-stream-0"),
        (H2Frame(0x3, 0, 1, b"\0\0\x08"), "h2/9113/6.4/rst-stream-wrong-length"),
        (H2Frame(0x3, 0, 5, b"\0\0\0\x08"), "h2/9113/5.1/idle-rst-stream"),
        (H2Frame(0x4, 0, 1, b""), "h2/9113/6.5/settings-on-stream"),
        (H2Frame(0x4, 0x1, 0, b"\0\x03\0\0\0\x01"), "h2/9113/6.5/ack-with-payload"),
        (H2Frame(0x4, 0, 0, b"\0\x03\0"), "h2/9113/6.5/length-not-multiple-of-6"),
        (H2Frame(0x4, 0, 0, b"\0\x02\0\0\0\x02"), "h2/9113/6.5.2/enable-push-2"),
        (H2Frame(0x4, 0, 0, b"\0\x04\x80\0\0\0"), "h2/9113/6.5.2/initial-window-size-over-max"),
        (H2Frame(0x4, 0, 0, b"\0\x05\0\0\0\x01"), "h2/9113/6.5.2/max-frame-size-too-small"),
        (H2Frame(0x5, 0x4, 1, b"\0\0\0\x02"), "h2/9113/8.4/push-promise-from-client"),
        (H2Frame(0x6, 0, 1, b"12345678"), "h2/9113/6.7/ping-on-stream"),
        (H2Frame(0x6, 0, 0, b"1234"), "h2/9113/6.7/ping-wrong-length"),
        (H2Frame(0x7, 0, 1, b"\0\0\0\0\0\0\0\0"), "h2/9113/6.8/goaway-on-stream"),
        (H2Frame(0x8, 0, 0, b"\0\0\x01"), "h2/9113/6.9/wrong-length"),
        (H2Frame(0x8, 0, 0, b"\0\0\0\0"), "h2/9113/6.9/zero-increment-on-connection"),
        (H2Frame(0x8, 0, 3, b"\0\0\0\x01"), "h2/9113/5.1/idle-window-update"),
        (H2Frame(0x9, 0x4, 0, b""), "h2/9113/6.10/continuation-on-stream-0"),
        (H2Frame(0x9, 0x4, 1, b""), "h2/9113/6.10/after-end-headers"),
    ],
)
def test_a_frame_the_rfc_makes_a_connection_error_is_due_as_one(frame: H2Frame, case: str) -> None:
    wanted = due(frame)
    assert (wanted.kind, wanted.case, wanted.complete) == ("error", case, True)


def test_each_rule_is_a_bundled_case_at_must_with_the_server_as_recipient() -> None:
    cases = {c.id: c for c in load_cases([bundled_cases_dir() / "h2"])}
    probes = [
        H2Frame(t, f, s, p)
        for t in h2.FRAME_TYPES
        for f in (0, 1, 4)
        for s in h2.STREAMS
        for p in (b"", b"\0" * 4, b"\0" * 5, b"\0" * 8)
    ]
    used = {w.case for w in map(due, probes) if w.kind} | {h2.PING_ANSWERED}
    assert used <= cases.keys()
    assert {cases[c].requirement.value for c in used} == {"MUST"}


@pytest.mark.parametrize(
    "frames",
    [
        (),
        (H2Frame(0xFA, 0xFF, 0, b"ext"),),  # unknown type: ignored (§5.5)
        (H2Frame(0x6, 0x1, 0, b"12345678"),),  # a PING acknowledgement: ignored
        (H2Frame(0x4, 0x1, 0, b""),),  # SETTINGS ACK
        (H2Frame(0x8, 0x80, 1, b"\x80\0\0\x01"),),  # reserved bit and flags ignored
        (H2Frame(0x2, 0, 3, b"\0\0\0\x01\x10"),),  # PRIORITY on an idle stream is allowed
        (H2Frame(0x3, 0, 1, b"\0\0\0\x08"),),  # RST_STREAM of our request
    ],
)
def test_frames_handled_alike_in_every_state_leave_the_acknowledgement_due(
    frames: tuple[H2Frame, ...],
) -> None:
    wanted = due(*frames)
    assert (wanted.kind, wanted.case, wanted.complete) == ("ack", h2.PING_ANSWERED, True)


@pytest.mark.parametrize(
    "frames",
    [
        (H2Frame(0x0, 0x1, 1, b"x"),),  # DATA on our half-closed stream: stream or connection error
        (H2Frame(0x1, 0x4, 3, b"\x82"),),  # HEADERS opening a stream
        (H2Frame(0x7, 0, 0, b"\0" * 8),),  # GOAWAY: the server may close
        (H2Frame(0x2, 0, 3, b"\0\0\0\x03\x10"),),  # PRIORITY on itself: a stream error
        (H2Frame(0x8, 0, 0, b"\x7f\xff\xff\xff"),),  # a window that may pass 2^31-1: timing
        (H2Frame(0x6, 0, 0, h2.PROBE),),  # a PING like the probe: two acknowledgements alike
        (H2Frame(0x3, 0, 1, b"\0\0\0\x08"), H2Frame(0x3, 0, 1, b"\0\0\0\x08")),  # reset twice
    ],
)
def test_frames_whose_handling_depends_on_the_server_decide_nothing(frames: tuple[H2Frame, ...]) -> None:
    assert due(*frames).kind == ""


def test_no_hang_is_judged_while_the_server_may_wait_for_more_bytes() -> None:
    # A declared length over the payload swallows the probe's first bytes; a PUSH_PROMISE
    # without END_HEADERS opens a header block the server may wait to see the end of.
    for frame in (H2Frame(0x5, 0, 1, b"\0\0\0\x02", 1), H2Frame(0x5, 0, 1, b"\0\0\0\x02")):
        wanted = due(frame)
        assert (wanted.kind, wanted.complete) == ("error", False)
        silent = H2Exchange(connected=True, timed_out=True)
        assert h2.signatures("s", silent, wanted, b"", drawn=(frame,)) == []


def test_the_oracles_read_the_order_of_the_acknowledgement_and_the_goaway() -> None:
    error = due(H2Frame(0x0, 0, 0, b"x"))
    ack = encode_frame(0x6, h2.PROBE, flags=0x1)
    goaway = encode_frame(0x7, b"\0\0\0\0\0\0\0\x01")

    def signatures(data: bytes, *, closed: bool = False) -> list[str]:
        result = H2Exchange(connected=True, data=data, closed=closed, timed_out=not closed)
        return [str(s[0]) for s in h2.signatures("s", result, error, b"", drawn=())]

    assert signatures(ack) == ["rule"]  # went on past the error
    assert signatures(goaway + ack) == []  # the error first
    assert signatures(b"", closed=True) == []  # a close is never a finding
    assert signatures(b"") == ["hang"]  # nothing due came


@QUICK
@given(h2.h2_inputs())
def test_every_input_is_read_to_a_due_without_error(item: H2Input) -> None:
    wanted = h2.due(item.body())
    assert wanted.kind in ("", "error", "ack")
    if all(frame.length_delta == 0 for frame in item.frames) and wanted.kind == "":
        assert wanted.frame  # something stopped the reading: it says what


def test_the_suite_seeds_are_the_frames_its_cases_send_moved_off_the_request_stream() -> None:
    seeds = h2.suite_seeds()
    assert len(seeds) > 100  # most h2 cases send bytes that need nothing of the target
    assert seeds == tuple(
        sorted(seeds, key=lambda seq: (len(seq), sum(len(f.payload) for f in seq), repr(seq)))
    )
    kinds = {frame.type for seed in seeds for frame in seed}
    assert {0x0, 0x1, 0x2, 0x3, 0x4, 0x6, 0x7, 0x8, 0x9} <= kinds
    for seed in seeds:
        assert 1 <= len(seed) <= 8
        assert all(frame.stream != 1 for frame in seed)  # the input's own request keeps stream 1
        body = H2Input(seed=seed).body()
        frames, end = h2.parse_frames(body)
        assert end == len(body) and len(frames) == len(seed) + 2  # the request, the seed, the PING
    # The case that sends CONTINUATION on stream 0 is one of them, its stream left at 0.
    continuation = [s for s in seeds if any(f.type == 0x9 and f.stream == 0 for f in s)]
    assert continuation


def test_a_field_block_is_drawn_as_hpack_representations() -> None:
    indexed = h2._representation(bytes([1, 2, 0, 0, 0, 1]))  # kind 1: indexed, index 2
    assert hp_bytes(indexed) == b"\x82"
    update = h2._representation(bytes([0, 2, 0, 0, 0, 1]))  # kind 0: a table size update
    assert hp_bytes(update) == b"\x3f\x61"  # 128, RFC 7541 §6.3
    literal = h2._representation(bytes([3, 0, 5, 0, 0, 1]))  # a new name, without indexing, no Huffman
    assert hp_bytes(literal) == b"\x00\x0aconnection\x01/"
    lying = h2._representation(bytes([3, 0, 5, 0, 0, 0]))  # the value's length one short
    assert hp_bytes(lying) == b"\x00\x0aconnection\x00/"
    empty = h2._representation(bytes([3, 0, 5, 6, 0, 0]))  # an empty value cannot be one short
    assert hp_bytes(empty) == b"\x00\x0aconnection\x00"
    for record in range(256):  # every kind, index, indexing and Huffman form encodes
        hp_bytes(
            h2._representation(bytes([record % 5, record, record % 10, record % 10, record, record % 16]))
        )
    never = h2._representation(bytes([2, 4, 0, 0, 2 + 3, 1]))  # name index 4, never indexed, Huffman
    assert hp_bytes(never)[:1] == b"\x14" and hp_bytes(never)[1] & 0x80  # §6.2.3, H bit


def hp_bytes(representation: object) -> bytes:
    from conformance.codecs import h2hpack as hp

    return hp.encode_block([representation])  # type: ignore[list-item]


@QUICK
@given(h2.h2_inputs(seeds=h2.suite_seeds()))
def test_every_seeded_input_encodes_and_is_read_to_a_due(item: H2Input) -> None:
    body = item.body()
    assert body.endswith(h2.PROBE_FRAME)
    if all(frame.length_delta == 0 for frame in item.frames):
        frames, end = h2.parse_frames(body)
        assert end == len(body) and len(frames) == 2 + len(item.seed) + len(item.frames)
    assert h2.due(body).kind in ("", "error", "ack")
    assert ("suite-seed" in item.kinds()) == bool(item.seed)


def test_the_violations_a_settings_of_ours_may_time_are_codes_the_reader_gives() -> None:
    """A name that is no code would leave the violation it meant counted as a finding."""
    from pathlib import Path

    import conformance

    source = "".join(
        path.read_text(encoding="utf-8") for path in Path(conformance.__file__).parent.rglob("*.py")
    )
    for code in h2.TIMED_BY_SETTINGS:
        assert source.count(f'"{code}"') >= 2, code  # defined where the reader gives it, and here
