"""The application factory: routers, error handling, security headers, start-up checks."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services import db, web
from services.auth.dependencies import Public, iter_api_routes, unguarded_routes
from services.composition import load_domains
from services.errors import AppError
from services.settings import settings
from services.validation import french_validation_errors

logger = logging.getLogger("primaires")
STATIC_DIR = Path(__file__).parent / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


DOCS_SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]
SECURITY_HEADERS = [
    *DOCS_SECURITY_HEADERS, (b"x-frame-options", b"DENY"), (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
]


def with_security_headers(response: Response) -> Response:
    """The headers `SecurityHeaders` adds, set on a response answered outside the middleware
    stack (`FastPaths`), unless the response sets them itself."""
    present = {name for name, _ in response.raw_headers}
    response.raw_headers.extend(header for header in SECURITY_HEADERS if header[0] not in present)
    return response


class SecurityHeaders:
    """Adds the security headers to every HTTP response.

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware costs about 1 ms per request,
    which matters on results night (thousands of webhooks a minute).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = SECURITY_HEADERS if not scope["path"].startswith("/docs") else DOCS_SECURITY_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *((n, v) for n, v in extra if n not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


FAST_BODY_LIMIT = 64 * 1024

# A fast path: `async (request, session) -> Response`, run by `FastPaths` instead of FastAPI's
# routing and dependency machinery for one (method, path); it raises to hand the request over.
FastPath = Callable[[Request, AsyncSession], Awaitable[Response]]
# A driver fast path: `async (request, connection) -> Response`, on a bare asyncpg connection
# (no session, no transaction: see `db.pooled_driver_connection`); it raises to hand over.
DriverFastPath = Callable[[Request, asyncpg.Connection], Awaitable[Response]]
DriverConnections = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]


class FastPaths:
    """Runs the few hot routes (the tablet check-in: 200 per second at the national peak) with
    none of FastAPI's per-request machinery (router walk, dependency solving, exception
    middlewares), which costs more CPU than the check-in itself.

    A route opts in by giving its endpoint a `fast_path` attribute, or a `driver_fast_path`
    one (see `create_app`). The route stays declared as usual, with its `Access` rule: the
    fast path applies the SAME rule object itself. Only success is answered here; on ANY
    exception (a refusal, invalid input, an error of the database) nothing is recorded and
    the request, body included, is replayed to the regular route, which answers exactly as it
    always did (the same French messages, the same statuses). A refusal thus costs two
    attempts: refusals are rare, and the regular route is the only one that ever renders them.

    - `fast_path(request, session)`: the request session of `DbSession`, with its one commit
      before the answer and a rollback on any exception;
    - `driver_fast_path(request, connection)`: a bare asyncpg connection from the pool (no
      session, no transaction, each statement autocommits: `db.pooled_driver_connection`).
      Such a handler sends at most ONE write, last, self-contained (it checks what it depends
      on and records its audit event in the same statement), so that whatever it raises,
      nothing was written. Under the tests (request session overridden), the connection is
      the test session's, inside a savepoint rolled back on any exception.
    """

    def __init__(
        self,
        app: ASGIApp,
        routes: dict[tuple[str, str], FastPath],
        sessions: Callable[[], Callable[[], AsyncIterator[AsyncSession]]],
        driver_routes: dict[tuple[str, str], DriverFastPath] | None = None,
        connections: Callable[[], DriverConnections] | None = None,
    ) -> None:
        self.app = app
        self.routes = routes  # filled by create_app once the routers are included
        self.sessions = sessions  # the request session's dependency (`db.get_session`, or the tests' override)
        self.driver_routes = driver_routes if driver_routes is not None else {}
        self.connections = connections or (lambda: db.pooled_driver_connection)

    def handles(self, scope: Scope) -> bool:
        key = (scope.get("method", ""), scope.get("path", ""))
        return key in self.driver_routes or key in self.routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = (scope.get("method", ""), scope.get("path", ""))
        handler = self.driver_routes.get(key)
        on_driver = handler is not None
        if handler is None:
            handler = self.routes.get(key)
        if handler is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more and size <= FAST_BODY_LIMIT:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its request: nobody to answer
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if not more:
            response = await (self._attempt_on_driver if on_driver else self._attempt)(handler, scope, body)
            if response is not None:
                await with_security_headers(response)(scope, receive, send)
                return
        # The regular route: the body read so far first, then (if any) the rest from the client.
        replayed: list[Message] = [{"type": "http.request", "body": body, "more_body": more}]

        async def replay() -> Message:
            return replayed.pop() if replayed else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _request(scope: Scope, body: bytes) -> Request:
        async def body_once() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        # Its own copy of the request state: a failed attempt leaves nothing to the regular route.
        request = Request({**scope, "state": dict(scope.get("state") or {})}, body_once)
        # The body already read: `await request.body()` (and `stream()`, `form()`) answer it as
        # Starlette does once it has read a body, without running the receive loop again.
        request._body = body  # noqa: SLF001
        return request

    async def _attempt(self, handler: FastPath, scope: Scope, body: bytes) -> Response | None:
        request = self._request(scope, body)
        try:
            # The very dependency `DbSession` runs: one commit after the handler, before the
            # answer; a rollback on any exception.
            async with asynccontextmanager(self.sessions())() as session:
                return await handler(request, session)
        except Exception:  # noqa: BLE001 - handed over to the regular route, which answers it
            return None

    async def _attempt_on_driver(self, handler: DriverFastPath, scope: Scope, body: bytes) -> Response | None:
        request = self._request(scope, body)
        try:
            async with self.connections()() as connection:
                return await handler(request, connection)
        except Exception:  # noqa: BLE001 - handed over to the regular route, which answers it
            return None


