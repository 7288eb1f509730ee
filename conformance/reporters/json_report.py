"""``results.json``: the canonical record of a run, and the way back from it.

The document is :meth:`RunResults.to_json` as it stands (keys in the model's order, ASCII
only so that any string — lone surrogates included — survives the trip), followed by a
newline. It is indented by one space, except that each case result is one line: a diff of two
runs' files shows the cases that changed, ``grep`` finds a case with all it holds, and the C
JSON encoder, which does not indent, writes it (a third of the time of the indenting one).
Everything else (HTML, JUnit, baselines) can be rebuilt from it.
"""

from __future__ import annotations

import binascii
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

from conformance.results import READABLE_SCHEMAS, RunResults


def dumps_json(results: RunResults) -> str:
    """The text of ``results.json`` for ``results``."""
    return "".join(iter_json(results))


#: Makes the placeholders below unlike any text a run could hold (a target's name, a URL).
_TOKEN = secrets.token_hex(16)


def _placeholder(index: int) -> str:
    return f"\x00cases of target {index} {_TOKEN}\x00"


def iter_json(results: RunResults) -> Iterator[str]:
    """The text of ``results.json`` in pieces, one case result at a time, without the whole
    document (tens of MB for a WebSocket run: every transcript, base64-encoded) ever being
    in memory at once, as a dict tree or as a string."""
    head = json.dumps(results.to_json(cases_of=_placeholder), indent=1, ensure_ascii=True)
    for index, target in enumerate(results.targets):
        marker = json.dumps(_placeholder(index), ensure_ascii=True)
        before, head = head.split(marker, 1)
        yield before
        if not target.cases:
            yield "[]"
            continue
        # The list sits after a key indented by `depth` spaces; its items one deeper.
        line = before.rsplit("\n", 1)[-1]
        depth = len(line) - len(line.lstrip(" "))
        inner = "\n" + " " * (depth + 1)
        yield "[" + inner
        for number, case in enumerate(target.cases):
            if number:
                yield "," + inner
            yield case_line(case.to_json())
        yield "\n" + " " * depth + "]"
    yield head + "\n"


def case_line(case: dict[str, object]) -> str:
    """One case result as a line of JSON (no string holds a raw newline: JSON escapes it)."""
    return json.dumps(case, ensure_ascii=True)


def write_json(results: RunResults, path: Path) -> None:
    """Write ``results`` to ``path`` as UTF-8 JSON ending with a newline, a case at a time."""
    with Path(path).open("w", encoding="utf-8", newline="\n") as out:
        for piece in iter_json(results):
            out.write(piece)


def loads_json(text: str, *, source: str = "<string>") -> RunResults:
    """Parse the text of a ``results.json``; ValueError says what is wrong and where."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: not a results file: invalid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: not a results file: the top level is not a JSON object")
    tool = raw.get("tool", "conformance")
    if tool != "conformance":
        raise ValueError(f"{source}: not a results file: written by {tool!r}, not 'conformance'")
    schema = raw.get("schema")
    if schema not in READABLE_SCHEMAS or isinstance(schema, bool):
        readable = ", ".join(str(n) for n in READABLE_SCHEMAS)
        raise ValueError(f"{source}: unsupported results schema {schema!r} (this version reads {readable})")
    try:
        return RunResults.from_json(raw)
    except KeyError as exc:
        raise ValueError(f"{source}: malformed results file: missing field {exc}") from None
    except (TypeError, AttributeError, binascii.Error, ValueError) as exc:
        raise ValueError(f"{source}: malformed results file: {exc}") from None


def read_json(path: Path) -> RunResults:
    """Read a ``results.json`` written by :func:`write_json`.

    Raises ValueError (naming the file) when it is not UTF-8 JSON, not a conformance results
    file, of an unsupported schema version, or missing fields.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a results file: not UTF-8 ({exc})") from None
    return loads_json(text, source=str(path))
