"""Whether two runs reached the same verdicts: a speed change must change none.

    python tests/perf/compare_verdicts.py before/results.json after/results.json

Pairs the case results of two results.json files by (target, case id) and lists every pair
whose verdict differs, every case present in one run only, and — for WebSocket cases — every
closing-handshake verdict that differs. The reference target's targets are named after their
role (reference-h1, ...), not their port, so two default runs pair up. Exit status 1 when
anything differs, 0 when nothing does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def verdicts(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(target, case id) -> (verdict, closing verdict or "")."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for target in raw["targets"]:
        for case in target["cases"]:
            closing = case.get("closing") or {}
            out[target["name"], case["id"]] = (case["verdict"], closing.get("verdict", ""))
    return out


def differences(before: Path, after: Path) -> list[str]:
    old, new = verdicts(before), verdicts(after)
    lines = []
    for key in sorted(old.keys() | new.keys()):
        target, case = key
        if key not in new:
            lines.append(f"{target} {case}: only in the first run ({old[key][0]})")
        elif key not in old:
            lines.append(f"{target} {case}: only in the second run ({new[key][0]})")
        elif old[key] != new[key]:
            (verdict_a, closing_a), (verdict_b, closing_b) = old[key], new[key]
            if verdict_a != verdict_b:
                lines.append(f"{target} {case}: {verdict_a} -> {verdict_b}")
            if closing_a != closing_b:
                lines.append(f"{target} {case}: closing {closing_a or '-'} -> {closing_b or '-'}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    lines = differences(args.before, args.after)
    for line in lines:
        print(line)
    pairs = len(verdicts(args.after))
    print(f"{len(lines)} difference(s) over {pairs} case results", file=sys.stderr)
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
