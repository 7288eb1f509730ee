"""Fuzzing that ends in a test case: ``conformance fuzz``.

Hypothesis draws HTTP/1.1 requests as structured data (a valid request plus a list of
mutations and a split into TCP writes, :mod:`.model` and :mod:`.strategies`); each input is
sent to every target (:mod:`.wire`, plain blocking sockets: one input at a time, nothing to
interleave); oracles (:mod:`.oracles`) turn what came back into a finding's *signature*;
Hypothesis then shrinks the input while the signature holds (:mod:`.engine`), and the
minimal input is written as an ordinary case file (:mod:`.findings`) that ``conformance run``
replays. Servers given as commands are started, restarted after a crash and stopped by
:mod:`conformance.servers` (which ``conformance run --server`` shares).

Hypothesis is needed only here: ``pip install 'http-conformance[fuzz]'``.
"""

from __future__ import annotations
