"""Per-target settings (``--target-option``) and the configuration file, as a user meets them:
the CLI in a process of its own, against loopback servers this test starts and stops."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from test_cli import conformance
from test_cli_profile_echo import ECHO, _Closer, _listen, _Mirror

VALIDATOR = """\
protocol: h1
rfc: 9110
section: "13"
cases:
  - id: uses-the-validator
    title: t
    requirement: MUST
    requires: [validator]
    steps:
      - send: "GET {validator_path} HTTP/1.1\\r\\nHost: {authority}\\r\\n\\r\\n"
      - expect: {response: {status: 200}}
"""


@pytest.fixture
def mirror(reactor_thread: Any) -> Any:
    """An echo endpoint at every path (test_cli_profile_echo._Mirror)."""
    port = _listen(reactor_thread, _Mirror)
    yield f"http://127.0.0.1:{port.getHost().port}/"
    reactor_thread.call(port.stopListening)


@pytest.fixture
def closer(reactor_thread: Any) -> Any:
    """A server that closes on the first byte: no echo endpoint."""
    port = _listen(reactor_thread, _Closer)
    yield f"http://127.0.0.1:{port.getHost().port}/"
    reactor_thread.call(port.stopListening)


def run(tmp_path: Path, source: str, *args: str, cwd: Path | None = None) -> tuple[int, dict[str, Any], str]:
    """``conformance run`` of the cases ``source``; its exit status, results.json and output."""
    cases = tmp_path / "cases.yaml"
    cases.write_text(source)
    out = tmp_path / "report"
    result = conformance(
        "run", *args, "--cases", str(cases), "-o", str(out), "--no-progress", "--transcripts", "all", cwd=cwd
    )
    data = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    return result.returncode, data, result.stdout + result.stderr


def verdicts(data: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Target name -> (verdict, observed) of its only case."""
    out = {}
    for target in data["targets"]:
        if not target["cases"]:
            continue  # a target whose suites the cases are not of
        [case] = target["cases"]
        out[target["name"]] = (case["verdict"], case["observed"])
    return out


# -- on the command line


def test_an_echo_path_given_to_one_target_is_not_sent_to_the_other(
    tmp_path: Path,
    mirror: str,
    closer: str,
) -> None:
    # The bug: --echo-path applied to every target, so a target without the endpoint FAILed
    # the echo cases. Now "b", which names none, SKIPs them.
    code, data, output = run(
        tmp_path, ECHO, f"a={mirror}", f"b={closer}", "--target-option", "a.echo-path=/mirror"
    )
    assert code == 0, output
    assert verdicts(data) == {
        "a": ("PASS", verdicts(data)["a"][1]),
        "b": ("SKIPPED", "needs --echo-path (the target's echo endpoint)"),
    }
    # results.json says which resources each target's cases were given.
    assert [target.get("resources") for target in data["targets"]] == [{"echo": "/mirror"}, None]


def test_a_targets_own_echo_path_overrides_the_run_wide_one(tmp_path: Path, mirror: str) -> None:
    # The case expects the echo of "PUT /mirror?x": the run-wide /elsewhere would FAIL it.
    code, data, output = run(
        tmp_path, ECHO, f"a={mirror}", "--echo-path", "/elsewhere", "--target-option", "a.echo-path=/mirror"
    )
    assert code == 0, output
    assert verdicts(data)["a"][0] == "PASS"
    code, data, output = run(tmp_path, ECHO, f"a={mirror}", "--echo-path", "/elsewhere")
    assert code == 1 and verdicts(data)["a"][0] == "FAIL", output


def test_a_case_needing_a_resource_the_target_did_not_name_is_skipped_with_the_way_to_name_it(
    tmp_path: Path,
    mirror: str,
) -> None:
    code, data, output = run(tmp_path, VALIDATOR, f"a={mirror}")
    assert code == 0, output
    verdict, observed = verdicts(data)["a"]
    assert verdict == "SKIPPED"
    assert "needs a resource serving a 200 with an ETag to GET" in observed
    assert "--target-option NAME.validator-path=" in observed

    code, data, output = run(
        tmp_path, VALIDATOR, f"a={mirror}", "--target-option", "a.validator-path=/tagged"
    )
    assert code == 0, output
    assert verdicts(data)["a"][0] == "PASS"
    [case] = data["targets"][0]["cases"]
    sent = b"".join(base64.b64decode(e["data"]) for e in case["transcript"] if e["direction"] == "sent")
    assert sent.startswith(b"GET /tagged HTTP/1.1\r\n")


def test_the_reference_target_names_its_own_resources(tmp_path: Path) -> None:
    code, data, output = run(tmp_path, VALIDATOR, cwd=tmp_path)
    assert code == 0, output
    assert verdicts(data) == {"reference-h1": ("PASS", verdicts(data)["reference-h1"][1])}


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            "a.echo_path=/e",
            "unknown key 'echo_path' (keys: echo-path, validator-path, large-path, chunked-path)",
        ),
        ("echo-path=/e", "NAME.KEY=PATH, e.g. mine.echo-path=/echo"),
        ("b.echo-path=/e", "no target named 'b' (targets: a)"),
        ("a.large-path=big", "--target-option a.large-path 'big': a path starting with '/'"),
    ],
)
def test_a_wrong_target_option_is_a_usage_error(option: str, message: str) -> None:
    result = conformance("run", "a=http://127.0.0.1:1/", "--target-option", option)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_target_option_names_a_default_host_port_name(tmp_path: Path, mirror: str) -> None:
    name = mirror.removeprefix("http://").rstrip("/")
    code, data, output = run(tmp_path, ECHO, mirror, "--target-option", f"{name}.echo-path=/mirror")
    assert code == 0, output
    assert verdicts(data)[name][0] == "PASS"


