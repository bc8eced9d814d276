"""Accounts, sign-in with throttling, browser sessions, API tokens and tablet pairing.

Secrets (passwords, session tokens, API tokens, pairing codes) are never stored in clear:
passwords as argon2 hashes, random tokens as their SHA-256 (they carry enough entropy for a
plain hash to be safe, and a hash can be looked up by index).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import String, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import events
from services.auth.models import Account, ApiToken, LoginFailure, PairingCode, Tablet, WebSession
from services.auth.principal import Principal
from services.auth.roles import STATION_ROLES, Role
from services.db import driver_connection, driver_sql, utcnow
from services.errors import Conflict, InvalidInput, NotFound, TooManyAttempts
from services.events import Actor, record
from services.settings import Mode, settings
from services.territory.models import Department

MIN_PASSWORD_LENGTH = 10
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
# No 0/O, 1/I/L: a volunteer types this from a sheet of paper.
PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

_hashers: dict[bool, PasswordHasher] = {}


def _hasher() -> PasswordHasher:
    # Tests create hundreds of accounts: they use cheap parameters; everything else the defaults.
    cheap = settings().mode == Mode.TEST
    if cheap not in _hashers:
        _hashers[cheap] = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if cheap else PasswordHasher()
    return _hashers[cheap]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Le mot de passe doit comporter au moins {MIN_PASSWORD_LENGTH} caractères.", code="weak_password"
        )


# --- Accounts -------------------------------------------------------------------------------


@dataclass
class AccountSpec:
    username: str
    display_name: str
    password: str
    role: Role
    department_code: str | None = None
    station_code: str | None = None
    phone: str | None = None


async def _check_scope(session: AsyncSession, role: Role, department_code: str | None, station_code: str | None) -> None:
    if role == Role.TABLET:
        raise InvalidInput("Une tablette n'a pas de compte : elle s'appaire avec un code.", code="invalid_role")
    if role == Role.COMMISSION:
        if not department_code:
            raise InvalidInput("Un membre de commission départementale doit avoir un département.", code="scope_required")
        if await session.get(Department, department_code) is None:
            raise InvalidInput(f"Département inconnu : « {department_code} ».", code="unknown_department")
    elif department_code:
        raise InvalidInput("Seuls les membres de commission départementale ont un département.", code="invalid_scope")
    if role in STATION_ROLES:
        if not station_code:
            raise InvalidInput("Un président ou un assesseur doit être rattaché à un bureau de vote.", code="scope_required")
    elif station_code:
        raise InvalidInput("Seuls les membres d'un bureau de vote sont rattachés à un bureau.", code="invalid_scope")


async def create_account(session: AsyncSession, actor: Actor, spec: AccountSpec) -> Account:
    username = spec.username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise InvalidInput(
            "Identifiant invalide : lettres minuscules, chiffres, point, tiret ou souligné (2 à 80 caractères).",
            code="invalid_username",
        )
    _check_password(spec.password)
    await _check_scope(session, spec.role, spec.department_code, spec.station_code)
    if await session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise Conflict(f"L'identifiant « {username} » est déjà utilisé.", code="username_taken")
    account = Account(
        username=username,
        display_name=spec.display_name.strip() or username,
        password_hash=hash_password(spec.password),
        role=spec.role.value,
        department_code=spec.department_code,
        station_code=spec.station_code,
        phone=spec.phone,
        active=True,
    )
    session.add(account)
    await session.flush()
    record(
        session,
        events.AccountCreated(
            actor=actor,
            account_id=account.id,
            username=username,
            role=spec.role.value,
            department_code=spec.department_code,
            station_code=spec.station_code,
        ),
    )
    return account


async def get_account(session: AsyncSession, account_id: int) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound(f"Compte n° {account_id} introuvable.", code="account_not_found")
    return account


async def update_account(
    session: AsyncSession,
    actor: Actor,
    account: Account,
    *,
    display_name: str | None = None,
    active: bool | None = None,
    phone: str | None = None,
    password: str | None = None,
) -> Account:
    changes: dict[str, str | bool | None] = {}
    if display_name is not None and display_name.strip() and display_name.strip() != account.display_name:
        account.display_name = display_name.strip()
        changes["display_name"] = account.display_name
    if active is not None and active != account.active:
        account.active = active
        changes["active"] = active
        if not active:
            await _revoke_sessions_of(session, account.id)
    if phone is not None and phone != account.phone:
        account.phone = phone or None
        changes["phone"] = "modifié"
    if changes:
        record(session, events.AccountUpdated(actor=actor, account_id=account.id, changes=changes))
    if password is not None:
        _check_password(password)
        account.password_hash = hash_password(password)
        await _revoke_sessions_of(session, account.id)
        record(session, events.PasswordChanged(actor=actor, account_id=account.id))
    await session.flush()
    return account


async def _revoke_sessions_of(session: AsyncSession, account_id: int) -> None:
    await session.execute(
        update(WebSession)
        .where(WebSession.account_id == account_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def principal_of(account: Account, *, via: str = "session", session_token: str | None = None) -> Principal:
    return Principal(
        role=Role(account.role),
        name=account.display_name,
        account_id=account.id,
        department_code=account.department_code,
        station_code=account.station_code,
        via=via,
        session_token=session_token,
    )


def principal_of_account_row(row, *, via: str, session_token: str | None) -> Principal:  # noqa: ANN001 - a record
    """`principal_of` for an account read by a hot path's own statement (columns `role`,
    `display_name`, `account_row`, `department_code`, `station_code`)."""
    return Principal(
        role=Role(row["role"]),
        name=row["display_name"],
        account_id=row["account_row"],
        department_code=row["department_code"],
        station_code=row["station_code"],
        via=via,
        session_token=session_token,
    )


# --- Throttling -----------------------------------------------------------------------------


async def _failures_since(session: AsyncSession, key: str) -> int:
    window = timedelta(minutes=settings().login_failure_window_minutes)
    return await session.scalar(
        select(func.count()).select_from(LoginFailure).where(LoginFailure.key == key, LoginFailure.at > utcnow() - window)
    ) or 0


async def _ensure_not_throttled(session: AsyncSession, keys: dict[str, int]) -> None:
    for key, limit in keys.items():
        if await _failures_since(session, key) >= limit:
            minutes = settings().login_failure_window_minutes
            raise TooManyAttempts(
                f"Trop de tentatives infructueuses. Réessayez dans {minutes} minutes "
                "ou demandez de l'aide à votre commission départementale."
            )


def _note_failure(session: AsyncSession, *keys: str) -> None:
    for key in keys:
        session.add(LoginFailure(key=key))


# --- Sign-in and browser sessions ------------------------------------------------------------

_DUMMY_HASH: list[str] = []


class SignInRefused(Exception):
    """Bad credentials. Not an AppError: the failure must be committed (for throttling)."""

    message = "Identifiant ou mot de passe incorrect."


async def sign_in(session: AsyncSession, username: str, password: str, client_ip: str) -> tuple[Account, str]:
    """Check the credentials and open a browser session; returns the account and the raw token.

    Raises `TooManyAttempts` when throttled, `SignInRefused` on bad credentials (after noting
    the failure in the session, which the caller must commit).
    """
    username = username.strip().lower()
    limit = settings().login_max_failures
    user_key, ip_key = f"user:{username}", f"ip:{client_ip}"
    await _ensure_not_throttled(session, {user_key: limit, ip_key: limit * 10})
    account = await session.scalar(select(Account).where(Account.username == username))
    if account is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hash_password("x" * MIN_PASSWORD_LENGTH))
        verify_password(_DUMMY_HASH[0], password)  # same time whether or not the user exists
        _note_failure(session, user_key, ip_key)
        raise SignInRefused
    if not verify_password(account.password_hash, password) or not account.active:
        _note_failure(session, user_key, ip_key)
        raise SignInRefused
    token = await open_session(session, account_id=account.id)
    record(session, events.SignedIn(actor=principal_of(account).actor, account_id=account.id))
    return account, token


async def open_session(session: AsyncSession, *, account_id: int | None = None, tablet_id: int | None = None) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_sha256=sha256_hex(token),
            account_id=account_id,
            tablet_id=tablet_id,
            expires_at=utcnow() + timedelta(hours=settings().session_hours),
        )
    )
    await session.flush()
    return token


async def sign_out(session: AsyncSession, principal: Principal) -> None:
    if principal.session_token:
        await session.execute(
            update(WebSession)
            .where(WebSession.token_sha256 == sha256_hex(principal.session_token))
            .values(revoked_at=utcnow())
        )
    if principal.account_id is not None:
        record(session, events.SignedOut(actor=principal.actor, account_id=principal.account_id))


@cache
def _session_statement():  # noqa: ANN202 - a SQLAlchemy Select, built once
    """The session, its account or tablet, in ONE round trip: every request of a signed-in user
    (and every check-in of a tablet, 200 per second at the national peak) starts with it.
    Plain columns, not ORM entities: nothing is added to the request's identity map."""
    return (
        select(
            WebSession.expires_at,
            WebSession.revoked_at,
            WebSession.account_id,
            WebSession.tablet_id,
            Account.id.label("account_row"),
            Account.active,
            Account.role,
            Account.display_name,
            Account.department_code,
            Account.station_code,
            Tablet.id.label("tablet_row"),
            Tablet.label,
            Tablet.station_code.label("tablet_station_code"),
            Tablet.revoked_at.label("tablet_revoked_at"),
        )
        .select_from(WebSession)
        .outerjoin(Account, Account.id == WebSession.account_id)
        .outerjoin(Tablet, Tablet.id == WebSession.tablet_id)
        .where(WebSession.token_sha256 == bindparam("token_sha256", type_=String))
    )


