"""Properties of the fuzzer's inputs and of its search-then-shrink loop, without a network."""

from __future__ import annotations

import re

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.fuzz import model, strategies
from conformance.fuzz.engine import Bounds, Fuzzer, FuzzTarget, Observation
from conformance.fuzz.findings import payload_text, yaml_text
from conformance.fuzz.oracles import ReferenceReading, reference_reading

FILL = {"authority": b"127.0.0.1:8080", "path": b"/p", "echo_path": b"/echo"}
VOCABULARY = strategies.suite_vocabulary()
INPUTS = strategies.fuzz_inputs("path", VOCABULARY)
QUICK = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def _filled(text: str) -> bytes:
    """A send payload's text with its templates filled, as the scenario loader does."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        return FILL[match.group(1)].decode("latin-1")

    return re.sub(r"\{\{|\}\}|\{(authority|path|echo_path)\}", one, text).encode("latin-1")


@QUICK
@given(INPUTS)
def test_every_input_encodes_and_its_writes_are_its_bytes(item: model.FuzzInput) -> None:
    tokens = item.tokens()
    whole = model.render(tokens, FILL)
    writes = item.render(FILL)
    assert b"".join(writes) == whole
    assert all(writes), "no empty write"
    assert len(writes) == len(item.writes()) <= 1 + len(item.splits)
    assert whole.startswith(item.base.method) or any(m.kind == "request-line" for m in item.mutations)
    assert item.kinds() <= set(model.KIND_NAMES)


@QUICK
@given(INPUTS)
def test_every_write_survives_the_trip_through_a_case_file(item: model.FuzzInput) -> None:
    for piece, data in zip(item.writes(), item.render(FILL), strict=True):
        assert _filled(yaml.safe_load(payload_text(piece))) == data


@QUICK
@given(st.binary(max_size=64))
def test_yaml_text_is_one_character_per_byte(data: bytes) -> None:
    assert yaml.safe_load(yaml_text(data)).encode("latin-1") == data


@QUICK
@given(strategies.base_requests("echo_path", VOCABULARY))
def test_the_base_request_without_mutations_is_one_complete_valid_request(base: model.BaseRequest) -> None:
    data = model.FuzzInput(base=base).render(FILL)[0]
    reading = reference_reading(data)
    assert reading.complete, (data, reading.error)
    assert reading.reading is not None and len(reading.reading.items) == 1
    assert reading.reading.items[0][1] == base.method.decode()
    assert reading.reading.items[0][4] == base.body.decode("latin-1")[:64]


def test_mutations_address_anything_modulo_what_exists() -> None:
    base = model.BaseRequest(method=b"POST", body=b"hello", framing="chunked", chunk_sizes=(2,))
    mutations = (
        model.DropField(99),
        model.DropField(99),
        model.DropField(99),
        model.ChunkSize(7, 1, "upper"),
        model.LineEnding(1000, b"\n"),
        model.NameByte(5, 5, 0),
    )
    assert model.FuzzInput(base=base, mutations=mutations).render(FILL)  # no IndexError anywhere


def _fake(signature_of):  # type: ignore[no-untyped-def]
    """A Fuzzer whose targets are never contacted: ``signature_of(input)`` plays the oracles."""
    fuzzer = Fuzzer(
        [FuzzTarget("t", "http://127.0.0.1:9/")], seed=3, bounds=Bounds(budget=4.0, shrink_seconds=20)
    )
    seen: list[model.FuzzInput] = []

    def evaluate(item: model.FuzzInput) -> Observation:
        seen.append(item)
        signature = signature_of(item)
        return Observation(
            writes={"t": item.render(FILL)},
            exchanges={},
            crashed={},
            reference=ReferenceReading(False, None),
            readings={},
            signatures=[signature] if signature else [],
        )

    fuzzer.evaluate = evaluate  # type: ignore[method-assign]
    return fuzzer, seen


def test_inputs_that_pass_are_never_reported() -> None:
    fuzzer, seen = _fake(lambda item: None)
    assert fuzzer.run() == []
    assert len(seen) > 20


def _tilde_name(item: model.FuzzInput) -> tuple[str, str] | None:
    data = b"".join(item.render(FILL))
    if any(b"~" in name for name in re.findall(rb"\r\n([^\r\n:]*):", data)):
        return ("crash", "t")
    return None


def test_a_finding_is_shrunk_to_the_fewest_mutations_and_keeps_its_signature() -> None:
    fuzzer, seen = _fake(_tilde_name)
    findings = fuzzer.run()
    assert findings, f"nothing found in {len(seen)} inputs"
    finding = findings[0]
    assert finding.signature == ("crash", "t")
    assert _tilde_name(finding.input) == ("crash", "t")
    assert not finding.flaky
    # One mutation that brings a '~' into a name, nothing else, in one write.
    assert len(finding.input.mutations) == 1
    assert len(finding.input.writes()) == 1
    assert finding.input.base.fields == ()
    # Shrinking never reported an input without the signature: each finding's is unique.
    assert len({f.signature for f in findings}) == len(findings)


def test_the_same_seed_gives_the_same_inputs() -> None:
    first, seen_first = _fake(lambda item: None)
    second, seen_second = _fake(lambda item: None)
    first.bounds = second.bounds = Bounds(budget=1.5)
    first.run()
    second.run()
    count = min(len(seen_first), len(seen_second))
    assert count > 10
    assert seen_first[:count] == seen_second[:count]


def test_a_differential_needs_two_targets_that_accepted_a_request() -> None:
    from conformance.fuzz.oracles import Reading, differential

    hello = ("echo", "POST", "h", "5", "hello")
    empty = ("echo", "POST", "e", "0", "")
    # One refused what the other accepted: stricter, not a different reading.
    assert differential({"a": Reading((hello,)), "b": Reading((("refused",),))}) is None
    assert differential({"a": Reading((hello,)), "b": Reading((hello,))}) is None
    # A refusal after an accepted request is strictness too, not another reading.
    assert differential({"a": Reading((empty,)), "b": Reading((empty, ("refused",)))}) is None
    signature = differential(
        {"b": Reading((empty, ("refused",))), "a": Reading((hello,)), "c": Reading((hello,))}
    )
    assert signature == ("differential", ((("a", "c"), ("echo",)), (("b",), ("echo",))), False)
    two = differential({"a": Reading((hello,)), "b": Reading((empty, hello))}, True)
    assert two == ("differential", ((("a",), ("echo",)), (("b",), ("echo", "echo"))), True)


def test_a_reading_agrees_with_the_reference_or_refuses() -> None:
    from conformance.fuzz.oracles import Reading, agrees

    hello = ("echo", "POST", "h", "5", "hello")
    reference = Reading((hello,))
    assert agrees(Reading((hello,)), reference)
    assert agrees(Reading((("refused",),)), reference)
    assert agrees(Reading((hello, ("no-answer",))), reference)
    assert not agrees(Reading((("echo", "POST", "e", "0", ""), ("refused",))), reference)
    assert not agrees(Reading((hello, hello)), reference)  # a second request where there was one
