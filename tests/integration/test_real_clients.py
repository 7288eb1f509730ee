"""The HTTP/1.1 client suite against real clients: curl (the Debian package) and Python's
http.client, each through a command of the client contract.

Every FAIL below was checked against the RFC text (the reason is next to it); every other case
must PASS (or be NON-STRICT where said). Three runs in a row give the same verdict for every
case. A client missing from the machine is skipped, except under CI=true.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

import pytest
import stability

from conformance.client_cli import client_cases_dir
from conformance.driver.client_role import parse_client, run_client_case
from conformance.driver.interpreter import RunOptions
from conformance.scenario.loader import load_cases

FAIL, NON_STRICT = "FAIL", "NON-STRICT"
HERE = Path(__file__).resolve().parent

#: The invalid Content-Length values that curl 7.88 reads leniently (strtoll: the leading
#: digits, the last of several lines) instead of treating the framing as an unrecoverable error
#: (RFC 9112 §6.3: a user agent MUST close the connection and discard the response).
_CURL_LENIENT_LENGTHS = {
    f"client/h1/9112/6.3/invalid-content-length-{name}": FAIL
    for name in (
        "decimal-point",
        "exponent",
        "hex",
        "inner-space",
        "lines-different",
        "lines-different-reversed",
        "list-different",
        "plus-sign",
        "thousands-separator",
        "trailing-letters",
        "underscore",
    )
}

#: client -> case id -> verdict other than PASS, each verified against the RFC.
EXPECTED: dict[str, dict[str, str]] = {
    "curl": {
        **_CURL_LENIENT_LENGTHS,
        # RFC 9112 §5.2: a user agent MUST replace an obs-fold with SP; curl 7.88 takes
        # "Content-Length:" with its value on the next line for a malformed response (exit 8),
        # and "Transfer-Encoding:" folded the same way for no coding (it reads to the close).
        "client/h1/9112/5.2/obs-fold-content-length": FAIL,
        "client/h1/9112/5.2/obs-fold-content-length-htab": FAIL,
        "client/h1/9112/5.2/obs-fold-transfer-encoding": FAIL,
        # RFC 9110 §8.6: 2^64 + 5 is a valid Content-Length; curl does not take it (strtoll
        # overflows), reads to the close and accepts 5 octets of it as the whole body.
        "client/h1/9112/6.3/content-length-beyond-64-bits": FAIL,
        # RFC 9110 §2.3: curl refuses chunk-size lines of more than 16 hex digits, a limit.
        "client/h1/9112/7.1/chunk-size-many-leading-zeros": NON_STRICT,
        # RFC 9110 §2.5: a recipient SHOULD process HTTP/1.2 (or 1.9) as the highest minor
        # version it conforms to; curl 7.88 refuses it ("Unsupported HTTP version (1.2) in
        # response", exit 1): a departure from a SHOULD.
        "client/h1/9110/2.5/higher-minor-version-content-length": FAIL,
        "client/h1/9110/2.5/higher-minor-version-chunked": FAIL,
        # RFC 9112 §6.3: ", 5" is the list of one value 5; curl refuses it (exit 8): an error
        # where the RFC processes the value, acceptable, not preferred.
        "client/h1/9112/6.3/content-length-list-with-empty-element": NON_STRICT,
    },
}


def clients() -> dict[str, str]:
    found = {}
    curl = shutil.which("curl")
    if curl:
        found["curl"] = f"curl={curl} -s {{url}}"
    return found


def run(reactor_thread, spec: str):  # type: ignore[no-untyped-def]
    from conformance.driver.runner import run_suite

    cases = load_cases([client_cases_dir() / "h1"], role="client")
    client = parse_client(spec, "h1")
    options = RunOptions(timeout=2.0, retry_budget=0)
    results = reactor_thread.call(
        run_suite, reactor_thread.reactor, cases, [client], options, jobs=8, run_one=run_client_case
    )
    return {case.id: case.verdict.value for case in results.targets[0].cases}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_client_verdicts_are_pinned_and_stable(reactor_thread, name: str) -> None:  # type: ignore[no-untyped-def]
    spec = clients().get(name)
    if spec is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed")
        pytest.skip(f"{name} is not installed")
    runs = [run(reactor_thread, spec) for _ in range(stability.runs(name, frozenset({"curl"})))]
    assert runs[0] == runs[1] == runs[2], "verdicts differ between runs"
    not_passed = {case_id: verdict for case_id, verdict in runs[0].items() if verdict != "PASS"}
    assert not_passed == EXPECTED[name]


def test_the_adapter_of_the_readme_runs(reactor_thread, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The README's http.client adapter, as written there, judged on two cases."""
    readme = (HERE.parents[1] / "README.md").read_text()
    blocks = readme.split("```python\n")[1:]
    (script,) = [block.split("```", 1)[0] for block in blocks if "client contract for http.client" in block]
    (tmp_path / "get.py").write_text(script)
    spec = f"http.client={shlex.quote(sys.executable)} {shlex.quote(str(tmp_path / 'get.py'))} {{url}}"
    verdicts = run(reactor_thread, spec)
    assert verdicts["client/h1/9112/6.3/content-length-body"] == "PASS"
    # Python's http.client returns a 102 as the final response (it skips only 100 Continue):
    # RFC 9110 §15.2, a client MUST be able to parse 1xx responses before the final one.
    assert verdicts["client/h1/9110/15.2/interim-102-processing"] == FAIL
