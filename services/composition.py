"""The composition root: the one place where the platform meets the domain packages.

The platform layer (`services`) never imports a domain package anywhere else; this module
(with `services.cli`) wires them in: their routers, templates, navigation entries, hooks,
background jobs and demo data. The architecture test allows these two modules only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from audit import api as audit_api
from audit import jobs as audit_jobs
from audit import views as audit_views
from services import web
from services.auth import api as auth_api
from services.auth import views as auth_views
from services.auth.roles import Role
from services.demo import DemoContext
from services.elections import api as elections_api
from services.elections import views as elections_views
from services.telephony import api as telephony_api
from services.telephony import views as telephony_views
from services.sponsorship import api as sponsorship_api
from services.sponsorship import views as sponsorship_views
from services.territory import api as territory_api
from polling import api as polling_api
from polling import service as polling_service
from polling import views as polling_views
from results import api as results_api
from results import service as results_service
from results import views as results_views
from services.elections import service as elections_service
from voter_registry import api as registry_api
from voter_registry import views as registry_views

BackgroundJob = Callable[[], Awaitable[None]]
# A demo step adds one package's demo data (registry, stations, results night...) to the demo
# election; steps run in dependency order, each in its own transaction, only on first run.
DemoStep = Callable[[AsyncSession, DemoContext], Awaitable[None]]


@dataclass
class Domains:
    routers: list[APIRouter] = field(default_factory=list)
    background_jobs: list[BackgroundJob] = field(default_factory=list)


def load_domains() -> Domains:
    """Import every package's web modules and return what the application must mount and run."""
    domains = Domains(
        routers=[
            # First: routes are matched in order, and the tablet check-in (200 per second at the
            # national peak) should not be tried against ~140 other routes before its own.
            polling_api.router,
            auth_views.router,
            elections_views.router,
            auth_api.router,
            elections_api.router,
            territory_api.router,
            telephony_api.router,
            telephony_views.router,
            sponsorship_views.router,
            sponsorship_api.router,
            registry_views.router,
            registry_api.router,
            polling_views.router,
            polling_api.public_router,
            audit_views.router,
            audit_api.router,
            audit_api.well_known,
            results_views.router,
            results_api.router,
        ],
        # The log's sequencer (integrates committed events, signs a checkpoint every few
        # seconds) and its periodic full verification; safe with several workers.
        background_jobs=[audit_jobs.sealing_job, audit_jobs.verification_job],
    )
    # SMS commands and voice flows register themselves when their module is imported: each domain
    # package adds `import <package>.sms  # noqa: F401` here (see docs/telephony.md).
    import polling.sms  # noqa: F401  (OUV, PART)

    # Stations belong to polling: the platform (station-scoped roles, pairing codes) and the
    # registry (a station's bureaux, for searches from the tablet) ask it through resolvers.
    from services.auth import service as auth_service
    from voter_registry import service as registry_service

    auth_service.register_station_resolver(polling_service.station_department)
    registry_service.register_station_area_resolver(polling_service.station_area)
    for station_role in (Role.PRESIDENT, Role.ASSESSOR, Role.TABLET):
        web.set_role_home(station_role, "/bureau")
    web.add_template_package("polling")
    web.add_nav_item("Bureau de vote", "/bureau", {Role.PRESIDENT, Role.ASSESSOR, Role.TABLET}, order=10)
    web.add_nav_item("Bureaux de vote", "/organisation/bureaux", {Role.ORGANISER}, order=30)
    web.add_nav_item("Jour du vote", "/bureaux/tableau-de-bord", {Role.ORGANISER, Role.AUTHORITY, Role.OBSERVER}, order=35)
    web.add_department_section(
        "Bureaux de vote",
        "/departements/{code}/bureaux",
        "Bureaux, équipes, fiches d'identifiants, listes d'émargement et procès-verbaux vierges",
    )
    web.add_department_section(
        "Jour du vote",
        "/departements/{code}/bureaux/tableau-de-bord",
        "Bureaux ouverts et pas encore ouverts, participation en direct, participations financières",
    )
    web.add_public_link("Où voter ?", "/ou-voter", "Trouver l'adresse et les horaires de son bureau de vote")
    import results.sms  # noqa: F401

    # Results night: « results validated » needs every station validated; a proclamation goes
    # through the results page (it names the log checkpoint it rests on).
    elections_service.register_transition_check(results_service.check_phase_change)
    web.add_template_package("results")
    web.add_nav_item("Résultats", "/organisation/resultats", {Role.ORGANISER, Role.OBSERVER}, order=30)
    web.add_nav_item("Résultats", "/haute-autorite/resultats", {Role.AUTHORITY}, order=30)
    web.add_nav_item("Résultats du bureau", "/resultats/bureau", {Role.PRESIDENT, Role.ASSESSOR, Role.TABLET}, order=30)
    web.add_department_section(
        "Résultats",
        "/departements/{code}/resultats",
        "Procès-verbaux reçus, double saisie du PV papier, écarts, validation, bureaux non transmis",
    )
    web.add_public_link("Résultats", "/resultats", "Résultats des tours, carte, données ouvertes")
    web.add_home_panel("/resultats/panneau", "Résultats", "/organisation/resultats", {Role.AUTHORITY, Role.OBSERVER})
    web.add_template_package("audit")
    web.add_template_package("voter_registry")
    web.add_nav_item("Listes électorales", "/registre", {Role.ORGANISER, Role.AUTHORITY}, order=20)
    web.add_nav_item(
        "Rechercher un électeur", "/registre/recherche", {Role.COMMISSION, Role.PRESIDENT, Role.ASSESSOR, Role.TABLET}, order=20
    )
    web.add_department_section(
        "Listes électorales",
        "/departements/{code}/registre",
        "Extraits importés et rejets, bureaux et cantons, recherche, inscriptions complémentaires",
    )
    web.add_nav_item("Paramétrage", "/organisation", {Role.ORGANISER}, order=10)
    web.add_nav_item("Téléphonie", "/organisation/telephonie", {Role.ORGANISER, Role.AUTHORITY}, order=70)
    web.add_nav_item("Comptes", "/organisation/comptes", {Role.ORGANISER}, order=80)
    web.add_nav_item("Haute Autorité", "/haute-autorite", {Role.AUTHORITY}, order=10)
    web.add_nav_item("Observation", "/observation", {Role.OBSERVER}, order=10)
    # The log is read by those who check the operators: the high authority first, the
    # candidates' representatives, and the organisers themselves.
    web.add_nav_item("Journal d'audit", "/journal", {Role.AUTHORITY, Role.OBSERVER, Role.ORGANISER}, order=90)
    web.add_home_panel("/journal/etat", "Journal d'audit", "/journal", {Role.AUTHORITY, Role.OBSERVER})
    web.add_nav_item("Mon compte", "/compte", {role for role in Role if role != Role.TABLET}, order=99)
    web.add_nav_item("Parrainages", "/organisation/parrainages", {Role.ORGANISER}, order=20)
    web.add_nav_item("Parrainages", "/haute-autorite/parrainages", {Role.AUTHORITY}, order=20)
    web.add_nav_item("Parrainages", "/parrainages", {Role.OBSERVER}, order=20)
    web.add_public_link("Parrainages", "/parrainages", "Qui parraine quel candidat, et qui est qualifié")
    return domains


