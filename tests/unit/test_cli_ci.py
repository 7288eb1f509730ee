"""The CI workflow as the README tells it: a baseline and a diff that survive the server's
port changing between runs, and README examples that all work."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from twisted.internet import protocol

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

# The gate tests' two-level case file, and their way of running the CLI in a process of its own.
from test_cli_gate import TWO_LEVELS, conformance  # noqa: E402


class _Ok(protocol.Protocol):
    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture
def two_ports(reactor_thread: Any) -> Iterator[tuple[str, str]]:
    """The same server on two ports: a CI job's server, run after run."""
    factory = protocol.Factory.forProtocol(_Ok)
    ports = [
        reactor_thread.call(reactor_thread.reactor.listenTCP, 0, factory, interface="127.0.0.1")
        for _ in range(2)
    ]
    yield tuple(f"http://127.0.0.1:{port.getHost().port}/" for port in ports)  # type: ignore[misc]
    for port in ports:
        reactor_thread.call(port.stopListening)


def test_a_baseline_and_a_diff_survive_a_new_port(tmp_path: Path, two_ports: tuple[str, str]) -> None:
    first, second = two_ports
    cases = tmp_path / "cases.yaml"
    cases.write_text(TWO_LEVELS)
    common = ("--cases", str(cases), "--fail-on", "should", "--no-progress")
    run1 = conformance("run", first, *common, "-o", str(tmp_path / "one"))
    assert run1.returncode == 1, run1.stdout + run1.stderr
    baseline = tmp_path / "baseline.yaml"
    written = conformance("baseline", str(tmp_path / "one" / "results.json"), "-o", str(baseline))
    assert written.returncode == 0, written.stderr
    run2 = conformance("run", second, *common, "--baseline", str(baseline), "-o", str(tmp_path / "two"))
    assert run2.returncode == 0, run2.stdout + run2.stderr  # the known FAIL, on another port
    port1 = first.split(":")[2].strip("/")
    port2 = second.split(":")[2].strip("/")
    assert (
        f"the baseline section '127.0.0.1:{port1}' applies to the run's only target, '127.0.0.1:{port2}'"
        in run2.stderr
    )
    target = json.loads((tmp_path / "two" / "results.json").read_text())["targets"][0]
    assert [case["known_failure"] is not None for case in target["cases"]] == [False, True]
    diff = conformance("diff", str(tmp_path / "one" / "results.json"), str(tmp_path / "two" / "results.json"))
    assert diff.returncode == 0, diff.stdout + diff.stderr
    assert f"target 127.0.0.1:{port1} (old run) compared with 127.0.0.1:{port2} (new run)" in diff.stdout
    assert "only in" not in diff.stdout
    assert diff.stdout.endswith("0 removed cases, 2 unchanged; 0 gating at MUST\n")


# ---- the README's examples


def _readme_commands() -> list[list[str]]:
    """Every ``conformance ...`` command line in the README's code blocks (and its GitHub
    Actions recipe's ``run:`` lines), as argument lists without the program name."""
    commands = []
    in_block = False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_block = not in_block
            continue
        if not in_block:
            continue
        text = re.sub(r"^\s*(?:-\s*)?(?:run:\s*)?", "", line)
        if not text.startswith("conformance "):
            continue
        text = text.split(" #", 1)[0].split("  #", 1)[0]
        text = text.replace("${{ matrix.shard }}", "1")
        commands.append(shlex.split(text)[1:])
    return commands


def _check_parses(args: list[str]) -> list[str]:
    """Parse ``args`` with the command's own click parser, without running it: option names,
    arity and every value of a type other than a path (which may name a file that is not
    here). Returns the values given to --select and --exclude."""
    from conformance.cli import main

    name, rest = args[0], args[1:]
    command = main.get_command(click.Context(main), name)
    assert command is not None, f"no command {name!r}"
    context = click.Context(command, info_name=name, parent=click.Context(main, info_name="conformance"))
    parser = command.make_parser(context)
    values, positional, _ = parser.parse_args(list(rest))
    prefixes: list[str] = []
    for parameter in command.params:
        value = values.get(parameter.name)
        if value is None or isinstance(parameter.type, click.Path):
            continue
        for item in value if isinstance(value, list) else [value]:
            parameter.type.convert(item, parameter, context)
        if parameter.name in ("select", "exclude"):
            prefixes += value if isinstance(value, list) else [value]
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    if not arguments:
        assert not positional, f"unexpected arguments {positional}"
    return prefixes


def test_the_readme_shows_commands_that_parse_and_ids_that_exist() -> None:
    from conformance.scenario.loader import load

    cases = load(None).cases
    commands = _readme_commands()
    assert len(commands) >= 20
    problems = []
    for args in commands:
        try:
            prefixes = _check_parses(args)
        except (click.ClickException, AssertionError) as exc:
            problems.append(f"conformance {shlex.join(args)}: {exc}")
            continue
        for prefix in prefixes:
            if not any(case.matches(prefix) for case in cases):
                problems.append(f"conformance {shlex.join(args)}: {prefix} matches no case")
    # Case ids and prefixes named anywhere in the README (baseline examples, prose).
    text = README.read_text(encoding="utf-8")
    for match in re.finditer(
        r"`((?:h1|h2|ws)/\d{4}/[0-9.]+/[a-z0-9-]+\*?)`|^\s+((?:h1|h2|ws)/\d{4}/[0-9.]+/[a-z0-9-]+\*?):",
        text,
        re.M,
    ):
        case_id = match.group(1) or match.group(2)
        prefix = case_id[:-1] if case_id.endswith("*") else case_id
        exact = not case_id.endswith("*")
        if not any((case.id == prefix) if exact else case.id.startswith(prefix) for case in cases):
            problems.append(f"README names {case_id}, which matches no case")
    assert not problems, "\n".join(problems)


def test_every_install_line_installs_this_project() -> None:
    import tomllib

    name = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    # "conformance" on PyPI is another project; the distribution's name is free there.
    assert name == "http-conformance"
    text = README.read_text(encoding="utf-8")
    installs = re.findall(r"pip install ([^\n#]*)", text)
    assert installs
    for line in installs:
        words = re.split(r"&&|\||;", line)[0].split()
        packages = [word for word in words if not word.startswith("-")]
        assert "conformance" not in packages, line
    assert "pip install http-conformance" in text
