"""Step, payload, expectation and connect-mode kinds of each protocol beyond HTTP/1.1.

Each protocol's kinds live in a module of their own here and register themselves in
:mod:`conformance.scenario.registry` when imported; the registry imports this package last,
so that the schema, the docs and the error messages see every kind.
"""

from __future__ import annotations

from conformance.scenario.kinds import h2  # noqa: E402, F401
