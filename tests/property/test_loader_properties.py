"""The loader never raises on any input: every problem is a ScenarioError with a location."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from conformance.scenario.loader import load_file

SCRATCH = Path(tempfile.mkdtemp(prefix="conformance-fuzz-"))
atexit.register(shutil.rmtree, SCRATCH, True)

KEYS = [
    "protocol", "rfc", "section", "title", "defaults", "cases", "id", "steps", "send", "expect",
    "params", "requirement", "reference", "response", "status", "one_of", "all_of", "closed",
    "silence", "strict", "unimplemented", "repeat", "count", "concat", "hex", "headers", "body",
    "split", "delay_ms", "connect", "wait", "timeout", "aliases", "tags", "violations",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["h1", "9112", "5.1", "MUST", "{path}", "{nope}", "x-{a}", "!hex", "4xx", "\r\n"]),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=5),
    ),
    max_leaves=30,
)


def check(source: str | bytes) -> None:
    path = SCRATCH / "fuzz.yaml"
    path.write_bytes(source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass"))
    cases, errors = load_file(path)
    for error in errors:
        assert error.render()  # every error can be shown
        assert error.location is None or error.location.line >= 1


@given(st.text(max_size=400))
def test_any_text_loads_or_reports(source: str) -> None:
    check(source)


@given(documents)
def test_any_yaml_structure_loads_or_reports(document: object) -> None:
    check(yaml.safe_dump(document, allow_unicode=True))


@given(st.binary(max_size=200))
def test_any_bytes_load_or_report(data: bytes) -> None:
    check(data)


@given(
    st.fixed_dictionaries(
        {
            "protocol": st.sampled_from(["h1", "h2", "ws", "x"]),
            "rfc": st.sampled_from([9112, "9110", None]),
            "section": st.sampled_from(["5.1", 2, ""]),
            "cases": st.lists(
                st.fixed_dictionaries(
                    {"id": st.text(max_size=12), "steps": st.lists(documents, max_size=3)},
                    optional={"params": documents, "requirement": scalars},
                ),
                max_size=3,
            ),
        }
    )
)
def test_near_valid_files_load_or_report(document: dict[str, object]) -> None:
    check(yaml.safe_dump(document, allow_unicode=True))
