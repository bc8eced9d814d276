"""Database plumbing: the declarative base, the engine and the one commit point.

Rules every module follows (see ARCHITECTURE.md):
- services only ``flush()``; the commit happens once, at the end of the request (the
  `DbSession` dependency), of the CLI command or of the job (`session_scope`);
- ``expire_on_commit=False`` and relationships ``lazy="raise"``: a hidden lazy load is a
  bug that the tests must see, not a query issued behind our back;
- no change without its audit event: a transaction that wrote to an audited table and
  recorded no event (``services.events.record``) is refused at commit time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

import asyncpg
from fastapi import Depends
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util import greenlet_spawn
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


AUDIT_EXEMPT_TABLES: set[str] = set()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}

    # Operational tables (login throttling, sessions, raw inbound messages...) are not
    # election state: writing to them does not require an audit event. Everything else does.
    __audit_exempt__: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__table__")
        if table is not None and cls.__audit_exempt__:
            AUDIT_EXEMPT_TABLES.add(table.name)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnauditedChange(RuntimeError):
    """A transaction changed election state without recording an audit event."""


def to_async_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"URL de base de données non PostgreSQL : {url.split(':', 1)[0]}")


class Database:
    """The engine and the session factory of one process."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = to_async_url(url)
        self.engine: AsyncEngine = create_async_engine(
            # No pre-ping (it costs a round trip per request on the hot path): connections are
            # recycled every 30 minutes, and a connection broken by a database restart
            # invalidates the pool on first use, so only in-flight requests fail (and are retried).
            # `pool_size` more than the sessions need: the hot paths may keep up to `pool_size`
            # driver connections set aside between requests (`pooled_driver_connection`), and a
            # connection set aside is checked out as far as the pool knows. Without this margin,
            # those idle connections hid the pool's base from the sessions: at a results-night
            # burst whose messages were all handed over to the regular route, every session
            # waited for a connection and the server stalled for 30 s (seen in the SMS bench).
            self.url, pool_size=2 * pool_size, max_overflow=pool_size, pool_recycle=1800, echo=echo
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.pool_size = pool_size
        self._driver_slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
        # Driver connections kept aside between two hot-path requests (`pooled_driver_connection`),
        # per event loop: (pool connection, when it was set aside), the most recent last.
        self._driver_idle: dict[asyncio.AbstractEventLoop, list[tuple[Any, float]]] = {}

    def driver_slots(self) -> asyncio.Semaphore:
        """At most `pool_size` driver connections at once for the hot paths (one semaphore per
        event loop: tests and CLI commands each run their own). Beyond, a request waits for a
        connection rather than making the pool open an overflow one: an overflow connection is
        closed as soon as it is returned, and each new one costs a connection set-up, type
        introspection and the preparation of the hot statements again (seen at 16 concurrent
        check-ins: more CPU than the check-in itself)."""
        loop = asyncio.get_running_loop()
        slots = self._driver_slots.get(loop)
        if slots is None:
            for stale in [other for other in self._driver_slots if other.is_closed()]:
                del self._driver_slots[stale]
                self._driver_idle.pop(stale, None)
            slots = self._driver_slots[loop] = asyncio.Semaphore(self.pool_size)
            self._driver_idle[loop] = []
        return slots

    def driver_idle(self) -> list[tuple[Any, float]]:
        """The driver connections set aside on this event loop (see `pooled_driver_connection`)."""
        idle = self._driver_idle.get(asyncio.get_running_loop())
        if idle is None:
            self.driver_slots()
            idle = self._driver_idle[asyncio.get_running_loop()]
        return idle

    async def release_driver_connections(self) -> None:
        """Give the driver connections set aside on this event loop back to the pool."""
        idle = self._driver_idle.get(asyncio.get_running_loop(), [])
        while idle:
            fairy, _since = idle.pop()
            await _back_to_pool(fairy)

    async def dispose(self) -> None:
        await self.release_driver_connections()
        await self.engine.dispose()


_database: list[Database] = []


def init_database(url: str, **kwargs: Any) -> Database:
    database = Database(url, **kwargs)
    _database[:] = [database]
    return database


def database() -> Database:
    if not _database:
        raise RuntimeError("La base de données n'est pas initialisée (init_database).")
    return _database[0]


async def get_session() -> AsyncIterator[AsyncSession]:
    """The request's session; commits once after the handler, rolls back on any error."""
    async with database().sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": the commit happens before the response is sent, so a client is never
# told "done" about a change that then fails to commit.
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """The one commit point of a CLI command or a background job."""
    async with database().sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


_DRIVER_DIALECT: list[Any] = []


@dataclass(frozen=True)
class DriverStatement:
    """A SQLAlchemy Core statement compiled once for asyncpg: its SQL text (``$1``, ``$2``…),
    the names of its parameters in that order, and the values the statement itself fixed
    (literals such as ``counter + 1`` or ``state IN ('open')``)."""

    sql: str
    names: tuple[str, ...]
    fixed: dict[str, Any]

    def arguments(self, values: dict[str, Any]) -> list[Any]:
        """The positional arguments for `values` (by parameter name); a name missing from
        `values` takes the statement's own value (or raises KeyError if it has none)."""
        return [values[name] if name in values else self.fixed[name] for name in self.names]


def driver_sql(statement: Any) -> DriverStatement:
    """Compile a Core statement for the driver connection (`driver_connection`). Hot paths
    build their statements from the models (so a renamed column breaks at the first call in
    the tests, not on polling day) and send the compiled text straight to asyncpg."""
    if not _DRIVER_DIALECT:
        from sqlalchemy.dialects.postgresql.asyncpg import dialect

        _DRIVER_DIALECT.append(dialect())
    compiled = statement.compile(dialect=_DRIVER_DIALECT[0])
    if compiled.post_compile_params:
        raise ValueError("Paramètres « expanding » (IN) : utilisez = ANY(:tableau) pour le pilote.")
    fixed = {name: value for name, value in compiled.params.items() if value is not None}
    return DriverStatement(compiled.string, tuple(compiled.positiontup or ()), fixed)


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session, inside the session's transaction.

    For the hot paths (the tablet check-in, 200 per second at the national peak): a statement
    sent on it skips SQLAlchemy's compilation, result and ORM machinery, which cost several
    times the CPU of the query itself. It is the SAME connection and the SAME transaction as
    the session's: its writes commit or roll back with the request, and asyncpg keeps each
    statement prepared on the connection. Writes sent this way are invisible to the audit
    guard: declare them (`note_write`) and record their events in the same transaction
    (`services.events.audit_row` + `note_audit_event`).

    SQLAlchemy's asyncpg adapter opens the transaction lazily, at its first statement: it is
    opened here if no statement went through the session yet (else ours would autocommit).
    """
    info = session.sync_session.info
    driver = info.get("driver_connection")
    if driver is not None:  # already fetched in this transaction (forgotten at its end)
        return driver
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    adapted = raw.dbapi_connection
    if adapted._transaction is None and adapted.isolation_level != "autocommit":  # noqa: SLF001
        async with adapted._execute_mutex:  # noqa: SLF001 - the adapter's own guard
            if adapted._transaction is None:  # noqa: SLF001
                await adapted._start_transaction()  # noqa: SLF001
    driver = raw.driver_connection
    info["driver_connection"] = driver
    return driver


class pooled_driver_connection:  # noqa: N801 - used as a function: `async with pooled_driver_connection():`
    """An asyncpg connection checked out of the application's pool, with NO transaction and no
    session: each statement sent on it commits on its own (autocommit).

    For the hot paths whose only write is ONE self-contained statement (the tablet check-in:
    the check-in, its counters and its audit event in one statement, see `polling.checkin`):
    a single statement is atomic by itself, so the BEGIN and COMMIT round trips, the session
    and its commit hooks are spared. Such a path reads first, then sends its one write last:
    whatever it raises before, nothing was written. The audit guard does not see this
    connection: the one write must carry its own audit event (`services.events.audit_row`).

    At most `pool_size` at once (`Database.driver_slots`). A connection lost to a database
    restart, closed, or interrupted mid-statement is invalidated (the pool reconnects next
    time). `of`: another database than the application's (tests). A class rather than a
    generator-based context manager: it runs 200 times a second at the national peak.

    Between two requests, a healthy connection is set aside rather than given back to the pool
    (`Database.driver_idle`, at most `pool_size`): a check-out and a check-in through
    SQLAlchemy's pool cost two greenlet hops, its events and its reset, about a tenth of a
    check-in's CPU. A connection set aside for more than `DRIVER_IDLE_SECONDS` goes back to the
    pool on its next release (so that the pool's recycling and invalidation still apply), and
    one made before the pool was invalidated (a database restart) is not reused."""

    __slots__ = ("_database", "_fairy", "_since", "_slots")

    def __init__(self, of: Database | None = None) -> None:
        self._database = of or database()

    async def __aenter__(self) -> asyncpg.Connection:
        self._slots = self._database.driver_slots()
        await self._slots.acquire()
        try:
            idle = self._database.driver_idle()
            while idle:
                fairy, since = idle.pop()
                if _reusable(fairy):
                    self._fairy, self._since = fairy, since
                    return fairy.driver_connection
                await greenlet_spawn(fairy.close)  # the pool recycles or reconnects it
            self._fairy = await greenlet_spawn(self._database.engine.sync_engine.raw_connection)
            self._since = time.monotonic()
            try:
                await force_generic_plans(self._fairy.driver_connection)
            except BaseException:
                await greenlet_spawn(self._fairy.close)
                raise
        except BaseException:
            self._slots.release()
            raise
        return self._fairy.driver_connection

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, _traceback: Any) -> None:
        fairy = self._fairy
        try:
            # Lost, closed, or interrupted mid-statement (a cancelled request): not to be reused.
            if exc is not None and (
                connection_lost(exc) or not isinstance(exc, Exception) or fairy.driver_connection.is_closed()
            ):
                fairy.invalidate(exc if isinstance(exc, Exception) else None)
            elif (
                time.monotonic() - self._since < DRIVER_IDLE_SECONDS
                and not fairy.driver_connection.is_in_transaction()
                and _reusable(fairy)
            ):
                self._database.driver_idle().append((fairy, self._since))
                return
            # Back to the pool; its reset (a rollback) sends nothing: no transaction was opened.
            await _back_to_pool(fairy)
        finally:
            self._slots.release()


# The hot paths' statements run on their generic plans (the search's levels: planning them
# cost more CPU than running them; the check-in's: look-ups by primary or unique key, the same
# plan either way). Set once when a connection is taken from SQLAlchemy's pool for the hot
# paths, reset when it goes back (its other users keep PostgreSQL's default).
async def force_generic_plans(connection: asyncpg.Connection) -> None:
    await connection.execute("SET plan_cache_mode = force_generic_plan")


async def reset_plan_mode(connection: asyncpg.Connection) -> None:
    await connection.execute("RESET plan_cache_mode")


async def _back_to_pool(fairy: Any) -> None:
    """A driver connection back to SQLAlchemy's pool, its plan mode reset first (if that fails,
    the connection is not to be reused: invalidated)."""
    if fairy.driver_connection is None or fairy.driver_connection.is_closed():
        await greenlet_spawn(fairy.close)  # invalidated or closed, as before: the pool reconnects it
        return
    try:
        await reset_plan_mode(fairy.driver_connection)
    except Exception as exc:  # noqa: BLE001 - a connection that cannot be reset is dropped
        fairy.invalidate(exc)
        return
    await greenlet_spawn(fairy.close)


DRIVER_IDLE_SECONDS = 60.0


def _reusable(fairy: Any) -> bool:
    """A pool connection set aside that may serve again: open, and made after the pool's last
    invalidation (`Pool._invalidate_time`, set when a database restart was detected)."""
    record = fairy._connection_record  # noqa: SLF001
    return (
        fairy.dbapi_connection is not None
        and record is not None
        and record.starttime >= fairy._pool._invalidate_time  # noqa: SLF001
        and not fairy.driver_connection.is_closed()
    )


# --- "No change without its audit event" -----------------------------------------------


def note_audit_event(session: AsyncSession | Session) -> None:
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info["audit_events"] = sync.info.get("audit_events", 0) + 1


def note_write(session: AsyncSession | Session, what: str) -> None:
    """For bulk paths that bypass the ORM (COPY): declare the write so the guard sees it."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info.setdefault("audited_writes", what)


@event.listens_for(Session, "after_flush")
def _track_flushed_writes(session: Session, _flush_context: Any) -> None:
    for obj in (*session.new, *session.deleted, *session.dirty):
        table = getattr(type(obj), "__table__", None)
        if table is None or table.name in AUDIT_EXEMPT_TABLES:
            continue
        if obj in session.dirty and not session.is_modified(obj):
            continue
        session.info.setdefault("audited_writes", type(obj).__name__)
        return


@event.listens_for(Session, "do_orm_execute")
def _track_statement_writes(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is not None and table.name not in AUDIT_EXEMPT_TABLES:
        state.session.info.setdefault("audited_writes", table.name)


@event.listens_for(Session, "before_commit")
def _refuse_unaudited_commit(session: Session) -> None:
    # SQLAlchemy calls this hook *before* the commit's own final flush: flush first, or a
    # change made to a loaded object and never flushed would slip past the guard.
    session.flush()
    wrote = session.info.get("audited_writes")
    if wrote and not session.info.get("audit_events"):
        raise UnauditedChange(
            f"Modification de « {wrote} » sans événement d'audit dans la même transaction."
        )


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _reset_audit_tracking(session: Session, *_args: Any) -> None:
    session.info.pop("audited_writes", None)
    session.info.pop("audit_events", None)
    session.info.pop("driver_connection", None)  # the next transaction may use another connection


@event.listens_for(Session, "after_transaction_end")
def _forget_driver_connection(session: Session, _transaction: Any) -> None:
    # Any end (commit, rollback, close, a savepoint's): the next use asks the session again.
    session.info.pop("driver_connection", None)


def connection_lost(exc: BaseException) -> bool:
    """A connection lost to a database restart or failover: not a bug, nothing was committed,
    the request may be resent (the pool reconnects on the next checkout)."""
    for candidate in (exc, exc.__cause__):
        if isinstance(candidate, DBAPIError) and candidate.connection_invalidated:
            return True
        if isinstance(
            candidate,
            (ConnectionError, asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.exceptions.CannotConnectNowError),
        ):
            return True
    return False
