"""The terminal reporter: a progress bar while the run goes, then the failures and a summary.

Everything that comes from a target is printed as :class:`rich.text.Text` (never parsed as
markup or emoji) after :func:`conformance.reporters._text.visible`, so server bytes can neither
style the terminal nor send it escape sequences. When the console is not a terminal (CI logs,
a pipe) there is no progress bar, only the final report in plain text.

How much is said is the ``verbosity``: ``-1`` (``-q``) the failures and the gate line only;
``0`` a progress bar, the failures and a summary; ``1`` (``-v``) also a line per case as it
ends, marked like h2spec's (✔ / ×); ``2`` (``-vv``) also the wire transcript of each FAIL.
The list of failures stops after ``max_failures`` entries and says where the rest is.
While the run ends, the progress display names the cases still running, and for how long:
a run that sits at 95 % is waiting on them (their deadlines, often).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from conformance.reporters._text import clip, escape_bytes, visible
from conformance.results import CaseResult, Direction, RunResults, StaleEntry, TargetResults
from conformance.verdicts.verdict import Requirement, Verdict

# The terminal shows the gist; index.html has everything.
TEXT_LIMIT = 600
# More known failures than this are counted, not listed.
KNOWN_LIMIT = 10
#: The default of ``--max-failures``: as many as summary.md lists (its lists stop at 50).
MAX_FAILURES = 50
#: -vv: the bytes of one transcript entry shown, and the entries of one case.
TRANSCRIPT_ENTRY_LIMIT = 400
TRANSCRIPT_LIMIT = 60
#: The progress display names the cases still running once this share of the run is done
#: (or once every case left is in flight): up to RUNNING_SHOWN of them, the oldest first.
RUNNING_FROM = 0.9
RUNNING_SHOWN = 3

QUIET, NORMAL, VERBOSE, TRANSCRIPTS = -1, 0, 1, 2

# -v marks, as h2spec's; the second of each pair where the terminal cannot show the first.
MARKS = {
    Verdict.PASS: ("✔", "+"),
    Verdict.NON_STRICT: ("~", "~"),
    Verdict.FAIL: ("×", "x"),
    Verdict.ERROR: ("!", "!"),
    Verdict.INFORMATIONAL: ("i", "i"),
    Verdict.UNIMPLEMENTED: ("-", "-"),
    Verdict.SKIPPED: ("-", "-"),
}

STYLES = {
    Verdict.PASS: "green",
    Verdict.NON_STRICT: "yellow",
    Verdict.FAIL: "bold red",
    Verdict.ERROR: "bold magenta",
    Verdict.INFORMATIONAL: "blue",
    Verdict.UNIMPLEMENTED: "dim",
    Verdict.SKIPPED: "dim",
}

REQUIREMENTS = (Requirement.MUST, Requirement.SHOULD, Requirement.MAY, Requirement.INFO)


def _safe(text: str) -> str:
    return visible(clip(text, TEXT_LIMIT))


def summary_line(target: TargetResults) -> Text:
    """``nginx: 52 PASS, 3 NON-STRICT, 4 FAIL (2 MUST, 2 SHOULD), 1 ERROR``."""
    line = Text()
    line.append(visible(target.name), style="bold")
    line.append(": ")
    if not target.reachable:
        line.append("unreachable", style=STYLES[Verdict.ERROR])
        line.append(", ")
    counts = Counter(case.verdict for case in target.cases)
    parts: list[Text] = []
    for verdict in Verdict:
        if not counts[verdict]:
            continue
        part = Text(f"{counts[verdict]} {verdict.value}", style=STYLES[verdict])
        if verdict is Verdict.FAIL:
            levels = Counter(case.requirement for case in target.cases if case.verdict is Verdict.FAIL)
            part.append(" (" + ", ".join(f"{levels[r]} {r.value}" for r in REQUIREMENTS if levels[r]) + ")")
        parts.append(part)
    line.append_text(Text(", ").join(parts) if parts else Text("no cases"))
    # WebSocket cases: the closing-handshake verdicts, Autobahn's second dimension.
    closings = Counter(case.closing["verdict"] for case in target.cases if case.closing)
    if closings:
        line.append("; closing handshake: ")
        line.append(", ".join(f"{n} {name}" for name, n in sorted(closings.items())))
    return line


def _error_reasons(results: RunResults) -> list[str]:
    """Per target with any: 'NAME could not be reached', or 'NAME: N cases ended in ERROR'."""
    reasons = []
    for target in results.targets:
        errors = sum(1 for case in target.cases if case.verdict is Verdict.ERROR)
        if not target.reachable:
            reasons.append(f"{visible(target.name)} could not be reached")
        elif errors:
            plural = "s" if errors != 1 else ""
            reasons.append(f"{visible(target.name)}: {errors} case{plural} ended in ERROR")
    return reasons


def _ascii_marks(console: Console) -> bool:
    """Whether the console's encoding cannot show the -v marks (a C locale, a cp1252 pipe)."""
    try:
        "".join(mark for mark, _ in MARKS.values()).encode(console.encoding)
    except (UnicodeEncodeError, LookupError):
        return True
    return False


