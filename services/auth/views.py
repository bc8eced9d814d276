"""Sign-in, sign-out, tablet pairing, the landing page and the account page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from services import web
from services.auth import service
from services.auth.dependencies import AnyAccount, Public, SignedIn
from services.auth.models import ApiToken
from services.db import DbSession
from services.elections.service import current_election, rounds_of
from services.errors import NotFound, TooManyAttempts

router = APIRouter(include_in_schema=False)


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "inconnu"


def _safe_next(url: str | None) -> str | None:
    # Only local paths: an open redirect would let a phishing link borrow our login page.
    if url and url.startswith("/") and not url.startswith("//"):
        return url
    return None


@router.get("/")
async def landing(request: Request, session: DbSession, who: Public) -> Response:
    election = await current_election(session)
    rounds = await rounds_of(session, election.id) if election else []
    return web.render(
        request,
        "services/landing.html",
        {"election": election, "rounds": rounds, "public_links": web.public_links()},
    )


@router.get("/accueil")
async def home(who: SignedIn) -> Response:
    return RedirectResponse(web.home_url(who), status_code=303)


@router.get("/connexion")
async def login_form(request: Request, who: Public, suivant: str | None = None) -> Response:
    if who is not None:
        return RedirectResponse(_safe_next(suivant) or web.home_url(who), status_code=303)
    return web.render(
        request, "services/login.html", {"error": None, "username": "", "next_url": _safe_next(suivant) or ""}
    )


@router.post("/connexion")
async def login(
    request: Request,
    session: DbSession,
    _who: Public,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=200)],
    suivant: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    context = {"username": username, "next_url": _safe_next(suivant) or ""}
    try:
        account, token = await service.sign_in(session, username, password, _client_ip(request))
    except service.SignInRefused as refused:
        return web.render(request, "services/login.html", {**context, "error": refused.message}, status_code=401)
    except TooManyAttempts as throttled:
        return web.render(request, "services/login.html", {**context, "error": throttled.message}, status_code=429)
    principal = service.principal_of(account, session_token=token)
    response = RedirectResponse(_safe_next(suivant) or web.home_url(principal), status_code=303)
    web.set_session_cookie(response, token)
    return response


@router.post("/deconnexion")
async def logout(session: DbSession, who: SignedIn) -> Response:
    await service.sign_out(session, who)
    response = web.redirect("/connexion", "Vous êtes déconnecté(e).")
    response.delete_cookie(web.SESSION_COOKIE)
    return response


@router.get("/tablette/appairer")
async def pairing_form(request: Request, _who: Public) -> Response:
    return web.render(request, "services/pairing.html", {"error": None, "code": "", "label": ""})


@router.post("/tablette/appairer")
async def pair(
    request: Request,
    session: DbSession,
    _who: Public,
    code: Annotated[str, Form(max_length=40)],
    label: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    context = {"code": code, "label": label}
    try:
        tablet, token = await service.pair_tablet(session, code, label, _client_ip(request))
    except service.PairingRefused as refused:
        return web.render(request, "services/pairing.html", {**context, "error": refused.message}, status_code=400)
    except TooManyAttempts as throttled:
        return web.render(request, "services/pairing.html", {**context, "error": throttled.message}, status_code=429)
    response = web.redirect("/bureau", f"Tablette appairée au bureau {tablet.station_code}.")
    web.set_session_cookie(response, token)
    return response


@router.get("/compte")
async def account_page(request: Request, session: DbSession, who: AnyAccount) -> Response:
    tokens = list(await session.scalars(select(ApiToken).where(ApiToken.account_id == who.account_id).order_by(ApiToken.id)))
    return web.render(request, "services/account.html", {"tokens": tokens, "new_token": None})


@router.post("/compte/mot-de-passe")
async def change_password(
    session: DbSession,
    who: AnyAccount,
    current: Annotated[str, Form(max_length=200)],
    new: Annotated[str, Form(max_length=200)],
) -> Response:
    account = await service.get_account(session, who.account_id or 0)
    if not service.verify_password(account.password_hash, current):
        return web.redirect("/compte", "Mot de passe actuel incorrect : rien n'a été changé.", "error")
    await service.update_account(session, who.actor, account, password=new)
    # Changing the password closes every session, this one included.
    response = web.redirect("/connexion", "Mot de passe changé. Reconnectez-vous.")
    response.delete_cookie(web.SESSION_COOKIE)
    return response


@router.post("/compte/jetons")
async def create_token(
    request: Request, session: DbSession, who: AnyAccount, name: Annotated[str, Form(max_length=120)]
) -> Response:
    account = await service.get_account(session, who.account_id or 0)
    _token, raw = await service.create_api_token(session, who.actor, account, name)
    tokens = list(await session.scalars(select(ApiToken).where(ApiToken.account_id == who.account_id).order_by(ApiToken.id)))
    # Shown once, on this response only (not through a redirect: it must not sit in a cookie).
    return web.render(request, "services/account.html", {"tokens": tokens, "new_token": raw}, status_code=201)


@router.post("/compte/jetons/{token_id}/revoquer")
async def revoke_token(token_id: int, session: DbSession, who: AnyAccount) -> Response:
    token = await session.get(ApiToken, token_id)
    if token is None or token.account_id != who.account_id:
        raise NotFound(f"Jeton n° {token_id} introuvable.", code="token_not_found")
    await service.revoke_api_token(session, who.actor, token)
    return web.redirect("/compte", "Jeton révoqué.")
