"""The HTML report: its data (eliding, ordering, counts), how the data is embedded and
escaped, the Content-Security-Policy, and the page's structure.

The golden file (``golden/index.html``) is checked by test_reporters.py with the others;
what the page does in a browser is tested in tests/browser.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_reporters import BIG, HOSTILE, IMG, SCRIPT, case, entry, full_results, small_results

from conformance.driver.recording import DETAIL_STRING_CAP, TRANSCRIPT_BYTE_CAP, Recorder
from conformance.reporters._text import visible
from conformance.reporters.html import (
    bar_label,
    bar_segments,
    content_security_policy,
    csp_hash,
    embed_json,
    render_html,
)
from conformance.reporters.html_data import (
    CASE_LIMIT,
    DETAIL_STRING_LIMIT,
    ENTRIES_LIMIT,
    ENTRY_LIMIT,
    case_details,
    details_data,
    entry_data,
    summary_data,
)
from conformance.results import (
    ELIDED,
    CaseResult,
    Direction,
    RunResults,
    TargetResults,
    TranscriptEntry,
    cap_detail,
)
from conformance.verdicts.verdict import Requirement, Verdict

# ---------------------------------------------------------------------------- page parsing


class Page(HTMLParser):
    """The elements, attributes and the text of each <script> and <style> of a page, checking
    that elements nest properly."""

    VOID = {
        "meta",
        "br",
        "hr",
        "img",
        "input",
        "link",
        "area",
        "base",
        "col",
        "embed",
        "source",
        "track",
        "wbr",
    }
    SVG_EMPTY = {"rect"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.errors: list[str] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((tag, name, value) for name, value in attrs)
        if tag not in self.VOID:
            self.stack.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((tag, name, value) for name, value in attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1][0] == "script":
            self.scripts.append((self.stack[-1][1], data))
        elif self.stack and self.stack[-1][0] == "style":
            self.styles.append(data)
        else:
            self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.errors.append(f"comment <!--{data}-->")


def parse(page: str) -> Page:
    checker = Page()
    checker.feed(page)
    checker.close()
    assert checker.errors == []
    assert checker.stack == []
    return checker


def blocks(page: Page) -> tuple[dict, list, str]:
    """The page's summary data, details data and script, as the browser would read them."""
    by_id = {attrs.get("id"): text for attrs, text in page.scripts}
    kinds = [(attrs.get("type"), attrs.get("id")) for attrs, _ in page.scripts]
    # The script before the (large) details block, so the matrix is drawn while it loads.
    assert kinds == [("application/json", "summary-data"), (None, None), ("application/json", "details-data")]
    return json.loads(by_id["summary-data"]), json.loads(by_id["details-data"]), by_id[None]


@pytest.fixture(scope="module")
def small_page() -> str:
    return render_html(small_results())


# ---------------------------------------------------------------------------- embedding


def test_embed_json_escapes_what_could_end_the_script_element() -> None:
    value = {"a": "</script><script>alert(1)</script>", "b": "<!-- x -->", "c": "&amp; \u2028\u2029 >"}
    text = str(embed_json(value))
    assert text == (
        '{"a":"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",'
        '"b":"\\u003c!-- x --\\u003e","c":"\\u0026amp; \\u2028\\u2029 \\u003e"}'
    )
    assert json.loads(text) == value


@given(
    st.recursive(
        st.text() | st.integers() | st.none() | st.booleans(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=10,
    )
)
def test_embed_json_is_inert_in_html_and_parses_back_to_the_value(value: object) -> None:
    text = str(embed_json(value))
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(text) == value


def test_embed_json_refuses_what_json_cannot_say() -> None:
    with pytest.raises(ValueError):
        embed_json({"x": float("nan")})


# ---------------------------------------------------------------------------- CSP


def test_csp_allows_only_the_pages_own_script_and_style_by_hash(small_page: str) -> None:
    page = parse(small_page)
    metas = [value for tag, name, value in page.attrs if tag == "meta" and name == "content"]
    csp = metas[0]
    assert ("meta", "http-equiv", "Content-Security-Policy") in page.attrs
    _, _, script = blocks(page)
    [style] = page.styles
    assert csp == content_security_policy(script, style)
    directives = dict(part.split(" ", 1) for part in csp.split("; "))
    assert directives == {
        "default-src": "'none'",
        "script-src": csp_hash(script),
        "style-src": csp_hash(style),
        "img-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'none'",
        "require-trusted-types-for": "'script'",
        "trusted-types": "'none'",
    }
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert directives["script-src"] == f"'sha256-{digest}'"
    assert "unsafe" not in csp
    # The policy comes before anything it governs.
    assert small_page.index("Content-Security-Policy") < small_page.index("<style>")


def test_the_script_and_style_load_nothing(small_page: str) -> None:
    page = parse(small_page)
    _, _, script = blocks(page)
    [style] = page.styles
    assert "url(" not in style and "@import" not in style
    for forbidden in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "Function(",
        "fetch(",
        "XMLHttpRequest",
        "import(",
    ):
        assert forbidden not in script, forbidden
    assert re.findall(r"https?://[^\"' ]*", script) == ["https://www.rfc-editor.org/rfc/"]