def import_models() -> None:
    """Import every ORM model, so that the metadata is complete (migrations, tests)."""
    import audit.models  # noqa: F401
    import polling.models  # noqa: F401
    import results.models  # noqa: F401
    import services.auth.models  # noqa: F401
    import services.elections.models  # noqa: F401
    import services.events  # noqa: F401
    import services.sponsorship.models  # noqa: F401
    import services.telephony.models  # noqa: F401
    import services.territory.models  # noqa: F401
    import voter_registry.models  # noqa: F401


def demo_steps() -> list[tuple[str, DemoStep]]:
    """Each domain package's demo data, in dependency order: (what it shows, the step)."""
    from audit.demo import seal_demo_log
    from services.sponsorship.demo import seed_sponsorship
    from polling.demo import seed_polling
    from results.demo import seed_results
    from voter_registry.demo import seed_registry

    return [
        ("parrainages (répertoire des élus, formulaires, tirage de l'ordre du bulletin)", seed_sponsorship),
        ("listes électorales de synthèse (75, 33, 2A, 971)", seed_registry),
        ("bureaux de vote, jour du vote et exercice de formation", seed_polling),
        ("soirée électorale du tour 1 (SMS, tablettes, téléphone, PV papier, validation)", seed_results),
        # Last: seal everything the steps above recorded, sign and verify.
        ("journal d'audit scellé, signé et vérifié", seal_demo_log),
    ]


def cli_apps() -> list[tuple[str, Any]]:
    """Each domain package's Typer sub-application: (command name, app)."""
    from audit.cli import app as audit_cli
    from services.sponsorship.cli import app as sponsorship_cli
    from voter_registry.cli import app as registry_cli

    from polling.cli import privacy_app as privacy_cli
    from polling.cli import stations_app as stations_cli
    from rehearsal.cli import app as rehearse_cli

    return [
        ("parrainages", sponsorship_cli),
        ("audit", audit_cli),
        ("registry", registry_cli),
        ("stations", stations_cli),
        ("privacy", privacy_cli),
        ("rehearse", rehearse_cli),
    ]
