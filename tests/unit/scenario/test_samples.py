"""Generated sample data: deterministic, of the right length and character, windowed."""

from __future__ import annotations

import json
import zlib

import pytest

from conformance.scenario import samples
from conformance.scenario.payloads import Sample
from conformance.scenario.templates import TargetContext

CTX = TargetContext(host="h", port=1, authority="h:1", path="/", scheme="ws")


@pytest.mark.parametrize("kind", samples.KINDS)
def test_each_corpus_has_its_length_and_is_the_same_every_time(kind: str) -> None:
    data = samples.corpus(kind)
    assert len(data) == samples.CORPUS_LENGTHS[kind]
    samples.corpus.cache_clear()
    assert samples.corpus(kind) == data
    assert samples.corpus(kind, seed=1) != data


def test_the_kinds_have_their_character() -> None:
    ratio = {k: len(zlib.compress(samples.corpus(k))) / len(samples.corpus(k)) for k in samples.KINDS}
    assert ratio["json"] < 0.4 and ratio["markup"] < 0.4 and ratio["prose"] < 0.5
    assert ratio["document"] > 0.9  # mostly incompressible streams, like a PDF's
    assert samples.corpus("bitmap").startswith(b"BM")
    assert samples.corpus("document").startswith(b"%PDF-")
    prose = samples.corpus("prose").decode("utf-8")
    assert any(ch in prose for ch in "äöüß")
    records = samples.corpus("json").decode("ascii")
    first = records[1 : records.index("\n") - 1]  # the first record, without "[" and ",\n"
    assert json.loads(first)["id"] == 1


@pytest.mark.parametrize("kind", sorted(samples.TEXT_KINDS))
@pytest.mark.parametrize("size", [1, 7, 16, 131072])
def test_every_window_of_a_text_kind_is_valid_utf8(kind: str, size: int) -> None:
    for index in range(0, 40):
        samples.window(kind, size, index=index).decode("utf-8")


def test_windows_follow_one_another_and_wrap_round() -> None:
    data = samples.corpus("json")
    assert samples.window("json", 16, index=0) == data[:16]
    assert samples.window("json", 16, index=1) == data[16:32]
    length = len(data)
    last = length // 1000
    wrapped = samples.window("json", 1000, index=last)
    assert wrapped == data[last * 1000 :] + data[: 1000 - (length - last * 1000)]
    assert len(samples.window("document", 3_000_000)) == 3_000_000  # larger than the corpus
    assert samples.window("json", 0) == b""


def test_a_sample_payload_takes_the_window_of_its_repetition() -> None:
    payload = Sample(kind="markup", size=64, seed=2)
    first = payload.render(CTX)
    second = payload.render(
        TargetContext(host="h", port=1, authority="h:1", path="/", scheme="ws", repetition=1)
    )
    assert first == samples.window("markup", 64, seed=2) and second == samples.window(
        "markup", 64, seed=2, index=1
    )
    assert first != second
    assert payload.describe() == "64 bytes of markup (seed 2)"


def test_bitmap_corpus_bytes_are_pinned() -> None:
    # The corpora are part of what cases send: rewriting a builder (for speed, say) must not
    # change a byte, or two runs of the same tool version would send different messages.
    import hashlib

    digest = hashlib.sha256(samples.corpus("bitmap")).hexdigest()
    assert digest == "335782bc3d90c212f9c66431cfe9dfb0e13034f24a9476e1e4e1ab6323011ffb"