def session_driver_connections(
    sessions: Callable[[], AsyncIterator[AsyncSession]],
) -> DriverConnections:
    """Driver connections taken from a request-session dependency (the tests' override: their
    session is inside a transaction rolled back after the test): the session's connection,
    inside its own savepoint, released after the handler, rolled back on any exception, with
    generic plans forced while the handler holds it, as on the pooled connections
    (`db.pooled_driver_connection`).

    A failed attempt rolls back its own savepoint only, not the session: in production an
    attempt runs on its own pool connection and touches nothing else, so a hand-over must not
    discard (nor expire) what the test itself had written and not yet committed."""

    @asynccontextmanager
    async def connection() -> AsyncIterator[asyncpg.Connection]:
        failed: BaseException | None = None
        async with asynccontextmanager(sessions)() as session:
            driver = await db.driver_connection(session)
            await driver.execute("SAVEPOINT driver_fast_attempt")
            await db.force_generic_plans(driver)
            try:
                yield driver
            except BaseException as exc:  # noqa: BLE001 - raised again below, after the session's exit
                await driver.execute("ROLLBACK TO SAVEPOINT driver_fast_attempt")
                failed = exc
            else:
                await driver.execute("RELEASE SAVEPOINT driver_fast_attempt")
            await db.reset_plan_mode(driver)
        if failed is not None:
            raise failed

    return connection


