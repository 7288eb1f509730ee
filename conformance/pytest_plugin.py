"""The pytest plugin (a ``pytest11`` entry point): conformance cases as pytest items.

``pytest --conformance-target URL`` collects the bundled cases (or ``--conformance-cases
PATH``) as one item per case and target, named by case id, so ``-k``, ``-x``, ``--junitxml``
and pytest-xdist's ``-n`` work as usual. The plugin runs and judges as ``conformance run``
does, with the same options under ``--conformance-`` names (:class:`Settings`):

- the selected cases (after ``-k`` and other deselection) run concurrently, ``--conformance-jobs``
  at a time, when the first of them is set up; each item then reports its own stored verdict.
  An xdist worker runs together the cases it has been handed so far (:func:`_upcoming`);
- a FAIL at ``--conformance-fail-on`` or stricter (MUST by default) -> a failed test, with the
  requirement, expected, observed and the step; a FAIL below it is reported, not failed: a
  passed test shown as ``f`` and counted as ``nongating``, as the CLI's exit status ignores it;
  a FAIL that ``--conformance-baseline`` expects -> xfail, with the baseline's reason;
- ERROR -> an error (raised while setting the item up: the case could not run);
- SKIPPED and UNIMPLEMENTED -> skipped, with the reason;
- PASS -> passed; NON-STRICT and INFORMATIONAL -> passed, shown as ``N``/``I`` with their own
  counts in the summary line. Every item records its ``verdict`` as a property in JUnit XML.

The ``conformance_run`` and ``conformance_check`` fixtures run cases against a server a test
suite starts itself; when a test that used them fails, its report lists the run's FAILs one
line each. Importing this module imports nothing but pytest (and the requirement levels):
Twisted, the driver and the case loader are imported only when a target is given or a
fixture is used, so pytest runs that do not use the plugin pay nothing for it. Cases run on
the process-wide reactor thread (:mod:`conformance.driver.threaded`), which works in xdist
workers too.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.verdicts.verdict import Requirement

if TYPE_CHECKING:
    from conformance.results import CaseResult, RunResults, TargetResults

VERDICT_PROPERTY = "verdict"
_PASSING_SHOWN = {"NON-STRICT": ("nonstrict", "N"), "INFORMATIONAL": ("informational", "I")}
#: How a FAIL below --conformance-fail-on shows: passed, with a category of its own.
NONGATING = ("nongating", "f")
_SESSION_KEY = pytest.StashKey[Any]()
_RUNS_KEY = pytest.StashKey[list[Any]]()
#: The levels --fail-on accepts (the CLI's choices): those a FAIL can be at.
FAIL_ON_LEVELS = tuple(level.value.lower() for level in Requirement if level.rank > 0)


@dataclass(frozen=True)
class Settings:
    """What the plugin runs and how it judges: ``conformance run``'s options, each field named
    as the CLI's option is (``--fail-on`` -> ``fail_on``), with the CLI's defaults.

    The command line gives only what it names (:func:`given_settings`), over a base
    (:func:`base_settings`): today ``Settings()``; a configuration-file loader builds the base
    from the file, so that an option given on the command line overrides the file, as with
    ``conformance run``.
    """

    targets: tuple[str, ...] = ()  # [NAME=]URL
    cases: tuple[str, ...] = ()  # case files or directories; none: the bundled cases
    baseline: str | None = None
    timeout: float = 2.0
    case_timeout: float = 30.0
    insecure: bool = False
    ca_file: str | None = None
    fail_on: str = "must"
    profile: str = "default"
    echo_path: str | None = None
    jobs: int | None = None  # None: the runner's default_jobs()
    # (target name, its resources as (capability, path)), from the configuration file's tables
    resources: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()


#: Settings field -> the pytest option that gives it (``--conformance-`` and the CLI's name).
_OPTION_OF = {
    field.name: f"conformance_{field.name}"
    for field in dataclasses.fields(Settings)
    if field.name != "resources"  # only the configuration file names them
}
_OPTION_OF["targets"] = "conformance_target"
#: Settings field -> the configuration file's option (conformance.config.OPTIONS' names).
_CONFIG_NAME = {"cases": "case_paths", "baseline": "baseline_path"}


def given_settings(config: pytest.Config) -> dict[str, Any]:
    """The settings the command line gives: those left out are ``None`` (or empty) there, so
    that a base (the defaults, or a configuration file) keeps its own."""
    given = {}
    for name, option in _OPTION_OF.items():
        value = config.getoption(option, None)
        if value is None or value == [] or value is False:
            continue
        given[name] = tuple(value) if isinstance(value, list) else value
    return given


def settings_for(config: pytest.Config, base: Settings | None = None) -> Settings:
    """``base`` (the CLI's defaults when none) with what the command line gives."""
    return dataclasses.replace(base or Settings(), **given_settings(config))


def _jobs(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 1024:  # the CLI's range for -j
        raise ValueError(text)
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "protocol conformance cases")
    defaults = Settings()
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
        "--conformance-fail-on",
        choices=FAIL_ON_LEVELS,
        metavar="{" + ",".join(FAIL_ON_LEVELS) + "}",
        help=f"A FAIL at this level or stricter fails its test; a lower one is reported, not failed "
        f"(as conformance run --fail-on; default {defaults.fail_on}).",
    )
    group.addoption(
        "--conformance-jobs",
        type=_jobs,
        metavar="N",
        help="Cases in flight at once (as conformance run -j; default 32).",
    )
    group.addoption(
        "--conformance-profile",
        metavar="NAME",
        help="strict: RFC 9112 §2.2's generic 'SHOULD answer 400' is a MUST (cases tagged "
        f"generic-400), as conformance run --profile (default {defaults.profile}).",
    )
    group.addoption(
        "--conformance-config",
        metavar="FILE",
        help="Read the settings and targets of this TOML file (as conformance run --config); without "
        "it, a --conformance-target run reads conformance.toml or [tool.conformance] for settings.",
    )
    group.addoption(
        "--conformance-echo-path",
        metavar="PATH",
        help="The targets' echo endpoint (e.g. /echo), for the cases that need to see what the server "
        "parsed; without it they are SKIPPED (as conformance run --echo-path).",
    )
    group.addoption(
        "--conformance-timeout",
        type=float,
        metavar="S",
        help=f"Seconds an expect step waits (default {defaults.timeout:g}).",
    )
    group.addoption(
        "--conformance-case-timeout",
        type=float,
        metavar="S",
        help=f"A whole case's budget in seconds; past it, ERROR (default {defaults.case_timeout:g}).",
    )
    group.addoption(
        "--conformance-insecure", action="store_true", default=None, help="Do not verify TLS certificates."
    )
    group.addoption("--conformance-ca-file", metavar="PEM", help="Trust this CA bundle for TLS targets.")


