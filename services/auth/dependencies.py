"""Access rules: every route declares who may call it, by depending on one `Access` rule.

`Access` is the only way a route gets its principal. It authenticates (API token, browser
session or paired tablet), checks the role and the department scope, and checks the CSRF
token of every state-changing browser request. The application refuses to start if a route
has no rule (see `unguarded_routes`), and the authorisation-matrix test calls every route as
every role to check that what the rule forbids is refused and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from services.auth.principal import Principal
from services.auth.roles import Role
from services.auth.service import principal_from_api_token, principal_from_session_token
from services.db import DbSession
from services.errors import Forbidden, Unauthenticated
from services.web import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, csrf_token_is_valid

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def load_principal(request: Request, session: DbSession) -> Principal | None:
    if getattr(request.state, "principal_loaded", False):
        return request.state.principal
    principal: Principal | None = None
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        principal = await principal_from_api_token(session, authorization[7:].strip())
        if principal is None:
            raise Unauthenticated("Jeton d'API invalide ou révoqué.", code="invalid_token")
    elif token := request.cookies.get(SESSION_COOKIE):
        principal = await principal_from_session_token(session, token)
    request.state.principal = principal
    request.state.principal_loaded = True
    return principal


class Access:
    """The access rule of a route.

    - ``Access(public=True)``: anyone, signed in or not (still CSRF-checked on forms);
    - ``Access(Role.ORGANISER, Role.AUTHORITY)``: those roles only;
    - ``department_param="code"``: the path parameter holding a department code, which a
      departmental commission member may only access for their own department;
    - ``csrf=False``: for endpoints authenticated otherwise (Twilio's signature).
    """

    def __init__(
        self,
        *roles: Role,
        public: bool = False,
        department_param: str | None = None,
        station_param: str | None = None,
        csrf: bool = True,
    ) -> None:
        if public and roles:
            raise ValueError("A public rule lists no roles")
        if not public and not roles:
            raise ValueError("A rule lists its roles or is public")
        self.roles = frozenset(roles)
        self.public = public
        self.department_param = department_param
        self.station_param = station_param
        self.csrf = csrf

    def __repr__(self) -> str:
        if self.public:
            return "Access(public)"
        return f"Access({', '.join(sorted(role.value for role in self.roles))})"

    def allows_role(self, role: Role | None) -> bool:
        return self.public or (role is not None and role in self.roles)

    async def __call__(self, request: Request, session: DbSession) -> Principal | None:
        return await self.authorize(request, await load_principal(request, session))

    async def authorize(self, request: Request, principal: Principal | None) -> Principal | None:
        """The rule applied to the principal of the request (as `load_principal` finds it):
        raises `Unauthenticated` or `Forbidden`, else returns the principal. Hot paths that
        read the principal together with their own data (`polling.checkin`) call it too."""
        if principal is None and not self.public:
            raise Unauthenticated("Vous devez vous connecter pour accéder à cette page.")
        if request.method not in SAFE_METHODS and self.csrf and (principal is None or principal.via != "token"):
            await _check_csrf(request, principal)
        if self.public:
            return principal
        if principal.role not in self.roles:
            raise Forbidden(f"Votre rôle ({principal.role.label}) ne donne pas accès à cette page.")
        if self.department_param:
            code = str(request.path_params.get(self.department_param, ""))
            if not principal.covers_department(code):
                raise Forbidden(f"Vous n'avez pas accès au département « {code} ».", code="out_of_scope")
        if self.station_param and principal.station_code is not None:
            code = str(request.path_params.get(self.station_param, ""))
            if principal.station_code != code:
                raise Forbidden(f"Vous n'avez pas accès au bureau de vote « {code} ».", code="out_of_scope")
        return principal


async def _check_csrf(request: Request, principal: Principal | None) -> None:
    submitted = request.headers.get(CSRF_HEADER)
    if not submitted:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
    session_token = principal.session_token if principal else None
    if not csrf_token_is_valid(request, session_token, submitted):
        raise Forbidden(
            "Le formulaire a expiré ou ne vient pas de cette application. Rechargez la page et recommencez.",
            code="csrf_failed",
        )


# Typed aliases: a route names who may call it in its signature.
Public = Annotated[Principal | None, Depends(Access(public=True))]
Organiser = Annotated[Principal, Depends(Access(Role.ORGANISER))]
Authority = Annotated[Principal, Depends(Access(Role.AUTHORITY))]
NationalReader = Annotated[Principal, Depends(Access(Role.ORGANISER, Role.AUTHORITY, Role.OBSERVER))]
SignedIn = Annotated[Principal, Depends(Access(*Role))]
AnyAccount = Annotated[Principal, Depends(Access(*(role for role in Role if role != Role.TABLET)))]


# --- Start-up check: no route without a rule ----------------------------------------------------

# Framework routes that are public by construction (documentation and static files).
PUBLIC_FRAMEWORK_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


def _rules_in(dependant: Dependant) -> Iterator[Access]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Access):
            yield dependency.call
        yield from _rules_in(dependency)


def access_rules(route: APIRoute) -> list[Access]:
    return list(_rules_in(route.dependant))


def iter_api_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """Every (full path, route) of the application, through included routers."""

    def walk(routes: list, prefix: str) -> Iterator[tuple[str, APIRoute]]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield prefix + route.path, route
            elif hasattr(route, "original_router"):  # FastAPI ≥ 0.16x keeps included routers lazily
                include_prefix = getattr(getattr(route, "include_context", None), "prefix", "") or ""
                yield from walk(route.original_router.routes, prefix + include_prefix)

    yield from walk(app.router.routes, "")


def unguarded_routes(app: FastAPI) -> list[str]:
    return [
        f"{','.join(sorted(route.methods))} {path}"
        for path, route in iter_api_routes(app)
        if not access_rules(route) and path not in PUBLIC_FRAMEWORK_PATHS
    ]
