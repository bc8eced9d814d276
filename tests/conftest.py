"""Test fixtures: a real PostgreSQL (embedded, or DATABASE_URL), the schema from the real
migrations, the territory loaded once, and each test inside a transaction rolled back at the end.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from services import db, embedded_pg
from services.app import create_app
from services.auth import service as auth_service
from services.auth.models import Account
from services.auth.principal import Principal
from services.auth.roles import Role
from services.events import Actor
from services.migrations import runner
from services.settings import Mode, configure, settings
from services.territory.service import load_territory

TEST_SECRET = "test-secret-" + "x" * 32
TEST_PASSWORD = "mot-de-passe-de-test"
CSRF_COOKIE_VALUE = "csrf-cookie-de-test"
TEST_ACTOR = Actor(id="system:test", role="organiser")


def _fresh_database_from_env(url: str) -> str:
    """With DATABASE_URL, tests run in a new database next to it (never in the given one)."""
    import asyncpg

    name = f"primaires_test_{os.getpid()}"
    plain = url.replace("postgresql+asyncpg://", "postgresql://")

    async def create() -> None:
        connection = await asyncpg.connect(plain)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    base, _, query = plain.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return base + (f"?{query}" if query else "")


def _application_login(owner_url: str) -> str:
    """With DATABASE_URL: a login in the restricted role `primaires_app`, with a fresh password."""
    import asyncpg
    from urllib.parse import quote, urlsplit, urlunsplit

    password = secrets.token_urlsafe(18)

    async def create() -> None:
        connection = await asyncpg.connect(owner_url)
        try:
            exists = await connection.fetchval("SELECT 1 FROM pg_roles WHERE rolname = 'primaires_test_app'")
            verb = "ALTER" if exists else "CREATE"
            await connection.execute(f"{verb} ROLE primaires_test_app LOGIN PASSWORD '{password}'")
            await connection.execute("GRANT primaires_app TO primaires_test_app")
        finally:
            await connection.close()

    asyncio.run(create())
    parts = urlsplit(owner_url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"primaires_test_app:{quote(password)}@{host}"))


@pytest.fixture(scope="session")
def owner_database_url() -> str:
    """The schema owner's URL (migrations, and tests that must act as the owner)."""
    given = os.environ.get("DATABASE_URL") or os.environ.get("PRIMAIRES_DATABASE_URL")
    if given:
        url = _fresh_database_from_env(given)
        server = None
    else:
        # Not under pytest's basetemp: pytest prunes old run folders, and another test run on
        # the same machine could delete this database's files while it runs.
        url, server = embedded_pg.start(Path(tempfile.mkdtemp(prefix="primaires-pg-")), database="primaires_test")
    runner.upgrade(url)
    yield url
    if server is not None:
        embedded_pg.stop(server)
        shutil.rmtree(Path(server.pgdata).parent, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(owner_database_url: str) -> str:
    """The application's URL: a member of the restricted role `primaires_app`, as in production."""
    url = owner_database_url
    app_url = embedded_pg.app_url(url) if url.startswith("postgresql://postgres@/") else _application_login(url)
    configure(
        mode=Mode.TEST,
        database_url=app_url,
        migration_database_url=url,
        secret_key=TEST_SECRET,
        public_url="http://testserver",
    )

    async def load() -> None:
        engine = create_async_engine(db.to_async_url(url))
        async with AsyncSession(engine, expire_on_commit=False) as session:
            await load_territory(session)
            await session.commit()
        await engine.dispose()

    asyncio.run(load())
    return app_url


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[db.Database]:
    database = db.init_database(database_url, pool_size=5)
    yield database
    await database.dispose()


@pytest.fixture
async def session(database: db.Database, request: pytest.FixtureRequest) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test: the app's commits
    become savepoint releases, so nothing a test does outlives it.

    A test that never commits would never meet the "no change without its audit event" guard
    (it acts at commit): so at the end of every test, whatever the test wrote since its last
    commit must have recorded an event, or the test fails. Tests that write fixtures straight
    into tables, without a service, say so with `@pytest.mark.unaudited_writes`.
    """
    async with database.engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
            if request.node.get_closest_marker("unaudited_writes") is None:
                await check_no_unaudited_writes(session)
        finally:
            await session.close()
            await transaction.rollback()


async def check_no_unaudited_writes(session: AsyncSession) -> None:
    """Fail the test if the session holds writes to audited tables and no audit event."""
    if session.sync_session.is_active:
        await session.flush()  # pending objects count too (the guard sees them at flush)
    info = session.sync_session.info
    wrote = info.get("audited_writes")
    if wrote and not info.get("audit_events"):
        pytest.fail(f"Écriture sans événement d'audit : « {wrote} » a été modifié et aucun événement n'a été enregistré.")


@pytest.fixture(scope="session")
def app(database_url: str):  # noqa: ANN201
    return create_app(run_background_jobs=False)


@pytest.fixture
async def client(app, session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    async def test_session() -> AsyncIterator[AsyncSession]:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise

    app.dependency_overrides[db.get_session] = test_session
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        client.cookies.set("primaires_csrf", CSRF_COOKIE_VALUE)
        yield client
    app.dependency_overrides.clear()


def csrf_token(session_token: str | None = None) -> str:
    message = f"{CSRF_COOKIE_VALUE}|{session_token or ''}".encode()
    return hmac.new(settings().secret_key.encode(), message, hashlib.sha256).hexdigest()[:40]


class Users:
    """Creates accounts and signs clients in as them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self, role: Role, *, department: str | None = None, station: str | None = None, username: str | None = None
    ) -> Account:
        if role == Role.COMMISSION and department is None:
            department = "75"
        if role in (Role.PRESIDENT, Role.ASSESSOR) and station is None:
            station = "100019"
        account = await auth_service.create_account(
            self.session,
            TEST_ACTOR,
            auth_service.AccountSpec(
                username=username or f"{role.value}-{uuid.uuid4().hex[:8]}",
                display_name=f"Test {role.label}",
                password=TEST_PASSWORD,
                role=role,
                department_code=department,
                station_code=station,
            ),
        )
        # Release the savepoint: a later request that fails rolls back only its own work.
        await self.session.commit()
        return account

    async def sign_in(self, client: httpx.AsyncClient, account: Account) -> Principal:
        token = await auth_service.open_session(self.session, account_id=account.id)
        await self.session.commit()
        client.cookies.set("primaires_session", token)
        client.headers["x-csrf-token"] = csrf_token(token)
        return auth_service.principal_of(account, session_token=token)

    async def sign_in_tablet(self, client: httpx.AsyncClient, station_code: str) -> Principal:
        _pairing, code = await auth_service.issue_pairing_code(self.session, TEST_ACTOR, station_code)
        tablet, token = await auth_service.pair_tablet(self.session, code, "Tablette de test", "198.51.100.1")
        await self.session.commit()
        client.cookies.set("primaires_session", token)
        client.headers["x-csrf-token"] = csrf_token(token)
        return Principal(role=Role.TABLET, name=tablet.label, tablet_id=tablet.id, station_code=station_code, via="tablet", session_token=token)

    async def as_role(self, client: httpx.AsyncClient, role: Role, **scope: str) -> Principal:
        if role == Role.TABLET:
            return await self.sign_in_tablet(client, scope.get("station", "100019"))
        return await self.sign_in(client, await self.create(role, **scope))

    async def api_token(self, account: Account) -> str:
        _token, raw = await auth_service.create_api_token(self.session, TEST_ACTOR, account, "test")
        await self.session.commit()
        return raw


