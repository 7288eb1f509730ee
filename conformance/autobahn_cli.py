"""``conformance client --suite ws --serve-autobahn PORT``: serve Autobahn's fuzzingserver URL
protocol until stopped, writing the reports as each case ends.

The endpoint (:mod:`conformance.driver.autobahn_server`) plays the cases; this module runs it:
it prints the URL served and a line per case, keeps the report directory current (the reports
of ``conformance client``, one target per agent; Autobahn's ``index.json`` and case files on
``/updateReports`` and at the end), and ends on Ctrl-C / SIGTERM, on ``--stop-after-reports``
after ``/updateReports``, on ``--idle-timeout``, or on a script's ``/stopServer`` or
``shutdownOnComplete``. The exit status is the gate (``--fail-on``) over the cases that were
judged; when no case was played at all it is 3 (nothing was tested), never 0.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from conformance.autobahn import Catalogue, Played, Scoreboard, ServedCase, index_json

#: Writing the reports takes at most about this share of the time: past a few hundred cases a
#: write takes a tenth of a second or more, and writes are then coalesced (never delayed by
#: more than a few of them).
WRITE_SHARE = 0.2


class ReportWriter:
    """Keeps ``directory`` current: the reports (results.json, junit.xml, index.html,
    summary.md) rewritten as each case ends, each file replaced whole (a reader never sees
    half of one); Autobahn's index.json and per-case files on :meth:`write_autobahn`."""

    def __init__(
        self, reactor: Any, scoreboard: Scoreboard, directory: Path, gate: Any, url: str, profile: str
    ) -> None:
        self.reactor = reactor
        self.scoreboard = scoreboard
        self.directory = directory
        self.gate = gate
        self.url = url
        self.profile = profile
        self.started_at = (
            datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        )
        self._wall = time.monotonic()
        self._pending: Any = None
        self._last_end = 0.0
        self._last_cost = 0.0

    def results(self) -> Any:
        from conformance import __version__
        from conformance.results import RunResults, TargetResults

        targets = tuple(
            TargetResults(
                name=agent,
                url=f"{self.url}/runCase?agent={agent}",
                cases=tuple(played.result for played in self.scoreboard.of(agent)),
            )
            for agent in self.scoreboard.agents
        )
        results = RunResults(
            tool_version=__version__,
            started_at=self.started_at,
            duration_s=time.monotonic() - self._wall,
            targets=targets,
            profile=self.profile,
        )
        if self.gate.baseline is not None:
            from conformance.baseline import apply_baseline

            results = apply_baseline(results, self.gate.baseline)
        return results

    def case_done(self) -> None:
        """A case ended: write now, or soon when writing costs much (coalesced)."""
        if self._pending is not None and self._pending.active():
            return
        wait = self._last_end + self._last_cost / WRITE_SHARE - time.monotonic()
        if wait <= 0:
            self.write()
        else:
            self._pending = self.reactor.callLater(wait, self.write)

    def write(self) -> None:
        if self._pending is not None and self._pending.active():
            self._pending.cancel()
        self._pending = None
        began = time.monotonic()
        from conformance.reporters import write_reports

        staging = self.directory / f".writing-{os.getpid()}"
        try:
            paths = write_reports(
                self.results(), staging, fail_on=self.gate.fail_on, allow_errors=self.gate.allow_errors
            )
            for path in paths.values():
                os.replace(path, self.directory / path.name)
        except OSError as exc:
            click.echo(f"cannot write the reports into {self.directory}: {exc.strerror or exc}", err=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._last_end = time.monotonic()
        self._last_cost = self._last_end - began

    def write_autobahn(self) -> None:
        """Autobahn's ``index.json`` and a report file per case played (``reportfile``)."""
        played = self.scoreboard.all()
        try:
            for item in played:
                _replace_text(
                    self.directory / item.index_entry()["reportfile"],
                    json.dumps(item.case_report(), sort_keys=True, indent=3, separators=(",", ": ")),
                )
            _replace_text(self.directory / "index.json", index_json(played))
        except OSError as exc:
            click.echo(f"cannot write index.json into {self.directory}: {exc.strerror or exc}", err=True)


def _replace_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text + "\n", encoding="utf-8")
    os.replace(temporary, path)


class _Stop:
    """What ``cli._on_signals`` interrupts: a signal asks the endpoint to stop serving."""

    def __init__(self) -> None:
        self.interrupted = ""
        self.endpoint: Any = None

    def interrupt(self, reason: str) -> None:
        if self.interrupted:
            return
        self.interrupted = reason
        if self.endpoint is not None:
            self.endpoint.stop(reason)