@cache
def _session_sql() -> str:
    compiled = driver_sql(_session_statement())
    assert compiled.names == ("token_sha256",), compiled.names
    return compiled.sql


async def principal_from_session_token(session: AsyncSession, token: str) -> Principal | None:
    """The principal of a browser or tablet session; None if unknown, revoked or expired, or if
    its account is gone or deactivated, or its tablet revoked."""
    # On the session's driver connection (same transaction), not through SQLAlchemy: every
    # request of a signed-in user or tablet runs it, and SQLAlchemy's execution and result
    # machinery cost several times the CPU of the query itself.
    connection = await driver_connection(session)
    return principal_from_session_row(await connection.fetchrow(_session_sql(), sha256_hex(token)), token)


def principal_from_session_row(row, token: str) -> Principal | None:  # noqa: ANN001 - a record of `_session_statement`
    """The principal of a row of `_session_statement` (None: no such session): None if the
    session is revoked or expired, its account gone or deactivated, or its tablet revoked.
    Hot paths that read the session within their own statement call it on their row."""
    if row is None or row["revoked_at"] is not None or row["expires_at"] <= utcnow():
        return None
    if row["account_id"] is not None:
        if row["account_row"] is None or not row["active"]:
            return None
        return principal_of_account_row(row, via="session", session_token=token)
    if row["tablet_id"] is not None:
        if row["tablet_row"] is None or row["tablet_revoked_at"] is not None:
            return None
        return Principal(
            role=Role.TABLET,
            name=row["label"],
            tablet_id=row["tablet_row"],
            station_code=row["tablet_station_code"],
            via="tablet",
            session_token=token,
        )
    return None


