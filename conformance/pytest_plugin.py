"""The pytest plugin (a ``pytest11`` entry point): conformance cases as pytest items.

``pytest --conformance-target URL`` collects the bundled cases (or ``--conformance-cases
PATH``) as one item per case and target, named by case id, so ``-k``, ``-x``, ``--junitxml``
and pytest-xdist's ``-n`` work as usual. Verdicts map onto pytest outcomes:

- FAIL -> a failed test, with the requirement, expected, observed and the step;
  a FAIL that ``--conformance-baseline`` expects -> xfail, with the baseline's reason;
- ERROR -> an error (raised while setting the item up: the case could not run);
- SKIPPED and UNIMPLEMENTED -> skipped, with the reason;
- PASS -> passed; NON-STRICT and INFORMATIONAL -> passed, shown as ``N``/``I`` with their own
  counts in the summary line, and recorded as a ``verdict`` property in JUnit XML.

The ``conformance_run`` and ``conformance_check`` fixtures run cases against a server a test
suite starts itself. Importing this module imports nothing but pytest: Twisted, the driver
and the case loader are imported only when a target is given or a fixture is used, so pytest
runs that do not use the plugin pay nothing for it. Cases run on the process-wide reactor
thread (:mod:`conformance.driver.threaded`), which works in xdist workers too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.results import CaseResult, RunResults

VERDICT_PROPERTY = "verdict"
_PASSING_SHOWN = {"NON-STRICT": ("nonstrict", "N"), "INFORMATIONAL": ("informational", "I")}
_SESSION_KEY = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "protocol conformance cases")
    group.addoption(
        "--conformance-target",
        action="append",
        default=[],
        metavar="[NAME=]URL",
        help="Collect the conformance cases against this server (repeatable).",
    )
    group.addoption(
        "--conformance-cases",
        action="append",
        default=[],
        metavar="PATH",
        help="Case files or directories instead of the bundled cases (repeatable).",
    )
    group.addoption(
        "--conformance-baseline",
        metavar="FILE",
        help="FAILs this baseline expects are reported as xfail.",
    )
    group.addoption(
        "--conformance-timeout",
        type=float,
        default=2.0,
        metavar="S",
        help="Seconds an expect step waits (default 2).",
    )
    group.addoption(
        "--conformance-case-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="A whole case's budget in seconds; past it, ERROR (default 30).",
    )
    group.addoption("--conformance-insecure", action="store_true", help="Do not verify TLS certificates.")
    group.addoption("--conformance-ca-file", metavar="PEM", help="Trust this CA bundle for TLS targets.")


def _run_options(config: pytest.Config) -> Any:
    from conformance.driver.endpoints import TLSSettings
    from conformance.driver.interpreter import RunOptions

    ca_file = config.getoption("conformance_ca_file")
    return RunOptions(
        timeout=config.getoption("conformance_timeout"),
        case_timeout=config.getoption("conformance_case_timeout"),
        # One case per item: nothing queues behind it, so no second pass is needed.
        retry_budget=0.0,
        tls=TLSSettings(
            insecure=config.getoption("conformance_insecure"), ca_file=Path(ca_file) if ca_file else None
        ),
    )


class ConformanceTarget(pytest.Collector):
    """The cases of one target."""

    def __init__(self, *, cases: list[Any], target: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cases = cases
        self.target = target

    def collect(self) -> list[pytest.Item]:
        return [
            ConformanceItem.from_parent(self, name=case.id, case=case, target=self.target)
            for case in self.cases
        ]


class ConformanceItem(pytest.Item):
    """One case against one target."""

    def __init__(self, *, case: Any, target: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.target = target
        self.result: CaseResult | None = None
        self.add_marker(pytest.mark.conformance)

    def setup(self) -> None:
        from conformance.driver.threaded import reactor_thread
        from conformance.verdicts.verdict import Verdict

        state = self.config.stash[_SESSION_KEY]
        results = reactor_thread().run([self.case], [self.target], state["options"], jobs=1)
        if state["baseline"] is not None:
            from conformance.baseline import apply_baseline

            results = apply_baseline(results, state["baseline"])
        (self.result,) = results.targets[0].cases
        self.user_properties.append((VERDICT_PROPERTY, self.result.verdict.value))
        if self.result.verdict is Verdict.ERROR:
            # Raised during setup, so pytest reports an error rather than a failure.
            pytest.fail(f"ERROR: {self.result.observed or 'the case could not run'}", pytrace=False)

    def runtest(self) -> None:
        from conformance.verdicts.verdict import Verdict

        result = self.result
        assert result is not None
        verdict = result.verdict
        if verdict in (Verdict.SKIPPED, Verdict.UNIMPLEMENTED):
            reason = result.observed or "; ".join(result.notes) or "not applicable"
            pytest.skip(f"{verdict.value}: {reason}")
        if verdict is Verdict.FAIL:
            if result.known_failure is not None:
                pytest.xfail(f"known failure (baseline): {result.known_failure}")
            pytest.fail(describe_failure(result), pytrace=False)
        if verdict in (Verdict.NON_STRICT, Verdict.INFORMATIONAL):
            self.add_report_section("call", "conformance", f"{verdict.value}: {result.observed}")

    def reportinfo(self) -> tuple[Any, int | None, str]:
        location = self.case.location
        if location is not None:
            return Path(location.file), location.line - 1, self.name
        return self.path, None, self.name


def describe_failure(result: CaseResult) -> str:
    """A FAIL in words: what the case checks, what was expected, what was observed, where."""
    from conformance.reporters._text import visible

    lines = [f"{result.requirement.value} FAIL: {result.title}"]
    if result.rfc:
        lines.append(f"section:  RFC {result.rfc} §{result.section}")
    lines.append(f"expected: {result.expected}")
    lines.append(f"observed: {result.observed}")
    if result.step is not None or result.step_text:
        step = f"step {result.step}" if result.step is not None else ""
        lines.append(f"at:       {step}{': ' if step and result.step_text else ''}{result.step_text}")
    lines.extend(f"note:     {note}" for note in result.notes)
    return visible("\n".join(lines))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: a protocol conformance case (added by the plugin)")
    # The process that reports (not an xdist worker) keeps each case's verdict, to list the
    # baseline entries that no longer FAIL once the run is over.
    if config.getoption("conformance_baseline", None) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(StaleBaselineReport(config), "conformance-stale-baseline")


class StaleBaselineReport:
    """Lists, after the run, the ``--conformance-baseline`` entries none of whose cases FAILed
    (judged on the cases this run ran), so the baseline can shrink. Works under xdist: the
    verdicts come from the test reports, which the workers send to the controller."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.verdicts: dict[tuple[str, str], str] = {}  # (target name, case id) -> verdict

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        verdict = dict(report.user_properties).get(VERDICT_PROPERTY)
        collector, sep, case_id = report.nodeid.rpartition("::")
        name = collector.rsplit("/", 1)[-1]
        if verdict is None or not sep or not name.startswith("conformance-"):
            return
        self.verdicts[(name.removeprefix("conformance-"), case_id)] = str(verdict)

    def stale(self) -> list[tuple[str, Any]]:
        from conformance.baseline import BaselineError, load_baseline
        from conformance.results import StaleEntry
        from conformance.verdicts.verdict import Verdict

        try:
            baseline = load_baseline(Path(self.config.getoption("conformance_baseline")))
        except BaselineError:
            return []  # reported as a usage error at collection
        targets = list(dict.fromkeys(name for name, _ in self.verdicts))
        stale = []
        for name in targets:
            for entry in baseline.entries_for(name):
                matched = tuple(
                    (case_id, Verdict(verdict))
                    for (target, case_id), verdict in self.verdicts.items()
                    if target == name and entry.matches(case_id)
                )
                if matched and all(verdict is not Verdict.FAIL for _, verdict in matched):
                    stale.append((name, StaleEntry(entry=entry, cases=matched)))
        return stale

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from conformance.reporters._text import visible

        stale = self.stale()
        if not stale:
            return
        terminalreporter.section("conformance baseline: entries that no longer FAIL (remove them)")
        for name, entry in stale:
            where = f"  ({entry.entry.source})" if entry.entry.source else ""
            terminalreporter.line(visible(f"{name}: {entry.describe()}{where}"))


