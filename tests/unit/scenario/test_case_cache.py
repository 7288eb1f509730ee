"""The cache of parsed case files: a hit gives exactly what parsing gives; anything the cases
are made from changing is a miss; errors are never served from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conformance.scenario import cache
from conformance.scenario.loader import load

CASE = """protocol: h1
rfc: 9112
section: '2.2'
cases:
  - id: {name}
    title: t
    requirement: MUST
    steps:
      - send: "GET / HTTP/1.1\\r\\nHost: {{authority}}\\r\\n\\r\\n"
      - expect: {{response: {{status: 200}}}}
"""


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[int]:
    """Counts the parses the cache could not spare, with the cache in a fresh directory."""
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(tmp_path / "cache"))
    calls: list[int] = []

    def counted(paths: object = None) -> object:
        calls.append(1)
        return load(paths)  # type: ignore[arg-type]

    monkeypatch.setattr(cache, "load", counted)
    return calls


def test_a_second_load_is_served_from_the_cache(parses: list[int], tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CASE.format(name="one"))
    first = cache.load_cached([path])
    second = cache.load_cached([path])
    assert len(parses) == 1
    assert second.cases == first.cases == load([path]).cases and second.files == 1
    assert len(list((tmp_path / "cache").glob("cases-*.pickle"))) == 1


def test_new_content_of_the_same_size_and_time_is_a_miss(parses: list[int], tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CASE.format(name="one"))
    stat = path.stat()
    assert [c.id for c in cache.load_cached([path]).cases] == ["h1/9112/2.2/one"]
    path.write_text(CASE.format(name="two"))  # same length
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert [c.id for c in cache.load_cached([path]).cases] == ["h1/9112/2.2/two"]
    assert len(parses) == 2


def test_a_load_with_errors_is_not_kept(parses: list[int], tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(CASE.format(name="one").replace("requirement: MUST", "requirement: OFTEN"))
    for _ in range(2):
        assert cache.load_cached([path]).errors
    assert len(parses) == 2
    assert not list((tmp_path / "cache").glob("cases-*.pickle"))


def test_a_damaged_entry_is_parsed_again_and_replaced(parses: list[int], tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CASE.format(name="one"))
    cache.load_cached([path])
    (entry,) = (tmp_path / "cache").glob("cases-*.pickle")
    entry.write_bytes(entry.read_bytes()[:100])
    assert [c.id for c in cache.load_cached([path]).cases] == ["h1/9112/2.2/one"]
    assert cache.load_cached([path]).cases and len(parses) == 2


def test_only_the_newest_entries_are_kept(parses: list[int], tmp_path: Path) -> None:
    for number in range(cache.KEEP + 3):
        path = tmp_path / f"c{number}.yaml"
        path.write_text(CASE.format(name=f"case-{number}"))
        cache.load_cached([path])
    assert len(list((tmp_path / "cache").glob("cases-*.pickle"))) == cache.KEEP


def test_an_empty_cache_dir_turns_it_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", "")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    path = tmp_path / "c.yaml"
    path.write_text(CASE.format(name="one"))
    assert cache.load_cached([path]).cases
    assert not (tmp_path / ".cache").exists()
    monkeypatch.delenv("CONFORMANCE_CACHE_DIR")
    assert cache.cache_dir() == tmp_path / ".cache" / "conformance"


def test_an_unwritable_cache_is_passed_over(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(blocker / "cache"))
    path = tmp_path / "c.yaml"
    path.write_text(CASE.format(name="one"))
    assert [c.id for c in cache.load_cached([path]).cases] == ["h1/9112/2.2/one"]
