"""Table-driven tests of the eligibility engine (pure)."""

from __future__ import annotations

from datetime import date

import pytest

from voter_registry.eligibility import Person, Rules, Source, Status, evaluate

RULES = Rules(majority_date=date(2027, 10, 10), list_extraction_date=date(2027, 8, 1), supplementary_deadline=date(2027, 9, 10))


@pytest.mark.parametrize(
    ("person", "status", "words"),
    [
        (Person(Source.LIST, 1953, 4, 12), Status.ELIGIBLE, None),
        (Person(Source.LIST, 2009, 10, 10), Status.ELIGIBLE, None),  # 18 on the very day
        (Person(Source.LIST, 2009, 10, 11), Status.INELIGIBLE, "aura 18 ans le 11/10/2027"),
        (Person(Source.LIST, 2009, 0, 0), Status.TO_CHECK, "vérifiez sur la pièce d'identité"),
        (Person(Source.LIST, 2009, 10, 0), Status.TO_CHECK, "00/10/2009"),
        (Person(Source.LIST, 2009, 9, 0), Status.ELIGIBLE, None),  # any day of September 2009 is fine
        (Person(Source.LIST, 2010, 0, 0), Status.INELIGIBLE, "n'aura pas 18 ans"),
        (Person(Source.LIST, 2008, 2, 29), Status.ELIGIBLE, None),
        (Person(Source.MEMBER, 2011, 5, 1, registered_on=date(2027, 9, 1)), Status.ELIGIBLE, None),
        (Person(Source.MEMBER, 2011, 10, 11, registered_on=date(2027, 9, 1)), Status.INELIGIBLE, "aura 16 ans"),
        (Person(Source.MEMBER, 2000, 5, 1, registered_on=date(2027, 9, 11)), Status.INELIGIBLE, "après la date limite du 10/09/2027"),
        (Person(Source.ATTESTATION, 1990, 1, 1, proof_date=date(2027, 9, 1)), Status.ELIGIBLE, None),
        (Person(Source.ATTESTATION, 1990, 1, 1, proof_date=date(2027, 7, 1)), Status.TO_CHECK, "antérieure à l'extraction"),
        (Person(Source.ATTESTATION, 2010, 1, 1, proof_date=date(2027, 9, 1)), Status.INELIGIBLE, "trop jeune"),
    ],
)
def test_eligibility(person: Person, status: Status, words: str | None) -> None:
    verdict = evaluate(person, RULES)
    assert verdict.status == status, verdict
    if words is None:
        assert verdict.reasons == ()
    else:
        assert any(words in reason for reason in verdict.reasons), verdict.reasons
    assert verdict.may_vote == (status != Status.INELIGIBLE)


def test_no_dates_configured_means_no_refusal() -> None:
    assert evaluate(Person(Source.LIST, 2015, 1, 1), Rules(None, None, None)).status == Status.ELIGIBLE


def test_several_reasons_are_all_given() -> None:
    verdict = evaluate(Person(Source.MEMBER, 2012, 1, 1, registered_on=date(2027, 9, 30)), RULES)
    assert verdict.status == Status.INELIGIBLE and len(verdict.reasons) == 2