def serve(
    *,
    port: int,
    cases: Sequence[Any],
    options: Any,
    jobs: int,
    directory: Path,
    gate: Any,
    stop_after_reports: bool,
    idle_timeout: float | None,
) -> int:
    """Serve until stopped; the exit status."""
    from rich.console import Console
    from twisted.internet.error import CannotListenError

    from conformance import cli
    from conformance.autobahn import served_cases
    from conformance.driver.autobahn_server import AutobahnEndpoint
    from conformance.driver.client_role import url_scheme
    from conformance.reporters.terminal import TerminalReporter

    catalogue = served_cases(cases)
    if not catalogue.served:
        reasons = sorted({why for _, why in catalogue.left_out})
        raise click.UsageError("no selected case can be served: " + "; ".join(reasons))
    console = Console(stderr=False, highlight=False, soft_wrap=True)
    scoreboard = Scoreboard(catalogue)
    outcome: dict[str, int] = {}
    stop = _Stop()

    async def main_async(reactor: Any) -> None:
        reactor.callWhenRunning(cli._on_signals, reactor, stop, console)
        progress = _Progress(console, catalogue)
        writer: ReportWriter | None = None

        def case_done(played: Played) -> None:
            progress.done(played)
            if writer is not None:
                writer.case_done()

        def reports() -> None:
            if writer is not None:
                writer.write()
                writer.write_autobahn()
                console.print(
                    f"reports updated: {directory} (index.json, results.json, index.html)", highlight=False
                )

        endpoint = AutobahnEndpoint(
            reactor,
            catalogue,
            scoreboard,
            options,
            jobs=jobs,
            on_case_done=case_done,
            on_note=lambda text: console.print(text, style="yellow", highlight=False, soft_wrap=True),
            on_reports=reports,
            stop_after_reports=stop_after_reports,
            idle_timeout=idle_timeout,
        )
        stop.endpoint = endpoint
        try:
            bound = endpoint.listen(port)
        except CannotListenError as exc:
            click.echo(f"Error: cannot listen on 127.0.0.1:{port}: {exc.socketError}", err=True)
            outcome["code"] = cli.EXIT_USAGE
            return
        url = f"{url_scheme('ws', options)}://127.0.0.1:{bound}"
        writer = ReportWriter(reactor, scoreboard, directory, gate, url, options.profile)
        ca_file = options.serve_tls.ca_file if options.serve_tls is not None else None
        _banner(console, url, catalogue, directory, stop_after_reports, idle_timeout, ca_file)
        if stop.interrupted:  # a signal before the endpoint was there to hear it
            endpoint.stop(stop.interrupted)
        reason = await endpoint.stopped
        cancelled = await endpoint.close()
        console.print(
            f"stopped ({reason})"
            + (
                f"; {cancelled} case{'s' if cancelled != 1 else ''} being played dropped (no verdict)"
                if cancelled
                else ""
            ),
            highlight=False,
        )
        results = writer.results()
        writer.write()
        writer.write_autobahn()
        cli._write_outputs(results, None, gate)  # --summary-md, $GITHUB_STEP_SUMMARY: once
        if scoreboard.count() == 0:
            console.print(
                "No client played a case: nothing was judged (the exit status says so: 3)",
                style="bold yellow",
                highlight=False,
            )
            outcome["code"] = cli.EXIT_ERRORS
            return
        reporter = TerminalReporter(console, show_progress=False)
        reporter.finish(results, directory, gate.fail_on, allow_errors=gate.allow_errors)
        outcome["code"] = cli._exit_status(results, gate, console)

    return cli.react(main_async, outcome)


def _banner(
    console: Any,
    url: str,
    catalogue: Catalogue,
    directory: Path,
    stop_after_reports: bool,
    idle_timeout: float | None,
    ca_file: Path | None = None,
) -> None:
    served = len(catalogue.served)
    aliased = sum(1 for s in catalogue.served if s.id != s.case.id)
    console.print(
        f"Serving Autobahn's fuzzingserver protocol at {url}", style="bold", highlight=False, soft_wrap=True
    )
    if ca_file is not None:
        console.print(f"  TLS: the CA to trust is {ca_file}", highlight=False, soft_wrap=True)
    console.print(
        f"  {served} case{'s' if served != 1 else ''} ({aliased} with Autobahn ids, "
        f"{served - aliased} of this tool's own): {url}/getCaseCount, "
        f"{url}/runCase?case=N&agent=NAME, {url}/updateReports?agent=NAME",
        highlight=False,
        soft_wrap=True,
    )
    if catalogue.left_out:
        why = sorted({reason for _, reason in catalogue.left_out})
        console.print(
            f"  {len(catalogue.left_out)} selected case(s) not served: " + "; ".join(why), highlight=False
        )
    ends = ["Ctrl-C"]
    if stop_after_reports:
        ends.append("after /updateReports")
    if idle_timeout is not None:
        ends.append(f"after {idle_timeout:g} s without a connection")
    console.print(
        f"  reports: {directory}; serving until {', or '.join(ends)}", highlight=False, soft_wrap=True
    )


class _Progress:
    """One line per case as it ends: verdict, agent, number, Autobahn id, our id."""

    def __init__(self, console: Any, catalogue: Catalogue) -> None:
        from conformance.reporters.terminal import _ascii_marks

        self.console = console
        self.total = len(catalogue.served)
        self.ascii = _ascii_marks(console)

    def done(self, played: Played) -> None:
        from rich.text import Text

        from conformance.reporters._text import visible
        from conformance.reporters.terminal import MARKS, STYLES

        result = played.result
        served: ServedCase = played.served
        line = Text("  ")
        line.append(
            f"{MARKS[result.verdict][1 if self.ascii else 0]} {result.verdict.value:<13}",
            style=STYLES[result.verdict],
        )
        line.append(f" {visible(played.agent)}", style="dim")
        line.append(f"  {served.number}/{self.total}  ")
        line.append(visible(served.id), style="bold")
        if served.id != result.id:
            line.append(f"  {visible(result.id)}", style="dim")
        line.append(f"  {result.duration_s:.2f} s", style="dim")
        self.console.print(line, soft_wrap=True)