def _check(settings: Settings) -> None:
    """Reject, as the CLI does, what no run could use."""
    from conformance.verdicts.profiles import PROFILES

    if settings.profile not in PROFILES:
        known = ", ".join(PROFILES)
        raise pytest.UsageError(f"--conformance-profile {settings.profile!r}: one of {known}")
    # The CLI's rule for --echo-path: a path (visible ASCII) that starts with "/".
    if settings.echo_path is not None and not re.fullmatch(r"/[\x21-\x7e]*", settings.echo_path):
        raise pytest.UsageError(
            f"--conformance-echo-path {settings.echo_path!r}: a path starting with '/', e.g. /echo"
        )
    if settings.fail_on not in FAIL_ON_LEVELS:
        raise pytest.UsageError(f"fail_on {settings.fail_on!r}: one of {', '.join(FAIL_ON_LEVELS)}")


def _run_options(settings: Settings) -> Any:
    """The driver's options for ``settings``: those ``conformance run`` builds from its own."""
    from conformance.driver.endpoints import TLSSettings
    from conformance.driver.interpreter import RunOptions

    return RunOptions(
        timeout=settings.timeout,
        case_timeout=settings.case_timeout,
        tls=TLSSettings(
            insecure=settings.insecure, ca_file=Path(settings.ca_file) if settings.ca_file else None
        ),
        profile=settings.profile,
        echo_path=settings.echo_path,
        # Items show expected and observed, never a transcript: keep those of non-PASS cases only.
        transcripts="failures",
        preflight=True,
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
        self.gating = False  # a FAIL at --conformance-fail-on or stricter, outside the baseline
        self.add_marker(pytest.mark.conformance)

    def setup(self) -> None:
        from conformance.verdicts.verdict import Verdict

        self.result, self.gating = self.config.stash[_SESSION_KEY].outcome(self)
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
            if self.gating:
                pytest.fail(describe_failure(result), pytrace=False)
            # Below the gate: reported (the section, the property), not failed.
            level = self.config.stash[_SESSION_KEY].settings.fail_on.upper()
            self.user_properties.append(("requirement", result.requirement.value))
            self.user_properties.append(("fail_on", level))
            # Its first line is what the terminal summary lists (pytest_terminal_summary).
            line = failure_line(self.target.name, result)
            below = f"below --conformance-fail-on {level}: reported, not failed"
            section = f"{line}\n{below}\n{describe_failure(result)}"
            self.add_report_section("call", "conformance", section)
        if verdict in (Verdict.NON_STRICT, Verdict.INFORMATIONAL):
            self.add_report_section("call", "conformance", f"{verdict.value}: {result.observed}")

    def reportinfo(self) -> tuple[Any, int | None, str]:
        location = self.case.location
        if location is not None:
            return Path(location.file), location.line - 1, self.name
        return self.path, None, self.name


class CaseBatches:
    """Runs the items' cases concurrently, as ``conformance run`` does, and keeps each item's
    verdict until the item reports it.

    The first item set up that has no verdict yet runs, in one batch, its own case and those
    of every item this process is still to run (:func:`_upcoming`): all the selected items in
    a plain pytest run, the items handed to it so far in an xdist worker. Each item then takes
    its stored verdict. The gate is the CLI's: :meth:`TargetResults.new_failures` at
    ``fail_on``, after the baseline.
    """

    def __init__(self, settings: Settings, targets: Sequence[Any], baseline: Any) -> None:
        self.settings = settings
        self.options = _run_options(settings)
        self.level = Requirement(settings.fail_on.upper())
        self.baseline = baseline
        # One baseline section stands for the only target of a run whatever its name: pair it
        # on the session's targets, not on a batch's.
        self.paired = baseline.paired_section([t.name for t in targets]) if baseline is not None else None
        self.outcomes: dict[str, tuple[CaseResult, bool]] = {}  # node id -> (result, gating)

    def outcome(self, item: ConformanceItem) -> tuple[CaseResult, bool]:
        if item.nodeid not in self.outcomes:
            self.run([item, *(other for other in _upcoming(item) if other.nodeid not in self.outcomes)])
        if item.nodeid not in self.outcomes:
            # The runner returned no verdict for it (an interrupted run): the case did not run.
            from conformance.verdicts.judge import judge

            result = judge(item.case, grades=(), failure=None, error="the case did not run", transcript=())
            return result, False
        return self.outcomes.pop(item.nodeid)

    def run(self, items: Sequence[ConformanceItem]) -> None:
        """Run the cases of ``items`` concurrently and store their outcomes."""
        from twisted.internet import defer

        from conformance.driver.runner import default_jobs, run_suite
        from conformance.driver.threaded import reactor_thread

        groups: dict[str, tuple[Any, dict[str, ConformanceItem]]] = {}
        for item in dict.fromkeys(items):
            groups.setdefault(item.target.name, (item.target, {}))[1][item.case.id] = item
        # One run per target (each target's selection may differ: -k picks per item); the jobs
        # are shared among them, so that as many cases are in flight as conformance run's -j.
        jobs = max(1, (self.settings.jobs or default_jobs()) // len(groups))

        async def run_all(reactor: Any) -> list[RunResults]:
            runs = [
                defer.Deferred.fromCoroutine(
                    run_suite(reactor, [i.case for i in chosen.values()], [target], self.options, jobs=jobs)
                )
                for target, chosen in groups.values()
            ]
            return list(await defer.gatherResults(runs, consumeErrors=True))

        thread = reactor_thread()
        for results in thread.call(run_all, thread.reactor):
            for found in results.targets:
                found = self._judged(found)
                gating = {case.id for case in found.new_failures(self.level)}
                chosen = groups[found.name][1]
                for case in found.cases:
                    if case.id in chosen:
                        self.outcomes[chosen[case.id].nodeid] = (case, case.id in gating)

    def _judged(self, found: TargetResults) -> TargetResults:
        """``found`` with the FAILs the baseline expects marked known."""
        if self.baseline is None:
            return found
        from conformance.baseline import apply_to_target

        return apply_to_target(found, self.baseline.entries_for(self.paired or found.name))


def _upcoming(item: ConformanceItem) -> list[ConformanceItem]:
    """The conformance items this process will run after ``item``, as far as it knows.

    A plain run knows them all: the session's items (after ``-k`` and other deselection) that
    follow ``item``. An xdist worker knows only those the controller has handed it so far; it
    hands them out a few at a time and may take some back for an idle worker, which then runs
    them again, so the worker's queue is read without being changed. xdist has no public API
    for it: if its queue is not where xdist 3 keeps it, the worker runs one case at a time.
    """
    session = item.session
    items = session.items
    if hasattr(item.config, "workerinput"):
        indices: list[Any] = []
        for plugin in item.config.pluginmanager.get_plugins():
            queue = getattr(plugin, "torun", None)
            if queue is None or not callable(getattr(queue, "lock", None)):
                continue
            indices.append(getattr(plugin, "nextitem_index", None))
            with queue.lock() as pending:
                indices.extend(pending)
            break
        following = [items[i] for i in indices if isinstance(i, int) and 0 <= i < len(items)]
    else:
        try:
            following = items[items.index(item) + 1 :]
        except ValueError:  # not among the session's items (run by another plugin's hook)
            following = []
    return [other for other in following if isinstance(other, ConformanceItem)]


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
    if plugin_settings(config).baseline and not hasattr(config, "workerinput"):
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
            baseline = load_baseline(Path(plugin_settings(self.config).baseline or ""))
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


_SETTINGS_KEY = pytest.StashKey[Settings]()


def base_settings(config: pytest.Config) -> Settings:
    """The settings the command line overrides: the configuration file's (``--conformance-config
    FILE``, else ``conformance.toml`` or ``[tool.conformance]`` found from the directory pytest
    was started in, as ``conformance run`` finds it), over the CLI's defaults.

    The file is read only when the plugin is asked to run (a ``--conformance-target`` or
    ``--conformance-config``), so a project's other pytest runs never depend on it; and its
    targets are collected only with ``--conformance-config`` (given targets take the settings
    of the file's table of their name): a ``[tool.conformance]`` table written for ``conformance
    run`` does not turn every ``pytest`` of the project into a conformance run."""
    explicit = config.getoption("conformance_config", None)
    if not explicit and not config.getoption("conformance_target", None):
        return Settings()
    from conformance.config import ConfigError, find_config, load_config

    path = Path(explicit) if explicit else find_config(Path(config.invocation_params.dir))
    if path is None:
        return Settings()
    try:
        loaded = load_config(path)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    fields = {field.name for field in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}
    for name in fields:
        option = _CONFIG_NAME.get(name, name)
        if option in loaded.options:
            value = loaded.options[option]
            values[name] = tuple(value) if isinstance(value, list) else value
    if explicit:
        # A target the run would start (server = COMMAND) is not the plugin's to start.
        values["targets"] = tuple(
            table.spec for table in loaded.targets if table.url is not None and table.server is None
        )
    values["resources"] = tuple((table.name, tuple(table.resources)) for table in loaded.targets)
    return Settings(**values)


def plugin_settings(config: pytest.Config) -> Settings:
    """The session's :class:`Settings` (read once): the command line over
    :func:`base_settings`."""
    if _SETTINGS_KEY not in config.stash:
        config.stash[_SETTINGS_KEY] = settings_for(config, base_settings(config))
    return config.stash[_SETTINGS_KEY]


def _load_session(config: pytest.Config) -> tuple[list[Any], list[Any]]:
    from conformance.errors import UsageError
    from conformance.scenario.loader import load
    from conformance.target import Target

    settings = plugin_settings(config)
    _check(settings)
    try:
        tables = dict(settings.resources)
        targets = [Target.parse(spec) for spec in settings.targets]
        targets = [target.with_resources(dict(tables.get(target.name, ()))) for target in targets]
    except UsageError as exc:
        raise pytest.UsageError(f"--conformance-target: {exc}") from None
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise pytest.UsageError("--conformance-target: two targets with one name; name them: a=URL b=URL")
    paths = settings.cases
    loaded = load([Path(p) for p in paths] if paths else None)
    if loaded.errors:
        raise pytest.UsageError("\n".join(error.render() for error in loaded.errors))
    baseline = None
    if settings.baseline:
        from conformance.baseline import BaselineError, load_baseline

        try:
            baseline = load_baseline(Path(settings.baseline))
        except BaselineError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.stash[_SESSION_KEY] = CaseBatches(settings, targets, baseline)
    return loaded.cases, targets


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    """The session's collection gains one collector per target, whatever else it collects."""
    report = yield
    if isinstance(collector, pytest.Session) and report.passed and plugin_settings(collector.config).targets:
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
    """A skipped case points at its case file and line, not at this module; a test that ran
    cases through the fixtures and failed lists their FAILs, one line each."""
    report = yield
    skipped_here = report.skipped and not hasattr(report, "wasxfail") and isinstance(report.longrepr, tuple)
    if isinstance(item, ConformanceItem) and skipped_here and item.case.location is not None:
        location = item.case.location
        report.longrepr = (location.file, location.line, report.longrepr[2])
    runs = item.stash.get(_RUNS_KEY, None)
    if runs and report.failed and report.when == "call":
        lines = [failure_line(target.name, case) for results in runs for target, case in _fails(results)]
        if lines:
            title = "conformance: FAILs the baseline does not expect, at every level"
            report.sections.append((title, "\n".join(lines)))
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    if report.when != "call" or not report.passed:
        return None
    properties = dict(report.user_properties)
    verdict = properties.get(VERDICT_PROPERTY)
    if verdict in _PASSING_SHOWN:
        category, letter = _PASSING_SHOWN[verdict]
        return category, letter, verdict
    if verdict == "FAIL":  # passed: below --conformance-fail-on
        category, letter = NONGATING
        return category, letter, f"{properties.get('requirement', '')} FAIL (below --conformance-fail-on)"
    return None


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The FAILs below --conformance-fail-on, one line each: reported, as the CLI lists them,
    though their tests passed. From the reports, so it works under xdist too."""
    reports = terminalreporter.stats.get(NONGATING[0], [])
    lines = []
    for report in reports:
        for title, content in getattr(report, "sections", ()):
            if title.endswith(" conformance call") and content:
                lines.append(content.split("\n", 1)[0])
    if lines:
        level = plugin_settings(terminalreporter.config).fail_on.upper()
        terminalreporter.section(
            f"conformance: FAILs below --conformance-fail-on {level} (reported, not failed)"
        )
        for line in lines:
            terminalreporter.line(line)


# ---------------------------------------------------------------------------- fixtures


def failure_line(target: str, case: CaseResult) -> str:
    """One FAIL (or ERROR) on one line: case id, target, requirement, expected and observed."""
    from conformance.reporters._text import clip, visible

    what = f"{case.requirement.value} {case.verdict.value}"
    expected = f"expected {clip(case.expected, 160)}; " if case.expected else ""
    observed = clip(case.observed or "(nothing)", 240)
    return visible(f"{case.id} on {target}: {what}: {expected}observed {observed}").replace("\n", " ")


def _fails(results: RunResults) -> list[tuple[TargetResults, CaseResult]]:
    """The FAILs outside the baseline (any level, strictest first) and ERRORs of ``results``."""
    from conformance.verdicts.verdict import Verdict

    found = []
    for target in results.targets:
        fails = sorted(target.new_failures(Requirement.INFO), key=lambda case: -case.requirement.rank)
        found += [(target, case) for case in fails]
        found += [(target, case) for case in target.cases if case.verdict is Verdict.ERROR]
    return found


def _runner(config: pytest.Config, runs: list[RunResults]) -> Callable[..., RunResults]:
    settings = plugin_settings(config)

    def run(
        target: str,
        *,
        select: Sequence[str] = (),
        exclude: Sequence[str] = (),
        suites: Sequence[str] = (),
        cases: Sequence[str | Path] | None = None,
        baseline: str | Path | None = None,
        timeout: float | None = None,
        case_timeout: float | None = None,
        jobs: int | None = None,
        echo_path: str | None = None,
        profile: str | None = None,
    ) -> RunResults:
        """Run the cases chosen by ``select``/``exclude`` (id prefixes) against ``target``
        (``[name=]URL``) and return the results; a baseline marks the FAILs it expects. What
        is not given comes from the session's settings (``--conformance-timeout``, ...)."""
        from conformance.driver.threaded import reactor_thread
        from conformance.scenario.loader import load_cases
        from conformance.target import Target

        given: dict[str, Any] = {
            "timeout": timeout,
            "case_timeout": case_timeout,
            "jobs": jobs,
            "echo_path": echo_path,
            "profile": profile,
        }
        chosen_settings = dataclasses.replace(settings, **{k: v for k, v in given.items() if v is not None})
        _check(chosen_settings)
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
        options = _run_options(chosen_settings)
        results = reactor_thread().run(chosen, [parsed], options, jobs=chosen_settings.jobs)
        baseline = baseline if baseline is not None else settings.baseline
        if baseline is not None:
            from conformance.baseline import apply_baseline, load_baseline

            results = apply_baseline(results, load_baseline(Path(baseline)))
        runs.append(results)
        return results

    return run


@pytest.fixture
def conformance_run(request: pytest.FixtureRequest) -> Callable[..., RunResults]:
    """``conformance_run(url, select=[...], exclude=[...], suites=[...], cases=[...],
    baseline=FILE, timeout=2.0, case_timeout=30.0, jobs=N, echo_path=PATH, profile=NAME)`` ->
    :class:`~conformance.results.RunResults`. Options not given come from the
    ``--conformance-*`` ones; when the test fails, its report lists the FAILs, one line each."""
    return _runner(request.config, request.node.stash.setdefault(_RUNS_KEY, []))


@pytest.fixture
def conformance_check(request: pytest.FixtureRequest) -> Iterator[Callable[..., RunResults]]:
    """Like ``conformance_run``, and fails the test when a case FAILs (outside the baseline)
    at ``fail_on`` (``--conformance-fail-on``: ``"must"`` by default) or stricter, or ERRORs;
    the message lists each, one line each."""
    run = _runner(request.config, [])  # its message lists the problems: no section as well
    default_level = plugin_settings(request.config).fail_on

    def check(target: str, *, fail_on: str | None = None, **kwargs: Any) -> RunResults:
        from conformance.verdicts.verdict import Verdict

        results = run(target, **kwargs)
        level = Requirement((fail_on or default_level).upper())
        problems = []
        for found in results.targets:
            problems += [failure_line(found.name, case) for case in found.new_failures(level)]
            problems += [
                failure_line(found.name, case) for case in found.cases if case.verdict is Verdict.ERROR
            ]
        if problems:
            plural = "s" if len(problems) != 1 else ""
            heading = (
                f"{len(problems)} conformance problem{plural} (FAIL at {level.value} or stricter, or ERROR):"
            )
            pytest.fail("\n".join([heading, *problems]), pytrace=False)
        return results

    yield check
