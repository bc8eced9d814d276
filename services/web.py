"""The web shell: Jinja2 environment, page rendering, CSRF tokens, flash messages, navigation.

Templates live in each package under `templates/<package>/`; the composition root registers
the packages (`add_template_package`), so this module imports none of them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape

from services.auth.principal import Principal
from services.auth.roles import Role
from services.settings import settings

CSRF_COOKIE = "primaires_csrf"
SESSION_COOKIE = "primaires_session"
FLASH_COOKIE = "primaires_flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    roles: frozenset[Role]
    order: int = 50


@dataclass
class Shell:
    template_packages: list[str] = field(default_factory=lambda: ["services"])
    nav: list[NavItem] = field(default_factory=list)
    env: Environment | None = None


_shell = Shell()


def add_template_package(package: str) -> None:
    if package not in _shell.template_packages:
        _shell.template_packages.append(package)
        _shell.env = None


def add_nav_item(label: str, href: str, roles: set[Role] | frozenset[Role], order: int = 50) -> None:
    item = NavItem(label, href, frozenset(roles), order)
    if item not in _shell.nav:
        _shell.nav.append(item)


def nav_for(principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    return sorted((item for item in _shell.nav if principal.role in item.roles), key=lambda item: item.order)


def _format_int(value: int | None) -> str:
    """French thousands separator (narrow no-break space): 4 404 218."""
    if value is None:
        return "—"
    return f"{value:,}".replace(",", "\u202f")


def _format_euros(cents: int | None) -> str:
    if cents is None:
        return "—"
    euros, rest = divmod(int(cents), 100)
    return f"{_format_int(euros)},{rest:02d}\u00a0€"


def _format_percent(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}".replace(".", ",") + "\u00a0%"


def environment() -> Environment:
    if _shell.env is None:
        env = Environment(
            loader=ChoiceLoader([PackageLoader(package, "templates") for package in _shell.template_packages]),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["entier"] = _format_int
        env.filters["euros"] = _format_euros
        env.filters["pourcent"] = _format_percent
        _shell.env = env
    return _shell.env


# --- CSRF ---------------------------------------------------------------------------------------
# Double-submit token bound to the browser's CSRF cookie and, once signed in, to the session:
# token = HMAC(secret, cookie | session). A page on another site can neither read the cookie nor
# compute the HMAC, and a token stolen before sign-in is useless afterwards.


def _csrf_cookie_value(request: Request) -> str:
    value = request.cookies.get(CSRF_COOKIE)
    if not value:
        value = getattr(request.state, "new_csrf_cookie", None) or secrets.token_urlsafe(24)
        request.state.new_csrf_cookie = value
    return value


def csrf_token_for(request: Request, session_token: str | None) -> str:
    message = f"{_csrf_cookie_value(request)}|{session_token or ''}".encode()
    # `hmac.digest`: the same HMAC-SHA-256 in one call to OpenSSL (no HMAC object, no copies).
    return hmac.digest(settings().secret_key.encode(), message, "sha256").hex()[:40]


def csrf_token_is_valid(request: Request, session_token: str | None, submitted: str | None) -> bool:
    if not submitted or not request.cookies.get(CSRF_COOKIE):
        return False
    return hmac.compare_digest(csrf_token_for(request, session_token), submitted)


# --- Flash messages -----------------------------------------------------------------------------


def _sign(value: str) -> str:
    return hmac.new(settings().secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()[:16]


def flash(response: Response, message: str, kind: str = "ok") -> Response:
    """Show `message` on the next page (post/redirect/get)."""
    payload = json.dumps({"m": message, "k": kind}, ensure_ascii=False)
    response.set_cookie(FLASH_COOKIE, quote(payload) + "." + _sign(payload), max_age=120, httponly=True, samesite="lax")
    return response


def _read_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or "." not in raw:
        return None
    quoted, signature = raw.rsplit(".", 1)
    payload = unquote(quoted)
    if not hmac.compare_digest(_sign(payload), signature):
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    return {"message": str(data.get("m", "")), "kind": str(data.get("k", "ok"))}


def redirect(url: str, message: str | None = None, kind: str = "ok") -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if message:
        flash(response, message, kind)
    return response


# --- Rendering ----------------------------------------------------------------------------------


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    principal: Principal | None = None,
) -> HTMLResponse:
    if principal is None:
        principal = getattr(request.state, "principal", None)
    session_token = principal.session_token if principal else None
    flash_message = _read_flash(request)
    values = {
        "request": request,
        "principal": principal,
        "nav": nav_for(principal),
        "csrf_token": csrf_token_for(request, session_token),
        "csrf_field": CSRF_FIELD,
        "flash": flash_message,
        "Role": Role,
        "home_panels": home_panels(principal),
        **(context or {}),
    }
    html = environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code)
    if flash_message:
        response.delete_cookie(FLASH_COOKIE)
    finish_response(request, response)
    return response


def finish_response(request: Request, response: Response) -> None:
    """Set the CSRF cookie when this request created one."""
    new_cookie = getattr(request.state, "new_csrf_cookie", None)
    if new_cookie and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE, new_cookie, httponly=True, samesite="lax", secure=settings().cookie_secure, max_age=86400 * 30
        )


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings().cookie_secure,
        max_age=settings().session_hours * 3600,
    )


def wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "*/*" in accept or not accept


# --- Where each role lands after signing in, and the public entry points ------------------------

_role_homes: dict[Role, str] = {
    Role.ORGANISER: "/organisation",
    Role.AUTHORITY: "/haute-autorite",
    Role.OBSERVER: "/observation",
    Role.PRESIDENT: "/bureau",
    Role.ASSESSOR: "/bureau",
    Role.TABLET: "/bureau",
}


def set_role_home(role: Role, url: str) -> None:
    _role_homes[role] = url


def home_url(principal: Principal) -> str:
    if principal.role == Role.COMMISSION:
        return f"/departements/{principal.department_code}"
    return _role_homes.get(principal.role, "/")


@dataclass(frozen=True)
class PublicLink:
    label: str
    href: str
    text: str


_public_links: list[PublicLink] = []


def add_public_link(label: str, href: str, text: str) -> None:
    link = PublicLink(label, href, text)
    if link not in _public_links:
        _public_links.append(link)


def public_links() -> list[PublicLink]:
    return list(_public_links)


@dataclass(frozen=True)
class DepartmentSection:
    label: str
    href_template: str  # with "{code}" for the department code
    text: str


_department_sections: list[DepartmentSection] = []


def add_department_section(label: str, href_template: str, text: str) -> None:
    section = DepartmentSection(label, href_template, text)
    if section not in _department_sections:
        _department_sections.append(section)


def department_sections() -> list[DepartmentSection]:
    return list(_department_sections)


# --- Panels of the role homes ----------------------------------------------------------------
# A domain package shows a live summary on a role's home page (the high authority's home shows
# the audit log's state, say) without the platform knowing the package: the home loads the
# panel's URL with htmx; without JavaScript, the panel is a plain link to `href`.


@dataclass(frozen=True)
class HomePanel:
    url: str  # returns an HTML fragment
    label: str
    href: str
    roles: frozenset[Role]


_home_panels: list[HomePanel] = []


def add_home_panel(url: str, label: str, href: str, roles: set[Role] | frozenset[Role]) -> None:
    panel = HomePanel(url, label, href, frozenset(roles))
    if panel not in _home_panels:
        _home_panels.append(panel)


def home_panels(principal: Principal | None) -> list[HomePanel]:
    if principal is None:
        return []
    return [panel for panel in _home_panels if principal.role in panel.roles]
