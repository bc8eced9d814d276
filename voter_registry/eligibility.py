"""Who may vote in this election: a pure engine (no I/O), evaluated at search time.

Rules (DOMAIN.md, « Who may vote »), with the election's dates:
- a person on the electoral lists (our copy, as extracted) must be 18 by the majority date
  (the REU lists people a few months before their 18th birthday);
- a party or youth-organisation member who cannot be on a list (aged 16–17, or a foreigner)
  must be 16 by the majority date and registered by the supplementary deadline;
- a voter with an attestation of registration must be 18 by the majority date; an
  attestation dated before the lists' extraction is suspicious (the person should be on the
  copy): staff must check, not refuse.

Birth dates may have unknown parts (« 00/00/1953 »): when the age cannot be decided from
what is known, the answer is « à vérifier » (check the identity document), never a refusal.

Every decision carries its reasons in French, for station staff.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Status(StrEnum):
    ELIGIBLE = "eligible"
    TO_CHECK = "to_check"  # may vote once staff have checked what the reason says
    INELIGIBLE = "ineligible"

    @property
    def label(self) -> str:
        return {"eligible": "Peut voter", "to_check": "À vérifier", "ineligible": "Ne peut pas voter"}[self.value]


class Source(StrEnum):
    LIST = "list"  # on the electoral lists (REU copy)
    MEMBER = "member"  # supplementary registration of a party member
    ATTESTATION = "attestation"  # supplementary registration with an attestation

    @property
    def label(self) -> str:
        return {
            "list": "Liste électorale",
            "member": "Adhérent (inscription complémentaire)",
            "attestation": "Attestation d'inscription",
        }[self.value]


@dataclass(frozen=True)
class Rules:
    """The election's dates and ages (from `services.elections.models.Election`)."""

    majority_date: date | None
    list_extraction_date: date | None
    supplementary_deadline: date | None
    voter_min_age: int = 18
    member_min_age: int = 16


@dataclass(frozen=True)
class Person:
    source: Source
    birth_year: int
    birth_month: int  # 0 when unknown
    birth_day: int  # 0 when unknown
    registered_on: date | None = None  # supplementary registrations
    proof_date: date | None = None  # attestations


@dataclass(frozen=True)
class Eligibility:
    status: Status
    reasons: tuple[str, ...] = ()

    @property
    def may_vote(self) -> bool:
        return self.status != Status.INELIGIBLE


def _fr(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def birthday(year: int, month: int, day: int, age: int) -> date:
    """The day a person born on year-month-day reaches `age` (29 February → 1 March)."""
    try:
        return date(year + age, month, day)
    except ValueError:
        return date(year + age, 3, 1)


def birth_bounds(year: int, month: int, day: int) -> tuple[date, date]:
    """Earliest and latest possible birth dates given unknown (0) parts."""
    if month == 0:
        return date(year, 1, 1), date(year, 12, 31)
    if day == 0:
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    return date(year, month, day), date(year, month, day)


def _age_check(person: Person, minimum: int, reference: date | None, who: str) -> tuple[Status, str] | None:
    if reference is None:
        return None
    earliest, latest = birth_bounds(person.birth_year, person.birth_month, person.birth_day)
    if birthday(latest.year, latest.month, latest.day, minimum) <= reference:
        return None
    reaches = birthday(earliest.year, earliest.month, earliest.day, minimum)
    if reaches > reference:
        if person.birth_month and person.birth_day:
            return (
                Status.INELIGIBLE,
                f"{who} aura {minimum} ans le {_fr(birthday(latest.year, latest.month, latest.day, minimum))}, "
                f"après le {_fr(reference)} : trop jeune pour voter.",
            )
        return Status.INELIGIBLE, f"{who} n'aura pas {minimum} ans le {_fr(reference)} : trop jeune pour voter."
    return (
        Status.TO_CHECK,
        f"Date de naissance incomplète ({person.birth_day:02d}/{person.birth_month:02d}/{person.birth_year}) : "
        f"vérifiez sur la pièce d'identité que l'électeur a {minimum} ans au {_fr(reference)}.",
    )


def evaluate(person: Person, rules: Rules) -> Eligibility:
    findings: list[tuple[Status, str]] = []
    if person.source == Source.MEMBER:
        age = _age_check(person, rules.member_min_age, rules.majority_date, "L'adhérent")
        if age:
            findings.append(age)
        if rules.supplementary_deadline and person.registered_on and person.registered_on > rules.supplementary_deadline:
            findings.append(
                (
                    Status.INELIGIBLE,
                    f"Inscription complémentaire enregistrée le {_fr(person.registered_on)}, après la date limite "
                    f"du {_fr(rules.supplementary_deadline)}.",
                )
            )
    else:
        age = _age_check(person, rules.voter_min_age, rules.majority_date, "L'électeur")
        if age:
            findings.append(age)
        if (
            person.source == Source.ATTESTATION
            and person.proof_date
            and rules.list_extraction_date
            and person.proof_date < rules.list_extraction_date
        ):
            findings.append(
                (
                    Status.TO_CHECK,
                    f"Attestation du {_fr(person.proof_date)}, antérieure à l'extraction des listes "
                    f"({_fr(rules.list_extraction_date)}) : l'électeur devrait figurer sur la liste ; vérifiez "
                    "qu'il n'y est pas déjà (recherche dans le département).",
                )
            )
    if not findings:
        return Eligibility(Status.ELIGIBLE)
    status = Status.INELIGIBLE if any(s == Status.INELIGIBLE for s, _ in findings) else Status.TO_CHECK
    return Eligibility(status, tuple(reason for _s, reason in findings))
