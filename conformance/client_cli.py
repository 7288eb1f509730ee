"""``conformance client``: judge HTTP and WebSocket clients, the harness playing the server.

For each case the harness listens on a fresh 127.0.0.1 port, starts each client's COMMAND
with that port's ``{url}``, accepts its connection and plays the case's server part; the
client contract (README, "Client mode") gives its exit status and output their meaning. The
results, reports, baselines, ``--fail-on`` gate and exit statuses are ``conformance run``'s:
this module reuses that command's helpers (``conformance.cli``), only the targets differ.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from conformance import cli_options as options
from conformance.shards import case_sort_key, in_shard, parse_shard

#: The suites client mode has cases for, and the reference client of each (run with no COMMAND).
CLIENT_SUITES = {
    "h1": "conformance.clients.h1",
    "h2": "conformance.clients.h2",
    "ws": "conformance.clients.ws",
}
ALL_SUITES = ("h1", "h2", "ws")


def client_cases_dir() -> Path:
    """The bundled client-role cases: ``cases/client/`` beside the server suites."""
    from conformance.scenario import bundled_cases_dir

    return bundled_cases_dir() / "client"


def reference_command(suite: str, *, tls: bool = False) -> str:
    """The command of the bundled reference client of ``suite``, with this interpreter (and
    the run's CA to trust, with ``--tls``)."""
    ca = " --ca {ca}" if tls else ""
    return f"reference-client={shlex.quote(sys.executable)} -m {CLIENT_SUITES[suite]}{ca} {{url}}"


def _listener_tls(directory: Path) -> Any:
    """``--tls``: a CA and certificate made for this run; the CA written to ``directory``."""
    from conformance.driver.endpoints import ListenerTLS

    return ListenerTLS.create(directory)


@click.command("client")
@click.argument("commands", nargs=-1, metavar="[NAME=]COMMAND...")
@click.option(
    "--suite",
    type=click.Choice(ALL_SUITES),
    default="h1",
    show_default=True,
    help="The client suite: HTTP/1.1 (h1), HTTP/2 (h2) or WebSocket (ws).",
)
@click.option(
    "--cases",
    "case_paths",
    multiple=True,
    type=click.Path(exists=True),
    help="Client case files or directories (default: the bundled client cases). Repeatable.",
)
@click.option("--select", multiple=True, metavar="PREFIX", help="Only cases whose id starts with PREFIX.")
@click.option(
    "--exclude", multiple=True, metavar="PREFIX", help="Leave out cases whose id starts with PREFIX."
)
@click.option(
    "-j", "--jobs", type=click.IntRange(1, 256), default=4, show_default=True, help="Cases at once."
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.05, 600),
    default=2.0,
    show_default=True,
    help="Seconds an expect step waits (a client gets at least 10 s to start and to exit).",
)
@options.CASE_TIMEOUT
@options.FAIL_ON
@click.option("-o", "--report-dir", type=click.Path(file_okay=False), help="Where to write the reports.")
@options.TRANSCRIPTS
@options.NO_PROGRESS
@options.BASELINE
@options.SHARD
@options.SUMMARY_MD
@options.ALLOW_ERRORS
@click.option(
    "--tls",
    is_flag=True,
    help="Listen with TLS: {url} is https:// or wss://, and {ca} the file of a CA made for the run "
    "(written to the report directory as ca.pem), which issued the certificate for 127.0.0.1.",
)
@click.option(
    "--serve-autobahn",
    "serve_port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="(ws) Start no client: serve Autobahn's fuzzingserver URL protocol on ws://127.0.0.1:PORT "
    "(0: a free port, printed) to test scripts written for it, until Ctrl-C.",
)
@click.option(
    "--stop-after-reports",
    is_flag=True,
    help="With --serve-autobahn: stop once a script asked for /updateReports (as CI wants).",
)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(0.1, 86400),
    metavar="SECONDS",
    help="With --serve-autobahn: stop after SECONDS without a connection open.",
)
def client(
    commands: Sequence[str],
    suite: str,
    case_paths: Sequence[str],
    select: Sequence[str],
    exclude: Sequence[str],
    jobs: int,
    timeout: float,
    case_timeout: float,
    fail_on: str,
    report_dir: str | None,
    transcripts: str,
    no_progress: bool,
    baseline_path: str | None,
    shard: str | None,
    summary_md: str | None,
    allow_errors: bool,
    tls: bool,
    serve_port: int | None,
    stop_after_reports: bool,
    idle_timeout: float | None,
) -> None:
    """Judge HTTP clients: the harness plays the server (default: the bundled reference client).

    \b
    Each COMMAND is one argument, split into words as a POSIX shell would (no shell runs it),
    with {url}, {host}, {port}, {path} and {case} filled in per case, and optionally named:
      conformance client --suite h1 'curl -s {url}'  'urllib=python3 get.py {url}'
    With --tls, {url} is https:// (wss://) and {ca} names the CA file to trust:
      conformance client --suite h2 --tls 'curl -s --http2 --cacert {ca} {url}'
    The client contract (h1): send one GET for {url}, write the response body to standard
    output, exit 0 when the response was accepted and non-zero when it was rejected.
    (ws): open {url}, echo every message, close when the server closes; exit 0 after a clean
    closing handshake, non-zero when the client failed the connection or the handshake.

    \b
    With --serve-autobahn PORT (--suite ws, no COMMAND), no client is started: a test script
    written for Autobahn's fuzzingserver runs unchanged against ws://127.0.0.1:PORT
    (/getCaseCount, /runCase?case=N&agent=A, /getCaseInfo, /getCaseStatus, /updateReports).
    Case N: the cases with an Autobahn id in Autobahn's order, then the others; each agent is
    one client of the reports, written as each case ends (index.json on /updateReports). It
    serves until Ctrl-C / SIGTERM, --stop-after-reports, --idle-timeout, or a script's
    /stopServer; the exit status is --fail-on's over the cases played (3 when none was).
    """
    # conformance.cli registers this command: its helpers are imported when it runs.
    from conformance import cli
    from conformance.driver.client_role import parse_client
    from conformance.driver.context import RunOptions
    from conformance.errors import UsageError
    from conformance.verdicts.verdict import Requirement

    if serve_port is None and (stop_after_reports or idle_timeout is not None):
        raise click.UsageError("--stop-after-reports and --idle-timeout go with --serve-autobahn")
    if serve_port is not None:
        if suite != "ws":
            raise click.UsageError("--serve-autobahn serves the WebSocket client suite: add --suite ws")
        if commands:
            raise click.UsageError(
                "--serve-autobahn starts no client: the test script connects to it (no COMMAND)"
            )
        if shard:
            raise click.UsageError("--serve-autobahn serves every selected case: no --shard")
        from conformance.autobahn_cli import serve

        cases = _client_cases(case_paths, suite, select, exclude)
        directory = cli._report_directory(report_dir)
        code = serve(
            port=serve_port,
            cases=cases,
            options=RunOptions(
                timeout=timeout,
                case_timeout=case_timeout,
                transcripts=transcripts,
                serve_tls=_listener_tls(directory) if tls else None,
            ),
            jobs=jobs,
            directory=directory,
            gate=cli.Gate(
                fail_on=Requirement(fail_on.upper()),
                baseline=cli._read_baseline(baseline_path, []) if baseline_path else None,
                summary_md=Path(summary_md) if summary_md else None,
                allow_errors=allow_errors,
            ),
            stop_after_reports=stop_after_reports,
            idle_timeout=idle_timeout,
        )
        if not report_dir:
            cli._point_latest(directory)
        sys.exit(code)
    if suite not in CLIENT_SUITES:
        click.echo(
            f"Error: the {cli.SUITE_NAMES[suite]} client suite is not yet available "
            f"(client mode has: {', '.join(CLIENT_SUITES)})",
            err=True,
        )
        sys.exit(cli.EXIT_USAGE)
    specs = list(commands) or [reference_command(suite, tls=tls)]
    try:
        clients = [parse_client(spec, suite) for spec in specs]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if not tls and any("{ca}" in client.command for client in clients):
        raise click.UsageError("{ca} is the CA file of a --tls run: add --tls")
    names = [c.name for c in clients]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise click.UsageError(f"two clients named {duplicates[0]!r}: name them, e.g. 'a=CMD' 'b=CMD'")
    try:
        shard_spec = parse_shard(shard) if shard else None
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    baseline = cli._read_baseline(baseline_path, names) if baseline_path else None
    cases = _client_cases(case_paths, suite, select, exclude)
    if shard_spec:
        cases = [case for case in cases if in_shard(case.id, shard_spec)]
    cases = sorted(cases, key=lambda case: case_sort_key(case.id))
    directory = cli._report_directory(report_dir)
    options = RunOptions(
        timeout=timeout,
        case_timeout=case_timeout,
        transcripts=transcripts,
        serve_tls=_listener_tls(directory) if tls else None,
    )
    gate = cli.Gate(
        fail_on=Requirement(fail_on.upper()),
        baseline=baseline,
        shard=shard.strip() if shard else "",
        summary_md=Path(summary_md) if summary_md else None,
        allow_errors=allow_errors,
    )
    code = _run_clients(clients, cases, options, jobs, directory, gate, not no_progress)
    if not report_dir:
        cli._point_latest(directory)
    sys.exit(code)


