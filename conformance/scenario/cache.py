"""Parsed case files, kept between runs: parsing YAML into cases is most of a run's start-up.

Parsing the bundled cases takes a third of a second or more; reading them back from a pickle
takes a few hundredths. An entry is keyed by everything the cases are made from: the bytes
of every case file and its path (as errors and locations name it, so the working directory
too), the bytes of the package's own code (whose classes the pickle holds) and the Python
version. Anything else is a miss, and the files are parsed again. Contents are hashed, not
their modification times, which file systems keep to a few milliseconds only: a file
rewritten at once with new text of the same size is still a miss. A load with errors is not
kept (its errors are reported afresh each time).

The cache lives in ``$CONFORMANCE_CACHE_DIR``, else ``$XDG_CACHE_HOME/conformance``, else
``~/.cache/conformance``; ``CONFORMANCE_CACHE_DIR=`` (empty) turns it off. It holds the
newest :data:`KEEP` entries. A cache that cannot be read or written is passed over silently:
it only ever saves time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from conformance import __version__
from conformance.scenario.loader import LoadResult, default_case_paths, discover, display_name, load

#: Entries kept (one per distinct set of case files and code; a run of one suite and a run
#: of all are two entries).
KEEP = 8

_PACKAGE = Path(__file__).resolve().parents[1]


def cache_dir() -> Path | None:
    """Where the entries live; None when the cache is turned off."""
    configured = os.environ.get("CONFORMANCE_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "conformance"


def load_cached(paths: Iterable[Path] | None = None) -> LoadResult:
    """:func:`~conformance.scenario.loader.load`, from the cache when nothing it depends on
    has changed."""
    directory = cache_dir()
    paths = list(paths) if paths is not None else None
    if directory is None:
        return load(paths)
    files = discover(default_case_paths() if paths is None else paths)
    try:
        key = _key(files)
    except OSError:  # a file that cannot be read: the loader says so, with its name
        return load(paths)
    entry = directory / f"cases-{key}.pickle"
    with contextlib.suppress(Exception):  # missing, truncated, or from other code: a miss
        with entry.open("rb") as source:
            cached = pickle.load(source)  # noqa: S301 (our own cache, in the user's directory)
        if isinstance(cached, LoadResult):
            with contextlib.suppress(OSError):
                os.utime(entry)  # recently used: kept longest
            return cached
    result = load(paths)
    if not result.errors:
        _store(directory, entry, result)
    return result


def _key(files: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for part in (__version__, sys.version, str(Path.cwd())):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    # The code, and the data it builds cases from (the allowances an `allow:` names).
    for source in sorted([*_PACKAGE.rglob("*.py"), *_PACKAGE.glob("scenario/allowances/*.yaml")]):
        digest.update(str(source.relative_to(_PACKAGE)).encode() + b"\0" + source.read_bytes() + b"\0")
    for file in files:
        digest.update(display_name(file).encode("utf-8", "surrogateescape") + b"\0")
        digest.update(str(file.resolve()).encode("utf-8", "surrogateescape") + b"\0")
        digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def _store(directory: Path, entry: Path, result: LoadResult) -> None:
    """Write the entry whole or not at all (another run may be reading or writing it), and
    keep only the newest :data:`KEEP`."""
    with contextlib.suppress(Exception):  # an unpicklable case, a read-only home: no cache
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".cases-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, entry)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        entries = sorted(directory.glob("cases-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)
