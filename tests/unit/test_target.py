from __future__ import annotations

import pytest

from conformance.errors import UsageError
from conformance.target import Target


def test_named_target_and_template_context() -> None:
    target = Target.parse("nginx=http://127.0.0.1:8080/base")
    assert (target.name, target.host, target.port, target.path, target.tls) == (
        "nginx",
        "127.0.0.1",
        8080,
        "/base",
        False,
    )
    context = target.context()
    assert (
        context.fill("{scheme}://{authority}{path} {host} {port}")
        == "http://127.0.0.1:8080/base 127.0.0.1 8080"
    )


def test_defaults_and_ipv6() -> None:
    assert Target.parse("https://[::1]/").authority == "[::1]"
    target = Target.parse("https://[::1]:8443")
    assert (target.name, target.host, target.port, target.path, target.tls) == (
        "[::1]:8443",
        "::1",
        8443,
        "/",
        True,
    )
    assert Target.parse("http://localhost:80/").authority == "localhost:80"  # as the URL gives it


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("ftp://127.0.0.1/", "the scheme must be one of"),
        ("http://", "has no host"),
        ("bad name=http://127.0.0.1/", "target name"),
        ("http://127.0.0.1:99999/", "out of range"),
        ("http://127.0.0.1/?q=1", "no query"),
    ],
)
def test_bad_targets(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Target.parse(spec)
