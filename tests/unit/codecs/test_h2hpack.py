"""HPACK for the harness: RFC 7541's examples, every representation, and invalid encodings
that a correct decoder (the ``hpack`` package) refuses."""

from __future__ import annotations

import hpack
import pytest

from conformance.codecs import h2hpack as hp


@pytest.mark.parametrize(
    ("value", "prefix", "encoded"),
    [(10, 5, "0a"), (1337, 5, "1f9a0a"), (42, 8, "2a"), (31, 5, "1f00")],  # RFC 7541 C.1
)
def test_integers_match_rfc_7541_appendix_c1(value: int, prefix: int, encoded: str) -> None:
    assert hp.encode_integer(value, prefix).hex() == encoded


def test_redundant_continuation_octets_decode_to_the_same_value() -> None:
    data = hp.encode_integer(1337, 5, extra_continuations=2)
    assert len(data) == len(hp.encode_integer(1337, 5)) + 2
    assert hpack.hpack.decode_integer(data, 5) == (1337, len(data))


def test_huffman_matches_rfc_7541_appendix_c4() -> None:
    assert hp.huffman(b"www.example.com").hex() == "f1e3c2e5f23a6ba0ab90f4ff"


def test_rfc_7541_c3_first_request_without_huffman() -> None:
    block = hp.encode_block(
        [
            hp.Indexed(index=2),
            hp.Indexed(index=6),
            hp.Indexed(index=4),
            hp.Literal(name_index=1, value=b"www.example.com", indexing="incremental", huffman=False),
        ]
    )
    assert block.hex() == "828684410f7777772e6578616d706c652e636f6d"


@pytest.mark.parametrize("indexing", ["incremental", "without", "never"])
@pytest.mark.parametrize("use_huffman", [True, False])
def test_every_literal_decodes(indexing: str, use_huffman: bool) -> None:
    reps: list[hp.Representation] = [
        hp.Literal(name=b"x-test", value=b"ok", indexing=indexing, huffman=use_huffman),
        hp.Literal(name_index=58, value=b"agent", indexing=indexing, huffman=use_huffman),
    ]
    assert hpack.Decoder().decode(hp.encode_block(reps), raw=True) == [
        (b"x-test", b"ok"),
        (b"user-agent", b"agent"),
    ]


@pytest.mark.parametrize("variant", ["zero-padding", "long-padding", "eos"])
def test_bad_huffman_is_refused_by_a_correct_decoder(variant: str) -> None:
    with pytest.raises(hpack.HPACKDecodingError):
        hpack.Decoder().decode(hp.Literal(name=b"x", value=b"test", huffman_variant=variant).encode())


@pytest.mark.parametrize(
    "block",
    [
        hp.Indexed(index=0).encode(),
        hp.Indexed(index=70).encode(),
        b"\x40",
        hp.SizeUpdate(size=1 << 40).encode(),
    ],
)
def test_block_decoder_reports_errors_and_stays_broken(block: bytes) -> None:
    decoder = hp.BlockDecoder()
    fields, error = decoder.decode(block)
    assert fields == () and error
    assert decoder.decode(hp.encode_fields([(b":status", b"200")]))[1] is not None  # table state unknown


def test_default_representations_are_stateless_and_compact() -> None:
    fields = [(b":method", b"GET"), (b":path", b"/x"), (b"x-new", b"v")]
    reps = [hp.default_representation(n, v) for n, v in fields]
    assert reps[0] == hp.Indexed(index=2)
    assert isinstance(reps[1], hp.Literal) and reps[1].name_index == 4 and reps[1].indexing == "without"
    decoder = hp.BlockDecoder()
    assert decoder.decode(hp.encode_fields(fields)) == (tuple(fields), None)
    assert decoder.decode(hp.encode_fields(fields)) == (tuple(fields), None)  # nothing was indexed
