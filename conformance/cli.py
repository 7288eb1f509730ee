"""The command line: ``conformance run | list | validate | serve | schema``.

Exit status of ``run``: 0 when no case at or above ``--fail-on`` FAILed; 1 when some did;
2 for usage errors or broken case files; 3 when no target could be reached at all.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from conformance import __version__
from conformance.errors import ConformanceError, UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
SUITES = ("h1", "h2", "ws")


def _load(paths: Sequence[str]) -> Any:
    from conformance.scenario.loader import load

    return load([Path(p) for p in paths] if paths else None)


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
def list_cases(
    case_paths: Sequence[str],
    suites: Sequence[str],
    select: Sequence[str],
    exclude: Sequence[str],
    as_json: bool,
) -> None:
    """List cases without running anything."""
    loaded = _load(case_paths)
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
    """Check case files (default: the bundled cases); exit 2 on any error."""
    loaded = _load(paths)
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
def serve(host: str, port: int, h2_port: int | None, h2_tls_port: int | None) -> None:
    """Run the bundled reference target in the foreground (Ctrl-C stops it)."""
    import tempfile

    from twisted.internet import reactor

    from conformance.targets.reference import start_reference_target

    h2_port = h2_port if h2_port is not None else (port + 1 if port else 0)
    h2_tls_port = h2_tls_port if h2_tls_port is not None else (port + 2 if port else 0)
    try:
        target = start_reference_target(
            reactor, host=host, port=port, h2_port=h2_port, h2_tls_port=h2_tls_port
        )
    except Exception as exc:  # a port in use, a bad address
        raise click.ClickException(f"cannot listen on {host}: {exc}") from None
    for suite, url in target.urls.items():
        click.echo(f"{suite}: {url}")
    if target.certificate is not None:
        with tempfile.NamedTemporaryFile("wb", prefix="conformance-ca-", suffix=".pem", delete=False) as pem:
            pem.write(target.certificate.certificate_pem)
        reactor.addSystemEventTrigger("after", "shutdown", Path(pem.name).unlink, missing_ok=True)
        for suite, url in target.tls_urls.items():
            click.echo(f"{suite} over TLS: {url} (self-signed: --ca-file {pem.name})")
    click.echo("Serving; press Ctrl-C to stop.")
    reactor.run()


@main.command()
@click.argument("targets", nargs=-1, metavar="[NAME=]URL...")
@case_options
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 1024),
    help="Cases in flight at once (default: 8 per core, 8 to 32).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.05, 600),
    default=2.0,
    show_default=True,
    help="Seconds an expect step waits.",
)
@click.option(
    "--case-timeout",
    type=click.FloatRange(0.1, 3600),
    default=30.0,
    show_default=True,
    help="Seconds a whole case may take before it is an ERROR.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["must", "should", "may"]),
    default="must",
    show_default=True,
    help="Exit 1 when a case at or above this requirement level FAILs.",
)
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
@click.option("--no-progress", is_flag=True, help="No progress bar.")
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
    no_progress: bool,
) -> None:
    """Run the suites against TARGETS (default: the bundled reference target).

    \b
    A target is a URL, optionally named: http://127.0.0.1:8080/, nginx=https://localhost:8443/
    """
    from conformance.driver.endpoints import TLSSettings
    from conformance.driver.interpreter import RunOptions
    from conformance.target import Target
    from conformance.verdicts.verdict import Requirement

    try:
        parsed = [Target.parse(spec) for spec in targets]
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    names = [t.name for t in parsed]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise click.UsageError(f"two targets named {duplicates[0]!r}: name them, e.g. a=URL b=URL")
    loaded = _load(case_paths)
    if loaded.errors:
        _print_errors(loaded.errors)
        sys.exit(EXIT_USAGE)
    cases = _select(loaded.cases, suites, select, exclude)
    if not cases:
        raise click.UsageError("no case matches the selection")
    options = RunOptions(
        timeout=timeout,
        case_timeout=case_timeout,
        tls=TLSSettings(insecure=insecure, ca_file=Path(ca_file) if ca_file else None),
    )
    directory = (
        Path(report_dir)
        if report_dir
        else Path("reports") / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    )
    code = _run_in_reactor(
        parsed, cases, options, jobs, directory, Requirement(fail_on.upper()), not no_progress
    )
    sys.exit(code)


def _run_in_reactor(
    targets: list[Any],
    cases: list[Any],
    options: Any,
    jobs: int | None,
    directory: Path,
    fail_on: Any,
    progress: bool,
) -> int:
    from rich.console import Console
    from twisted.internet import defer, task

    from conformance.driver.runner import plan, run_suite
    from conformance.reporters import write_reports
    from conformance.reporters.terminal import TerminalReporter

    console = Console(stderr=False, highlight=False)
    outcome: dict[str, int] = {}

    async def main_async(reactor: Any) -> None:
        reference = None
        run_targets = targets
        if not run_targets:
            from conformance.target import Target
            from conformance.targets.reference import start_reference_target

            reference = start_reference_target(reactor)
            run_targets = [Target.parse(f"reference-{suite}={url}") for suite, url in reference.urls.items()]
            urls = ", ".join(reference.urls.values())
            console.print(f"No target given: testing the bundled reference target ({urls})")
        try:
            work = plan(cases, run_targets)
            total = sum(len(c) for _, c in work)
            reporter = TerminalReporter(console, show_progress=progress)
            reporter.start(total, [t.name for t in run_targets])
            results = await run_suite(
                reactor, cases, run_targets, options, jobs=jobs, on_case_done=reporter.case_done
            )
        finally:
            if reference is not None:
                await reference.stop()
        paths = write_reports(results, directory)
        reporter.finish(results, directory, fail_on)
        del paths
        if results.targets and not any(t.reachable for t in results.targets):
            outcome["code"] = EXIT_UNREACHABLE
        elif any(t.failures(fail_on) for t in results.targets):
            outcome["code"] = EXIT_FAILED
        else:
            outcome["code"] = EXIT_OK

    def start(reactor: Any) -> Any:
        return defer.Deferred.fromCoroutine(main_async(reactor))

    try:
        task.react(start)
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            return int(exit_.code) if isinstance(exit_.code, int) else EXIT_FAILED
    return outcome.get("code", EXIT_FAILED)


def entry() -> None:  # pragma: no cover - console script
    try:
        main()
    except ConformanceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
