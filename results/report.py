"""The station report (procès-verbal, PV) as an immutable value, and its checks.

Pure module: no database, no clock, no I/O. Every channel (tablet, SMS, phone, paper PV keyed at
the departmental commission) ends up building one `StationReport`; `check_report` then says, in
French and with the figures, what is wrong with it.

Input: a `StationReport` (what the station counted) and a `ReportContext` (what the system knows
about the station: number of candidates on the ballot, check-ins recorded on the tablet and keyed
from the paper list, registered voters attached to the station, contribution rules).

Output: a `ReportCheck`, a tuple of `Finding`s of two kinds:

- `Severity.ERROR`: the report cannot be right as typed (a wrong number of candidate figures, a
  negative figure, more ballots than voters who signed). The channel refuses it and says what to
  fix; nothing is counted.
- `Severity.GAP`: the report may well be right but something does not add up (signatures far from
  the check-ins, fewer ballots than signatures, contributions below the minimum or implausibly
  high, more voters than registered). The report is accepted, and the gap is recorded and shown
  with its size — never refused silently, never hidden (the Indonesian 2024 lesson: totals above
  the registered voters were published unchecked).

Valid votes (suffrages exprimés) are derived — the sum of the candidates' votes — never typed:
a typed total is how 350,000 votes appeared from nowhere in 2017.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Finding",
    "FindingCode",
    "ReportCheck",
    "ReportContext",
    "Severity",
    "StationReport",
    "Unit",
    "check_report",
    "contribution_findings",
    "french_euros",
    "french_int",
]


def french_int(value: int) -> str:
    """4404218 -> '4 404 218' (narrow no-break space, as the web filter `entier`)."""
    sign = "-" if value < 0 else ""
    return sign + f"{abs(value):,}".replace(",", "\u202f")


def french_euros(cents: int) -> str:
    """61250 -> '612,50 €' (no-break space before the sign, as the web filter `euros`)."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{french_int(euros)},{rest:02d}\u00a0€"


@dataclass(frozen=True, slots=True)
class StationReport:
    """What a station counted at closing, in ballot order.

    - `signatures`: voters who signed the list (émargements);
    - `blank`, `null`: blank and spoiled ballots (bulletins blancs, nuls);
    - `votes`: votes per candidate, in ballot order (a list is accepted and stored as a tuple);
    - `contributions_cents`: contributions collected, in cents; None when not reported (the SMS
      `E` field is optional).

    The value holds what was typed, even when wrong (a negative figure, a missing candidate): the
    checks then say what is wrong. Only integers are accepted (TypeError otherwise; `bool` is
    refused although Python counts it as an int).
    """

    signatures: int
    blank: int
    null: int
    votes: tuple[int, ...]
    contributions_cents: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.votes, tuple):
            object.__setattr__(self, "votes", tuple(self.votes))
        figures = [self.signatures, self.blank, self.null, *self.votes]
        if self.contributions_cents is not None:
            figures.append(self.contributions_cents)
        for figure in figures:
            if type(figure) is not int:
                raise TypeError(f"a report figure must be an int, not {type(figure).__name__}")

    @property
    def valid_votes(self) -> int:
        """Suffrages exprimés: the sum of the candidates' votes (never typed)."""
        return sum(self.votes)

    @property
    def ballots(self) -> int:
        """Ballots found in the box: blank + null + valid votes."""
        return self.blank + self.null + sum(self.votes)


