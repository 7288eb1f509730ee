"""WebSocket benchmarks: the codec on 16 MiB messages, and the suite against real servers.
Prints a table; asserts nothing.

    python tests/perf/bench_ws.py            # codec, reference target, websockets (and kosoku)
    python tests/perf/bench_ws.py --codec    # the codec only
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
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
    parser.add_argument("--skip-kosoku", action="store_true", help="do not run kosoku (it takes minutes)")
    args = parser.parse_args()
    codec(args.repeat)
    if args.codec:
        return 0
    return suites(args.repeat, kosoku=not args.skip_kosoku)


def _suite_in_process(url: str) -> tuple[float, int]:
    """Run the WebSocket suite against ``url`` in a new process: (seconds, peak RSS in MiB
    of that process — the harness alone, the server runs elsewhere)."""
    code = f"""
import resource, sys, time
from conformance.driver.interpreter import RunOptions
from conformance.driver.threaded import reactor_thread
from conformance.scenario.loader import load_cases
from conformance.target import Target
cases = [c for c in load_cases() if c.protocol == "ws"]
rt = reactor_thread()
start = time.perf_counter()
results = rt.run(cases, [Target.parse({url!r})], RunOptions())
took = time.perf_counter() - start
print(took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, len(cases))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    took, peak, _count = out.stdout.split()
    return float(took), int(peak)


def suites(repeat: int, *, kosoku: bool = True) -> int:
    from conformance.scenario.loader import load_cases

    count = len([c for c in load_cases() if c.protocol == "ws"])
    import servers_ws

    for name, server in servers_ws.WS_SERVERS.items():
        try:
            with server() as url:
                runs = [_suite_in_process(url) for _ in range(repeat)]
        except BaseException as exc:  # a missing server: say so and go on
            print(f"{'WebSocket suite vs ' + name:<52} skipped: {exc}")
            continue
        times = [t for t, _ in runs]
        peak = max(p for _, p in runs)
        row(
            f"WebSocket suite ({count} cases) vs {name}",
            statistics.median(times),
            min(times),
            f"harness peak RSS {peak} MiB",
        )
    program = shutil.which("kosoku")
    if not kosoku:
        return 0
    if program is None:
        print(f"{'kosoku (Autobahn cases) vs websockets':<52} skipped: kosoku is not installed")
        return 0
    with servers_ws.websockets_server() as url, tempfile.TemporaryDirectory() as out:
        address = url.removeprefix("ws://").rstrip("/")
        start = time.perf_counter()
        try:
            subprocess.run(
                [program, address, "-o", out], check=False, capture_output=True, timeout=KOSOKU_CAP
            )
            took = time.perf_counter() - start
            note = ""
        except subprocess.TimeoutExpired:
            took = KOSOKU_CAP
            note = f"stopped at the {KOSOKU_CAP} s cap: it takes longer"
        row("kosoku (517 Autobahn cases) vs websockets", took, took, note)
    return 0


#: kosoku runs the whole Autobahn suite; past this many seconds the benchmark stops it.
KOSOKU_CAP = 900


if __name__ == "__main__":
    raise SystemExit(main())
