"""``index.html``: one self-contained page to browse a run, offline, from ``file://``.

The skeleton comes from ``templates/report.html.j2`` (autoescaped; the overview tables are
rendered there, so they read without script too). The page's data is two JSON blocks
(``<script type="application/json">``) built by :mod:`conformance.reporters.html_data`: a
summary parsed on load, and the per-case details parsed the first time a case is opened.
``templates/report.js`` draws the matrix, the filters and the case details from them, always
with ``textContent`` and ``createElement``, never ``innerHTML``.

Safety, in three layers:

1. :func:`embed_json` escapes ``<``, ``>``, ``&``, U+2028 and U+2029 as ``\\uXXXX`` inside
   the JSON, so nothing a target sent can close the ``<script>`` element (``</script>``),
   open a comment (``<!--``) or otherwise change how the HTML parser reads the block.
2. The script inserts data only as text nodes.
3. The Content-Security-Policy (:func:`content_security_policy`) allows no source at all
   (``default-src 'none'``) except the one inline script and the one inline style, each by
   the SHA-256 of its exact text, computed here at render time. A script injected by any
   means would not run; nothing is loaded from the network.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from conformance.reporters._text import visible
from conformance.reporters.html_data import (
    REQUIREMENT_ORDER,
    VERDICT_ORDER,
    iter_details,
    section_sort_key,
    summary_data,
)
from conformance.results import RunResults
from conformance.verdicts.verdict import Requirement, Verdict

# Characters that must not appear raw inside a <script> block (or that old JavaScript
# parsers read as line terminators inside strings). In JSON they only occur inside strings,
# where \uXXXX means the same character, so the escaped text parses to the same value.
_JSON_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def embed_json(value: Any) -> Markup:
    """``value`` as JSON text that is safe verbatim inside ``<script type="application/json">``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in _JSON_ESCAPES:  # str.replace: far faster than translate on megabytes
        text = text.replace(char, escape)
    return Markup(text)


def csp_hash(text: str) -> str:
    """The CSP source expression that allows an inline block with exactly ``text``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(script: str, style: str) -> str:
    """Nothing may load; only the page's own inline script and style (by hash) may apply.

    No ``'unsafe-inline'``: an inline script or style attribute that is not byte for byte
    the page's own is refused. The script sets element styles only through the CSSOM
    (``element.style.setProperty``), which style-src does not govern, and builds elements
    only with ``createElement`` and text nodes, which Trusted Types allows.
    """
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {csp_hash(script)}",
            f"style-src {csp_hash(style)}",
            "img-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            # Trusted Types: the browser refuses any string assigned to innerHTML and the like,
            # so the page cannot turn data into markup even by mistake.
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
        ]
    )


def _asset(name: str) -> str:
    text = resources.files("conformance.reporters").joinpath("templates", name).read_text("utf-8")
    # The assets go into the page verbatim: they must not end their own element.
    for closing in ("</script", "</style", "<!--"):
        if closing in text.lower():
            raise ValueError(f"{name} must not contain {closing!r}: it is inlined verbatim")
    return text


def _finalize(value: Any) -> Any:
    """Applied to every ``{{ … }}``: strings become visible (escaping happens after)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    if value is None:
        return ""
    return value


def _verdict_css(verdict: str) -> str:
    return "v-" + verdict.lower()


# The segments of a section's bar, left to right: what needs fixing first. A FAIL the
# baseline expects has its own segment (v-fail-known), after the new FAILs and ERRORs.
BAR_GROUPS = (
    ("v-fail", ("FAIL",)),
    ("v-error", ("ERROR",)),
    ("v-fail-known", ()),
    ("v-non-strict", ("NON-STRICT",)),
    ("v-other", ("UNIMPLEMENTED", "INFORMATIONAL", "SKIPPED")),
    ("v-pass", ("PASS",)),
)
KNOWN_LABEL = "FAIL (known)"


