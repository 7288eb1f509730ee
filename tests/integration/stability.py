"""How many runs in a row a real implementation's suite gets in one test.

Three runs with the same verdict for every case show that no verdict depends on timing. Every
suite against every real server three times is most of the test run's time, so three runs are
kept for a few servers of each suite (those whose verdicts have raced before, and the most used)
and the others run once; ``CONFORMANCE_REAL_RUNS=3`` runs every one three times (do it when
changing cases, the driver or a pin), ``CONFORMANCE_REAL_RUNS=1`` runs every one once.
"""

from __future__ import annotations

import os


def runs(name: str, repeated: frozenset[str]) -> int:
    """The number of runs for ``name``: 3 when it is in ``repeated``, else 1, unless
    ``CONFORMANCE_REAL_RUNS`` says otherwise."""
    setting = os.environ.get("CONFORMANCE_REAL_RUNS", "").strip()
    if setting:
        try:
            count = int(setting)
        except ValueError:
            raise ValueError(f"CONFORMANCE_REAL_RUNS={setting!r}: a number of runs, such as 1 or 3") from None
        if count < 1:
            raise ValueError(f"CONFORMANCE_REAL_RUNS={setting!r}: at least 1")
        return count
    return 3 if name in repeated else 1
