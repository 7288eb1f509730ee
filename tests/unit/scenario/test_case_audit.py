"""The audit of every bundled case: the sentence that decides it is quoted, and agrees.

Client-role cases (``role: client``, judged by ``conformance client``) are audited the same
way with the roles reversed: the sentence binds the client, the user agent or the recipient
(or the client as the sender of the request a case judges), never the server.

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
CLIENT_CASES = load_cases(role="client")

# The BCP 14 keywords (RFC 2119, RFC 8174: only in capitals) that set each level.
KEYWORDS = {
    Requirement.MUST: re.compile(r"\b(MUST|MUST NOT|REQUIRED|SHALL|SHALL NOT)\b"),
    Requirement.SHOULD: re.compile(r"\b(SHOULD|SHOULD NOT|RECOMMENDED|NOT RECOMMENDED)\b"),
    Requirement.MAY: re.compile(r"\b(MAY|OPTIONAL)\b"),
}
# Parties whose obligations a server suite cannot judge: the server is none of them.
NOT_THE_SERVER = re.compile(
    r"\b(client|user agent|proxy|proxies|intermediary|intermediaries|gateway|cache)\b", re.I
)
# Texts that RFC 9110, 9112 and 9113 replaced: a verdict quotes the text in force.
SUPERSEDED = re.compile(r"\bRFC ?(2616|7230|7231|7232|7233|7234|7235|7540)\b")

BY_FILE: dict[str, list] = defaultdict(list)
for _case in CASES:
    BY_FILE[_case.location.file if _case.location else "?"].append(_case)
CLIENT_BY_FILE: dict[str, list] = defaultdict(list)
for _case in CLIENT_CASES:
    CLIENT_BY_FILE[_case.location.file if _case.location else "?"].append(_case)
# Parties a client suite can judge: the client under test is each of them.
THE_CLIENT = re.compile(r"\b(clients?|user agent|recipients?|endpoint)\b", re.I)
# ... and parties it cannot: the server, intermediaries.
NOT_THE_CLIENT = re.compile(
    r"\b(server|origin server|proxy|proxies|intermediary|intermediaries|gateway|cache)\b", re.I
)


def _level_problems(case) -> list[str]:
    """The quoted keyword against the case's requirement level (both roles)."""
    level = case.declared_requirement or case.requirement
    rule = case.rule
    found: list[str] = []
    if level is not Requirement.INFO and not rule.exception:
        if not KEYWORDS[level].search(rule.quote):
            found.append(f"requirement {level.value} but the quote has no {level.value} keyword")
        if (
            level is Requirement.SHOULD
            and KEYWORDS[Requirement.MUST].search(rule.quote)
            and not KEYWORDS[Requirement.SHOULD].search(rule.quote)
        ):
            found.append("requirement SHOULD but the quote states a MUST only")
    return found


def _client_problems(case) -> list[str]:
    """A client-role case: the sentence binds the client (or the recipient it is), or the case
    says why not in ``rule.exception``."""
    rule = case.rule
    if rule is None:
        return (
            [] if case.requirement is Requirement.INFO else ["no `rule:` (the RFC sentence that decides it)"]
        )
    found: list[str] = []
    if SUPERSEDED.search(rule.source) or SUPERSEDED.search(rule.quote):
        found.append(f"quotes superseded text ({rule.source})")
    if NOT_THE_CLIENT.search(rule.subject):
        found.append(f"the sentence binds {rule.subject!r}, not the client")
    elif "sender" in rule.subject.lower():
        if "judges-output" not in case.tags:
            found.append(
                f"the sentence binds {rule.subject!r}: only a case judging what the client sends may"
            )
    elif not THE_CLIENT.search(rule.subject) and not rule.exception:
        found.append(f"the sentence binds {rule.subject!r}: name the client, or say why in rule.exception")
    return found + _level_problems(case)


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
    found.extend(_level_problems(case))
    return found


@pytest.mark.parametrize("file", sorted(BY_FILE))
def test_every_case_quotes_the_sentence_that_decides_it(file: str) -> None:
    problems = [f"{case.id}: {problem}" for case in BY_FILE[file] for problem in _problems(case)]
    assert not problems, f"{len(problems)} problems in {file}:\n" + "\n".join(problems)


@pytest.mark.parametrize("file", sorted(CLIENT_BY_FILE))
def test_every_client_case_quotes_a_sentence_binding_the_client(file: str) -> None:
    cases = CLIENT_BY_FILE[file]
    problems = [f"{case.id}: {problem}" for case in cases for problem in _client_problems(case)]
    assert not problems, f"{len(problems)} problems in {file}:\n" + "\n".join(problems)


def test_client_exceptions_are_few_and_say_why() -> None:
    exceptions = [case for case in CLIENT_CASES if case.rule is not None and case.rule.exception]
    for case in exceptions:
        assert len(case.rule.exception.split()) >= 5, f"{case.id}: say why in a sentence"
    # RFC 9112 §6.3 states most framing as definitions, not as a client's MUST: more of the
    # client cases rest on them than of the server's, but still a minority.
    assert len(exceptions) <= len(CLIENT_CASES) // 5, [case.id for case in exceptions]


def test_the_client_audit_can_fail() -> None:
    from dataclasses import replace

    from conformance.scenario.model import Rule

    case = next(
        case for case in CLIENT_CASES if case.requirement is Requirement.MUST and not case.rule.exception
    )
    assert not _client_problems(case)
    server = Rule(quote="A server MUST respond with 400", source="RFC 9112 §3.2", subject="A server")
    assert _client_problems(replace(case, rule=server))
    sender = Rule(quote="A sender MUST NOT generate a bare CR", source="RFC 9112 §2.2", subject="A sender")
    assert _client_problems(replace(case, rule=sender, tags=()))
    should = Rule(quote="A client SHOULD ignore the reason-phrase", source="RFC 9112 §4", subject="A client")
    assert _client_problems(replace(case, rule=should))
    other = Rule(quote="Any response MUST end", source="RFC 9112 §6.3", subject="Any response")
    assert _client_problems(replace(case, rule=other))


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
    sender = Rule(
        quote="A sender MUST NOT apply chunked more than once", source="RFC 9112 §6.1", subject="A sender"
    )
    assert _problems(replace(case, rule=sender, tags=()))
    should = Rule(quote="the server SHOULD respond with a 400", source="RFC 9112 §2.2", subject="the server")
    assert _problems(replace(case, rule=should))
    old = Rule(quote="the server MUST respond", source="RFC 7230 §3.3.3", subject="the server")
    assert _problems(replace(case, rule=old))
    client = Rule(quote="A client MUST send a Host header field", source="RFC 9112 §3.2", subject="A client")
    assert _problems(replace(case, rule=client))
    good = Rule(quote="the server MUST respond with a 400", source="RFC 9112 §3.2", subject="the server")
    assert not _problems(replace(case, rule=good))