def _load_session(config: pytest.Config) -> tuple[list[Any], list[Any]]:
    from conformance.errors import UsageError
    from conformance.scenario.loader import load
    from conformance.target import Target

    try:
        targets = [Target.parse(spec) for spec in config.getoption("conformance_target")]
    except UsageError as exc:
        raise pytest.UsageError(f"--conformance-target: {exc}") from None
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise pytest.UsageError("--conformance-target: two targets with one name; name them: a=URL b=URL")
    paths = config.getoption("conformance_cases")
    loaded = load([Path(p) for p in paths] if paths else None)
    if loaded.errors:
        raise pytest.UsageError("\n".join(error.render() for error in loaded.errors))
    baseline = None
    if baseline_path := config.getoption("conformance_baseline"):
        from conformance.baseline import BaselineError, load_baseline

        try:
            baseline = load_baseline(Path(baseline_path))
        except BaselineError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.stash[_SESSION_KEY] = {"options": _run_options(config), "baseline": baseline}
    return loaded.cases, targets


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    """The session's collection gains one collector per target, whatever else it collects."""
    report = yield
    if (
        isinstance(collector, pytest.Session)
        and report.passed
        and collector.config.getoption("conformance_target")
    ):
        report.result.extend(_target_collectors(collector))
    return report


