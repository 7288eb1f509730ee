"""The protocol drivers beyond HTTP/1.1, imported for what they register.

Each of ``h2``, ``ws`` and ``ws_h2`` registers its sessions (``sessions.SESSIONS``) and its
openings (``openers.OPENERS``, ``openers.APPLICABILITY``) when imported. Whoever runs cases
(the interpreter, the client role) imports this module once; the registries import nothing
above them.
"""

from __future__ import annotations

import conformance.driver.h2  # noqa: F401
import conformance.driver.h2_server  # noqa: F401
import conformance.driver.ws  # noqa: F401
import conformance.driver.ws_h2  # noqa: F401
