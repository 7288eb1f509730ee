"""Benchmark: how fast index.html opens in chromium for a big run. Prints figures; asserts nothing.

    python tests/perf/html_load.py                      # 1,000 cases x 5 targets
    python tests/perf/html_load.py --cases 2000 --targets 3 --repeat 9

For each of ``--repeat`` fresh pages (one browser): the time from navigation to the first
frame with the matrix laid out and painted (the page is usable), to the load event (the whole
file read, details block included), the page script's own time (it draws the matrix), and the time a click on a matrix cell takes to open that case
(the first click also parses the details block). Also the time Python takes to render the
page, and its size. Needs Debian's chromium and the playwright package (no browser download).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "browser"))

from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (tests/browser/conftest.py)
from synthetic_results import synthetic_results  # noqa: E402

from conformance.reporters.html import render_html  # noqa: E402

OPEN_CASE = """
(selector) => { const start = performance.now(); document.querySelector(selector).click();
                return performance.now() - start; }
"""


def summary(name: str, samples: list[float], unit: str = "ms") -> None:
    print(
        f"{name:<44} median {statistics.median(samples):7.1f} {unit}  "
        f"min {min(samples):7.1f}  max {max(samples):7.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--targets", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    results = synthetic_results(cases=args.cases, targets=args.targets)
    start = time.perf_counter()
    page_text = render_html(results)
    render_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "index.html"
        path.write_text(page_text, encoding="utf-8")
        size = path.stat().st_size
        print(
            f"{args.cases} cases x {args.targets} targets: index.html {size / 2**20:.2f} MiB, rendered in {render_s:.2f} s"
        )
        loads, scripts, painted, first_open, next_open = [], [], [], [], []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for _ in range(args.repeat):
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    page.goto(path.as_uri(), wait_until="load")
                    page.wait_for_selector("html[data-ready=true]", state="attached")
                    page.wait_for_selector("html[data-matrix-painted-ms]", state="attached")
                    painted.append(float(page.evaluate("document.documentElement.dataset.matrixPaintedMs")))
                    loads.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
                    scripts.append(float(page.evaluate("document.documentElement.dataset.scriptMs")))
                    last = args.cases - 1
                    first_open.append(page.evaluate(OPEN_CASE, f'#cases .row[data-i="{last}"] .v'))
                    next_open.append(page.evaluate(OPEN_CASE, '#cases .row[data-i="0"] .v'))
                    page.close()
            finally:
                browser.close()
    summary("navigation start to load event", loads)
    summary("  of which the page script (draws the matrix)", scripts)
    summary("navigation start to the matrix painted", painted)
    summary("click a cell: first case (parses details)", first_open)
    summary("click a cell: another case", next_open)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
