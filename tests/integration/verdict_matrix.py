"""Write a suite's verdict matrix (every case × the real servers) into the docs.

    python tests/integration/verdict_matrix.py h1 docs/verdicts/h1.md

Starts every real server of the suite on loopback (as the integration tests do), runs the
suite against all of them with the tool itself, merges the runs with ``conformance report``
and writes the Markdown table with ``--matrix-md``. Servers that run the test application
get ``--echo-path`` (the echo cases run there); the others are run without it (the echo
cases are SKIPPED there). Every server started is stopped before the script ends.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def suite_servers(suite: str) -> tuple[dict[str, Callable[[], Any]], dict[str, str]]:
    """The suite's servers (name -> context manager yielding a URL) and their echo paths."""
    if suite == "h1":
        from servers import SERVERS
        from test_real_servers import ECHO_PATHS

        return dict(SERVERS), dict(ECHO_PATHS)
    if suite == "h2":
        from servers_h2 import ECHO_PATHS_H2, SERVERS_H2

        return {name: _h2_url(name, start) for name, start in SERVERS_H2.items()}, dict(ECHO_PATHS_H2)
    if suite == "ws":
        from servers_ws import NODE_DIR, WS_SERVERS

        # Node's ws comes from npm, pinned by package-lock.json (as .ci/run installs it).
        if not (NODE_DIR / "node_modules" / "ws" / "package.json").is_file():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
        return dict(WS_SERVERS), {}
    raise SystemExit(f"unknown suite {suite!r}: h1, h2 or ws")


#: target name -> options its run needs (the CA a TLS server's certificate comes from)
RUN_ARGS: dict[str, tuple[str, ...]] = {}


def _h2_url(name: str, start: Callable[[], Any]) -> Callable[[], Any]:
    """The HTTP/2 server as a context manager yielding its URL; a TLS server's CA file goes
    to its run as ``--ca-file``."""

    @contextlib.contextmanager
    def url() -> Iterator[str]:
        with start() as server:
            if server.ca_file is not None:
                RUN_ARGS[name] = ("--ca-file", str(server.ca_file))
            yield server.url

    return url


def conformance(*args: str) -> int:
    return subprocess.run([sys.executable, "-m", "conformance", *args], check=False).returncode


@contextlib.contextmanager
def started(servers: dict[str, Callable[[], Any]]) -> Iterator[dict[str, str]]:
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(start()) for name, start in servers.items()}


def main(suite: str, out: str, title: str | None = None) -> int:
    servers, echo_paths = suite_servers(suite)
    with started(servers) as urls, tempfile.TemporaryDirectory(prefix="conformance-matrix-") as tmp:
        groups: dict[tuple[str | None, tuple[str, ...]], list[str]] = {}
        for name, url in urls.items():
            groups.setdefault((echo_paths.get(name), RUN_ARGS.get(name, ())), []).append(f"{name}={url}")
        results = []
        for number, ((echo_path, extra), targets) in enumerate(groups.items()):
            report_dir = Path(tmp) / f"run{number}"
            echo = ["--echo-path", echo_path] if echo_path else []
            conformance(
                "run", *targets, "--suite", suite, *echo, *extra, "--no-progress", "-o", str(report_dir)
            )
            results.append(str(report_dir / "results.json"))
        title = title or f"{suite} suite against real servers"
        return conformance(
            "report", *results, "--out", str(Path(tmp) / "merged"), "--matrix-md", out, "--title", title
        )


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
    sys.exit(0)