class Application(FastAPI):
    """FastAPI, with the hot routes (`FastPaths`) dispatched BEFORE its middleware stack: the
    error, telemetry and body-limit middlewares and the routing cost CPU on every request, and
    a fast path needs none of them (it catches everything and hands over to the full stack,
    which answers exactly as always). Every other request goes through the full stack."""

    fast_entry: ASGIApp | None = None  # the security headers around `FastPaths` (set by create_app)
    fast_paths: FastPaths | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_paths is not None and scope["type"] == "http" and self.fast_paths.handles(scope):
            if self.root_path:
                scope["root_path"] = self.root_path
            await self.fast_entry(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def full_stack(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The application as FastAPI serves it: where a fast path hands a request over."""
        await super().__call__(scope, receive, send)


def _error_response(request: Request, status: int, code: str, message: str, detail: dict | None = None) -> Response:
    path = request.url.path
    if path.startswith("/twilio/"):
        # Twilio gets TwiML: a French <Message> or <Say>, status 200 (it shows other statuses to
        # nobody), except a refused signature or a wrong address, which keep their status.
        from services.telephony.twiml import error_response

        return error_response(request, status, code, message)
    if not web.wants_html(request):
        body = {"code": code, "message": message}
        if detail:
            body["detail"] = detail
        return JSONResponse(body, status_code=status)
    return web.render(
        request,
        "services/error.html",
        {"status": status, "code": code, "message": message, "detail": detail or {}},
        status_code=status,
    )


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return _error_response(request, exc.status, exc.code, exc.message, exc.detail)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = french_validation_errors(exc.errors())
    message = "Données invalides : " + " ; ".join(problems)
    return _error_response(request, 422, "invalid_input", message, {"errors": problems})


HTTP_MESSAGES = {
    404: ("not_found", "Page introuvable. Vérifiez l'adresse."),
    405: ("method_not_allowed", "Cette action n'est pas possible à cette adresse."),
}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code, message = HTTP_MESSAGES.get(exc.status_code, ("http_error", str(exc.detail)))
    return _error_response(request, exc.status_code, code, message)


def _number_out_of_range(exc: BaseException) -> bool:
    """An integer too large for its column, refused by asyncpg before it reaches the database."""
    original = getattr(exc, "orig", None) or exc
    return isinstance(exc, DBAPIError) and "out of int" in str(original) and "range" in str(original)


async def _database_error(request: Request, exc: Exception) -> Response:
    """Errors raised by the database driver. Registered for DBAPIError itself (not left to the
    last-resort handler, which re-raises after answering) because two of them are not bugs."""
    if db.connection_lost(exc):
        # The pool drops every connection made before the failure: the next request reconnects.
        # The transaction was not committed, so nothing was recorded: say so, and ask to resend.
        logger.warning("Base de données injoignable sur %s %s : %s", request.method, request.url.path, exc)
        response = _error_response(
            request,
            503,
            "database_unavailable",
            "La base de données redémarre : rien n'a été enregistré. Renvoyez dans quelques secondes.",
        )
        response.headers["Retry-After"] = "5"
        return response
    if _number_out_of_range(exc):
        # No row has such an identifier and no quantity can be that large: bad input, not a bug.
        return _error_response(
            request,
            422,
            "invalid_input",
            "Un nombre est hors des limites acceptées : vérifiez l'identifiant ou la quantité saisis.",
        )
    return await _unexpected_error(request, exc)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    if db.connection_lost(exc):
        return await _database_error(request, exc)
    logger.exception("Erreur inattendue sur %s %s", request.method, request.url.path)
    return _error_response(
        request,
        500,
        "internal_error",
        "Erreur interne : l'opération n'a pas été enregistrée. Réessayez ; si cela persiste, prévenez l'assistance.",
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    owns_database = not db._database
    if owns_database:
        url = settings().database_url
        if not url:
            raise RuntimeError("DATABASE_URL n'est pas défini (ou utilisez « primaires demo »).")
        db.init_database(url, pool_size=settings().db_pool_size)
    tasks = [asyncio.create_task(job(), name=getattr(job, "__name__", "job")) for job in app.state.background_jobs]
    if owns_database:
        # A server process: what start-up built (modules, routes, models, compiled statements)
        # lives as long as the process. Frozen, it is out of the cyclic collector's reach, whose
        # full collections stop every request of the worker: measured at 240 ms once in a
        # polling-day benchmark (bench/polling_checkin.py, p99 at 200 check-ins/s 250 ms → 10 ms).
        gc.collect()
        gc.freeze()
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if owns_database:
            await db.database().dispose()


def create_app(*, run_background_jobs: bool = True) -> FastAPI:
    domains = load_domains()
    app = Application(
        title="primaires",
        summary="API de l'organisation d'une primaire ouverte",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.background_jobs = domains.background_jobs if run_background_jobs else []
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)

    fast_paths: dict[tuple[str, str], FastPath] = {}
    driver_fast_paths: dict[tuple[str, str], DriverFastPath] = {}

    def driver_connections() -> DriverConnections:
        overridden = app.dependency_overrides.get(db.get_session)
        return db.pooled_driver_connection if overridden is None else session_driver_connections(overridden)

    app.fast_paths = FastPaths(
        app.full_stack,
        routes=fast_paths,
        sessions=lambda: app.dependency_overrides.get(db.get_session, db.get_session),
        driver_routes=driver_fast_paths,
        connections=driver_connections,
    )
    # Fast answers get the security headers from `FastPaths` itself (`with_security_headers`), a
    # request handed over gets them in the full stack.
    app.fast_entry = app.fast_paths
    app.add_middleware(SecurityHeaders)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    async def api_documentation() -> HTMLResponse:
        # Swagger UI is vendored: the polling stations' networks and this machine have no CDN.
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="primaires — API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.get("/healthz", tags=["santé"], summary="État de l'application et de la base")
    async def healthz(_who: Public) -> JSONResponse:
        try:
            async with asyncio.timeout(3):
                async with db.database().engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
            database_status = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised: this is the health check
            database_status = f"erreur : {type(exc).__name__}"
        healthy = database_status == "ok"
        return JSONResponse(
            {"status": "ok" if healthy else "dégradé", "database": database_status, "version": app.version},
            status_code=200 if healthy else 503,
        )

    for router in domains.routers:
        app.include_router(router)

    missing = unguarded_routes(app)
    if missing:
        raise RuntimeError("Routes sans règle d'accès déclarée : " + ", ".join(missing))
    for path, route in iter_api_routes(app):
        fast = getattr(route.endpoint, "fast_path", None)
        if fast is not None:
            for method in route.methods:
                fast_paths[(method, path)] = fast
        on_driver = getattr(route.endpoint, "driver_fast_path", None)
        if on_driver is not None:
            for method in route.methods:
                driver_fast_paths[(method, path)] = on_driver
    return app
