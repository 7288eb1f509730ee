"""WebSocket benchmarks: the codec on 16 MiB messages, and the suite against real servers.
Prints a table; asserts nothing.

    python tests/perf/bench_ws.py            # codec, reference target, websockets (and kosoku)
    python tests/perf/bench_ws.py --codec    # the codec only
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

from conformance.codecs.ws import frames, messages  # noqa: E402

MiB = 1 << 20


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


def row(name: str, median: float, best: float, note: str = "") -> None:
    print(f"{name:<52} {median:8.3f} s  (best {best:.3f} s)  {note}")


def codec(repeat: int) -> None:
    data = bytes(range(256)) * (16 * MiB // 256)
    key = b"\x12\x34\x56\x78"
    row("mask 16 MiB", *timed(lambda: frames.mask(data, key), repeat))
    wire = b"".join(messages.encode_message(frames.Opcode.BINARY, data, sizes=messages.cut(len(data), 16)))
    row(
        "encode a 16 MiB message (16 masked frames)",
        *timed(
            lambda: messages.encode_message(frames.Opcode.BINARY, data, sizes=messages.cut(len(data), 16)),
            repeat,
        ),
    )

    def decode() -> None:
        decoder = frames.FrameDecoder(from_server=False)
        assembler = messages.MessageAssembler()
        for at in range(0, len(wire), 64 * 1024):
            for frame in decoder.feed(wire[at : at + 64 * 1024]):
                assert isinstance(frame, frames.Frame)
                assembler.frame(frame)

    row("decode + assemble 16 MiB in 64 KiB reads", *timed(decode, repeat))
    text = ("κόσμε" * (16 * MiB // 11)).encode()
    from conformance.codecs.ws.utf8 import first_invalid

    row("validate 16 MiB of UTF-8", *timed(lambda: first_invalid(text), repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--codec", action="store_true", help="only the codec benchmarks")
    args = parser.parse_args()
    codec(args.repeat)
    if args.codec:
        return 0
    return suites(args.repeat)


def suites(repeat: int) -> int:
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