# -- the configuration file


def test_conformance_toml_gives_the_targets_their_resources_and_the_run_its_options(
    tmp_path: Path,
    mirror: str,
    closer: str,
) -> None:
    (tmp_path / "conformance.toml").write_text(
        f"""\
fail-on = "should"
profile = "strict"
jobs = 4

[targets.mine]
url = "{mirror}"
echo-path = "/mirror"

[targets.other]
url = "{closer}"
"""
    )
    code, data, output = run(tmp_path, ECHO, cwd=tmp_path)
    assert code == 0, output
    assert f"settings from {tmp_path / 'conformance.toml'}" in output
    assert data["profile"] == "strict"
    assert verdicts(data) == {
        "mine": ("PASS", verdicts(data)["mine"][1]),
        "other": ("SKIPPED", "needs --echo-path (the target's echo endpoint)"),
    }
    # The command line overrides the file: its options, and its targets.
    code, data, output = run(tmp_path, ECHO, f"x={closer}", "--profile", "default", cwd=tmp_path)
    assert code == 0, output
    assert data["profile"] == "default"
    assert list(verdicts(data)) == ["x"]


def test_pyproject_table_is_found_from_a_subdirectory_and_lends_a_command_line_target_its_settings(
    tmp_path: Path,
    mirror: str,
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        """\
[project]
name = "my-server"

[tool.conformance]
select = ["h1/9110/5/echo"]

[tool.conformance.targets.mine]
echo-path = "/mirror"
"""
    )
    below = tmp_path / "src" / "deeper"
    below.mkdir(parents=True)
    # The CI job's server port changes every run: the URL comes from the command line, the
    # settings from the table of the same name.
    code, data, output = run(tmp_path, ECHO, f"mine={mirror}", cwd=below)
    assert code == 0, output
    assert "[tool.conformance]" in output
    assert verdicts(data)["mine"][0] == "PASS"


def test_a_target_table_without_url_needs_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "conformance.toml").write_text('[targets.mine]\necho-path = "/echo"\n')
    result = conformance("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "the target 'mine' has no url" in result.stderr and "mine=URL" in result.stderr


def test_the_config_option_names_the_file(tmp_path: Path, mirror: str) -> None:
    settings = tmp_path / "ci" / "conformance-ci.toml"
    settings.parent.mkdir()
    settings.write_text(f'[targets.mine]\nurl = "{mirror}"\necho-path = "/mirror"\n')
    code, data, output = run(tmp_path, ECHO, "--config", str(settings), cwd=tmp_path)
    assert code == 0, output
    assert verdicts(data)["mine"][0] == "PASS"


def test_paths_in_the_file_are_relative_to_it(tmp_path: Path, mirror: str) -> None:
    (tmp_path / "known.yaml").write_text(
        'version: 1\ntargets:\n  mine:\n    h1/9110/5/echo-method: "known"\n'
    )
    (tmp_path / "conformance.toml").write_text(f'baseline = "known.yaml"\n[targets.mine]\nurl = "{mirror}"\n')
    below = tmp_path / "sub"
    below.mkdir()
    # The case FAILs (a wrong echo path); the baseline read from beside the file forgives it.
    code, data, output = run(tmp_path, ECHO, "--echo-path", "/elsewhere", cwd=below)
    assert verdicts(data)["mine"][0] == "FAIL"
    assert code == 0, output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('jobs = 4\nfail_on = "must"\n', "conformance.toml:2: fail_on: unknown key; did you mean 'fail-on'?"),
        ("jobs = 4\nsuites = 3\n", "conformance.toml:2: suites: wants a string or a list of strings, not 3"),
        ('jobs = "4"\n', "conformance.toml:1: jobs: wants a whole number from 1 to 1024, not '4'"),
        ('profile = "lax"\n', "profile: wants one of 'default', 'strict', not 'lax'"),
        (
            '[targets.a]\nurl = "http://x/"\n\n[targets.b]\nurl = "http://y/"\necho = "/e"\n',
            "conformance.toml:6: targets.b.echo: unknown key",
        ),
        ('echo-path = "echo"\n', "echo-path: wants a path starting with '/'"),
        ("jobs = [\n", "not valid TOML"),
        ('validator-path = "/a"\n', "validator-path is a target's setting: put it in [targets.NAME]"),
    ],
)
def test_a_broken_file_is_a_usage_error_naming_file_line_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "conformance.toml").write_text(text)
    result = conformance("run", "--no-progress", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_config_file_is_a_usage_error(tmp_path: Path) -> None:
    result = conformance("run", "--config", "nowhere.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert "nowhere.toml: cannot read the configuration file: No such file or directory" in result.stderr
