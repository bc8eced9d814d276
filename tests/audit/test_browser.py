"""The high authority's log page in a real browser (headless Chromium), against a real server
process running with its background sequencer, on the log's own test database."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from audit import keys
from services.auth import service as auth_service
from services.auth.roles import Role
from services.events import SYSTEM, record
from tests.audit.events import ProbeRecorded
from tests.conftest import TEST_PASSWORD, TEST_SECRET

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium absent (/usr/bin/chromium) : test navigateur ignoré"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def server(log_database, signer):  # noqa: ANN001
    """`uvicorn services.app:create_app` on 127.0.0.1, on the log database, with the test key."""
    port = free_port()
    environment = {
        **os.environ,
        "PRIMAIRES_MODE": "test",
        "DATABASE_URL": log_database.app_url,
        "PRIMAIRES_SECRET_KEY": TEST_SECRET,
        "PRIMAIRES_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PRIMAIRES_AUDIT_KEY_PATH": str(keys.key_path()),
        "PRIMAIRES_AUDIT_SEAL_INTERVAL_SECONDS": "0.5",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "services.app:create_app", "--factory", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + 60  # a loaded machine imports the app slowly
            while time.monotonic() < deadline:
                try:
                    if (await client.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                pytest.fail("le serveur de test n'a pas démarré")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_the_authority_checks_the_log_in_a_browser(log_database, server):
    from playwright.async_api import async_playwright

    username = f"ha-{uuid.uuid4().hex[:8]}"
    async with AsyncSession(log_database.database.engine, expire_on_commit=False) as session:
        await auth_service.create_account(
            session,
            SYSTEM,
            auth_service.AccountSpec(username=username, display_name="Haute Autorité", password=TEST_PASSWORD, role=Role.AUTHORITY),
        )
        record(session, ProbeRecorded(actor=SYSTEM, station_code="2A0042", marker="navigateur", number=1))
        await session.commit()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{server}/connexion?suivant=/journal")
            await page.fill("input[name=username]", username)
            await page.fill("input[name=password]", TEST_PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{server}/journal")
            # The server's own sequencer seals what was just recorded within a second or two.
            for _ in range(40):
                if await page.locator("#etat-verification").count() and await page.locator("#resultats a").count():
                    sealed = await page.locator("#resultats tbody tr").first.locator("td").first.inner_text()
                    if "attente" not in sealed:
                        break
                await asyncio.sleep(0.25)
                await page.reload()
            assert (await page.locator("#etat-verification").inner_text()).strip() == "vérifié"

            await page.fill("input[name=bureau]", "2A0042")
            await page.click("text=Rechercher")
            await page.locator("#resultats a").first.click()
            await page.wait_for_selector("#preuve")
            assert (await page.locator("#preuve").inner_text()).strip() == "vérifiée"

            await page.goto(f"{server}/journal")
            await page.click("text=Vérifier tout le journal maintenant")
            flash = page.locator(".flash")
            await flash.wait_for()
            assert "Vérification complète réussie" in await flash.inner_text()

            # The authority's home shows the log's state (a panel loaded by htmx).
            await page.goto(f"{server}/haute-autorite")
            panel = page.locator("#panneau-journal")
            await panel.wait_for()
            assert "vérifié" in await panel.inner_text()
        finally:
            await browser.close()