@pytest.fixture
def users(session: AsyncSession) -> Users:
    return Users(session)


async def writes_in_transaction(session: AsyncSession) -> int:
    """Rows inserted, updated or deleted so far in the current transaction, in every table."""
    value = await session.scalar(
        text("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables")
    )
    return int(value or 0)


@pytest.fixture
def count_writes(session: AsyncSession) -> Callable[[], Awaitable[int]]:
    return lambda: writes_in_transaction(session)


def random_suffix() -> str:
    return secrets.token_hex(4)


# --- A real server and a real browser, for end-to-end tests -----------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(database_url: str) -> str:
    """The application served by a real uvicorn process on 127.0.0.1 (committed data only)."""
    import subprocess
    import sys
    import time

    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PRIMAIRES_MODE": "test",
        "PRIMAIRES_SECRET_KEY": TEST_SECRET,
        "PRIMAIRES_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "services.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
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


@pytest.fixture
async def committed(database: db.Database) -> AsyncIterator[AsyncSession]:
    """A session whose commits are real (for data a live server must see). Use unique names."""
    async with database.sessionmaker() as session:
        yield session


@pytest.fixture
async def browser():  # noqa: ANN201
    if not CHROMIUM.exists():
        pytest.skip("Chromium absent (/usr/bin/chromium) : installez le paquet Debian « chromium » (fait par .ci/run).")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            await instance.close()