def _client_cases(
    case_paths: Sequence[str], suite: str, select: Sequence[str], exclude: Sequence[str]
) -> list[Any]:
    """The client-role cases of ``suite``, selected; a usage error when none is left."""
    from conformance import cli
    from conformance.scenario.loader import load

    paths = [Path(p) for p in case_paths] if case_paths else [client_cases_dir() / suite]
    loaded = load(paths, role="client")
    if loaded.errors:
        cli._print_errors(loaded.errors)
        sys.exit(cli.EXIT_USAGE)
    cases = cli._select(loaded.cases, [suite], select, exclude)
    if not cases:
        raise click.UsageError(f"no {suite} client case matches the selection")
    for prefix in select:
        if not any(case.matches(prefix) for case in loaded.cases):
            click.echo(f"note: --select {prefix} matches no case", err=True)
    return cases


def _run_clients(
    clients: list[Any],
    cases: list[Any],
    options: Any,
    jobs: int,
    directory: Path,
    gate: Any,
    progress: bool,
) -> int:
    """``conformance run``'s reactor loop, with clients for targets."""
    from rich.console import Console

    from conformance import cli
    from conformance.driver.client_process import kill_all
    from conformance.driver.client_role import run_client_case
    from conformance.driver.runner import RunControl, plan, run_suite
    from conformance.reporters.terminal import TerminalReporter

    console = Console(stderr=False, highlight=False)
    outcome: dict[str, int] = {}
    control = RunControl()

    async def main_async(reactor: Any) -> None:
        reactor.callWhenRunning(cli._on_signals, reactor, control, console)
        # No client outlives the run, however it ends.
        reactor.addSystemEventTrigger("before", "shutdown", kill_all)
        total = sum(len(c) for _, c in plan(cases, clients))
        reporter = TerminalReporter(console, show_progress=progress)
        reporter.start(total, [c.name for c in clients])
        results = await run_suite(
            reactor,
            cases,
            clients,
            options,
            jobs=jobs,
            on_case_done=reporter.case_done,
            control=control,
            run_one=run_client_case,
        )
        if gate.shard:
            results = dataclasses.replace(results, shard=gate.shard)
        if gate.baseline is not None:
            from conformance.baseline import apply_baseline

            results = apply_baseline(results, gate.baseline)
        cli._write_outputs(results, directory, gate)
        reporter.finish(results, directory, gate.fail_on, allow_errors=gate.allow_errors)
        code = cli._exit_status(results, gate, console)
        outcome["code"] = cli._SIGNAL_EXITS.get(results.interrupted, code)

    return cli.react(main_async, outcome)
