"""Connect modes with a protocol opening: registered once, run after the transport is up;
a target that fails the opening FAILs the case at the connect step, an optional feature it
lacks makes the case UNIMPLEMENTED, and the case's steps see only what came after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_driver import Scripted, run

from conformance.driver import openers
from conformance.driver.openers import Opener, OpeningContext, OpeningFailed
from conformance.driver.sessions import H1Session
from conformance.scenario import registry
from conformance.verdicts.verdict import Verdict


async def _banner(ctx: OpeningContext) -> None:
    """A toy opening: we say HELLO, the target must answer with a line that starts WELCOME."""
    ctx.connection.write(b"HELLO\r\n")
    deadline = ctx.run.reactor.seconds() + ctx.run.step_timeout
    while ctx.connection.received < 9 and not ctx.connection.ended:
        left = deadline - ctx.run.reactor.seconds()
        if left <= 0:
            break
        await ctx.connection.changed(left)
    if ctx.connection.ended and ctx.connection.received == 0:
        raise OpeningFailed(
            expected="WELCOME", observed="closed", unimplemented=ctx.step.options == "optional"
        )
    if ctx.connection.received < 9:
        raise OpeningFailed(expected="a WELCOME line", observed="nothing")
    ctx.connection.session = H1Session()  # HTTP/1.1 from here on, as after an upgrade


@pytest.fixture
def banner_mode() -> Iterator[None]:
    def options(node: Any, ctx: Any) -> str:
        return "optional" if node.value.get("optional") else "required"

    registry.register_connect_mode(
        registry.ConnectMode(
            "banner", "test mode", protocols=("h1",), options=options, option_schema={"optional": {}}
        )
    )
    openers.register_opener("banner", Opener(open=_banner))
    yield
    del registry.CONNECT_MODES["banner"]
    del openers.OPENERS["banner"]


def welcome_then_ok(p: Scripted, data: bytes) -> None:
    seen = b"".join(p.reads)
    if data.startswith(b"HELLO"):
        p.transport.write(b"WELCOME\r\n")
    elif seen.endswith(b"\r\n\r\n"):
        p.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


def closes(p: Scripted, data: bytes) -> None:
    p.transport.loseConnection()


CASES = """
- id: opened
  title: t
  requirement: MUST
  steps:
    - connect: banner
    - send: "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
    - expect: {response: {status: 200}}
- id: optional
  title: t
  requirement: MUST
  steps:
    - connect: {mode: banner, optional: true}
    - send: "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
    - expect: {response: {status: 200}}
"""


def test_an_opening_runs_before_the_steps(banner_mode: None, reactor_thread: Any, tmp_path: Path) -> None:
    results, _ = run(reactor_thread, tmp_path, CASES, welcome_then_ok)
    assert results["opened"].verdict is Verdict.PASS, results["opened"].observed


def test_a_failed_opening_fails_the_connect_step(
    banner_mode: None, reactor_thread: Any, tmp_path: Path
) -> None:
    results, _ = run(reactor_thread, tmp_path, CASES, closes)
    failed = results["opened"]
    assert failed.verdict is Verdict.FAIL
    assert (failed.step, failed.expected, failed.observed) == (1, "WELCOME", "closed")
    assert results["optional"].verdict is Verdict.UNIMPLEMENTED


def test_unknown_modes_and_options_are_located_errors(banner_mode: None, tmp_path: Path) -> None:
    from conformance.scenario.loader import ScenarioErrors, load_cases

    path = tmp_path / "bad.yaml"
    path.write_text(
        "protocol: h1\nrfc: 9112\nsection: '9'\ncases:\n"
        "  - id: a\n    title: t\n    requirement: MUST\n    steps:\n"
        "      - connect: {mode: banner, colour: red}\n      - expect: {closed: true}\n"
    )
    with pytest.raises(ScenarioErrors) as caught:
        load_cases([path])
    assert "unknown field 'colour' in connect (banner)" in str(caught.value)
    assert ":9:" in str(caught.value)
