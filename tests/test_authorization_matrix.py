"""The authorisation matrix: every route, called as every role and as an anonymous visitor.

Each route declares its access rule (services.auth.dependencies.Access). For every role the
rule does not admit, the call must be refused — 401 for an anonymous visitor, 403 for a
signed-in one — and must change nothing in the database. Department-scoped routes are also
called by a departmental commission member of another department, who must get 403.
"""

from __future__ import annotations

import inspect
import re

import httpx

from services.auth.dependencies import Access, access_rules, iter_api_routes
from services.auth.roles import Role


OWN_DEPARTMENT = "75"
OTHER_DEPARTMENT = "33"
STATION = "100019"


def _strictest(rules: list[Access]) -> Access:
    """The rule that binds: a route's dependencies may carry several (all must pass)."""
    non_public = [rule for rule in rules if not rule.public]
    if not non_public:
        return rules[0]
    binding = non_public[0]
    for rule in non_public[1:]:
        if len(rule.roles) < len(binding.roles):
            binding = rule
    return binding


def _fill(path: str, route, department: str) -> str:  # noqa: ANN001
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        annotation = None
        signature = inspect.signature(route.endpoint)
        if name in signature.parameters:
            annotation = signature.parameters[name].annotation
        if "department" in name or name == "code":
            return department
        if "station" in name:
            return STATION
        if annotation in (int, "int") or name.endswith("_id") or name == "number":
            return "1"
        return "x"

    return re.sub(r"\{([^}]+)\}", value, path)


async def _sign_in_as(users, client: httpx.AsyncClient, role: Role | None, tokens: dict) -> None:  # noqa: ANN001
    client.cookies.pop("primaires_session", None)
    client.headers.pop("x-csrf-token", None)
    if role is None:
        return
    if role not in tokens:
        scope = {"department": OWN_DEPARTMENT} if role == Role.COMMISSION else {}
        if role in (Role.PRESIDENT, Role.ASSESSOR, Role.TABLET):
            scope = {"station": STATION}
        await users.as_role(client, role, **scope)
        tokens[role] = (client.cookies.get("primaires_session"), client.headers.get("x-csrf-token"))
    cookie, csrf = tokens[role]
    client.cookies.set("primaires_session", cookie)
    client.headers["x-csrf-token"] = csrf


async def test_every_denied_call_is_refused_and_changes_nothing(app, client, users, count_writes) -> None:  # noqa: ANN001
    tokens: dict[Role, tuple[str, str]] = {}
    checked = 0
    failures: list[str] = []
    for path, route in iter_api_routes(app):
        rules = access_rules(route)
        if not rules:
            continue  # framework documentation routes (checked elsewhere)
        rule = _strictest(rules)
        for method in sorted(route.methods - {"HEAD"}):
            for role in [None, *Role]:
                cases = []
                if not rule.allows_role(role):
                    cases.append((OWN_DEPARTMENT, 401 if role is None else 403))
                elif role == Role.COMMISSION and rule.department_param:
                    cases.append((OTHER_DEPARTMENT, 403))
                for department, expected in cases:
                    await _sign_in_as(users, client, role, tokens)
                    url = _fill(path, route, department)
                    before = await count_writes()
                    response = await client.request(method, url, headers={"accept": "application/json"})
                    after = await count_writes()
                    checked += 1
                    who = role.value if role else "anonyme"
                    if response.status_code != expected:
                        failures.append(f"{method} {url} as {who}: {response.status_code} (expected {expected})")
                    elif after != before:
                        failures.append(f"{method} {url} as {who}: {after - before} rows written")
                    elif "message" not in response.json():
                        failures.append(f"{method} {url} as {who}: no French message")
    assert checked > 50
    assert not failures, "\n".join(failures)


async def test_anonymous_html_page_gets_a_french_sign_in_page(client) -> None:  # noqa: ANN001
    response = await client.get("/organisation", headers={"accept": "text/html"})
    assert response.status_code == 401
    assert "Connexion requise" in response.text
    assert "/connexion?suivant=" in response.text


async def test_commission_member_cannot_open_another_department(client, users) -> None:  # noqa: ANN001
    await users.as_role(client, Role.COMMISSION, department="2A")
    own = await client.get("/departements/2A", headers={"accept": "text/html"})
    other = await client.get("/departements/75", headers={"accept": "text/html"})
    assert own.status_code == 200 and "Corse-du-Sud" in own.text
    assert other.status_code == 403
    assert "département « 75 »" in other.text
