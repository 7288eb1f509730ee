"""The pytest plugin, driven through pytester in subprocesses: collection by case id, verdicts
as pytest outcomes, ``-k``, ``-x``, ``--junitxml``, ``-n 2``, the fixtures, and no cost for
pytest runs that do not use it."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import pytest
from plugin_support import ROOT, run, target_args


def test_the_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["project"]["entry-points"]["pytest11"] == {"conformance": "conformance.pytest_plugin"}


def test_cases_are_collected_as_items_named_by_case_id(project: pytest.Pytester, ok_server: str) -> None:
    result = run(project, *target_args(ok_server), "--collect-only", "-q")
    assert result.ret == 0, result.stdout.str()
    ids = [line for line in result.outlines if line.startswith("conformance-")]
    assert ids == [
        "conformance-srv::h1/9112/1/must-200",
        "conformance-srv::h1/9112/1/should-400",
        "conformance-srv::h1/9112/1/should-404",
        "conformance-srv::h1/9112/1/lenient",
        "conformance-srv::h1/9112/1/optional-feature",
    ]


def test_verdicts_become_pytest_outcomes_and_junit(project: pytest.Pytester, ok_server: str) -> None:
    # At --conformance-fail-on should, the SHOULD FAILs fail their tests (test_plugin_options
    # has the default, MUST, at which they are reported and pass).
    result = run(
        project, *target_args(ok_server), "-rA", "--junitxml=junit.xml", "--conformance-fail-on=should"
    )
    # NON-STRICT passes (exit status, JUnit) and is counted apart in the summary line.
    assert result.parseoutcomes() == {"passed": 1, "failed": 2, "skipped": 1, "nonstrict": 1}
    out = result.stdout.str()
    assert "conformance-srv .FFNs" in out
    assert "SHOULD FAIL: this server should have said 400" in out
    assert "expected: a response with status 400" in out
    assert "observed: HTTP/1.1 200 OK" in out
    assert "at:       step 3: expect a response with status 400" in out
    assert "Traceback" not in out  # a verdict, not a crash
    assert "SKIPPED [1] cases.yaml:33: UNIMPLEMENTED: HTTP/1.1 200 OK" in out  # where the case is
    root = ET.parse(project.path / "junit.xml").getroot()
    cases = {tc.get("name"): tc for tc in root.iter("testcase")}
    assert set(cases) == {
        "h1/9112/1/must-200",
        "h1/9112/1/should-400",
        "h1/9112/1/should-404",
        "h1/9112/1/lenient",
        "h1/9112/1/optional-feature",
    }
    assert {tc.get("classname") for tc in cases.values()} == {"conformance-srv"}
    failure = cases["h1/9112/1/should-400"].find("failure")
    assert failure is not None and cases["h1/9112/1/should-400"].find("error") is None
    assert "SHOULD FAIL" in (failure.get("message") or "")
    assert cases["h1/9112/1/optional-feature"].find("skipped") is not None
    verdicts = {
        name: {p.get("name"): p.get("value") for p in tc.iter("property")} for name, tc in cases.items()
    }
    assert verdicts["h1/9112/1/lenient"] == {"verdict": "NON-STRICT"}
    assert verdicts["h1/9112/1/must-200"] == {"verdict": "PASS"}


def test_k_selects_and_x_stops_at_the_first_failure(project: pytest.Pytester, ok_server: str) -> None:
    selected = run(
        project, *target_args(ok_server), "-k", "should-4 and not 404", "--conformance-fail-on=should"
    )
    selected.assert_outcomes(failed=1, deselected=4)
    by_path = run(project, *target_args(ok_server), "-k", "h1/9112/1/must")
    by_path.assert_outcomes(passed=1, deselected=4)
    stopped = run(project, *target_args(ok_server), "-x", "--conformance-fail-on=should")
    assert stopped.parseoutcomes() == {"passed": 1, "failed": 1}  # must-200, should-400, then stop
    assert "stopping after 1 failures" in stopped.stdout.str()


def test_xdist_runs_the_cases_in_two_workers(project: pytest.Pytester, ok_server: str) -> None:
    if os.environ.get("CI") != "true":  # in the test extras: never skipped in CI
        pytest.importorskip("xdist")
    result = run(
        project, *target_args(ok_server), "-n", "2", "--junitxml=junit.xml", "--conformance-fail-on=should"
    )
    assert result.parseoutcomes() == {"passed": 1, "failed": 2, "skipped": 1, "nonstrict": 1}
    assert "2 workers" in result.stdout.str()
    root = ET.parse(project.path / "junit.xml").getroot()
    assert len(list(root.iter("testcase"))) == 5


def test_an_unreachable_target_is_an_error_not_a_failure(project: pytest.Pytester) -> None:
    result = run(
        project,
        "--conformance-target",
        "down=http://127.0.0.1:1/",
        "--conformance-cases",
        "cases.yaml",
        "-k",
        "must-200 or lenient",
        "--junitxml=junit.xml",
    )
    assert result.parseoutcomes() == {"errors": 2, "deselected": 3}
    assert "ERROR: " in result.stdout.str()
    root = ET.parse(project.path / "junit.xml").getroot()
    assert [len(tc.findall("error")) for tc in root.iter("testcase")] == [1, 1]


def test_a_baseline_turns_known_failures_into_xfail(project: pytest.Pytester, ok_server: str) -> None:
    project.makefile(
        ".yaml", baseline='targets:\n  srv:\n    h1/9112/1/should-4*: "this server answers 200"\n'
    )
    result = run(project, *target_args(ok_server), "--conformance-baseline", "baseline.yaml", "-rx")
    assert result.parseoutcomes() == {"passed": 1, "nonstrict": 1, "skipped": 1, "xfailed": 2}
    assert "known failure (baseline): this server answers 200" in result.stdout.str()
    assert "no longer FAIL" not in result.stdout.str()  # both its cases FAILed: not stale


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_baseline_entries_that_no_longer_fail_are_listed(
    project: pytest.Pytester, ok_server: str, workers: list[str]
) -> None:
    if workers and os.environ.get("CI") != "true":
        pytest.importorskip("xdist")
    project.makefile(
        ".yaml",
        baseline=(
            "version: 1\ntargets:\n  srv:\n"
            '    h1/9112/1/should-4*: "this server answers 200"\n'
            '    h1/9112/1/must-200: "failed once"\n'
            '    h1/9112/1/gone: "deselected or removed: not judged"\n'
            '  "*":\n    h1/9112/1/lenient: "was a FAIL"\n'
        ),
    )
    result = run(project, *target_args(ok_server), "--conformance-baseline=baseline.yaml", *workers)
    assert result.parseoutcomes()["xfailed"] == 2
    out = result.stdout.str()
    assert "conformance baseline: entries that no longer FAIL (remove them)" in out
    listed = [line for line in result.outlines if line.startswith("srv: ")]
    assert listed == [
        "srv: h1/9112/1/must-200: now PASS  (baseline.yaml:5)",
        "srv: h1/9112/1/lenient: now NON-STRICT  (baseline.yaml:8)",
    ]
    # Judged on the cases that ran: deselect must-200 and its entry is not listed.
    selected = run(project, *target_args(ok_server), "--conformance-baseline=baseline.yaml", "-k", "not must")
    assert [line for line in selected.outlines if line.startswith("srv: ")] == [
        "srv: h1/9112/1/lenient: now NON-STRICT  (baseline.yaml:8)"
    ]


def test_usage_errors_are_reported_without_a_traceback(project: pytest.Pytester) -> None:
    bad = run(project, "--conformance-target", "ftp://x/")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "--conformance-target: target 'ftp://x/': the scheme must be one of" in bad.stderr.str()
    project.makefile(".yaml", broken="protocol: h1\nrfc: 9112\nsection: '1'\ncases: [{id: x}]\n")
    broken = run(project, "--conformance-target", "http://127.0.0.1:1/", "--conformance-cases", "broken.yaml")
    assert broken.ret == pytest.ExitCode.USAGE_ERROR
    assert "broken.yaml:4:" in broken.stderr.str()


def test_pytest_runs_without_the_option_import_nothing_heavy(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_lazy="""
        import sys

        def test_nothing_heavy_was_imported():
            assert "conformance.pytest_plugin" in sys.modules  # the plugin is loaded...
            heavy = [m for m in sys.modules if m == "twisted" or m.startswith(("twisted.", "conformance.driver",
                     "conformance.scenario", "conformance.results", "yaml", "rich", "jinja2", "h11"))]
            assert heavy == []  # ...and imported nothing else
        """
    )
    result = run(project, "test_lazy.py")
    result.assert_outcomes(passed=1)
    help_text = run(project, "--help").stdout.str()
    assert "--conformance-target=[NAME=]URL" in help_text


def test_fixtures_run_cases_against_a_server_the_suite_starts(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_own_server="""
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import pytest


        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass


        @pytest.fixture
        def my_server():
            server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            yield f"http://127.0.0.1:{server.server_address[1]}/"
            server.shutdown()
            server.server_close()


        def test_run(conformance_run, my_server):
            results = conformance_run(my_server, cases=["cases.yaml"], exclude=["h1/9112/1/should"])
            verdicts = {c.id: c.verdict.value for c in results.targets[0].cases}
            assert verdicts == {
                "h1/9112/1/must-200": "PASS",
                "h1/9112/1/lenient": "NON-STRICT",
                "h1/9112/1/optional-feature": "UNIMPLEMENTED",
            }


        def test_check_passes(conformance_check, my_server):
            conformance_check(my_server, cases=["cases.yaml"], select=["h1/9112/1/must", "h1/9112/1/should"])


        def test_check_fails_with_the_failures_listed(conformance_check, my_server):
            with pytest.raises(pytest.fail.Exception) as info:
                conformance_check(my_server, cases=["cases.yaml"], select=["h1/9112/1/should-400"], fail_on="should")
            lines = str(info.value).splitlines()
            assert lines[0] == "1 conformance problem (FAIL at SHOULD or stricter, or ERROR):"
            assert lines[1].startswith("h1/9112/1/should-400 on 127.0.0.1:")
            assert ": SHOULD FAIL: expected a response with status 400; observed HTTP/1.1 200 OK" in lines[1]
            assert len(lines) == 2
        """
    )
    result = run(project, "test_own_server.py", "-n", "2")
    result.assert_outcomes(passed=3)