def _seconds(elapsed: float) -> str:
    return f"{elapsed:.0f} s" if elapsed < 120 else f"{elapsed / 60:.0f} min"


class _CountsColumn(ProgressColumn):
    """``FAIL 2  ERROR 0``: red and magenta only once there is something to count."""

    def render(self, task: Task) -> Text:
        fails, errors = task.fields["fails"], task.fields["errors"]
        text = Text()
        text.append(f"FAIL {fails}", style="red" if fails else "dim")
        text.append("  ")
        text.append(f"ERROR {errors}", style="magenta" if errors else "dim")
        return text


class _Progress(Progress):
    """rich's progress bar, with the cases still running below it once the run is ending."""

    def __init__(
        self, *columns: ProgressColumn | str, running: Callable[[], Text | None], **kw: object
    ) -> None:
        self._running_cases = running  # before rich's __init__, which may render already
        super().__init__(*columns, **kw)  # type: ignore[arg-type]

    def get_renderables(self) -> Iterable[RenderableType]:
        yield from super().get_renderables()
        running = self._running_cases()
        if running is not None:
            yield running


class TerminalReporter:
    """Reports a run on a rich console: :meth:`start`, :meth:`case_started` and
    :meth:`case_done` per case, :meth:`finish`.

    ``verbosity``: :data:`QUIET`, :data:`NORMAL`, :data:`VERBOSE` or :data:`TRANSCRIPTS`.
    ``fail_on``: the gate, whose FAILs turn the progress bar red (those below it do not).
    ``clock``: seconds, for how long a case has been running (a test passes its own).
    """

    def __init__(
        self,
        console: Console,
        *,
        show_progress: bool = True,
        verbosity: int = NORMAL,
        max_failures: int = MAX_FAILURES,
        fail_on: Requirement = Requirement.MUST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.verbosity = verbosity
        self.max_failures = max_failures
        self.fail_on = fail_on
        self.show_progress = show_progress and console.is_terminal and verbosity > QUIET
        self._clock = clock
        self._ascii = _ascii_marks(console)
        self._progress: Progress | None = None
        self._bar: BarColumn | None = None
        self._task: TaskID | None = None
        self._done = 0
        self._total = 0
        self._targets: list[str] = []
        self._verdicts: Counter[Verdict] = Counter()
        self._gating_fails = 0
        # (target, case id) -> when it started. Written by the reactor's thread, read by the
        # progress display's refresh thread: hence the lock.
        self._running: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def start(self, total: int, targets: list[str]) -> None:
        self._total = total
        self._targets = list(targets)
        if self.verbosity > QUIET:
            names = ", ".join(visible(name) for name in targets)
            plural = "" if total == 1 else "s"
            self.console.print(Text(f"Running {total} case{plural} against {names or 'no target'}"))
        if not self.show_progress:
            return
        # Not rich's default pink-red while nothing has failed: red means a FAIL at the gate.
        self._bar = BarColumn(complete_style="blue", finished_style="green")
        self._progress = _Progress(
            TextColumn("[progress.description]{task.description}"),
            self._bar,
            MofNCompleteColumn(),
            _CountsColumn(),
            TimeElapsedColumn(),
            running=self.running_line,
            console=self.console,
            transient=True,
        )
        self._task = self._progress.add_task("cases", total=total, fails=0, errors=0)
        self._progress.start()

    def case_started(self, target: str, case_id: str) -> None:
        """A case began to run (again, for a case run a second time alone)."""
        with self._lock:
            self._running[(target, case_id)] = self._clock()

    def case_done(self, target: str, case: CaseResult) -> None:
        with self._lock:
            self._running.pop((target, case.id), None)
        self._done += 1
        self._verdicts[case.verdict] += 1
        if case.is_new_failure and case.requirement.rank >= self.fail_on.rank:
            self._gating_fails += 1
            if self._bar is not None:
                self._bar.complete_style = self._bar.finished_style = "red"
        if self.verbosity >= VERBOSE:
            self.console.print(self.case_line(target, case), soft_wrap=True)
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task,
                advance=1,
                fails=self._verdicts[Verdict.FAIL],
                errors=self._verdicts[Verdict.ERROR],
            )

    def case_line(self, target: str, case: CaseResult) -> Text:
        """-v: ``✔ PASS          h1/9112/2.2/bare-cr  nginx  title``, as the case ends."""
        mark = MARKS[case.verdict][1 if self._ascii else 0]
        verdict = case.verdict.value
        if case.verdict is Verdict.FAIL:
            verdict += f" ({case.requirement.value})"
            if case.known_failure is not None:
                verdict = "FAIL (known)"
        gating = case.verdict is Verdict.ERROR or (
            case.is_new_failure and case.requirement.rank >= self.fail_on.rank
        )
        style = STYLES[case.verdict] if gating or case.verdict is not Verdict.FAIL else "yellow"
        line = Text("  ")
        line.append(f"{mark} {verdict:<13}", style=style)
        line.append(" ")
        line.append(visible(case.id), style="bold")
        line.append(f"  {visible(target)}", style="dim")
        if case.title:
            line.append(f"  {visible(clip(case.title, 80))}")
        return line

    def running_line(self) -> Text | None:
        """The cases still running, once the run is ending, the longest-running first, one
        per line (time first, so a narrow terminal cuts the id, not the time)::

            still running (7):
               38 s  h2/9113/5.1/idle-timeout  nginx
               12 s  ws/6455/7.1/close-unanswered  nginx
              and 5 more

        None before (or when none is)."""
        with self._lock:
            running = sorted(self._running.items(), key=lambda item: item[1])
        left = self._total - self._done
        if not running or not (self._done >= RUNNING_FROM * self._total or left <= len(running)):
            return None
        now = self._clock()
        several = len(self._targets) > 1
        lines = [Text(f"still running ({len(running)}):", style="dim")]
        for (target, case_id), since in running[:RUNNING_SHOWN]:
            line = Text(f"  {_seconds(now - since):>6}  ", style="dim")
            line.append(visible(case_id))
            if several:
                line.append(f"  {visible(target)}", style="dim")
            lines.append(line)
        if len(running) > RUNNING_SHOWN:
            lines.append(Text(f"  and {len(running) - RUNNING_SHOWN} more", style="dim"))
        text = Text("\n").join(lines)
        text.no_wrap = True
        text.overflow = "ellipsis"
        return text

    @property
    def counts(self) -> dict[Verdict, int]:
        """The verdicts seen so far through :meth:`case_done`."""
        return dict(self._verdicts)

    def _stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _print_case(self, case: CaseResult, fail_on: Requirement) -> None:
        verdict = case.verdict
        gating = verdict is Verdict.ERROR or case.requirement.rank >= fail_on.rank
        head = Text("  ")
        head.append(f"{verdict.value:<5}", style=STYLES[verdict] if gating else "yellow")
        head.append(f" {case.requirement.value:<6} ")
        head.append(visible(case.id), style="bold")
        if case.title:
            head.append(f"  {visible(case.title)}")
        self.console.print(head, soft_wrap=True)
        fields: list[tuple[str, str]] = []
        if verdict is Verdict.ERROR:
            fields.append(("reason", case.observed or "the harness could not run the case"))
        else:
            fields += [("expected", case.expected), ("observed", case.observed)]
            if case.step is not None or case.step_text:
                step = f"step {case.step}" if case.step is not None else ""
                sep = ": " if step and case.step_text else ""
                fields.append(("at", f"{step}{sep}{case.step_text}"))
            if case.closing:
                fields.append(("closing", f"{case.closing['verdict']}: {case.closing.get('text', '')}"))
        fields += [("note", note) for note in case.notes]
        lines = []
        for label, value in fields:
            for n, part in enumerate(_safe(value).split("\n")):
                line = Text()
                line.append(f"{label + ':' if n == 0 else '':<10}", style="dim")
                line.append(part)
                lines.append(line)
        if self.verbosity >= TRANSCRIPTS and verdict is Verdict.FAIL:
            lines += self._transcript(case)
        if self.console.is_terminal:  # wrapped lines keep their indentation
            self.console.print(Padding(Text("\n").join(lines), (0, 0, 0, 8), expand=False))
        else:  # a log: whole lines, never broken at the console width nor padded with spaces
            for line in lines:
                self.console.print(Text(" " * 8) + line, soft_wrap=True)

    def _transcript(self, case: CaseResult) -> list[Text]:
        """-vv: the case's wire transcript, each entry clipped (index.html has it whole)."""
        if not case.transcript:
            return [Text("transcript: none kept", style="dim")]
        lines = [Text("transcript:", style="dim")]
        for entry in case.transcript[:TRANSCRIPT_LIMIT]:
            where = f" #{entry.connection}" if entry.connection else ""
            label = f"  {entry.t:8.3f}{where} "
            if entry.direction is Direction.EVENT:
                body = visible(clip(entry.text, TRANSCRIPT_ENTRY_LIMIT))
                label += "event"
            else:
                size = entry.size or len(entry.data)
                label += f"{entry.direction.value} {size} B"
                body = clip(escape_bytes(entry.data), TRANSCRIPT_ENTRY_LIMIT).rstrip("\n")
                if size > len(entry.data):
                    body += f" … ({size - len(entry.data)} more bytes not kept)"
                body = visible(body)
            for n, part in enumerate(body.split("\n")):
                line = Text(label + ": " if n == 0 else " " * (len(label) + 2), style="dim")
                line.append(part)
                lines.append(line)
        if len(case.transcript) > TRANSCRIPT_LIMIT:
            lines.append(Text(f"  … {len(case.transcript) - TRANSCRIPT_LIMIT} more entries", style="dim"))
        return lines

    def _print_baseline(self, known: tuple[CaseResult, ...], stale: tuple[StaleEntry, ...]) -> None:
        if len(known) > KNOWN_LIMIT:
            self.console.print(Text(f"  known {len(known)} FAILs expected by the baseline", style="yellow"))
        for case in known if len(known) <= KNOWN_LIMIT else ():
            line = Text("  ")
            line.append("known", style="yellow")
            line.append(f" {case.requirement.value:<6} ")
            line.append(visible(case.id))
            line.append(f"  {_safe(case.known_failure or '')}", style="dim")
            self.console.print(line, soft_wrap=True)
        if stale:
            self.console.print(Text("  Baseline entries that no longer FAIL (remove them):", style="cyan"))
        for entry in stale:
            line = Text(f"    {_safe(entry.describe())}")
            if entry.entry.source:
                line.append(f"  ({visible(entry.entry.source)})", style="dim")
            self.console.print(line, soft_wrap=True)

    def _print_target(
        self, results: RunResults, target: TargetResults, fail_on: Requirement, budget: list[int]
    ) -> tuple[bool, int]:
        """The FAILs, ERRORs (and, unless quiet, known failures and stale baseline entries)
        of one target, while ``budget[0]`` (what is left of ``--max-failures``) lasts:
        whether anything was printed, and how many cases were left out."""
        fails = sorted((c for c in target.cases if c.is_new_failure), key=lambda c: -c.requirement.rank)
        known = target.known_failures() if self.verbosity > QUIET else ()
        stale = results.stale_baseline_of(target) if self.verbosity > QUIET else ()
        errors = [c for c in target.cases if c.verdict is Verdict.ERROR]
        entries: list[tuple[str, list[CaseResult]]] = [("", [case]) for case in fails]
        by_reason: dict[str, list[CaseResult]] = {}
        for case in errors:
            by_reason.setdefault(case.observed, []).append(case)
        for reason, cases in by_reason.items():
            if len(cases) < 3:
                entries += [("", [case]) for case in cases]
            else:  # one line for many cases with one cause (an unreachable target)
                entries.append((reason, cases))
        shown, rest = entries[: budget[0]], entries[budget[0] :]
        budget[0] -= len(shown)
        left_out = sum(len(cases) for _, cases in rest)
        if not shown and not known and not stale:
            return False, left_out
        self.console.print()
        title = Text(visible(target.name), style="bold")
        title.append(f" ({visible(target.url)})", style="dim")
        self.console.print(title)
        for reason, cases in shown:
            if not reason:
                self._print_case(cases[0], fail_on)
                continue
            line = Text("  ")
            line.append(f"{'ERROR':<5}", style=STYLES[Verdict.ERROR])
            line.append(f" {len(cases)} cases: ")
            line.append(_safe(reason or "the harness could not run the case"))
            self.console.print(line, soft_wrap=True)
        if left_out:
            self.console.print(
                Text(
                    f"  … and {left_out} more FAIL or ERROR (--max-failures {self.max_failures})", style="dim"
                )
            )
        if known or stale:
            self._print_baseline(known, stale)
        return True, left_out

    def finish(
        self,
        results: RunResults,
        report_dir: Path | None,
        fail_on: Requirement,
        *,
        allow_errors: bool = False,
        list_failures: bool = True,
    ) -> None:
        """Print per target every FAIL the baseline does not expect, the ERRORs, the known
        failures and the stale baseline entries (up to ``max_failures`` entries in all; none
        when not ``list_failures``); then a summary line per target, the verdict of the run
        (ERRORs and unreachable targets fail it unless ``allow_errors``) and the report path.
        Quiet: the failures, the verdict of the run and the report path only."""
        self._stop_progress()
        if results.interrupted:
            ran = sum(len(target.cases) for target in results.targets)
            self.console.print()
            self.console.print(
                Text(
                    f"Interrupted ({results.interrupted}): {ran} of {self._total or ran} cases finished; "
                    "the report holds those.",
                    style="bold yellow",
                ),
                soft_wrap=True,
            )
        left_out = 0
        printed = bool(results.interrupted)
        if list_failures:
            budget = [max(0, self.max_failures)]
            for target in results.targets:
                shown, omitted = self._print_target(results, target, fail_on, budget)
                printed = printed or shown
                left_out += omitted
        unmatched = results.unmatched_baseline
        if unmatched and list_failures and self.verbosity > QUIET:
            self.console.print()
            self.console.print(
                Text('Baseline entries for every target ("*") that match no case of this run:', style="cyan")
            )
            for entry in unmatched:
                line = Text(f"    {_safe(entry.pattern)}")
                if entry.source:
                    line.append(f"  ({visible(entry.source)})", style="dim")
                self.console.print(line, soft_wrap=True)
        if printed or self.verbosity > QUIET:
            self.console.print()
        if self.verbosity > QUIET:
            for target in results.targets:
                self.console.print(summary_line(target), soft_wrap=True)
        gating = sum(len(target.new_failures(fail_on)) for target in results.targets)
        known_count = sum(len(target.known_failures()) for target in results.targets)
        stale_count = sum(len(results.stale_baseline_of(target)) for target in results.targets) + len(
            unmatched
        )
        level = fail_on.value if fail_on is Requirement.MUST else f"{fail_on.value} or stricter"
        baselined = bool(known_count or any(target.baseline for target in results.targets))
        new = "new " if baselined else ""
        if results.profile != "default":
            level += f" (profile {results.profile})"
        if gating:
            verdict = Text(f"{gating} {new}FAIL at {level}", style="bold red")
        else:
            verdict = Text(f"No {new}FAIL at {level}", style="green")
        if known_count:
            verdict.append(f" ({known_count} known, expected by the baseline)", style="yellow")
        if stale_count:
            plural = "y" if stale_count == 1 else "ies"
            verdict.append(f"; {stale_count} baseline entr{plural} no longer FAIL", style="cyan")
        self.console.print(verdict, soft_wrap=True)
        errors = _error_reasons(results)
        if errors:
            line = Text("; ".join(errors), style=STYLES[Verdict.ERROR])
            if allow_errors:
                line.append(" (not counted: --allow-errors)")
            else:
                line.append(": the run fails (--allow-errors to accept)")
            self.console.print(line, soft_wrap=True)
        listed = sum(
            1 for t in results.targets for c in t.cases if c.is_new_failure or c.verdict is Verdict.ERROR
        )
        if report_dir is not None:
            report = Text("Report: ")
            report.append(visible(str(Path(report_dir) / "index.html")), style="bold")
            if left_out:
                report.append(f" (every FAIL and ERROR; {left_out} not listed above)")
            elif listed and not list_failures:
                report.append(" (every FAIL and ERROR; -v lists them here)")
            self.console.print(report, soft_wrap=True)
