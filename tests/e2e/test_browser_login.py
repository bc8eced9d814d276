"""In a real headless Chromium: each role signs in and reaches its home page, on a tablet and a phone."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from services.auth import service as auth_service
from services.auth.roles import Role
from tests.conftest import TEST_ACTOR, TEST_PASSWORD

pytestmark = pytest.mark.browser

SCREENSHOTS = Path("/tmp/primaires-screenshots")

HOMES = {
    Role.ORGANISER: ("/organisation", "Paramétrage de l'élection", None),
    Role.COMMISSION: ("/departements/2A", "2A — Corse-du-Sud", "2A"),
    Role.AUTHORITY: ("/haute-autorite", "Haute Autorité", None),
    Role.OBSERVER: ("/observation", "Espace des représentants de candidats", None),
}


async def _account(committed, role: Role, department: str | None) -> str:  # noqa: ANN001
    username = f"e2e-{role.value}-{uuid.uuid4().hex[:6]}"
    await auth_service.create_account(
        committed,
        TEST_ACTOR,
        auth_service.AccountSpec(username, f"E2E {role.label}", TEST_PASSWORD, role, department_code=department),
    )
    await committed.commit()
    return username


@pytest.mark.parametrize("role", list(HOMES))
async def test_each_role_signs_in_and_reaches_its_home(live_server, browser, committed, role: Role) -> None:  # noqa: ANN001
    path, heading, department = HOMES[role]
    username = await _account(committed, role, department)
    page = await browser.new_page(viewport={"width": 768, "height": 1024}, locale="fr-FR")
    await page.goto(f"{live_server}/connexion")
    await page.get_by_label("Identifiant").fill(username)
    await page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url(f"{live_server}{path}")
    assert heading in await page.locator("h1").first.inner_text()
    # Touch-first: the sign-out button is a comfortable target, and nothing overflows sideways.
    box = await page.get_by_role("button", name="Se déconnecter").bounding_box()
    assert box is not None and box["height"] >= 36
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"home-{role.value}.png"), full_page=True)
    await page.close()


async def test_wrong_password_and_phone_layout(live_server, browser, committed) -> None:  # noqa: ANN001
    username = await _account(committed, Role.ORGANISER, None)
    page = await browser.new_page(viewport={"width": 390, "height": 844}, locale="fr-FR", is_mobile=True)
    await page.goto(f"{live_server}/organisation")
    assert "Connexion requise" in await page.locator("h1").inner_text()
    await page.get_by_role("link", name="Se connecter").last.click()
    await page.get_by_label("Identifiant").fill(username)
    await page.get_by_label("Mot de passe").fill("mauvais mot de passe")
    await page.get_by_role("button", name="Se connecter").click()
    assert "Identifiant ou mot de passe incorrect" in await page.locator("[role=alert]").inner_text()
    await page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    # Back to the page first asked for.
    await page.wait_for_url(f"{live_server}/organisation")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page.close()
