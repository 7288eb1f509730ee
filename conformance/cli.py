"""The command line: ``conformance run | list | validate | serve | schema | baseline | report | diff``
(and ``fuzz``, from :mod:`conformance.fuzz.cli`).

Exit status of ``run``: 0 when no case at or above ``--fail-on`` FAILed (outside the
``--baseline``), none ended in ERROR and every target could be reached; 1 when some case
FAILed; 2 for usage errors, broken case or baseline files; 3 when nothing FAILed but a case
ended in ERROR or a target could not be reached (``--allow-errors``: not counted); 130 / 143
when the run was interrupted by SIGINT / SIGTERM (the cases that finished are reported).
``report`` exits like ``run`` on the merged results; ``diff`` exits 1 on a regression.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import gc
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from conformance import __version__
from conformance import cli_options as options
from conformance.errors import ConformanceError, UsageError
from conformance.shards import case_sort_key, in_shard, parse_shard

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ERRORS = 0, 1, 2, 3
#: An interrupted run exits as a shell reports a process killed by the signal: 128 + its number.
EXIT_SIGINT, EXIT_SIGTERM = 130, 143
SUITES = ("h1", "h2", "ws")

#: Set by :func:`command`: the process is the command's own (not a test calling the CLI).
_OWN_PROCESS = False


def command() -> None:
    """The ``conformance`` command (console script, ``python -m conformance``): :func:`main`
    in a process of its own, whose garbage collector ``run`` may tune (see :class:`_GC`)."""
    global _OWN_PROCESS
    _OWN_PROCESS = True
    main()


class _GC:
    """The garbage collector of a ``conformance run`` process, when it is the run's own.

    Start-up (imports, parsing the cases) builds long-lived objects and little garbage: the
    collector is off until the cases are loaded, and those objects are then frozen (moved
    out of the collector's sight: ``gc.freeze``), so the run's full collections do not walk
    them again and again. At exit everything is frozen too: finalization would otherwise
    traverse every object of the run once more, for nothing — a tenth of a second or more.
    Cycles made during the run (Twisted connections) are still collected as usual.
    """

    @staticmethod
    def starting() -> None:
        if _OWN_PROCESS:
            gc.disable()

    @staticmethod
    def loaded() -> None:
        if _OWN_PROCESS:
            gc.freeze()
            gc.enable()

    @staticmethod
    def exiting() -> None:
        if _OWN_PROCESS:
            gc.freeze()


def _load(
    paths: Sequence[str],
    protocols: Iterable[str] | None = None,
    *,
    cached: bool = True,
    role: str | None = "server",
) -> Any:
    """The cases under ``paths``, or the bundled ones — of ``protocols`` only, when given (a
    run of one suite need not parse the others' files: a third of a second at start-up) —
    parsed again only when they or the tool changed (``conformance.scenario.cache``).
    ``role``: the server cases (what ``run`` judges), the client cases, or both (None)."""
    from functools import partial

    from conformance.scenario import bundled_cases_dir
    from conformance.scenario.cache import load_cached
    from conformance.scenario.loader import load as parse

    load = load_cached if cached and role == "server" else partial(parse, role=role)
    if paths:
        return load([Path(p) for p in paths])
    if protocols is None:
        return load(None)
    return load([bundled_cases_dir() / protocol for protocol in sorted(set(protocols))])


def _print_errors(errors: Sequence[Any]) -> None:
    for error in errors:
        click.echo(error.render(), err=True)
    click.echo(f"{len(errors)} error{'s' if len(errors) != 1 else ''} in case files", err=True)


def _select(
    cases: list[Any], suites: Sequence[str], select: Sequence[str], exclude: Sequence[str]
) -> list[Any]:
    chosen = [c for c in cases if not suites or c.protocol in suites]
    if select:
        chosen = [c for c in chosen if any(c.matches(prefix) for prefix in select)]
    if exclude:
        chosen = [c for c in chosen if not any(c.matches(prefix) for prefix in exclude)]
    return chosen


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="conformance")
def main() -> None:
    """Protocol conformance tests for HTTP/1.1, HTTP/2 and WebSocket servers."""


_case_options = [
    click.option(
        "--cases",
        "case_paths",
        multiple=True,
        type=click.Path(exists=True),
        help="Case files or directories (default: the bundled cases). Repeatable.",
    ),
    click.option(
        "--suite",
        "suites",
        multiple=True,
        type=click.Choice(SUITES),
        help="Only this protocol's suite. Repeatable.",
    ),
    click.option(
        "--select",
        multiple=True,
        metavar="PREFIX",
        help="Only cases whose id (or alias) starts with PREFIX. Repeatable.",
    ),
    click.option(
        "--exclude",
        multiple=True,
        metavar="PREFIX",
        help="Leave out cases whose id (or alias) starts with PREFIX. Repeatable.",
    ),
]


def case_options(fn: Any) -> Any:
    for option in reversed(_case_options):
        fn = option(fn)
    return fn


@main.command("list")
@case_options
@click.option("--json", "as_json", is_flag=True, help="One JSON array of cases.")
@click.option(
    "--client",
    "client_cases",
    is_flag=True,
    help="The client-mode cases (conformance client) instead of the server cases.",
)
def list_cases(
    case_paths: Sequence[str],
    suites: Sequence[str],
    select: Sequence[str],
    exclude: Sequence[str],
    as_json: bool,
    client_cases: bool,
) -> None:
    """List cases without running anything."""
    if client_cases:
        from conformance.client_cli import client_cases_dir

        loaded = _load(case_paths or [str(client_cases_dir())], cached=False, role="client")
    else:
        loaded = _load(case_paths, set(suites) or None)
    if loaded.errors:
        _print_errors(loaded.errors)
        sys.exit(EXIT_USAGE)
    cases = _select(loaded.cases, suites, select, exclude)
    if as_json:
        rows = [
            {
                "id": c.id,
                "title": c.title,
                "protocol": c.protocol,
                "rfc": c.rfc,
                "section": c.section,
                "requirement": c.requirement.value,
                "aliases": list(c.aliases),
                "tags": list(c.tags),
                "requires": list(c.requires),
                "file": str(c.location) if c.location else None,
            }
            for c in cases
        ]
        click.echo(json.dumps(rows, indent=1))
        return
    width = max((len(c.id) for c in cases), default=10)
    for c in cases:
        click.echo(f"{c.id:<{width}}  {c.requirement.value:<6}  RFC {c.rfc} §{c.section}  {c.title}")
    click.echo(f"{len(cases)} cases", err=True)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
def validate(paths: Sequence[str]) -> None:
    """Check case files (default: the bundled cases, server and client); exit 2 on any error."""
    loaded = _load(paths, cached=False, role=None)
    if loaded.errors:
        _print_errors(loaded.errors)
        sys.exit(EXIT_USAGE)
    click.echo(f"{len(loaded.cases)} cases in {loaded.files} files: OK")


@main.command()
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file instead of standard output.")
def schema(out: str | None) -> None:
    """Print the JSON Schema of case files (for editors)."""
    from conformance.scenario.schema import schema_text

    text = schema_text()
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8080, show_default=True, type=int, help="Port for HTTP/1.1 (0: any free port)."
)
@click.option("--h2-port", type=int, help="Port for HTTP/2 by prior knowledge, h2c (default: PORT+1).")
@click.option("--h2-tls-port", type=int, help="Port for TLS, HTTP/2 or HTTP/1.1 by ALPN (default: PORT+2).")
@click.option(
    "--managed",
    is_flag=True,
    hidden=True,
    help="For `conformance run`: free ports, the URLs as one JSON line, exit when stdin closes.",
)
def serve(host: str, port: int, h2_port: int | None, h2_tls_port: int | None, managed: bool) -> None:
    """Run the bundled reference target in the foreground (Ctrl-C stops it)."""
    import tempfile

    from twisted.internet import reactor

    from conformance.targets.reference import start_reference_target

    if managed:
        _serve_managed(reactor, host)
        return

    h2_port = h2_port if h2_port is not None else (port + 1 if port else 0)
    h2_tls_port = h2_tls_port if h2_tls_port is not None else (port + 2 if port else 0)
    try:
        target = start_reference_target(
            reactor, host=host, port=port, h2_port=h2_port, h2_tls_port=h2_tls_port
        )
    except Exception as exc:  # a port in use, a bad address
        raise click.ClickException(f"cannot listen on {host}: {exc}") from None
    hint = {name: " (the WebSocket suite over HTTP/2: run it with --suite ws)" for name in target.suites}
    for suite, url in target.urls.items():
        click.echo(f"{suite}: {url}{hint.get(suite, '')}")
    if target.certificate is not None:
        with tempfile.NamedTemporaryFile("wb", prefix="conformance-ca-", suffix=".pem", delete=False) as pem:
            pem.write(target.certificate.certificate_pem)
        reactor.addSystemEventTrigger("after", "shutdown", Path(pem.name).unlink, missing_ok=True)
        for suite, url in target.tls_urls.items():
            click.echo(f"{suite} over TLS: {url} (self-signed: --ca-file {pem.name})")
    from conformance.targets.resources import ECHO_PATH, RESOURCES

    click.echo(f"echo endpoint: {ECHO_PATH} (run with --echo-path {ECHO_PATH})")
    others = ", ".join(f"{name}-path {path}" for name, path in RESOURCES.items() if name != "echo")
    click.echo(f"other resources: {others} (run with --target-option NAME.KEY=PATH for each)")
    click.echo("Serving; press Ctrl-C to stop.")
    reactor.run()


def _serve_managed(reactor: Any, host: str) -> None:
    """``serve --managed`` (targets/process.py): the reference target for one run, in a
    process of its own, announced as JSON and ended by the parent closing our stdin."""
    import json

    from twisted.internet import protocol, stdio

    from conformance.targets.reference import start_reference_target

    target = start_reference_target(reactor, host=host)

    class _ParentGone(protocol.Protocol):
        def connectionLost(self, reason: object = None) -> None:  # noqa: N802 - Twisted's name
            if reactor.running:
                target.stop().addBoth(lambda _: reactor.stop())

    click.echo(json.dumps({"urls": target.urls, "suites": {k: list(v) for k, v in target.suites.items()}}))
    sys.stdout.flush()
    stdio.StandardIO(_ParentGone(), reactor=reactor)
    reactor.run()


@dataclass(frozen=True)
class Output:
    """How much the terminal says: ``verbosity`` -1 (``-q``) to 2 (``-vv``), and how many
    failures it lists (``--max-failures``)."""

    verbosity: int = 0
    max_failures: int = 50


def _output_options(fn: Any) -> Any:
    """``-q``, ``-v``/``-vv`` and ``--max-failures``, on ``run`` and ``report``."""
    for option in reversed(
        [
            click.option(
                "-q",
                "--quiet",
                is_flag=True,
                help="Only the failures and the verdict of the run: no progress, no summary lines.",
            ),
            click.option(
                "-v",
                "--verbose",
                count=True,
                help="-v: a line per case as it ends (like h2spec's); -vv: also each FAIL's wire transcript.",
            ),
            click.option(
                "--max-failures",
                type=click.IntRange(0),
                default=50,
                show_default=True,
                metavar="N",
                help="List at most N failures (FAILs and ERRORs) in the terminal; the report has them all.",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def _output(quiet: bool, verbose: int, max_failures: int) -> Output:
    if quiet and verbose:
        raise click.UsageError("-q and -v: choose one")
    return Output(verbosity=-1 if quiet else min(verbose, 2), max_failures=max_failures)


@main.command()
@click.argument("targets", nargs=-1, metavar="[NAME=]URL...")
@case_options
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 1024),
    help="Cases in flight at once (default: 32).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.05, 600),
    default=2.0,
    show_default=True,
    help="Seconds an expect step waits.",
)
@options.CASE_TIMEOUT
@options.FAIL_ON
@click.option(
    "-o",
    "--report-dir",
    type=click.Path(file_okay=False),
    help="Where to write the reports (default: reports/<timestamp>).",
)
@click.option("--insecure", is_flag=True, help="Do not verify TLS certificates.")
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Trust this CA bundle (PEM) for TLS targets.",
)
@click.option(
    "--profile",
    type=click.Choice(["default", "strict"]),
    default="default",
    show_default=True,
    help="strict: RFC 9112 §2.2's generic 'SHOULD answer 400' is a MUST (cases tagged generic-400).",
)
@click.option(
    "--echo-path",
    metavar="PATH",
    help="The targets' echo endpoint (e.g. /echo), for the cases that need to see what the server "
    "parsed; without it they are SKIPPED. Default with no target: the reference target's /echo.",
)
@click.option(
    "--target-option",
    "target_options",
    multiple=True,
    metavar="NAME.KEY=PATH",
    help="One target's resource, for the cases that use it: KEY is echo-path, "
    "validator-path (a 200 with an ETag), large-path (128 KiB or more) or chunked-path (a chunked "
    "200). Overrides --echo-path for that target. Repeatable.",
)
@click.option(
    "--server",
    "servers",
    multiple=True,
    metavar="NAME=COMMAND",
    help="Start a server under test for the run, and stop it (its whole process group) at the end: "
    "COMMAND runs in /bin/sh with {port} replaced by a free 127.0.0.1 port. Its URL: the target "
    "NAME=URL with {port} in it (h2c://127.0.0.1:{port}/), else http://127.0.0.1:{port}/. Its "
    "output goes to server-NAME.log in the report directory. Repeatable.",
)
@click.option(
    "--server-start-timeout",
    type=click.FloatRange(0.1, 3600),
    default=30.0,
    show_default=True,
    metavar="S",
    help="Seconds a --server has to accept a connection; else its cases are ERRORs (exit 3).",
)
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),  # a missing file is the loader's error, naming it
    is_eager=True,
    callback=lambda ctx, param, value: _read_config(ctx, value),
    help="Read the settings from this TOML file (default: ./conformance.toml, or [tool.conformance] "
    "of ./pyproject.toml, looked for upwards from here). Command-line options override it.",
)
@options.TRANSCRIPTS
@options.NO_PROGRESS
@options.BASELINE
@options.SHARD
@options.SUMMARY_MD
@options.ALLOW_ERRORS
@_output_options
def run(
    targets: Sequence[str],
    case_paths: Sequence[str],
    suites: Sequence[str],
    select: Sequence[str],
    exclude: Sequence[str],
    jobs: int | None,
    timeout: float,
    case_timeout: float,
    fail_on: str,
    report_dir: str | None,
    insecure: bool,
    ca_file: str | None,
    profile: str,
    echo_path: str | None,
    transcripts: str,
    no_progress: bool,
    baseline_path: str | None,
    shard: str | None,
    summary_md: str | None,
    allow_errors: bool,
    quiet: bool,
    verbose: int,
    max_failures: int,
    target_options: Sequence[str],
    servers: Sequence[str],
    server_start_timeout: float,
    config: Any,
) -> None:
    """Run the suites against TARGETS (default: the targets of the configuration file, else
    the bundled reference target).

    \b
    A target is a URL, optionally named: http://127.0.0.1:8080/, nginx=https://localhost:8443/
    Or a server the run starts and stops (CI): --server 'mine=./myserver --port {port}'
    (its URL: http://127.0.0.1:{port}/, or name it: mine=h2c://127.0.0.1:{port}/)
    """
    configured, managed = _configured_targets(targets, servers, target_options, config)
    try:
        _run(
            targets=configured,
            servers=managed,
            server_start_timeout=server_start_timeout,
            case_paths=case_paths,
            suites=suites,
            select=select,
            exclude=exclude,
            jobs=jobs,
            timeout=timeout,
            case_timeout=case_timeout,
            fail_on=fail_on,
            report_dir=report_dir,
            insecure=insecure,
            ca_file=ca_file,
            profile=profile,
            echo_path=echo_path,
            transcripts=transcripts,
            no_progress=no_progress,
            baseline_path=baseline_path,
            shard=shard,
            summary_md=summary_md,
            allow_errors=allow_errors,
            output=_output(quiet, verbose, max_failures),
        )
    except (KeyboardInterrupt, _Interrupted) as exc:  # before the run began: nothing to report
        click.echo("\nInterrupted before any case ran", err=True)
        sys.exit(EXIT_SIGTERM if isinstance(exc, _Interrupted) and exc.signal == "SIGTERM" else EXIT_SIGINT)


def _run(
    targets: Sequence[tuple[str, dict[str, str]]],
    case_paths: Sequence[str],
    suites: Sequence[str],
    select: Sequence[str],
    exclude: Sequence[str],
    jobs: int | None,
    timeout: float,
    case_timeout: float,
    fail_on: str,
    report_dir: str | None,
    insecure: bool,
    ca_file: str | None,
    profile: str,
    echo_path: str | None,
    transcripts: str,
    no_progress: bool,
    baseline_path: str | None,
    shard: str | None,
    summary_md: str | None,
    allow_errors: bool,
    output: Output = Output(),
    servers: Sequence[Any] = (),
    server_start_timeout: float = 30.0,
) -> None:
    """The body of :func:`run`. ``servers``: the :class:`conformance.servers.ManagedServer`
    of the targets the run starts (after every usage check) and stops, whatever happens."""
    _GC.starting()
    from conformance.driver.endpoints import TLSSettings
    from conformance.driver.interpreter import RunOptions
    from conformance.target import Target
    from conformance.verdicts.verdict import Requirement

    for spec, _ in targets:
        hint = _not_a_target(spec)
        if hint:
            raise click.UsageError(hint)
    try:
        parsed = [
            Target.parse(spec, requested=tuple(suites)).with_resources(resources)
            for spec, resources in targets
        ]
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    names = [t.name for t in parsed]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise click.UsageError(f"two targets named {duplicates[0]!r}: name them, e.g. a=URL b=URL")
    try:
        shard_spec = parse_shard(shard) if shard else None
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    baseline = _read_baseline(baseline_path, names) if baseline_path else None
    # The suites asked for, or those the targets' URLs serve (all of them for no target).
    protocols = set(suites) or ({suite for target in parsed for suite in target.suites} if parsed else None)
    loaded = _load(case_paths, protocols)
    if loaded.errors:
        _print_errors(loaded.errors)
        sys.exit(EXIT_USAGE)
    cases = _select(loaded.cases, suites, select, exclude)
    unmatched = [prefix for prefix in select if not any(c.matches(prefix) for c in loaded.cases)]
    del loaded  # the cases not selected (all 1,273 take 13 MiB): their memory serves the run
    _GC.loaded()
    if not cases:
        raise click.UsageError("no case matches the selection" + _why_no_case(unmatched, suites))
    for target in parsed:
        if not any(case.protocol in target.suites for case in cases):
            raise click.UsageError(_why_no_case_for(target, cases))
    for prefix in unmatched:
        click.echo(f"note: --select {prefix} matches no case{_select_hint(prefix)}", err=True)
    if shard_spec:
        cases = [case for case in cases if in_shard(case.id, shard_spec)]
    if echo_path is not None and not re.fullmatch(r"/[\x21-\x7e]*", echo_path):
        raise click.UsageError(f"--echo-path {echo_path!r}: a path starting with '/', e.g. /echo")
    if echo_path is None and not parsed:
        from conformance.targets.resources import ECHO_PATH

        echo_path = ECHO_PATH  # the reference target has one
    # The canonical order `conformance report` merges into: the results (and so every report)
    # of one run are then the same as those of its shards merged, case for case.
    cases = sorted(cases, key=lambda case: case_sort_key(case.id))
    options = RunOptions(
        timeout=timeout,
        case_timeout=case_timeout,
        tls=TLSSettings(insecure=insecure, ca_file=Path(ca_file) if ca_file else None),
        profile=profile,
        echo_path=echo_path,
        transcripts=transcripts,
        preflight=True,
    )
    directory = _report_directory(report_dir)
    gate = Gate(
        fail_on=Requirement(fail_on.upper()),
        baseline=baseline,
        shard=shard.strip() if shard else "",
        summary_md=Path(summary_md) if summary_md else None,
        allow_errors=allow_errors,
    )
    if servers:
        code = _run_with_servers(
            servers,
            server_start_timeout,
            directory,
            lambda down: _run_in_reactor(
                parsed,
                cases,
                options,
                jobs,
                directory,
                gate,
                not no_progress,
                output,
                down=down,
                servers=servers,
            ),
        )
    else:
        code = _run_in_reactor(parsed, cases, options, jobs, directory, gate, not no_progress, output)
    if not report_dir:
        _point_latest(directory)
    _GC.exiting()
    sys.exit(code)


class _Interrupted(Exception):
    """SIGINT or SIGTERM while the run's servers were starting: they are stopped, and the run
    ends as one interrupted before any case ran."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.signal = name


def _run_with_servers(servers: Sequence[Any], start_timeout: float, directory: Path, run: Any) -> int:
    """``run(down)`` (:func:`_run_in_reactor`) between starting ``servers`` and stopping them
    all, however the run ends (an exception, a signal, a second Ctrl-C's quick exit). A server that did not
    start makes its target's cases ERRORs with the reason, and the run goes on with the others.

    Until the reactor takes SIGINT and SIGTERM over, a signal stops the servers and ends the
    run as interrupted before any case ran: while a server is being started it is only noted
    (an exception raised between the fork and the bookkeeping of a process would lose it),
    and raised at the next check. While they are being stopped, a signal (a second Ctrl-C)
    skips the grace period they have to exit after SIGTERM."""
    import signal
    import time

    from conformance.servers import ServerStartError, stop_all

    received: list[str] = []

    def note(number: int, frame: Any) -> None:
        received.append(signal.Signals(number).name)

    def check() -> None:
        if received:
            raise _Interrupted(received[0])

    def interrupt(number: int, frame: Any) -> None:
        raise _Interrupted(signal.Signals(number).name)

    previous = {number: signal.signal(number, note) for number in (signal.SIGINT, signal.SIGTERM)}
    down: dict[str, str] = {}
    try:
        for server in servers:
            server.log = directory / f"server-{server.name}.log"
            server.launch()
        # One deadline for all: they start side by side.
        deadline = time.monotonic() + start_timeout
        for server in servers:
            try:
                server.wait_ready(deadline, interrupted=check)
            except ServerStartError as exc:
                down[server.name] = exc.reason
                click.echo(f"error: {exc}", err=True)
        check()
        for number in previous:
            signal.signal(number, interrupt)
        return int(run(down))
    finally:
        # Whatever handlers the reactor left: a signal now must not cut the stopping short
        # (servers left running), only hurry it (SIGKILL without the grace period).
        received.clear()
        for number in previous:
            signal.signal(number, note)
        stop_all(servers, hurry=lambda: bool(received))
        for number, handler in previous.items():
            signal.signal(number, handler)


def _read_config(ctx: click.Context, path: str | None) -> Any:
    """The ``--config`` callback: the configuration file's settings (``conformance.config``),
    made the defaults of the command's options, so that those given on the command line
    override them. None when there is no configuration file."""
    from conformance.config import ConfigError, find_config, load_config

    found = Path(path) if path else find_config(Path.cwd())
    if found is None:
        return None
    try:
        settings = load_config(found)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    ctx.default_map = {**(ctx.default_map or {}), **settings.options}
    where = " [tool.conformance]" if found.name == "pyproject.toml" else ""
    click.echo(f"note: settings from {found}{where}", err=True)
    return settings


def _configured_targets(
    specs: Sequence[str], server_specs: Sequence[str], target_options: Sequence[str], settings: Any
) -> tuple[list[tuple[str, dict[str, str]]], list[Any]]:
    """The run's targets as (``[NAME=]URL``, resource paths by capability): those of the
    command line (its URLs and ``--server``), else those of the configuration file; each with
    the resources its table in the file names (a command-line target takes the settings of
    the table of its name), then those of ``--target-option``. And the servers the run is to
    start (:func:`_managed_servers`), not started yet."""
    from conformance.target import Target, parse_target_option

    tables = {table.name: table for table in settings.targets} if settings is not None else {}
    if not specs and not server_specs and tables:
        for table in tables.values():
            if table.url is None and table.server is None:
                raise click.UsageError(
                    f"{settings.source}: the target {table.name!r} has no url: give it one, or give "
                    f"the target on the command line ({table.name}=URL)"
                )
        specs = [table.spec for table in tables.values()]
    specs, servers = _managed_servers(specs, server_specs, tables)
    targets: list[tuple[str, dict[str, str]]] = []
    names: dict[str, dict[str, str]] = {}  # target name -> its resources
    for spec in specs:
        resources: dict[str, str] = {}
        targets.append((spec, resources))
        try:
            name = Target.parse(spec).name
        except UsageError:
            continue  # reported, with a hint, when the run parses its targets
        if name in tables:
            resources.update(tables[name].resources)
        names[name] = resources
    for text in target_options:
        try:
            name, capability, path = parse_target_option(text)
        except UsageError as exc:
            raise click.UsageError(str(exc)) from None
        if name not in names:
            known = ", ".join(names) if names else "none: the bundled reference target names its own"
            raise click.UsageError(f"--target-option {text!r}: no target named {name!r} (targets: {known})")
        names[name][capability] = path
    return targets, servers


def _spec_name(spec: str) -> str | None:
    """The ``NAME`` of ``NAME=URL``, if the target is named."""
    head, sep, _ = spec.partition("=")
    return head if sep and "://" not in head else None


def _managed_servers(
    specs: Sequence[str], server_specs: Sequence[str], tables: dict[str, Any]
) -> tuple[list[str], list[Any]]:
    """The targets with ``{port}`` in their URL filled in, and the servers to start for them.

    A target is started by the run when its URL holds ``{port}``: by the command of
    ``--server`` of its name, else by its table's ``server``. A ``--server`` whose name no
    target of the command line has adds one: its table's URL (when it has ``{port}``), else
    ``http://127.0.0.1:{port}/``. Each server gets a free 127.0.0.1 port. Every mismatch is a
    usage error, raised before anything starts."""
    from conformance.config import DEFAULT_SERVER_URL
    from conformance.servers import ManagedServer, parse_server

    commands: dict[str, str] = {}
    for text in server_specs:
        try:
            name, command = parse_server(text)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        if name in commands:
            raise click.UsageError(f"two --server named {name!r}: one command per target")
        commands[name] = command
    named = {_spec_name(spec): spec for spec in specs}
    specs = list(specs)
    for name in commands:
        spec = named.get(name)
        if spec is None:
            table = tables.get(name)
            url = (
                table.url if table is not None and table.url and "{port}" in table.url else DEFAULT_SERVER_URL
            )
            specs.append(f"{name}={url}")
        elif "{port}" not in spec:
            raise click.UsageError(
                f"--server {name}=…: the target {spec!r} has a fixed URL; the server the run starts "
                f"gets a free port: write its URL with {{port}} ({name}=http://127.0.0.1:{{port}}/), "
                f"or leave the target out (then {DEFAULT_SERVER_URL})"
            )
    servers: list[Any] = []
    filled: list[str] = []
    for spec in specs:
        if "{port}" not in spec:
            filled.append(spec)
            continue
        owner = _spec_name(spec)
        table = tables.get(owner) if owner is not None else None
        start = commands.get(owner or "") or (table.server if table is not None else None)
        if owner is None or start is None:
            who = owner or "NAME"
            raise click.UsageError(
                f"target {spec!r}: {{port}} stands for the port of a server the run starts: "
                f"give --server {who}=COMMAND (with {{port}} in it too)"
                + ("" if owner else ", and name the target: NAME=URL")
            )
        server = ManagedServer(name=owner, command=start)
        spec = spec.replace("{port}", str(server.port))
        with contextlib.suppress(ValueError):  # reported, with the reason, when the run parses it
            server.host = urlsplit(spec.partition("=")[2]).hostname or server.host
        servers.append(server)
        filled.append(spec)
    return filled, servers


SUITE_NAMES = {"h1": "HTTP/1.1", "h2": "HTTP/2", "ws": "WebSocket"}
#: The URLs that serve each suite, for the messages that say which one to use.
SUITE_SCHEMES = {
    "h1": "http:// (or https://)",
    "h2": "h2c:// (or https://)",
    "ws": "ws:// (or wss://; or h2c:// or https:// with --suite ws, over HTTP/2)",
}


def _not_a_target(spec: str) -> str | None:
    """The message for a positional argument that is no target but something a user of
    another tool would type there: an h2spec or Autobahn case id, a case id, a host:port."""
    if "://" in spec:
        return None
    if re.fullmatch(r"(generic|http2|hpack)(/[0-9][0-9.]*)*(/[0-9]+)?/?", spec):
        return f"{spec!r} is not a target but looks like an h2spec case id: use --select h2spec:{spec}"
    if re.fullmatch(r"(h1|h2|ws)/[0-9]+(/.*)?", spec):
        return f"{spec!r} is not a target but a case id (prefix): use --select {spec}"
    if re.fullmatch(r"[0-9]{1,2}(\.[0-9]{1,2}){1,2}", spec):
        return f"{spec!r} is not a target but looks like an Autobahn case id: use --select autobahn:{spec}"
    if re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]+/?.*", spec):
        return f"target {spec!r} has no scheme: e.g. http://{spec} (HTTP/1.1), h2c:// or ws://"
    return None


def _select_hint(prefix: str) -> str:
    if re.match(r"(generic|http2|hpack)(/|$)", prefix):
        return f" (h2spec ids are aliases: --select h2spec:{prefix})"
    if re.fullmatch(r"[0-9]+(\.[0-9]+)*", prefix):
        return f" (Autobahn ids are aliases: --select autobahn:{prefix})"
    return ""


def _why_no_case(unmatched: Sequence[str], suites: Sequence[str]) -> str:
    if unmatched:
        return ": " + "; ".join(f"--select {p} matches no case{_select_hint(p)}" for p in unmatched)
    if suites:
        return f" of the suite{'s' if len(suites) != 1 else ''} {', '.join(suites)}"
    return ""


def _why_no_case_for(target: Any, cases: Sequence[Any]) -> str:
    """Why a target would run nothing: its URL serves other suites than those selected."""
    served = " and ".join(f"the {SUITE_NAMES[s]} suite ({s})" for s in target.suites)
    selected = sorted({case.protocol for case in cases})
    wanted = " and ".join(f"{SUITE_NAMES[s]} ({s})" for s in selected)
    use = "; ".join(f"the {SUITE_NAMES[s]} suite needs {SUITE_SCHEMES[s]}" for s in selected)
    return (
        f"no selected case can run against {target.name} ({target.url}): {target.scheme}:// "
        f"serves {served}, and the selection holds only {wanted} cases; {use}"
    )


def _report_directory(report_dir: str | None) -> Path:
    """The report directory, checked before anything runs: ``-o DIR`` must be writable
    (created if missing); the default is a new ``reports/<timestamp>`` directory, made
    unique for runs started in the same second (``-2``, ``-3`` ...)."""
    if report_dir is None:
        root = Path("reports")
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        try:
            root.mkdir(parents=True, exist_ok=True)
            for number in range(1, 1000):
                candidate = root / (stamp if number == 1 else f"{stamp}-{number}")
                try:
                    candidate.mkdir()
                except FileExistsError:
                    continue
                return candidate
        except OSError as exc:
            _unwritable(root, exc)
        raise click.UsageError(f"cannot make a new report directory in {root}: too many for {stamp}")
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", report_dir):
        click.echo(
            f"warning: writing the reports into a directory named {report_dir!r}: -o is --report-dir "
            "here (h2spec's -o is a timeout: --timeout; its -j, a JUnit file, is written as junit.xml "
            "in the report directory; -j is --jobs here)",
            err=True,
        )
    directory = Path(report_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        _unwritable(directory, exc)
    return directory


def _unwritable(directory: Path, exc: OSError) -> None:
    click.echo(f"Error: cannot write the reports into {directory}: {exc.strerror or exc}", err=True)
    sys.exit(EXIT_USAGE)


def _point_latest(directory: Path) -> None:
    """Make ``reports/latest`` point at ``directory``, the newest report: a relative symlink,
    replaced atomically, or where symlinks cannot be made a file holding the directory's
    name. A ``latest`` that is a real directory is left alone."""
    latest = directory.parent / "latest"
    if not (directory / "results.json").exists() or (latest.is_dir() and not latest.is_symlink()):
        return
    temporary = directory.parent / f".latest-{os.getpid()}"
    try:
        try:
            os.symlink(directory.name, temporary, target_is_directory=True)
        except (OSError, NotImplementedError):
            temporary.write_text(directory.name + "\n", encoding="utf-8")
        os.replace(temporary, latest)
    except OSError as exc:
        click.echo(f"note: could not point {latest} at {directory.name}: {exc.strerror or exc}", err=True)
        temporary.unlink(missing_ok=True)


@dataclass(frozen=True)
class Gate:
    """What turns a run's results into reports and an exit status."""

    fail_on: Any
    baseline: Any = None
    shard: str = ""
    summary_md: Path | None = None
    allow_errors: bool = False  # ERRORs and unreachable targets do not set the exit status


def _read_baseline(path: str, target_names: Sequence[str]) -> Any:
    from conformance.baseline import BaselineError, load_baseline

    try:
        baseline = load_baseline(Path(path))
    except BaselineError as exc:
        for error in exc.errors:
            click.echo(error.render(), err=True)
        plural = "s" if len(exc.errors) != 1 else ""
        click.echo(f"{len(exc.errors)} error{plural} in the baseline file", err=True)
        sys.exit(EXIT_USAGE)
    if target_names:
        paired = baseline.paired_section(list(target_names))
        if paired is not None:
            click.echo(
                f"{path}: note: the baseline section {paired!r} applies to the run's only target, "
                f"{target_names[0]!r}",
                err=True,
            )
        for name in baseline.unknown_targets(list(target_names)):
            click.echo(f"{path}: note: the baseline section {name!r} names no target of this run", err=True)
    return baseline


def _write_outputs(results: Any, directory: Path | None, gate: Gate) -> None:
    """Write the report directory, ``--summary-md`` and the GitHub step summary."""
    from conformance.reporters import write_reports
    from conformance.reporters.markdown import append_markdown, write_markdown

    if directory is not None:
        write_reports(results, directory, fail_on=gate.fail_on, allow_errors=gate.allow_errors)
    if gate.summary_md is not None:
        gate.summary_md.parent.mkdir(parents=True, exist_ok=True)
        write_markdown(results, gate.summary_md, gate.fail_on)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        try:
            append_markdown(results, Path(step_summary), gate.fail_on)
        except OSError as exc:
            click.echo(f"cannot append to $GITHUB_STEP_SUMMARY ({step_summary}): {exc}", err=True)


def _exit_status(results: Any, gate: Gate, console: Any) -> int:
    """Print the GitHub Actions annotations (under GitHub Actions); the exit status."""
    from conformance.reporters.github import in_github_actions, workflow_commands

    if in_github_actions():
        for line in workflow_commands(results, gate.fail_on):
            console.file.write(line + "\n")
        console.file.flush()
    # The same outcome the reports state (the HTML banner): conformance.gate.
    from conformance.gate import judge_gate

    outcome = judge_gate(results, gate.fail_on, allow_errors=gate.allow_errors)
    if outcome.failures:
        return EXIT_FAILED
    if outcome.erred and not gate.allow_errors:
        return EXIT_ERRORS
    return EXIT_OK


def _run_in_reactor(
    targets: list[Any],
    cases: list[Any],
    options: Any,
    jobs: int | None,
    directory: Path,
    gate: Gate,
    progress: bool,
    output: Output = Output(),
    *,
    down: dict[str, str] | None = None,
    servers: Sequence[Any] = (),
) -> int:
    """Run the cases in the reactor: the results, the reports, the exit status. ``down``: the
    targets whose server did not start, and why; ``servers``: those the run started (a second
    Ctrl-C, which quits at once, stops them first; one that exited during the run is named)."""
    from rich.console import Console

    from conformance.driver.runner import RunControl, default_jobs, plan, run_suite
    from conformance.reporters import prepare as prepare_reports
    from conformance.reporters.terminal import TerminalReporter

    console = Console(stderr=False, highlight=False)
    outcome: dict[str, int] = {}
    control = RunControl()

    async def main_async(reactor: Any) -> None:
        # Once running: the reactor installs its own handlers as it starts (this coroutine
        # begins before that).
        reactor.callWhenRunning(_on_signals, reactor, control, console, servers)
        reference = None
        run_targets = targets
        if not run_targets:
            from conformance.target import Target
            from conformance.targets.process import start_reference_process
            from conformance.targets.resources import RESOURCES

            # In a process of its own: the harness and the target each get a core.
            reference = start_reference_process()
            run_targets = [
                Target.parse(f"reference-{name}={url}", suites=reference.suites.get(name)).with_resources(
                    RESOURCES
                )
                for name, url in reference.urls.items()
            ]
            urls = ", ".join(dict.fromkeys(reference.urls.values()))
            if output.verbosity >= 0:
                console.print(f"No target given: testing the bundled reference target ({urls})")
        try:
            work = plan(cases, run_targets)
            total = sum(len(c) for _, c in work)
            reporter = TerminalReporter(
                console,
                show_progress=progress,
                verbosity=output.verbosity,
                max_failures=output.max_failures,
                fail_on=gate.fail_on,
            )
            reporter.start(total, [t.name for t in run_targets])
            # Once every case left is in flight, the run mostly waits (on deadlines, often):
            # the report writers are loaded then, not after the last case.
            tail = max(1, total - (jobs or default_jobs()))
            done = 0

            def case_done(target: str, result: Any) -> None:
                nonlocal done
                reporter.case_done(target, result)
                done += 1
                if done == tail:
                    reactor.callLater(0, prepare_reports)

            results = await run_suite(
                reactor,
                cases,
                run_targets,
                options,
                jobs=jobs,
                on_case_done=case_done,
                control=control,
                on_case_start=reporter.case_started,
                down=down,
            )
        finally:
            if reference is not None:
                reference.stop()
        _note_exited_servers(servers, down or {}, console)
        if gate.shard:
            results = dataclasses.replace(results, shard=gate.shard)
        if gate.baseline is not None:
            from conformance.baseline import apply_baseline

            results = apply_baseline(results, gate.baseline)
        _write_outputs(results, directory, gate)
        reporter.finish(results, directory, gate.fail_on, allow_errors=gate.allow_errors)
        code = _exit_status(results, gate, console)
        outcome["code"] = _SIGNAL_EXITS.get(results.interrupted, code)

    return react(main_async, outcome)


def react(main: Callable[[Any], Any], outcome: dict[str, int]) -> int:
    """Run the coroutine ``main(reactor)`` in the reactor until it ends; the exit status is what
    it left in ``outcome["code"]`` (EXIT_FAILED if nothing), or that of a SystemExit raised in
    the reactor (a second Ctrl-C, a crash: :func:`crashed`)."""
    from twisted.internet import defer, task

    def start(reactor: Any) -> Any:
        return defer.Deferred.fromCoroutine(main(reactor)).addErrback(crashed)

    try:
        task.react(start)
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            return int(exit_.code) if isinstance(exit_.code, int) else EXIT_FAILED
    return outcome.get("code", EXIT_FAILED)


def crashed(failure: Any) -> None:
    """A defect of the harness itself ended the run: say so on stderr, with the traceback to
    report, instead of exiting 1 with nothing said (the exit status stays 1, never 0)."""
    click.echo(
        "conformance: internal error, the run stopped (please report it with this traceback):\n"
        + failure.getTraceback(),
        err=True,
    )


_SIGNAL_EXITS = {"SIGINT": EXIT_SIGINT, "SIGTERM": EXIT_SIGTERM}


def _note_exited_servers(servers: Sequence[Any], down: dict[str, str], console: Any) -> None:
    """Say which started server exited during the run: the cases after that ended in ERROR
    (could not connect), and this says why."""
    for server in servers:
        status = server.exit_status
        if server.name in down or status is None:
            continue
        console.print(
            f"[bold red]server {server.name!r} exited with status {status} during the run[/]: the cases "
            f"after that could not connect (ERROR); its output: {server.log}",
            soft_wrap=True,
            highlight=False,
        )
        tail = server.output_tail()
        if tail:
            console.print("\n".join("    " + line for line in tail.splitlines()[-5:]), markup=False)


def _on_signals(reactor: Any, control: Any, console: Any, servers: Sequence[Any] = ()) -> None:
    """Replace the reactor's SIGINT and SIGTERM handlers (which stop it at once, reports lost)
    with: the first signal interrupts the run (no case starts any more, those in flight are
    dropped, the report of the finished ones is written, the exit status says which signal);
    a second SIGINT quits at once, the terminal's cursor shown again first, and the
    ``servers`` the run started stopped (a quick exit runs no ``finally``)."""
    import signal

    # Noted here, not read from ``control``: the first signal's interrupt runs in the reactor
    # later, and a second Ctrl-C right after the first must still be the second.
    signalled: list[str] = []

    def handler(number: int, frame: Any) -> None:
        name = signal.Signals(number).name
        if control.interrupted or signalled:
            if number == signal.SIGINT:
                console.show_cursor(True)
                sys.stderr.write("\nInterrupted again: quitting without a report\n")
                sys.stderr.flush()
                if servers:
                    from conformance.servers import stop_all

                    stop_all(servers)
                os._exit(EXIT_SIGINT)
            return
        signalled.append(name)
        sys.stderr.write(
            f"\n{name}: stopping; writing the report of the cases that finished (Ctrl-C again to quit)\n"
        )
        sys.stderr.flush()
        reactor.callFromThread(control.interrupt, name)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


class BadInputFile(click.ClickException):
    """A results file that cannot be read: exit 2, never confused with a failing run (1)."""

    exit_code = EXIT_USAGE


def _read_results(path: str) -> Any:
    from conformance.reporters.json_report import read_json

    try:
        return read_json(Path(path))
    except ValueError as exc:
        raise BadInputFile(str(exc)) from None
    except OSError as exc:
        raise BadInputFile(f"{path}: {exc.strerror or exc}") from None


@main.command("baseline")
@click.argument("results_path", metavar="RESULTS.json", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o", "--out", type=click.Path(dir_okay=False), help="Write to this file instead of standard output."
)
def baseline_command(results_path: str, out: str | None) -> None:
    """Write a baseline listing every FAIL of a run (per target), to edit and keep."""
    from conformance.baseline import baseline_from_results

    results = _read_results(results_path)
    text = baseline_from_results(results, source=Path(results_path).name)
    if out:
        Path(out).write_text(text, encoding="utf-8", newline="\n")
        count = sum(1 for t in results.targets for c in t.cases if c.verdict.value == "FAIL")
        click.echo(f"{out}: {count} FAIL{'s' if count != 1 else ''} written", err=True)
    else:
        click.echo(text, nl=False)


@main.command("report")
@click.argument("results_paths", nargs=-1, required=True, metavar="RESULTS.json...")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    help="The report directory to write (results.json, junit.xml, index.html, summary.md).",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False),
    help="Judge the merged results against this baseline (instead of the runs' own).",
)
@options.FAIL_ON
@options.ALLOW_ERRORS
@options.SUMMARY_MD
@click.option(
    "--matrix-md",
    type=click.Path(dir_okay=False),
    help="Also write every case against every target as a Markdown table (for documentation).",
)
@click.option("--title", default="Verdict matrix", show_default=True, help="The --matrix-md page's title.")
@_output_options
def report_command(
    results_paths: Sequence[str],
    out: str,
    baseline_path: str | None,
    fail_on: str,
    allow_errors: bool,
    summary_md: str | None,
    matrix_md: str | None,
    title: str,
    quiet: bool,
    verbose: int,
    max_failures: int,
) -> None:
    """Merge the results of several runs, targets or CI shards into one report directory.

    Exits like run: 1 when a FAIL outside the baseline is at or above --fail-on, 3 when none
    did but a case ended in ERROR or a target was unreachable, 2 when a file cannot be read.
    """
    from rich.console import Console

    from conformance.reporters.terminal import TerminalReporter
    from conformance.shards import merge_results
    from conformance.verdicts.verdict import Requirement

    output = _output(quiet, verbose, max_failures)
    runs = [_read_results(path) for path in results_paths]
    merged, warnings = merge_results(runs)
    for warning in warnings:
        click.echo(f"note: {warning}", err=True)
    if baseline_path:
        from conformance.baseline import apply_baseline

        baseline = _read_baseline(baseline_path, [t.name for t in merged.targets])
        merged = apply_baseline(merged, baseline)
    gate = Gate(
        fail_on=Requirement(fail_on.upper()),
        summary_md=Path(summary_md) if summary_md else None,
        allow_errors=allow_errors,
    )
    _write_outputs(merged, Path(out), gate)
    if matrix_md:
        from conformance.reporters.markdown import render_verdict_matrix

        Path(matrix_md).write_text(render_verdict_matrix(merged, title), encoding="utf-8", newline="\n")
    console = Console(highlight=False)
    plural = "s" if len(runs) != 1 else ""
    if output.verbosity >= 0:
        console.print(f"Merged {len(runs)} result file{plural}", highlight=False)
    # The runs printed their failures already: the gate here, the list with -v.
    TerminalReporter(
        console, show_progress=False, verbosity=output.verbosity, max_failures=output.max_failures
    ).finish(
        merged,
        Path(out),
        gate.fail_on,
        allow_errors=gate.allow_errors,
        list_failures=output.verbosity >= 1,
    )
    sys.exit(_exit_status(merged, gate, console))


@main.command("diff")
@click.argument("old_path", metavar="OLD.json", type=click.Path(exists=True, dir_okay=False))
@click.argument("new_path", metavar="NEW.json", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="How to print the differences.",
)
@options.FAIL_ON
def diff_command(old_path: str, new_path: str, output_format: str, fail_on: str) -> None:
    """Compare two runs: regressions, fixes, other changes, new and removed cases.

    Exits 1 when a case regressed (at or above --fail-on, or into ERROR) and the new run's
    baseline does not expect it, 2 when a file cannot be read, 0 otherwise.
    """
    from conformance.diff import diff_runs, render_json_diff, render_markdown_diff, render_text
    from conformance.verdicts.verdict import Requirement

    level = Requirement(fail_on.upper())
    diff = diff_runs(_read_results(old_path), _read_results(new_path))
    render = {"text": render_text, "json": render_json_diff, "markdown": render_markdown_diff}[output_format]
    click.echo(render(diff, level), nl=False)
    sys.exit(EXIT_FAILED if diff.gating(level) else EXIT_OK)


main.add_command(__import__("conformance.fuzz.cli", fromlist=["fuzz_command"]).fuzz_command)


def entry() -> None:  # pragma: no cover - console script
    try:
        main()
    except ConformanceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


from conformance.client_cli import client as _client_command  # noqa: E402 (the command registers last)

main.add_command(_client_command)
