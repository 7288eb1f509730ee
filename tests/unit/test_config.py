"""conformance.config: finding and reading the configuration file, without the CLI (the pytest
plugin calls the same functions)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.config import ConfigError, TargetSettings, find_config, load_config
from conformance.errors import UsageError
from conformance.target import parse_target_option


def test_the_nearest_directory_with_a_file_wins_and_conformance_toml_before_pyproject(tmp_path: Path) -> None:
    below = tmp_path / "a" / "b"
    below.mkdir(parents=True)
    assert find_config(below) is None
    (tmp_path / "pyproject.toml").write_text("[tool.conformance]\njobs = 2\n")
    assert find_config(below) == tmp_path / "pyproject.toml"
    # A pyproject.toml without the table is not ours: the search goes on upwards.
    (tmp_path / "a" / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.ruff]\n')
    assert find_config(below) == tmp_path / "pyproject.toml"
    (tmp_path / "a" / "conformance.toml").write_text("jobs = 3\n")
    (tmp_path / "a" / "pyproject.toml").write_text("[tool.conformance]\njobs = 4\n")
    assert find_config(below) == tmp_path / "a" / "conformance.toml"


def test_settings_are_keyed_by_the_run_parameters_and_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        """\
[tool.other]
jobs = "not ours"

[tool.conformance]
suites = "h1"
select = "h1/9112"
fail-on = "should"
jobs = 8
timeout = 1
baseline = "ci/known.yaml"
insecure = true

[tool.conformance.targets.mine]
url = "https://127.0.0.1:8443/"
validator-path = "/index.html"
chunked-path = "/stream"
"""
    )
    settings = load_config(path)
    assert settings.source == path
    assert settings.options == {
        "suites": ["h1"],
        "select": ["h1/9112"],
        "fail_on": "should",
        "jobs": 8,
        "timeout": 1.0,
        "baseline_path": str(tmp_path / "ci" / "known.yaml"),
        "insecure": True,
    }
    assert settings.targets == (
        TargetSettings(
            name="mine",
            url="https://127.0.0.1:8443/",
            resources=(("chunked", "/stream"), ("validator", "/index.html")),
        ),
    )


def test_an_unknown_key_in_pyproject_names_the_line_in_our_table(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.other]\nsuite = "x"\n\n[tool.conformance]\njobs = 2\nsuite = "h1"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}:6: tool.conformance.suite: unknown key; did you mean 'suites'?"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mine.echo-path=/echo", ("mine", "echo", "/echo")),
        ("nginx.1.large-path=/big", ("nginx.1", "large", "/big")),
        ("[::1]:8080.chunked-path=/s?x=1", ("[::1]:8080", "chunked", "/s?x=1")),
    ],
)
def test_target_option_splits_at_the_last_dot_before_the_equals_sign(
    text: str, expected: tuple[str, str, str]
) -> None:
    assert parse_target_option(text) == expected


def test_target_option_paths_are_origin_form() -> None:
    with pytest.raises(UsageError, match="a path starting with '/'"):
        parse_target_option("mine.echo-path=/a b")


def test_a_target_table_with_a_server_is_a_target_the_run_starts(tmp_path: Path) -> None:
    path = tmp_path / "conformance.toml"
    path.write_text(
        'server-start-timeout = 5\n[targets.a]\nserver = "./srv --port {port}"\n'
        '[targets.b]\nserver = "./srv {port}"\nurl = "h2c://127.0.0.1:{port}/"\n'
    )
    settings = load_config(path)
    assert settings.options == {"server_start_timeout": 5.0}
    a, b = settings.targets
    assert (a.server, a.url, a.spec) == ("./srv --port {port}", None, "a=http://127.0.0.1:{port}/")
    assert b.spec == "b=h2c://127.0.0.1:{port}/"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('server = "./srv"', "targets.a.server: wants a command with {port}"),
        ("server = 3", "targets.a.server: wants a command with {port}"),
        ('server = "./srv {port}"\nurl = "http://127.0.0.1:8080/"', "targets.a.url: the target has a server"),
        ('url = "http://127.0.0.1:{port}/"', "targets.a.url: has {port}, but the target has no server"),
    ],
)
def test_a_server_and_its_url_must_agree_on_the_port(tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / "conformance.toml"
    path.write_text(f"[targets.a]\n{table}\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path)
