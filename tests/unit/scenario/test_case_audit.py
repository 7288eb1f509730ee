"""The audit of every bundled case: the sentence that decides it is quoted, and agrees.

A MUST verdict needs a MUST sentence whose subject is the implementation under test (a server,
the recipient, an endpoint; the target as the sender of what the case judges), and a SHOULD
sentence gives a SHOULD case: the quoted keyword and the case's ``requirement`` agree. A
sentence about what a client, proxy or other sender must do judges that party, not the server
(RFC 9110 §2.2 and its "conformance criteria"). A case whose level the keyword cannot set (the
ABNF alone states the rule, say) says why in ``rule.exception``.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from conformance.scenario.loader import load_cases
from conformance.verdicts.verdict import Requirement

CASES = load_cases()

# The BCP 14 keywords (RFC 2119, RFC 8174: only in capitals) that set each level.
KEYWORDS = {
    Requirement.MUST: re.compile(r"\b(MUST|MUST NOT|REQUIRED|SHALL|SHALL NOT)\b"),
    Requirement.SHOULD: re.compile(r"\b(SHOULD|SHOULD NOT|RECOMMENDED|NOT RECOMMENDED)\b"),
    Requirement.MAY: re.compile(r"\b(MAY|OPTIONAL)\b"),
}
# Parties whose obligations a server suite cannot judge: the server is none of them.
NOT_THE_SERVER = re.compile(r"\b(client|user agent|proxy|proxies|intermediary|intermediaries|gateway|cache)\b", re.I)
# Texts that RFC 9110, 9112 and 9113 replaced: a verdict quotes the text in force.
SUPERSEDED = re.compile(r"\bRFC ?(2616|7230|7231|7232|7233|7234|7235|7540)\b")

BY_FILE: dict[str, list] = defaultdict(list)
for _case in CASES:
    BY_FILE[_case.location.file if _case.location else "?"].append(_case)


def _problems(case) -> list[str]:
    level = case.declared_requirement or case.requirement
    rule = case.rule
    if rule is None:
        if level is Requirement.INFO:
            return []
        return ["no `rule:` (the RFC sentence that decides it, quoted)"]
    found: list[str] = []
    if SUPERSEDED.search(rule.source) or SUPERSEDED.search(rule.quote):
        found.append(f"quotes superseded text ({rule.source})")
    if NOT_THE_SERVER.search(rule.subject):
        found.append(f"the sentence binds {rule.subject!r}, not the server")
    if "sender" in rule.subject.lower() and "judges-output" not in case.tags:
        found.append(
            f"the sentence binds {rule.subject!r}: only a case that judges what the target sends "
            "(tag judges-output) may rest on it"
        )
    if level is not Requirement.INFO and not rule.exception:
        if not KEYWORDS[level].search(rule.quote):
            found.append(f"requirement {level.value} but the quote has no {level.value} keyword")
        if level is Requirement.SHOULD and KEYWORDS[Requirement.MUST].search(rule.quote) and not KEYWORDS[
            Requirement.SHOULD
        ].search(rule.quote):
            found.append("requirement SHOULD but the quote states a MUST only")
    return found


@pytest.mark.parametrize("file", sorted(BY_FILE))
def test_every_case_quotes_the_sentence_that_decides_it(file: str) -> None:
    problems = [f"{case.id}: {problem}" for case in BY_FILE[file] for problem in _problems(case)]
    assert not problems, f"{len(problems)} problems in {file}:\n" + "\n".join(problems)


def test_exceptions_are_few_and_say_why() -> None:
    exceptions = [case for case in CASES if case.rule is not None and case.rule.exception]
    for case in exceptions:
        assert len(case.rule.exception.split()) >= 5, f"{case.id}: say why in a sentence"
    # A ceiling, so that the exception does not become the rule.
    assert len(exceptions) <= len(CASES) // 10, [case.id for case in exceptions]


def test_the_audit_can_fail() -> None:
    from dataclasses import replace

    from conformance.scenario.model import Rule

    case = next(case for case in CASES if case.requirement is Requirement.MUST)
    sender = Rule(quote="A sender MUST NOT apply chunked more than once", source="RFC 9112 §6.1", subject="A sender")
    assert _problems(replace(case, rule=sender, tags=()))
    should = Rule(quote="the server SHOULD respond with a 400", source="RFC 9112 §2.2", subject="the server")
    assert _problems(replace(case, rule=should))
    old = Rule(quote="the server MUST respond", source="RFC 7230 §3.3.3", subject="the server")
    assert _problems(replace(case, rule=old))
    client = Rule(quote="A client MUST send a Host header field", source="RFC 9112 §3.2", subject="A client")
    assert _problems(replace(case, rule=client))
    good = Rule(quote="the server MUST respond with a 400", source="RFC 9112 §3.2", subject="the server")
    assert not _problems(replace(case, rule=good))
