"""Audit events of the registry. None carries a voter's name, identity or pseudonym.

Look-ups are logged without what was typed, not even keyed: the registry itself holds every
name, so any digest of a query could be recomputed name by name by whoever holds the
database, and the log of who was looked up at a station would become a list of
participants (ARCHITECTURE.md, principle 4). What is logged — who searched, from which
scope, how far the search widened, how many people it returned — is what lets the high
authority see scraping or look-ups out of a station's business.
"""

from __future__ import annotations

from typing import ClassVar

from services.events import Event


class RegistryBound(Event):
    """The copy of the lists is made for this election (first import)."""

    kind: ClassVar[str] = "registry.bound"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id",)
    election_id: int


class CommuneListImported(Event):
    """One commune file imported (one transaction): counts only, never names."""

    kind: ClassVar[str] = "registry.commune_imported"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "department_code", "commune_code")
    election_id: int
    department_code: str
    commune_code: str
    import_id: int
    file_name: str
    file_sha256: str
    extracted_at: str | None
    encoding: str
    lines: int
    voters: int
    rejected: int
    merged: int
    added: int
    removed: int
    changed: int
    replaced: bool
    bureaux: int


class RegistryLookup(Event):
    """A search in the registry: who, from where, how far, how many — never what was typed."""

    kind: ClassVar[str] = "registry.lookup"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "department_code")
    election_id: int | None
    department_code: str | None  # the scope's department (None: national scope)
    scope: str  # "bureau" (station area), "departement" or "national"
    reached: str  # the widest level searched: "bureau", "departement" or "national"
    fields: list[str]  # which criteria were given: nom, prenoms, naissance, commune
    results: int
    channel: str  # "api", "page", or the caller's name (e.g. "tablette")


class SupplementaryRegistered(Event):
    kind: ClassVar[str] = "registry.supplementary_registered"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "department_code", "registration_id")
    election_id: int
    department_code: str
    registration_id: int
    commune_code: str
    bureau_code: str
    registration_kind: str  # member | attestation
    category: str


class SupplementaryCancelled(Event):
    kind: ClassVar[str] = "registry.supplementary_cancelled"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id", "department_code", "registration_id")
    election_id: int
    department_code: str
    registration_id: int
    reason: str


class SupplementaryFileImported(Event):
    """A party's file of members imported (the registrations it added are counted, not listed)."""

    kind: ClassVar[str] = "registry.supplementary_file_imported"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id",)
    election_id: int
    file_name: str
    file_sha256: str
    lines: int
    registered: int
    already_registered: int
    rejected: int
    departments: list[str]


class RegistryPurged(Event):
    kind: ClassVar[str] = "registry.purged"
    subject_fields: ClassVar[tuple[str, ...]] = ("election_id",)
    election_id: int
    voters: int
    supplementary: int
    communes: int
    imports: int
    before_end: bool  # purged before every round was closed (with --force)
    method: str  # "truncate" (schema owner), "delete" (application role) or "none" (supplementary only)
