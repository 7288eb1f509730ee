"""``conformance fuzz``: the command, its bounds, its progress line and its report directory.

Registered on the main click group by one line in :mod:`conformance.cli`. Hypothesis is
imported only when the command runs, so the rest of the tool does not need it.
"""

from __future__ import annotations

import datetime
import ipaddress
import shlex
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

EXIT_OK, EXIT_FOUND, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command("fuzz")
@click.argument("targets", nargs=-1, metavar="[NAME=]URL...")
@click.option(
    "--suite",
    type=click.Choice(["h1", "h2", "ws"]),
    default="h1",
    show_default=True,
    help="The protocol to fuzz (h2: HTTP/2 by prior knowledge, h2c:// URLs; ws: WebSocket, ws:// URLs "
    "of echo endpoints).",
)
@click.option(
    "--server",
    "servers",
    multiple=True,
    metavar="NAME=COMMAND",
    help="Start a server under test: COMMAND with {port} replaced by a free 127.0.0.1 port (restarted after "
    "a crash, stopped at the end). Repeatable.",
)
@click.option(
    "--budget", type=click.FloatRange(1, 86400), default=60.0, show_default=True, help="Seconds of fuzzing."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed and targets, same inputs.")
@click.option(
    "-o", "--report-dir", type=click.Path(file_okay=False), help="Default: reports/fuzz-<timestamp>."
)
@click.option(
    "--echo-path",
    metavar="PATH",
    help="The targets' echo endpoint (see the echo contract): inputs go there, and with two targets or more "
    "their readings are compared (the differential oracle).",
)
@click.option("--rate", type=click.FloatRange(0.1, 100000), help="Inputs per second at most.")
@click.option(
    "--max-bytes", type=click.IntRange(64, 1 << 20), default=4096, show_default=True, help="Bytes per input."
)
@click.option(
    "--max-total-bytes",
    type=click.IntRange(1024),
    default=256 << 20,
    show_default=True,
    help="Bytes sent and received in all, then stop.",
)
@click.option("--max-connections", type=click.IntRange(1), default=1_000_000, show_default=True)
@click.option(
    "--max-shrinks",
    type=click.IntRange(0),
    default=300,
    show_default=True,
    help="Inputs tried to shrink one finding.",
)
@click.option(
    "--shrink-time",
    type=click.FloatRange(1),
    default=30.0,
    show_default=True,
    help="Seconds to shrink one finding.",
)
@click.option(
    "--max-findings",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Stop once this many findings are written (0: go on until the budget is spent).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 60),
    default=2.0,
    show_default=True,
    help="Seconds an input waits for an answer (hang oracle).",
)
@click.option("--allow-remote", is_flag=True, help="Allow targets that are not on a loopback address.")
@click.option("--no-progress", is_flag=True, help="No progress line.")
def fuzz_command(
    targets: Sequence[str],
    suite: str,
    servers: Sequence[str],
    budget: float,
    seed: int,
    report_dir: str | None,
    echo_path: str | None,
    rate: float | None,
    max_bytes: int,
    max_total_bytes: int,
    max_connections: int,
    max_shrinks: int,
    shrink_time: float,
    max_findings: int,
    timeout: float,
    allow_remote: bool,
    no_progress: bool,
) -> None:
    """Fuzz HTTP/1.1, HTTP/2 or WebSocket servers; write each finding as a minimal case file.

    \b
    Oracles: crash (no answer to a GET after the input), hang (no answer and no close to
    a complete request), invalid response (RFC 9112 framing and syntax), and with two
    targets or more and --echo-path, differential (the targets read the bytes differently).
    --suite h2: frames after a valid request, then a PING; crash, rule (a frame RFC 9113 says
    is a connection error, and the PING acknowledged with no GOAWAY before it), hang (the
    error or the acknowledgement due, and nothing), invalid output (the server's frames and
    field blocks).
    --suite ws: the frames after a valid opening handshake; crash (a new connection gets no
    handshake and echo), hang, rule (a frame RFC 6455 says fails the connection, answered
    without failing it), invalid output (the server's frames), differential (two targets or
    more echo different messages).
    Findings go to DIR/findings/*.yaml; replay them with
    conformance run --cases DIR/findings URL.
    """
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        raise click.UsageError(
            "conformance fuzz needs Hypothesis: pip install 'http-conformance[fuzz]' (or hypothesis)"
        ) from None
    from conformance.fuzz.engine import Bounds, Fuzzer, FuzzTarget
    from conformance.fuzz.findings import write_findings
    from conformance.servers import ManagedServer, ServerStartError, parse_server

    parsed: list[FuzzTarget] = []
    for number, spec in enumerate(targets):
        name, sep, url = spec.partition("=")
        if not sep or "://" in name:
            name, url = f"target{number + 1}", spec
        parts = urlsplit(url)
        schemes = {"h1": ("http",), "h2": ("h2c", "http"), "ws": ("ws",)}[suite]
        if parts.scheme not in schemes or not parts.hostname:
            raise click.UsageError(f"target {spec!r}: --suite {suite} fuzzes {' or '.join(schemes)}:// URLs")
        if not allow_remote and not _loopback(parts.hostname):
            raise click.UsageError(
                f"target {spec!r} is not on a loopback address: add --allow-remote to fuzz it"
            )
        parsed.append(FuzzTarget(name=name, url=url))
    directory = (
        Path(report_dir)
        if report_dir
        else Path("reports") / ("fuzz-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    )
    for spec in servers:
        try:
            name, command = parse_server(spec)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        directory.mkdir(parents=True, exist_ok=True)
        server = ManagedServer(name=name, command=command, log=directory / f"{name}.log")
        url = "ws://" + server.url.removeprefix("http://") if suite == "ws" else server.url
        parsed.append(FuzzTarget(name=name, url=url, server=server))
    if not parsed:
        raise click.UsageError("no target: give [NAME=]URL or --server NAME=COMMAND")
    names = [t.name for t in parsed]
    if len(set(names)) != len(names):
        raise click.UsageError("two targets with one name: name them, e.g. a=URL b=URL")
    if echo_path is not None and suite != "h1":
        raise click.UsageError(
            "--echo-path is for --suite h1 (with --suite ws each URL is an echo endpoint; "
            "h2 has no differential)"
        )
    if echo_path is not None and not echo_path.startswith("/"):
        raise click.UsageError(f"--echo-path {echo_path!r}: a path starting with '/', e.g. /echo")
    bounds = Bounds(
        budget=budget,
        rate=rate,
        max_bytes=max_bytes,
        max_total_bytes=max_total_bytes,
        max_connections=max_connections,
        max_shrinks=max_shrinks,
        shrink_seconds=shrink_time,
        max_findings=max_findings,
        deadline=timeout,
    )
    progress = _Progress(enabled=not no_progress)
    fuzzer = Fuzzer(parsed, seed=seed, bounds=bounds, echo_path=echo_path, progress=progress, suite=suite)

    def terminated(number: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM as ^C: write what was found, stop the servers

    signal.signal(signal.SIGTERM, terminated)
    try:
        fuzzer.run()
    except ServerStartError as exc:
        fuzzer.stop()
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        click.echo("\ninterrupted: writing what was found", err=True)
    finally:
        fuzzer.stop()
    command_line = "conformance fuzz " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    paths = write_findings(fuzzer.findings, fuzzer, directory, command_line=command_line)
    _write_html(fuzzer, directory)
    real = [f for f in fuzzer.findings if not f.flaky]
    click.echo(
        f"{fuzzer.stats.inputs} inputs, {len(real)} finding{'s' if len(real) != 1 else ''}"
        + (f" ({len(fuzzer.findings) - len(real)} flaky)" if len(real) != len(fuzzer.findings) else "")
        + f"; {fuzzer.stats.stopped_because}; report: {directory}/index.html"
    )
    for path in paths:
        click.echo(f"  {path}")
    sys.exit(EXIT_FOUND if real else EXIT_OK)


class _Progress:
    """One line on standard error, at most a few times a second."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.last = 0.0
        self.tty = sys.stderr.isatty()

    def __call__(self, fuzzer: Any, phase: str) -> None:
        now = time.monotonic()
        if phase == "found" and fuzzer.findings:
            finding = fuzzer.findings[-1]
            click.echo(
                ("\r" if self.tty else "")
                + f"finding {finding.number}: {finding.signature[0]} {_short(finding.signature)}"
                + (" (flaky)" if finding.flaky else f", shrunk in {finding.shrink_steps} steps")
                + " " * 10,
                err=True,
            )
        if not self.enabled or (phase not in ("done",) and now - self.last < (0.25 if self.tty else 5.0)):
            return
        self.last = now
        stats = fuzzer.stats
        kinds = Counter(str(f.signature[0]) for f in fuzzer.findings)
        line = (
            f"{stats.inputs} inputs ({stats.rate():.1f}/s), shrinking {stats.shrink_inputs}, "
            f"kinds {len(stats.kinds)}/{len(fuzzer.kind_names())}, findings {len(fuzzer.findings)}"
            + (" [" + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + "]" if kinds else "")
            + (" shrinking..." if phase == "shrink" else "")
        )
        if self.tty:
            click.echo("\r" + line.ljust(100), nl=phase == "done", err=True)
        else:
            click.echo(line, err=True)


def _short(signature: tuple[object, ...]) -> str:
    if signature[0] == "differential":
        return " vs ".join("/".join(names) for names, _ in signature[1])  # type: ignore[attr-defined]
    return " ".join(
        str(part) if not isinstance(part, tuple) else ",".join(map(str, part)) for part in signature[1:]
    )


def _write_html(fuzzer: Any, directory: Path) -> None:
    import jinja2

    templates = Path(__file__).resolve().parent.parent / "reporters" / "templates"
    css = (templates / "report.css").read_text(encoding="utf-8")
    findings = []
    for finding in fuzzer.findings:
        text = Path(finding.path).read_text(encoding="utf-8") if finding.path else ""
        level = "MUST" if "requirement: MUST" in text else "INFO"
        title = next(
            (line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("# conformance fuzz")),
            "",
        )
        findings.append(
            {
                "number": finding.number,
                "kind": finding.signature[0],
                "flaky": finding.flaky,
                "level": level,
                "title": title,
                "detail": f"{_short(finding.signature)}; {len(finding.input.mutations)} mutation(s), "
                f"{len(finding.input.writes())} write(s)",
                "href": str(Path(finding.path).relative_to(directory)) if finding.path else "",
                "text": text,
            }
        )
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), autoescape=True)
    page = environment.get_template("fuzz.html.j2").render(
        css=css,
        suite={"h1": "HTTP/1.1", "h2": "HTTP/2", "ws": "WebSocket"}[fuzzer.suite],
        seed=fuzzer.seed,
        inputs=fuzzer.stats.inputs,
        shrink_inputs=fuzzer.stats.shrink_inputs,
        rate=f"{fuzzer.stats.rate():.1f}",
        stopped=fuzzer.stats.stopped_because,
        kinds=f"{len(fuzzer.stats.kinds)} of {len(fuzzer.kind_names())}",
        targets=[
            {
                "name": t.name,
                "url": t.url,
                "command": t.server.command if t.server else "",
                "starts": t.server.starts if t.server else "",
            }
            for t in fuzzer.targets
        ],
        findings=findings,
        directory=directory,
        echo_path=fuzzer.echo_path,
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "index.html").write_text(page, encoding="utf-8")
