"""Every step, payload, expectation and connect-mode kind, one module per protocol.

Importing this package fills the tables of :mod:`conformance.scenario.registry`: ``core``
(what all protocols share, and HTTP/1.1's kinds) first, then each protocol's. The registry
imports nothing from here; the loader and the schema import this package before they read it.
"""

from __future__ import annotations

from conformance.scenario.kinds import client, core, h2, ws  # noqa: F401