@dataclass(frozen=True, slots=True)
class ReportContext:
    """What the system knows about the station, against which a report is checked.

    - `candidate_count`: candidates on this round's ballot (k);
    - `tablet_check_ins`, `paper_check_ins`: check-ins recorded on the tablet and late entries
      keyed from the paper list; both None when unknown (e.g. the SMS parser checks the message
      alone), the check against signatures is then skipped;
    - `registered_voters`: voters on the lists attached to the station, None when unknown;
    - tolerance on signatures vs check-ins: the larger of `check_in_tolerance_voters` and
      `check_in_tolerance_per_mille` thousandths of the check-ins (defaults: 2 voters or 1 %);
    - `contribution_min_cents`: minimum contribution per voter (0 disables the check, e.g. a
      round 2 whose voters may have paid in round 1 under the 2011 rule);
    - `contribution_plausible_max_cents`: average per voter above which the total is flagged as
      implausible (None disables; default 20 €: in 2011 the average was under 2 €).
    """

    candidate_count: int
    tablet_check_ins: int | None = None
    paper_check_ins: int | None = None
    registered_voters: int | None = None
    check_in_tolerance_voters: int = 2
    check_in_tolerance_per_mille: int = 10
    contribution_min_cents: int = 100
    contribution_plausible_max_cents: int | None = 2000

    @property
    def check_ins(self) -> int | None:
        if self.tablet_check_ins is None and self.paper_check_ins is None:
            return None
        return (self.tablet_check_ins or 0) + (self.paper_check_ins or 0)

    def check_in_tolerance(self) -> int:
        """Largest accepted gap between signatures and check-ins, in voters."""
        check_ins = self.check_ins or 0
        return max(self.check_in_tolerance_voters, check_ins * self.check_in_tolerance_per_mille // 1000)


class Severity(StrEnum):
    ERROR = "error"  # refused: the report must be corrected before it counts
    GAP = "gap"  # accepted, flagged and shown with its size


class FindingCode(StrEnum):
    WRONG_CANDIDATE_COUNT = "wrong_candidate_count"
    NEGATIVE_FIGURE = "negative_figure"
    BALLOTS_ABOVE_SIGNATURES = "ballots_above_signatures"
    SIGNATURES_VS_CHECK_INS = "signatures_vs_check_ins"
    BALLOTS_BELOW_SIGNATURES = "ballots_below_signatures"
    CONTRIBUTIONS_BELOW_MINIMUM = "contributions_below_minimum"
    CONTRIBUTIONS_IMPLAUSIBLY_HIGH = "contributions_implausibly_high"
    SIGNATURES_ABOVE_REGISTERED = "signatures_above_registered"


class Unit(StrEnum):
    FIGURES = "figures"  # candidate figures
    BALLOTS = "ballots"
    VOTERS = "voters"
    CENTS = "cents"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing that does not add up, with its size (always > 0) in `unit` and a French message
    that gives the figures and says what to do."""

    code: FindingCode
    severity: Severity
    size: int
    unit: Unit
    message: str


@dataclass(frozen=True, slots=True)
class ReportCheck:
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def gaps(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.GAP)

    @property
    def accepted(self) -> bool:
        """True when the report may count (gaps are recorded and shown, not refused)."""
        return not self.errors


def _plural(count: int, singular: str, plural: str) -> str:
    return singular if abs(count) <= 1 else plural


def _shape_errors(report: StationReport, context: ReportContext) -> list[Finding]:
    findings: list[Finding] = []
    expected, received = context.candidate_count, len(report.votes)
    if received != expected:
        findings.append(
            Finding(
                FindingCode.WRONG_CANDIDATE_COUNT,
                Severity.ERROR,
                abs(received - expected),
                Unit.FIGURES,
                f"{expected} {_plural(expected, 'chiffre', 'chiffres')} de candidats attendus, "
                f"{received} {_plural(received, 'reçu', 'reçus')} : donnez les voix de chaque candidat, "
                "dans l'ordre du bulletin (0 pour un candidat sans voix).",
            )
        )
    labelled = [("émargements", report.signatures), ("blancs", report.blank), ("nuls", report.null)]
    labelled += [(f"voix du candidat n° {i}", votes) for i, votes in enumerate(report.votes, start=1)]
    if report.contributions_cents is not None:
        labelled.append(("contributions", report.contributions_cents))
    negatives = [(label, value) for label, value in labelled if value < 0]
    if negatives:
        listed = ", ".join(
            f"{label} {french_euros(value) if label == 'contributions' else french_int(value)}"
            for label, value in negatives
        )
        findings.append(
            Finding(
                FindingCode.NEGATIVE_FIGURE,
                Severity.ERROR,
                len(negatives),
                Unit.FIGURES,
                f"Nombre négatif impossible ({listed}) : corrigez ce chiffre.",
            )
        )
    return findings


def contribution_findings(
    signatures: int,
    contributions_cents: int,
    *,
    min_cents: int,
    plausible_max_cents: int | None,
    where: str = "",
) -> list[Finding]:
    """The euros-per-voter check, for one station or any aggregate.

    Input: voters who signed, contributions collected (cents), the minimum per voter (0 = no
    check), the plausible maximum average per voter (None = no check), and an optional place
    label for the message (" dans le Calvados").
    Output: zero or one `GAP` finding; its size is the shortfall below `signatures × minimum`, or
    the excess above `signatures × maximum` (all of it when no voter signed), in cents.
    """
    if signatures < 0 or contributions_cents < 0:
        return []
    if signatures == 0:
        if contributions_cents > 0:
            return [
                Finding(
                    FindingCode.CONTRIBUTIONS_IMPLAUSIBLY_HIGH,
                    Severity.GAP,
                    contributions_cents,
                    Unit.CENTS,
                    f"{french_euros(contributions_cents)} de contributions{where} sans aucun émargement : "
                    "vérifiez le montant et le nombre d'émargements.",
                )
            ]
        return []
    average = contributions_cents / signatures
    floor = signatures * min_cents
    if min_cents > 0 and contributions_cents < floor:
        return [
            Finding(
                FindingCode.CONTRIBUTIONS_BELOW_MINIMUM,
                Severity.GAP,
                floor - contributions_cents,
                Unit.CENTS,
                f"{french_euros(contributions_cents)} de contributions{where} pour {french_int(signatures)} "
                f"émargements, soit {french_euros(round(average))} par votant, sous le minimum de "
                f"{french_euros(min_cents)} : il manque {french_euros(floor - contributions_cents)}. "
                "Recomptez la caisse.",
            )
        ]
    if plausible_max_cents is not None:
        ceiling = signatures * plausible_max_cents
        if contributions_cents > ceiling:
            return [
                Finding(
                    FindingCode.CONTRIBUTIONS_IMPLAUSIBLY_HIGH,
                    Severity.GAP,
                    contributions_cents - ceiling,
                    Unit.CENTS,
                    f"{french_euros(contributions_cents)} de contributions{where} pour {french_int(signatures)} "
                    f"émargements, soit {french_euros(round(average))} par votant, au-dessus du plafond "
                    f"vraisemblable de {french_euros(plausible_max_cents)} : vérifiez le montant "
                    "(centimes tapés comme des euros ?).",
                )
            ]
    return []


def check_report(report: StationReport, context: ReportContext) -> ReportCheck:
    """Check a station report against what the system knows about the station.

    Input: the report and its context. Output: every finding, errors first. When the report's
    shape is wrong (number of candidate figures, a negative figure), only those errors are
    returned: sums over wrong figures would only add noise.
    """
    shape = _shape_errors(report, context)
    if shape:
        return ReportCheck(tuple(shape))
    findings: list[Finding] = []
    ballots, signatures = report.ballots, report.signatures
    if ballots > signatures:
        excess = ballots - signatures
        findings.append(
            Finding(
                FindingCode.BALLOTS_ABOVE_SIGNATURES,
                Severity.ERROR,
                excess,
                Unit.BALLOTS,
                f"Blancs ({french_int(report.blank)}) + nuls ({french_int(report.null)}) + voix des candidats "
                f"({french_int(report.valid_votes)}) = {french_int(ballots)} bulletins, plus que les "
                f"{french_int(signatures)} émargements ({french_int(excess)} de trop) : recomptez les "
                "bulletins et les émargements.",
            )
        )
    check_ins = context.check_ins
    if check_ins is not None:
        difference = signatures - check_ins
        tolerance = context.check_in_tolerance()
        if abs(difference) > tolerance:
            detail = (
                f"tablette {french_int(context.tablet_check_ins or 0)} + papier "
                f"{french_int(context.paper_check_ins or 0)}"
            )
            direction = "de plus" if difference > 0 else "de moins"
            findings.append(
                Finding(
                    FindingCode.SIGNATURES_VS_CHECK_INS,
                    Severity.GAP,
                    abs(difference),
                    Unit.VOTERS,
                    f"{french_int(signatures)} émargements pour {french_int(check_ins)} passages enregistrés "
                    f"({detail}) : {french_int(abs(difference))} {direction}, au-delà de la tolérance de "
                    f"{french_int(tolerance)}. Écart signalé à la commission départementale ; saisissez les "
                    "émargements papier manquants s'il y en a.",
                )
            )
    if ballots < signatures:
        missing = signatures - ballots
        findings.append(
            Finding(
                FindingCode.BALLOTS_BELOW_SIGNATURES,
                Severity.GAP,
                missing,
                Unit.BALLOTS,
                f"{french_int(signatures)} émargements mais {french_int(ballots)} bulletins dans l'urne "
                f"({french_int(missing)} de moins) : écart signalé ; mentionnez-en la raison au procès-verbal.",
            )
        )
    if report.contributions_cents is not None:
        findings.extend(
            contribution_findings(
                signatures,
                report.contributions_cents,
                min_cents=context.contribution_min_cents,
                plausible_max_cents=context.contribution_plausible_max_cents,
            )
        )
    registered = context.registered_voters
    if registered is not None and signatures > registered:
        excess = signatures - registered
        findings.append(
            Finding(
                FindingCode.SIGNATURES_ABOVE_REGISTERED,
                Severity.GAP,
                excess,
                Unit.VOTERS,
                f"{french_int(signatures)} émargements pour {french_int(registered)} inscrits rattachés au bureau "
                f"({french_int(excess)} de plus) : participation au-dessus des inscrits, à vérifier avant "
                "publication (électeurs sur attestation ou liste complémentaire ?).",
            )
        )
    return ReportCheck(tuple(sorted(findings, key=lambda f: f.severity is not Severity.ERROR)))