def _target_collectors(session: pytest.Session) -> list[ConformanceTarget]:
    from conformance.driver.runner import plan

    cases, targets = _load_session(session.config)
    return [
        # An explicit node id, so that items read "conformance-NAME::CASE-ID" (and JUnit's
        # classname is "conformance-NAME").
        ConformanceTarget.from_parent(
            session,
            name=f"conformance-{target.name}",
            nodeid=f"conformance-{target.name}",
            cases=target_cases,
            target=target,
        )
        for target, target_cases in plan(cases, targets)
    ]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A skipped case points at its case file and line, not at this module."""
    report = yield
    skipped_here = report.skipped and not hasattr(report, "wasxfail") and isinstance(report.longrepr, tuple)
    if isinstance(item, ConformanceItem) and skipped_here and item.case.location is not None:
        location = item.case.location
        report.longrepr = (location.file, location.line, report.longrepr[2])
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    if report.when != "call" or not report.passed:
        return None
    verdict = dict(report.user_properties).get(VERDICT_PROPERTY)
    if verdict in _PASSING_SHOWN:
        category, letter = _PASSING_SHOWN[verdict]
        return category, letter, verdict
    return None


# ---------------------------------------------------------------------------- fixtures


def _runner(pytestconfig: pytest.Config) -> Callable[..., RunResults]:
    def run(
        target: str,
        *,
        select: Sequence[str] = (),
        exclude: Sequence[str] = (),
        suites: Sequence[str] = (),
        cases: Sequence[str | Path] | None = None,
        baseline: str | Path | None = None,
        timeout: float = 2.0,
        case_timeout: float = 30.0,
        jobs: int | None = None,
    ) -> RunResults:
        """Run the cases chosen by ``select``/``exclude`` (id prefixes) against ``target``
        (``[name=]URL``) and return the results; a baseline marks the FAILs it expects."""
        from conformance.driver.interpreter import RunOptions
        from conformance.driver.threaded import reactor_thread
        from conformance.scenario.loader import load_cases
        from conformance.target import Target

        parsed = Target.parse(target, requested=tuple(suites))
        chosen = [
            case
            for case in load_cases([Path(p) for p in cases] if cases else None)
            if (not suites or case.protocol in suites)
            and (not select or any(case.matches(prefix) for prefix in select))
            and not any(case.matches(prefix) for prefix in exclude)
        ]
        if not chosen:
            raise ValueError(f"no case matches select={list(select)!r} exclude={list(exclude)!r}")
        options = RunOptions(timeout=timeout, case_timeout=case_timeout)
        results = reactor_thread().run(chosen, [parsed], options, jobs=jobs)
        if baseline is not None:
            from conformance.baseline import apply_baseline, load_baseline

            results = apply_baseline(results, load_baseline(Path(baseline)))
        return results

    return run


@pytest.fixture
def conformance_run(pytestconfig: pytest.Config) -> Callable[..., RunResults]:
    """``conformance_run(url, select=[...], exclude=[...], suites=[...], cases=[...],
    baseline=FILE, timeout=2.0)`` -> :class:`~conformance.results.RunResults`."""
    return _runner(pytestconfig)


@pytest.fixture
def conformance_check(pytestconfig: pytest.Config) -> Iterator[Callable[..., RunResults]]:
    """Like ``conformance_run``, and fails the test when a case FAILs (outside the baseline)
    at ``fail_on`` (``"must"`` by default) or stricter, or ERRORs; the message lists each."""
    run = _runner(pytestconfig)

    def check(target: str, *, fail_on: str = "must", **kwargs: Any) -> RunResults:
        from conformance.verdicts.verdict import Requirement, Verdict

        results = run(target, **kwargs)
        level = Requirement(fail_on.upper())
        problems = []
        for found in results.targets:
            problems += [
                f"{case.id}\n  " + describe_failure(case).replace("\n", "\n  ")
                for case in found.new_failures(level)
            ]
            problems += [
                f"{case.id}\n  ERROR: {case.observed}"
                for case in found.cases
                if case.verdict is Verdict.ERROR
            ]
        if problems:
            pytest.fail(f"{len(problems)} conformance problem(s):\n" + "\n".join(problems), pytrace=False)
        return results

    yield check