# --- API tokens -------------------------------------------------------------------------------

TOKEN_PREFIX = "prm_"


async def create_api_token(session: AsyncSession, actor: Actor, account: Account, name: str) -> tuple[ApiToken, str]:
    if not name.strip():
        raise InvalidInput("Donnez un nom au jeton (par exemple « script de paramétrage »).", code="name_required")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(account_id=account.id, name=name.strip(), token_sha256=sha256_hex(raw), prefix=raw[:10])
    session.add(token)
    await session.flush()
    record(
        session,
        events.ApiTokenCreated(actor=actor, account_id=account.id, token_id=token.id, name=token.name, prefix=token.prefix),
    )
    return token, raw


async def revoke_api_token(session: AsyncSession, actor: Actor, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(session, events.ApiTokenRevoked(actor=actor, account_id=token.account_id, token_id=token.id))
        await session.flush()


async def principal_from_api_token(session: AsyncSession, raw: str) -> Principal | None:
    """The account of an API token (one round trip); None if unknown, revoked, or its account
    is gone or deactivated."""
    row = (
        await session.execute(
            select(ApiToken.revoked_at, Account)
            .join(Account, Account.id == ApiToken.account_id)
            .where(ApiToken.token_sha256 == sha256_hex(raw))
        )
    ).first()
    if row is None or row.revoked_at is not None or not row.Account.active:
        return None
    return principal_of(row.Account, via="token")


# --- Tablet pairing -----------------------------------------------------------------------------


def _normalise_pairing_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


async def issue_pairing_code(session: AsyncSession, actor: Actor, station_code: str) -> tuple[PairingCode, str]:
    """A one-time code printed on the station's credentials sheet, valid a few days."""
    raw = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(8))
    pairing = PairingCode(
        station_code=station_code,
        code_sha256=sha256_hex(raw),
        expires_at=utcnow() + timedelta(minutes=settings().pairing_code_minutes),
    )
    session.add(pairing)
    await session.flush()
    record(
        session,
        events.PairingCodeIssued(
            actor=actor, station_code=station_code, pairing_id=pairing.id, expires_at=pairing.expires_at.isoformat()
        ),
    )
    return pairing, f"{raw[:4]}-{raw[4:]}"


class PairingRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def pair_tablet(session: AsyncSession, code: str, label: str, client_ip: str) -> tuple[Tablet, str]:
    """Exchange a pairing code for a tablet session bound to the code's station."""
    ip_key = f"pairing:{client_ip}"
    await _ensure_not_throttled(session, {ip_key: settings().login_max_failures * 2})
    normalised = _normalise_pairing_code(code)
    pairing = await session.scalar(
        select(PairingCode).where(PairingCode.code_sha256 == sha256_hex(normalised)).with_for_update()
    )
    if pairing is None:
        _note_failure(session, ip_key)
        raise PairingRefused("Code d'appairage inconnu. Vérifiez la saisie (8 caractères, par exemple ABCD-EF23).")
    if pairing.used_at is not None:
        _note_failure(session, ip_key)
        raise PairingRefused("Ce code d'appairage a déjà été utilisé. Demandez un nouveau code à votre commission.")
    if pairing.expires_at <= utcnow():
        _note_failure(session, ip_key)
        raise PairingRefused("Ce code d'appairage a expiré. Demandez un nouveau code à votre commission.")
    tablet = Tablet(station_code=pairing.station_code, label=label.strip()[:60] or "Tablette")
    session.add(tablet)
    await session.flush()
    pairing.used_at = utcnow()
    pairing.tablet_id = tablet.id
    token = await open_session(session, tablet_id=tablet.id)
    actor = Actor(id=f"tablet:{tablet.id}", role=Role.TABLET.value, scope=tablet.station_code)
    record(
        session, events.TabletPaired(actor=actor, station_code=tablet.station_code, tablet_id=tablet.id, label=tablet.label)
    )
    return tablet, token


async def revoke_tablet(session: AsyncSession, actor: Actor, tablet: Tablet) -> None:
    if tablet.revoked_at is None:
        tablet.revoked_at = utcnow()
        await session.execute(
            update(WebSession).where(WebSession.tablet_id == tablet.id).values(revoked_at=utcnow())
        )
        record(session, events.TabletRevoked(actor=actor, station_code=tablet.station_code, tablet_id=tablet.id))
        await session.flush()


# --- Stations, as seen from the platform layer -------------------------------------------------
# Stations belong to the polling package. It registers a resolver here (station code → its
# department code, or None when unknown) so that this layer can check codes without importing it.

StationResolver = Callable[[AsyncSession, str], Awaitable[str | None]]
_station_resolver: list[StationResolver] = []


def register_station_resolver(resolver: StationResolver) -> None:
    _station_resolver[:] = [resolver]


async def station_department(session: AsyncSession, station_code: str) -> str | None:
    if not _station_resolver:
        return None
    return await _station_resolver[0](session, station_code)


async def check_station_exists(session: AsyncSession, station_code: str) -> None:
    if _station_resolver and await station_department(session, station_code) is None:
        raise NotFound(f"Bureau de vote inconnu : « {station_code} ».", code="unknown_station")
