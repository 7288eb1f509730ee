"""The terminal reporter: a progress bar while the run goes, then the failures and a summary.

Everything that comes from a target is printed as :class:`rich.text.Text` (never parsed as
markup or emoji) after :func:`conformance.reporters._text.visible`, so server bytes can neither
style the terminal nor send it escape sequences. When the console is not a terminal (CI logs,
a pipe) there is no progress bar, only the final report in plain text.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.padding import Padding
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from conformance.reporters._text import clip, visible
from conformance.results import CaseResult, RunResults, StaleEntry, TargetResults
from conformance.verdicts.verdict import Requirement, Verdict

# The terminal shows the gist; index.html has everything.
TEXT_LIMIT = 600
# More known failures than this are counted, not listed.
KNOWN_LIMIT = 10

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


class TerminalReporter:
    """Reports a run on a rich console: :meth:`start`, :meth:`case_done` per case, :meth:`finish`."""

    def __init__(self, console: Console, *, show_progress: bool = True) -> None:
        self.console = console
        self.show_progress = show_progress and console.is_terminal
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._done = 0
        self._total = 0
        self._verdicts: Counter[Verdict] = Counter()

    def start(self, total: int, targets: list[str]) -> None:
        self._total = total
        names = ", ".join(visible(name) for name in targets)
        plural = "" if total == 1 else "s"
        self.console.print(Text(f"Running {total} case{plural} against {names or 'no target'}"))
        if not self.show_progress:
            return
        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]FAIL {task.fields[fails]}[/]  [magenta]ERROR {task.fields[errors]}[/]"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._task = self._progress.add_task("cases", total=total, fails=0, errors=0)
        self._progress.start()

    def case_done(self, target: str, case: CaseResult) -> None:
        self._done += 1
        self._verdicts[case.verdict] += 1
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task,
                advance=1,
                fails=self._verdicts[Verdict.FAIL],
                errors=self._verdicts[Verdict.ERROR],
            )

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
        if self.console.is_terminal:  # wrapped lines keep their indentation
            self.console.print(Padding(Text("\n").join(lines), (0, 0, 0, 8), expand=False))
        else:  # a log: whole lines, never broken at the console width nor padded with spaces
            for line in lines:
                self.console.print(Text(" " * 8) + line, soft_wrap=True)

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

    def finish(
        self,
        results: RunResults,
        report_dir: Path | None,
        fail_on: Requirement,
        *,
        allow_errors: bool = False,
    ) -> None:
        """Print per target every FAIL the baseline does not expect, the ERRORs, the known
        failures and the stale baseline entries; then a summary line per target, the verdict
        of the run (ERRORs and unreachable targets fail it unless ``allow_errors``) and the
        report path."""
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
        for target in results.targets:
            fails = sorted((c for c in target.cases if c.is_new_failure), key=lambda c: -c.requirement.rank)
            known = target.known_failures()
            errors = [c for c in target.cases if c.verdict is Verdict.ERROR]
            stale = results.stale_baseline_of(target)
            if not fails and not errors and not known and not stale:
                continue
            self.console.print()
            title = Text(visible(target.name), style="bold")
            title.append(f" ({visible(target.url)})", style="dim")
            self.console.print(title)
            for case in fails:
                self._print_case(case, fail_on)
            by_reason: dict[str, list[CaseResult]] = {}
            for case in errors:
                by_reason.setdefault(case.observed, []).append(case)
            for reason, cases in by_reason.items():
                if len(cases) < 3:
                    for case in cases:
                        self._print_case(case, fail_on)
                    continue
                # One line for many cases with one cause (an unreachable target).
                line = Text("  ")
                line.append(f"{'ERROR':<5}", style=STYLES[Verdict.ERROR])
                line.append(f" {len(cases)} cases: ")
                line.append(_safe(reason or "the harness could not run the case"))
                self.console.print(line, soft_wrap=True)
            self._print_baseline(known, stale)
        unmatched = results.unmatched_baseline
        if unmatched:
            self.console.print()
            self.console.print(
                Text('Baseline entries for every target ("*") that match no case of this run:', style="cyan")
            )
            for entry in unmatched:
                line = Text(f"    {_safe(entry.pattern)}")
                if entry.source:
                    line.append(f"  ({visible(entry.source)})", style="dim")
                self.console.print(line, soft_wrap=True)
        self.console.print()
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
        if report_dir is not None:
            report = Text("Report: ")
            report.append(visible(str(Path(report_dir) / "index.html")), style="bold")
            self.console.print(report)
