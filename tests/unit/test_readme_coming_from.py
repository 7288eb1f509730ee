"""The README's table for users coming from h2spec and Autobahn: it covers every option of
h2spec (as of its ``--help``) and the keys of Autobahn's fuzzingclient spec, and every option
of this tool it names exists on the command it belongs to (``list`` or ``run``)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from conformance.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"

# h2spec 2.x ``--help``, flags and spec ids.
H2SPEC = [
    "-h",
    "-p",
    "-t",
    "-P",
    "-k",
    "-o",
    "-j",
    "-S",
    "-v",
    "--dryrun",
    "-c",
    "--max-header-length",
    "http2/",
]
AUTOBAHN = [
    "fuzzingclient",
    "fuzzingserver",
    '"servers"',
    '"cases"',
    '"exclude-cases"',
    '"exclude-agent-cases"',
    '"outdir"',
]


def _section() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    start = text.index("#### Coming from h2spec or Autobahn")
    end = text.index("\n#", start + 1)
    rows = []
    for line in text[start:end].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if line.startswith("|") and len(cells) == 2 and not set(cells[0]) <= {"-", "|"}:
            rows.append((cells[0], cells[1]))
    return rows


def _options(name: str) -> set[str]:
    command = main.get_command(click.Context(main), name)
    assert command is not None
    return {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}


def test_every_h2spec_and_autobahn_option_has_a_row() -> None:
    theirs = " ".join(left for left, _ in _section())
    missing = [
        flag for flag in [*H2SPEC, *AUTOBAHN] if not re.search(rf"(?<![\w-]){re.escape(flag)}", theirs)
    ]
    assert not missing, missing


def test_every_option_the_table_names_exists() -> None:
    run, listing, client = _options("run"), _options("list"), _options("client")
    problems = []
    for left, right in _section():
        for code in re.findall(r"`([^`]*)`", right):
            for option in re.findall(r"(?<![\w/-])(--?[a-z][a-z-]*)", code):
                known = (
                    listing if "conformance list" in code else client if "conformance client" in code else run
                )
                option = re.sub(r"^-([a-z])\1+$", r"-\1", option)  # -vv is -v twice
                if option not in known:
                    problems.append(f"{left}: {option}")
    assert not problems, problems