# ---------------------------------------------------------------------------- the page


def test_page_is_well_nested_and_has_no_external_reference(small_page: str) -> None:
    assert small_page.startswith("<!DOCTYPE html>\n")
    page = parse(small_page)
    assert page.tags.count("html") == 1 and page.tags.count("body") == 1
    assert page.tags.count("script") == 3 and page.tags.count("style") == 1
    assert not {"img", "iframe", "link", "object", "embed", "base", "form", "frame", "audio", "video"} & set(
        page.tags
    )
    for tag, name, value in page.attrs:
        assert not name.startswith("on"), (tag, name)
        assert name not in {
            "src",
            "srcset",
            "action",
            "formaction",
            "data",
            "poster",
            "background",
            "style",
        }, (tag, name)
        if name == "href":
            assert tag == "a"
            assert value is not None and (
                value.startswith("#") or value.startswith("https://www.rfc-editor.org/rfc/rfc")
            )


def test_page_escapes_everything_from_the_data(small_page: str) -> None:
    page = parse(small_page)
    lowered = small_page.lower()
    # The only <script openings are the page's own three; no <img, no comment.
    assert lowered.count("<script") == 3
    assert "<img" not in lowered and "<!--" not in small_page
    assert "\x00" not in small_page and "\x1b" not in small_page and "\u202e" not in small_page
    small_page.encode("utf-8")  # no lone surrogate
    text = "".join(page.text)
    assert "evil<b>&\"'" in text  # target names in the overview, shown as text
    assert f"http://127.0.0.1:9/?{SCRIPT}" in text


def test_page_overview_counts_per_verdict_and_level(small_page: str) -> None:
    row = re.search(r"<tr><th>nginx</th>.*?</tr>", small_page)
    assert row is not None
    # FAIL, ERROR, NON-STRICT, UNIMPLEMENTED, INFORMATIONAL, SKIPPED, PASS, total
    # Two targets: each count links to its own target's cases (target=0 is nginx).
    assert re.findall(
        r'<td class="n">(?:<a href="#v=[A-Z-]+&amp;target=0">)?(?:<span class="zero">)?(\d+)', row.group()
    ) == [
        "3", "1", "1", "1", "1", "1", "1", "9",
    ]  # fmt: skip
    assert '<a href="#v=FAIL&amp;r=SHOULD&amp;target=0">1</a>' in small_page
    assert '<th rowspan="4">nginx</th>' in small_page
    assert '<strong class="unreachable">(unreachable)</strong>' in small_page
    assert (
        "conformance 0.1.0 · started 2024-05-01T12:00:00Z · duration 12.5 s · 2 targets · 10 cases"
        in small_page
    )


def test_page_section_bars_failures_first(small_page: str) -> None:
    sections = small_page[small_page.index('<tbody class="sections">') :]
    keys = re.findall(r'<tr><th><a href="#s=([^"]+)">', sections)
    assert keys[:4] == ["h1/9112/2.2", "h1/9112/6.1", "h2/9113/6.5.2", "h2/9113/6.9"]
    assert keys[-1] == "ws/7692/7"
    assert (
        '<a href="https://www.rfc-editor.org/rfc/rfc9113#section-6.9" rel="noreferrer">RFC 9113 §6.9</a>'
        in sections
    )


def test_bar_segments_and_label() -> None:
    counts = {"PASS": 2, "FAIL": 1, "SKIPPED": 1}
    assert bar_segments(counts) == [
        {"css": "v-fail", "x": "0.00", "width": "25.00", "n": 1},
        {"css": "v-other", "x": "25.00", "width": "25.00", "n": 1},
        {"css": "v-pass", "x": "50.00", "width": "50.00", "n": 2},
    ]
    assert bar_label(counts) == "1 FAIL, 1 SKIPPED, 2 PASS of 4"
    assert bar_segments({}) == []


