"""Polling day in a real browser (headless Chromium) against a real server: pair a tablet,
open the station, search a voter, confirm the charter, choose the contribution, check in, see
the counter move — on a 768×1024 tablet and on a phone."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from services.auth import service as auth_service
from tests.conftest import TEST_SECRET, _free_port
from tests.polling.conftest import ORGANISER, CommittedWorld

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def polling_server(committed_world: CommittedWorld):  # noqa: ANN201
    """The application served by uvicorn on 127.0.0.1, on the polling tests' own database."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": committed_world.app_url,
        "PRIMAIRES_MODE": "test",
        "PRIMAIRES_SECRET_KEY": TEST_SECRET,
        "PRIMAIRES_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "services.app:create_app", "--factory", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("Le serveur de test n'a pas démarré.")
    yield base
    process.terminate()
    process.wait(timeout=10)


async def pairing_code(world: CommittedWorld, station_code: str) -> str:
    async with world.database.sessionmaker() as session:
        _pairing, code = await auth_service.issue_pairing_code(session, ORGANISER, station_code)
        await session.commit()
    return code


async def check_in_someone(page, base: str, code: str, name: str, amount_label: str) -> None:  # noqa: ANN001
    await page.goto(f"{base}/tablette/appairer")
    await page.fill("input[name=code]", code)
    await page.fill("input[name=label]", "Tablette de test")
    await page.click("form button[type=submit]")
    await page.wait_for_url(f"{base}/bureau")
    before = int((await page.inner_text("[data-testid=votants]")).replace("\u202f", ""))
    await page.fill("#q", name)
    await page.click("form.search-form button")
    await page.locator("a.hit").first.click()
    await page.wait_for_selector("[data-testid=emarger]")
    assert "Je me reconnais dans les valeurs" in await page.inner_text("#emargement")
    await page.check("[data-testid=charte]")
    await page.click(f"label.choice:has-text('{amount_label}')")
    await page.click("[data-testid=emarger]")
    await page.wait_for_selector("[data-testid=emarge]")
    assert "a émargé à" in await page.inner_text("[data-testid=emarge]")
    after = int((await page.inner_text("[data-testid=votants]")).replace("\u202f", ""))
    assert after == before + 1
    assert await page.input_value("#q") == ""  # ready for the next voter
    # The same voter again: refused, saying where and when.
    await page.fill("#q", name)
    await page.click("form.search-form button")
    await page.locator("a.hit").first.click()
    await page.wait_for_selector("#emargement .flash-error")
    assert "Déjà émargé pour le tour 1" in await page.inner_text("#emargement")


async def test_tablet_console_on_a_tablet_and_on_a_phone(browser, polling_server: str, committed_world: CommittedWorld) -> None:
    tablet = await browser.new_context(viewport={"width": 768, "height": 1024}, has_touch=True)
    page = await tablet.new_page()
    await check_in_someone(page, polling_server, await pairing_code(committed_world, committed_world.bordeaux_code), "votantab alex", "5,00")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768, "nothing overflows the tablet's width"
    await tablet.close()

    phone = await browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = await phone.new_page()
    await check_in_someone(page, polling_server, await pairing_code(committed_world, committed_world.bordeaux_code), "votantac alex", "2,00")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "nothing overflows the phone's width"
    counters = await page.inner_text("#compteurs")
    assert "participations" in counters
    await phone.close()