def bar_segments(counts: dict[str, int], known: int = 0) -> list[dict[str, Any]]:
    """Rectangles of a 100-wide stacked bar: one per non-empty group of :data:`BAR_GROUPS`;
    ``known`` of the FAILs are the baseline's and go to their own segment."""
    total = sum(counts.values())
    segments: list[dict[str, Any]] = []
    x = 0.0
    for css, verdicts in BAR_GROUPS:
        n = sum(counts.get(verdict, 0) for verdict in verdicts)
        if css == "v-fail":
            n -= known
        elif css == "v-fail-known":
            n = known
        if n and total:
            width = 100.0 * n / total
            segments.append({"css": css, "x": f"{x:.2f}", "width": f"{width:.2f}", "n": n})
            x += width
    return segments


def bar_label(counts: dict[str, int], known: int = 0) -> str:
    """``"2 FAIL, 1 PASS of 3"``: the bar in words (its title and aria-label); with known
    failures, ``"1 FAIL (new), 1 FAIL (known), 1 PASS of 3"``."""
    parts = []
    for verdict in VERDICT_ORDER:
        n = counts.get(verdict.value, 0)
        if verdict is Verdict.FAIL and known:
            if n - known:
                parts.append(f"{n - known} FAIL (new)")
            parts.append(f"{known} {KNOWN_LABEL}")
        elif n:
            parts.append(f"{n} {verdict.value}")
    return f"{', '.join(parts)} of {sum(counts.values())}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("conformance.reporters", "templates"),
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["verdict_css"] = _verdict_css
    env.globals["bar_segments"] = bar_segments
    env.globals["bar_label"] = bar_label
    return env


_ENV: jinja2.Environment | None = None
_ASSETS: dict[str, str] = {}


def render_html(
    results: RunResults, *, fail_on: Requirement = Requirement.MUST, allow_errors: bool = False
) -> str:
    """``results`` as one self-contained HTML5 page (any number of targets); its banner says
    whether the run passed its gate (``fail_on``, ``allow_errors``: as the run was judged)."""
    return "".join(iter_html(results, fail_on=fail_on, allow_errors=allow_errors))


#: Where the details block goes in the rendered template, before it is streamed in.
_DETAILS_PLACEHOLDER = "\x00details\x00"


def prepare_html() -> jinja2.Template:
    """The page's template, compiled once, with its script and style read."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    if not _ASSETS:
        _ASSETS.update(script=_asset("report.js"), style=_asset("report.css"))
    return _ENV.get_template("report.html.j2")


def iter_html(
    results: RunResults, *, fail_on: Requirement = Requirement.MUST, allow_errors: bool = False
) -> Iterator[str]:
    """The text of :func:`render_html` in pieces: the details block (every case's transcript,
    most of the page) a case at a time, never built whole as a value or a string."""
    template = prepare_html()
    summary = summary_data(results, fail_on=fail_on, allow_errors=allow_errors)
    script, style = _ASSETS["script"], _ASSETS["style"]
    page = template.render(
        summary=summary,
        summary_json=embed_json(summary),
        details_json=Markup(_DETAILS_PLACEHOLDER),
        section_keys=sorted((row["key"] for row in summary["sections"]), key=section_sort_key),
        verdicts=[verdict.value for verdict in VERDICT_ORDER],
        requirements=[requirement.value for requirement in REQUIREMENT_ORDER],
        csp=content_security_policy(script, style),
        script=Markup(script),
        style=Markup(style),
    )
    before, after = page.split(_DETAILS_PLACEHOLDER)
    yield before
    # embed_json of the whole list, a row at a time: compact JSON joins items with ",".
    yield "["
    for number, row in enumerate(iter_details(results)):
        yield ("," if number else "") + embed_json(row)
    yield "]"
    yield after


def write_html(
    results: RunResults, path: Path, *, fail_on: Requirement = Requirement.MUST, allow_errors: bool = False
) -> None:
    """Write ``render_html(results, ...)`` to ``path`` in UTF-8, a case at a time."""
    with Path(path).open("w", encoding="utf-8", newline="\n") as out:
        for piece in iter_html(results, fail_on=fail_on, allow_errors=allow_errors):
            out.write(piece)