# ---------------------------------------------------------------------------- the data


def test_summary_lists_each_case_once_worst_first_with_a_verdict_per_target() -> None:
    data = summary_data(small_results())
    ids = [item["id"] for item in data["cases"]]
    assert len(ids) == len(set(ids)) == 10
    rows = {item["id"]: item for item in data["cases"]}
    assert rows["h1/9112/2.2/bare-cr"]["verdicts"] == ["PASS", "ERROR"]
    assert rows["ws/6455/1.3/handshake"]["verdicts"] == [None, "ERROR"]
    assert rows["h2/9113/6.9/window-overflow"]["verdicts"] == ["FAIL", None]
    # FAIL first (MUST, SHOULD, MAY), then ERROR (bare-cr's worst is the second target's ERROR)
    assert ids[:3] == [
        "h2/9113/6.5.2/max-frame-size",
        "h2/9113/6.9/window-overflow",
        "ws/6455/5.5.1/close-reason",
    ]
    assert set(ids[3:6]) == {"h1/9112/2.2/bare-cr", "h1/9112/6.1/chunked-ext", "ws/6455/1.3/handshake"}
    assert ids[-1] == "h1/9112/9.3/pipelining" or ids[-1] == "h1/9110/9.3.2/head-body"
    window = rows["h2/9113/6.9/window-overflow"]
    assert window["url"] == "https://www.rfc-editor.org/rfc/rfc9113#section-6.9"
    assert window["label"] == "RFC 9113 §6.9"
    assert window["section"] == "h2/9113/6.9"
    assert window["requirement"] == "SHOULD"
    assert window["aliases"] == ["http2/6.9.1/2"]


def test_summary_counts_per_target_and_requirement() -> None:
    data = summary_data(small_results())
    nginx, evil = data["targets"]
    assert nginx["counts"] == {
        "PASS": 1,
        "NON-STRICT": 1,
        "FAIL": 3,
        "INFORMATIONAL": 1,
        "UNIMPLEMENTED": 1,
        "SKIPPED": 1,
        "ERROR": 1,
    }
    assert nginx["by_requirement"]["MUST"] == {"PASS": 1, "NON-STRICT": 1, "FAIL": 1, "ERROR": 1}
    assert list(nginx["by_requirement"]) == ["MUST", "SHOULD", "MAY", "INFO"]
    assert evil == {
        "name": "evil<b>&\"'",
        "url": f"http://127.0.0.1:9/?{SCRIPT}",
        "reachable": False,
        "total": 2,
        "counts": {"ERROR": 2},
        "known": 0,
        "by_requirement": {"MUST": {"ERROR": 2}},
        "known_by_requirement": {"MUST": 0},
    }
    protocols = {row["key"]: row for row in data["protocols"]}
    assert protocols["h2"]["counts"] == [{"NON-STRICT": 1, "FAIL": 2}, {}]
    assert [row["key"] for row in data["protocols"]] == ["h1", "h2", "ws"]  # 2 bad each: natural order


def test_details_are_in_the_summarys_order_and_hold_expected_observed_and_step() -> None:
    results = small_results()
    summary, details = summary_data(results), details_data(results)
    assert len(details) == len(summary["cases"])
    for item, per_target in zip(summary["cases"], details, strict=True):
        for verdict, detail in zip(item["verdicts"], per_target, strict=True):
            assert (detail is None) is (verdict is None)
            assert detail is None or detail["verdict"] == verdict
    window = details[1][0]
    assert window["expected"] == "GOAWAY (error: FLOW_CONTROL_ERROR)"
    assert window["step"] == 3 and window["step_text"] == "send WINDOW_UPDATE (increment 2147483647)"
    assert window["notes"] == [f"note with {SCRIPT}", "second note"]
    assert window["observed"].startswith(
        f"DATA frame on stream 1: {SCRIPT} {IMG} ]]> nul:\\x00 esc:\\x1b[31m"
    )
    assert window["observed"].endswith("lone:\\ud800 nonchar:\\ufffe rlo:\\u202e")
    assert window["duration_ms"] == 12.5


def test_transcript_entries_carry_bytes_in_base64_and_events_with_their_fields() -> None:
    bare_cr = small_results().targets[0].cases[0]
    data = case_details(bare_cr)
    assert data["entries"] == 4 and data["truncated"] is False
    connected, sent, received, response = data["transcript"]
    assert connected == {"t": 0.0, "d": "event", "text": "connected (tcp)"}
    assert sent == {
        "t": 0.5,
        "d": "sent",
        "b64": base64.b64encode(bare_cr.transcript[1].data).decode(),
        "size": 40,
    }
    assert received["c"] == 1 and base64.b64decode(received["b64"]) == bare_cr.transcript[2].data
    assert response["detail"] == {"status": 200, "x": SCRIPT}
    assert response["text"] == f"response 200 {HOSTILE}"  # raw here; details_data makes it visible


def test_a_5_mib_entry_is_elided_with_its_size_and_sha256() -> None:
    data, shown = entry_data(entry(0.25, Direction.RECEIVED, BIG), CASE_LIMIT)
    assert shown == ENTRY_LIMIT
    assert base64.b64decode(data["b64"]) == BIG[:ENTRY_LIMIT]
    assert data["size"] == len(BIG)
    assert data["elided"] == {"bytes": len(BIG) - ENTRY_LIMIT, "sha256": hashlib.sha256(BIG).hexdigest()}
    assert "kept" not in data


def test_the_harness_keeping_part_of_an_entry_is_said() -> None:
    data, _ = entry_data(entry(0.0, Direction.RECEIVED, b"abc", size=10_000), CASE_LIMIT)
    assert data["kept"] == 3 and data["size"] == 10_000 and "elided" not in data


def test_a_case_shows_at_most_case_limit_bytes_and_entries_limit_entries() -> None:
    chunk = b"x" * ENTRY_LIMIT
    many = tuple(entry(n / 1000, Direction.RECEIVED, chunk) for n in range(ENTRIES_LIMIT + 5))
    data = case_details(case("h1/9112/2.2/x", Verdict.PASS, transcript=many))
    assert data["entries"] == ENTRIES_LIMIT + 5 and len(data["transcript"]) == ENTRIES_LIMIT
    shown = sum(len(base64.b64decode(item["b64"])) for item in data["transcript"])
    assert shown == CASE_LIMIT
    assert data["transcript"][CASE_LIMIT // ENTRY_LIMIT]["b64"] == ""
    assert data["transcript"][-1]["elided"]["bytes"] == ENTRY_LIMIT


def test_long_strings_in_decoded_fields_are_elided() -> None:
    message = "é" * 100_000
    event = TranscriptEntry(
        t=0.0,
        direction=Direction.EVENT,
        text="text message",
        detail={"type": "message", "text": message, "frames": [{"payload": message}], "short": "ok"},
    )
    data, _ = entry_data(event, CASE_LIMIT)
    elided = data["detail"]["text"][ELIDED]
    assert elided == {
        "head": message[: DETAIL_STRING_LIMIT // 4],
        "length": 100_000,
        "sha256": hashlib.sha256(message.encode()).hexdigest(),
    }
    assert data["detail"]["frames"][0]["payload"] == data["detail"]["text"]
    assert data["detail"]["short"] == "ok"


def test_a_report_of_16_mib_messages_stays_small() -> None:
    payload = b"\x81" * (16 * 2**20)
    huge = tuple(
        TranscriptEntry(t=0.0, direction=Direction.RECEIVED, data=payload[: 256 * 1024], size=len(payload))
        for _ in range(2)
    )
    message = TranscriptEntry(
        t=0.1, direction=Direction.EVENT, text="binary message", detail={"payload": payload.decode("latin-1")}
    )
    cases = tuple(case(f"ws/6455/5.4/big-{n}", Verdict.FAIL, transcript=(*huge, message)) for n in range(4))
    run = RunResults(
        tool_version="0",
        started_at="now",
        duration_s=1.0,
        targets=(TargetResults(name="t", url="ws://x/", cases=cases),),
    )
    assert len(render_html(run).encode()) < 200 * 1024


def test_details_make_every_string_visible() -> None:
    weird = "nul\x00 esc\x1b bidi\u202e lone\udc80"
    result = case("h1/9112/2.2/x", Verdict.FAIL, observed=weird, transcript=(
        TranscriptEntry(t=0, direction=Direction.EVENT, text=weird, detail={weird: [weird]}),
    ))  # fmt: skip
    [[data]] = details_data(RunResults(tool_version="0", started_at="", duration_s=0, targets=(
        TargetResults(name="t", url="u", cases=(result,)),
    )))  # fmt: skip
    escaped = "nul\\x00 esc\\x1b bidi\\u202e lone\\udc80"
    assert data["observed"] == escaped
    assert data["transcript"][0] == {"t": 0.0, "d": "event", "text": escaped, "detail": {escaped: [escaped]}}


weird_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)


@given(text=weird_text)
def test_whatever_the_target_sent_the_page_has_only_its_own_elements(text: str) -> None:
    hostile = f"{text}</script><script>x()</script><!--{text}"
    result = case(
        "h1/9112/2.2/x",
        Verdict.FAIL,
        expected=hostile,
        observed=hostile,
        step_text=hostile,
        notes=(hostile,),
        transcript=(
            TranscriptEntry(
                t=0, direction=Direction.RECEIVED, data=hostile.encode("utf-8", "surrogatepass"), size=9
            ),
            TranscriptEntry(t=0, direction=Direction.EVENT, text=hostile, detail={"reason": hostile}),
        ),
    )
    target = TargetResults(name=hostile, url=hostile, cases=(result,))
    page_text = render_html(
        RunResults(tool_version=text, started_at=hostile, duration_s=1.0, targets=(target,))
    )
    page_text.encode("utf-8")
    page = parse(page_text)
    summary, details, _ = blocks(page)
    assert summary["targets"][0]["name"] == visible(hostile)
    assert details[0][0]["observed"] == visible(hostile)
    assert details[0][0]["transcript"][1]["detail"]["reason"] == visible(hostile)
    assert not {"img", "iframe", "object", "embed", "link", "base"} & set(page.tags)


# ---------------------------------------------------------------------------- results.json caps


def test_cap_detail_elides_long_strings_anywhere_and_is_json_able() -> None:
    long = "x" * 50
    capped = cap_detail(
        {"a": long, "b": [long, {"c": long}], "d": b"\x00\xff", 1: float("inf"), "e": (1, None, True)},
        10,
        keep=4,
    )
    elided = {ELIDED: {"head": "xxxx", "length": 50, "sha256": hashlib.sha256(long.encode()).hexdigest()}}
    assert capped == {
        "a": elided,
        "b": [elided, {"c": elided}],
        "d": "\x00\xff",
        "1": "inf",
        "e": [1, None, True],
    }
    json.dumps(capped, allow_nan=False)
    # Capping again with a smaller limit cuts the head, keeping length and hash of the original.
    assert cap_detail(capped, 2)["a"] == {
        ELIDED: {"head": "xx", "length": 50, "sha256": elided[ELIDED]["sha256"]}
    }
    assert cap_detail("\udc80" * 20, 5)[ELIDED]["length"] == 20  # lone surrogates hash too


class _Clock:
    def seconds(self) -> float:
        return 0.0


def test_the_recorder_caps_event_details_so_results_json_holds_no_whole_payload() -> None:
    recorder = Recorder(_Clock())
    message = "m" * (16 * 2**20)
    recorder.event("text message", {"type": "message", "text": message, "length": len(message)})
    [recorded] = recorder.entries
    assert recorded.detail["length"] == 16 * 2**20
    assert recorded.detail["text"][ELIDED]["length"] == len(message)
    assert len(recorded.detail["text"][ELIDED]["head"]) == DETAIL_STRING_CAP
    assert len(json.dumps(recorded.to_json())) < 2 * DETAIL_STRING_CAP
    recorder.data(Direction.RECEIVED, message.encode())
    assert len(recorder.entries[1].data) == TRANSCRIPT_BYTE_CAP and recorder.entries[1].size == len(message)
    # Past the byte cap, events keep their line of text only.
    recorder.event("text message", {"type": "message", "length": 1})
    assert recorder.entries[2].text == "text message" and recorder.entries[2].detail == {}
    assert recorder.truncated


def test_render_is_deterministic_and_independent_of_results_identity() -> None:
    assert render_html(small_results()) == render_html(small_results())
    full = full_results()
    assert render_html(full) == render_html(dataclasses.replace(full))
    assert Requirement.MUST.value in render_html(full)


@pytest.mark.parametrize(
    "targets",
    [(), (TargetResults(name="down", url="http://127.0.0.1:1/", cases=(), reachable=False),)],
    ids=["no target", "a target with no case"],
)
def test_an_empty_run_still_makes_a_page(targets: tuple[TargetResults, ...]) -> None:
    run = RunResults(tool_version="0", started_at="now", duration_s=0.0, targets=targets)
    page = parse(render_html(run))
    summary, details, _ = blocks(page)
    assert summary["cases"] == [] and details == []
    assert [target["total"] for target in summary["targets"]] == [0] * len(targets)


# ---------------------------------------------------------------------------- the baseline


def _gated() -> RunResults:
    from test_gate_reporters import gated_results

    return gated_results()


def test_known_failures_are_marked_per_target_and_sort_after_new_failures_and_errors() -> None:
    data = summary_data(_gated())
    rows = {item["id"]: item for item in data["cases"]}
    assert rows["h2/9113/6.9/window-overflow"]["known"] == ["flow control is tracked in #7", None]
    assert rows["ws/6455/5.5.1/close-reason"]["known"] == ["close reasons are not checked yet", None]
    # A new FAIL has no reason; nor has a case the baseline names that did not FAIL.
    assert rows["h2/9113/6.5.2/max-frame-size"]["known"] == [None, None]
    assert rows["h1/9112/2.2/bare-cr"]["known"] == [None, None]
    ids = [item["id"] for item in data["cases"]]
    # The new FAIL, then the ERRORs, then the known FAILs (SHOULD before MAY), then the rest.
    assert ids[0] == "h2/9113/6.5.2/max-frame-size"
    assert set(ids[1:4]) == {"h1/9112/2.2/bare-cr", "h1/9112/6.1/chunked-ext", "ws/6455/1.3/handshake"}
    assert ids[4:7] == [
        "h2/9113/6.9/window-overflow",
        "ws/6455/5.5.1/close-reason",
        "h2/9113/6.5/ack-with-payload",
    ]
    # Without a baseline the same FAILs are all new, and first.
    plain = [item["id"] for item in summary_data(small_results())["cases"]]
    assert plain[1:3] == ["h2/9113/6.9/window-overflow", "ws/6455/5.5.1/close-reason"]


def test_known_failures_are_counted_per_target_level_and_section() -> None:
    data = summary_data(_gated())
    nginx, evil = data["targets"]
    assert nginx["counts"]["FAIL"] == 3 and nginx["known"] == 2
    assert nginx["known_by_requirement"] == {"MUST": 0, "SHOULD": 1, "MAY": 1, "INFO": 0}
    assert evil["known"] == 0
    sections = {row["key"]: row for row in data["sections"]}
    assert sections["h2/9113/6.9"]["known"] == [1, 0] and sections["h2/9113/6.9"]["bad"] == 0
    assert sections["h2/9113/6.5.2"]["known"] == [0, 0] and sections["h2/9113/6.5.2"]["bad"] == 1
    keys = [row["key"] for row in data["sections"]]
    # New FAILs and ERRORs first, then the sections with only known FAILs, then the rest.
    assert keys.index("h2/9113/6.5.2") < keys.index("h2/9113/6.9") < keys.index("h2/9113/6.5")
    assert keys.index("ws/6455/1.3") < keys.index("ws/6455/5.5.1") < keys.index("h1/9110/9.3.2")
    protocols = {row["key"]: row for row in data["protocols"]}
    assert protocols["h2"]["known"] == [1, 0] and protocols["ws"]["known"] == [1, 0]


def test_the_baseline_lists_stale_and_unmatched_entries() -> None:
    baseline = summary_data(_gated())["baseline"]
    assert baseline["present"] is True
    nginx, evil = baseline["targets"]
    assert (nginx["entries"], nginx["known"], evil["entries"], evil["known"]) == (6, 2, 3, 0)
    assert [(s["pattern"], s["now"], s["case"], s["source"]) for s in nginx["stale"]] == [
        ("h9/9999/1/gone", "matched no case of this run", "", "baseline.yaml:10"),
        ("h1/9112/2.2/bare-cr", "now PASS", "h1/9112/2.2/bare-cr", "baseline.yaml:4"),
        ("h1/9112/6.1/chunked-ext", "now ERROR", "h1/9112/6.1/chunked-ext", "baseline.yaml:5"),
    ]
    assert [(s["pattern"], s["now"], s["section"]) for s in evil["stale"]] == [
        ("h1/9112/2.2/bare-cr", "now ERROR", "*")
    ]
    assert baseline["unmatched"] == [
        {
            "pattern": "h9/9999/2/*",
            "reason": "matches nothing on any target",
            "source": "baseline.yaml:6",
            "section": "*",
        }
    ]
    assert summary_data(small_results())["baseline"] == {"present": False, "targets": [], "unmatched": []}


def test_a_known_failures_details_hold_the_reason_and_the_entry_that_gave_it() -> None:
    results = _gated()
    summary, details = summary_data(results), details_data(results)
    by_id = {item["id"]: index for index, item in enumerate(summary["cases"])}
    close = details[by_id["ws/6455/5.5.1/close-reason"]][0]
    assert close["known"] == {
        "reason": "close reasons are not checked yet",
        "pattern": "ws/6455/5.5.1/*",
        "source": "baseline.yaml:8",
    }
    assert "known" not in details[by_id["h2/9113/6.5.2/max-frame-size"]][0]
    assert "known" not in details[by_id["h1/9112/2.2/bare-cr"]][0]


def test_bars_split_new_and_known_failures() -> None:
    counts = {"FAIL": 3, "PASS": 1}
    assert bar_segments(counts, 2) == [
        {"css": "v-fail", "x": "0.00", "width": "25.00", "n": 1},
        {"css": "v-fail-known", "x": "25.00", "width": "50.00", "n": 2},
        {"css": "v-pass", "x": "75.00", "width": "25.00", "n": 1},
    ]
    assert bar_label(counts, 2) == "1 FAIL (new), 2 FAIL (known), 1 PASS of 4"
    assert bar_label({"FAIL": 2}, 2) == "2 FAIL (known) of 2"
    assert [s["css"] for s in bar_segments({"FAIL": 2}, 2)] == ["v-fail-known"]
    assert bar_label(counts) == "3 FAIL, 1 PASS of 4"


def test_page_with_a_baseline_splits_fail_counts_and_lists_what_can_go() -> None:
    page_text = render_html(_gated())
    page = parse(page_text)
    verdicts = page_text[: page_text.index("<h2>By requirement level</h2>")]
    assert '<th class="v-fail">FAIL (new)</th><th class="v-fail-known">FAIL (known)</th>' in verdicts
    nginx = re.search(r"<tr><th>nginx</th>.*?</tr>", verdicts)
    assert nginx is not None
    assert (
        '<td class="n"><a href="#b=new&amp;target=0">1</a></td>'
        '<td class="n"><a href="#b=known&amp;target=0">2</a></td>' in nginx.group()
    )
    assert '<a href="#b=known&amp;r=SHOULD&amp;target=0">1</a>' in page_text
    assert 'aria-label="1 FAIL (new), 1 FAIL (known), 1 NON-STRICT of 3"' in page_text
    text = " ".join("".join(page.text).split())
    assert "Entries that no longer FAIL: remove them" in text
    assert (
        "<tr><th>nginx</th><td><code>h9/9999/1/gone</code></td><td>matched no case of this run</td>"
        '<td class="reason">a case that no longer exists</td><td><code>baseline.yaml:10</code></td></tr>'
    ) in page_text
    assert 'Entries for every target ("*") that match no case' in text
    assert '<a href="#case=h1/9112/2.2/bare-cr&amp;t=1">' in page_text  # the second target's view
    # Without a baseline: one FAIL column, no baseline section.
    plain = render_html(small_results())
    assert "FAIL (known)</th>" not in plain and 'id="baseline"' not in plain
    assert '<th class="v-fail">FAIL</th>' in plain


def test_baseline_reasons_are_data_wherever_they_appear() -> None:
    from conformance.baseline import apply_baseline, parse_baseline

    hostile = json.dumps(f"{SCRIPT} {IMG} \u202e </style>")  # a YAML double-quoted scalar
    text = (
        "version: 1\ntargets:\n  nginx:\n"
        f"    h2/9113/6.9/window-overflow: {hostile}\n"
        f"    h1/9112/2.2/bare-cr: {hostile}\n"
        f"    h9/9999/1/*: {hostile}\n"
    )
    results = apply_baseline(small_results(), parse_baseline(text, "b.yaml"))
    page_text = render_html(results)
    page = parse(page_text)  # well nested: nothing in a reason made an element
    assert page_text.lower().count("<script") == 3 and "<img" not in page_text.lower()
    assert "\u202e" not in page_text and "</style>" not in page_text.replace("</style>\n</head>", "")
    summary, details, _ = blocks(page)
    reason = visible(f"{SCRIPT} {IMG} \u202e </style>")
    assert {item["known"][0] for item in summary["cases"]} == {None, reason}
    assert [s["reason"] for s in summary["baseline"]["targets"][0]["stale"]] == [reason, reason]
    assert reason in "".join(page.text)  # the stale entries in the overview, as text
    window = [i for i, item in enumerate(summary["cases"]) if item["id"] == "h2/9113/6.9/window-overflow"][0]
    assert details[window][0]["known"]["reason"] == reason


# ---------------------------------------------------------------------------- issue 13


def test_the_summary_carries_the_gate_as_the_cli_judges_it() -> None:
    results = small_results()
    gate = summary_data(results)["gate"]
    assert gate["passed"] is False and gate["level"] == "MUST"
    assert gate["reasons"][0].endswith("at MUST on nginx")
    allowed = summary_data(results, fail_on=Requirement.MAY, allow_errors=True)["gate"]
    assert allowed["level"] == "MAY or stricter"
    assert any("not counted: --allow-errors" in reason for reason in allowed["reasons"])
    page = render_html(results, fail_on=Requirement.SHOULD)
    assert (
        '<p id="gate" class="gate failed" role="status"><strong>Gate failed</strong> (--fail-on SHOULD or stricter): '
        in page
    )
    assert '<a href="#cases-section" id="jump">Jump to the matrix of 10 cases × 2 targets ↓</a>' in page


def test_tags_go_from_the_case_file_to_results_json_and_the_summary() -> None:
    from conformance.scenario.loader import load_cases
    from conformance.verdicts.judge import skipped

    case_ = next(c for c in load_cases() if "deflate" in c.tags)
    result = skipped(case_, "not run")
    assert result.tags == case_.tags
    assert CaseResult.from_json(json.loads(json.dumps(result.to_json()))).tags == case_.tags
    assert "tags" not in dataclasses.replace(result, tags=()).to_json()  # older files stay as they were
    run = RunResults(
        tool_version="0", started_at="now", duration_s=1.0, targets=(TargetResults(name="t", url="ws://x/", cases=(result,)),)
    )  # fmt: skip
    summary = summary_data(run)
    assert summary["cases"][0]["tags"] == list(case_.tags)
    assert summary["cases"][0]["rfc"] == "7692"
    assert summary["rfc_titles"] == {"7692": "Compression Extensions for WebSocket (permessage-deflate)"}


def test_websocket_cells_carry_the_targets_close_code_and_the_duration() -> None:
    from conformance.verdicts.ws import ClosingFacts, closing_verdict

    def closed(facts: ClosingFacts) -> dict[str, object]:
        found = closing_verdict(facts, [], [])
        assert found is not None
        return {"verdict": found.verdict.value, **found.detail}

    normal = closed(
        ClosingFacts(target_closed=True, target_code=1000, harness_closed=True, first="harness", eof=True)
    )
    empty = closed(ClosingFacts(target_closed=True, harness_closed=True, first="target", eof=True))
    dropped = closed(ClosingFacts(harness_closed=True, first="harness", eof=True))
    assert (normal["target_closed"], empty["target_closed"], dropped["target_closed"]) == (True, True, False)
    ws = [
        case("ws/6455/7.4/normal", Verdict.PASS, duration_s=0.0123, closing=normal),
        case("ws/6455/7.4/empty", Verdict.PASS, duration_s=0.25, closing=empty),
        case("ws/6455/7.4/dropped", Verdict.FAIL, duration_s=0.0042, closing=dropped),
        case("ws/6455/7.4/open", Verdict.PASS, duration_s=0.0004),
        case("ws/6455/7.4/skipped", Verdict.SKIPPED),
        case(
            "ws/6455/7.4/old", Verdict.PASS, duration_s=0.02, closing={"verdict": "OK", "target_code": None}
        ),
    ]
    other = TargetResults(name="b", url="ws://y/", cases=(ws[0],))
    run = RunResults(
        tool_version="0", started_at="now", duration_s=1.0,
        targets=(TargetResults(name="a", url="ws://x/", cases=(*ws, case("h1/9112/2.2/x", Verdict.PASS))), other),
    )  # fmt: skip
    wire = {item["id"]: item.get("wire") for item in summary_data(run)["cases"]}
    assert wire == {
        "ws/6455/7.4/normal": ["1000 · 12 ms", "1000 · 12 ms"],
        "ws/6455/7.4/empty": ["no code · 250 ms", None],
        "ws/6455/7.4/dropped": ["no close · 4.2 ms", None],
        "ws/6455/7.4/open": ["0.4 ms", None],
        "ws/6455/7.4/skipped": [None, None],
        "ws/6455/7.4/old": ["– · 20 ms", None],
        "h1/9112/2.2/x": None,  # not a WebSocket case: no such line at all
    }


def test_the_baseline_filter_and_the_target_filter_appear_only_when_they_can_filter() -> None:
    plain = render_html(small_results())
    assert 'select name="b"' not in plain and 'select name="target"' in plain
    one = dataclasses.replace(small_results(), targets=small_results().targets[:1])
    page = render_html(one)
    assert 'select name="target"' not in page and "target=" not in page.split("<script")[0]
    assert 'select name="b"' in render_html(_gated())
