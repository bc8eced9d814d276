"""JSON API of accounts, API tokens and tablet pairing codes."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from services.auth import service
from services.auth.dependencies import AnyAccount, Organiser, SignedIn
from services.auth.models import Account, ApiToken
from services.auth.schemas import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    MeOut,
    PairingCodeCreate,
    PairingCodeOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
)
from services.db import DbSession
from services.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["comptes"])


@router.get("/me", response_model=MeOut, summary="Qui suis-je ?")
async def me(who: SignedIn) -> MeOut:
    return MeOut(
        role=who.role,
        role_label=who.role.label,
        name=who.name,
        account_id=who.account_id,
        department_code=who.department_code,
        station_code=who.station_code,
        via=who.via,
    )


@router.get("/accounts", response_model=list[AccountOut], summary="Lister les comptes")
async def list_accounts(session: DbSession, _who: Organiser) -> list[Account]:
    return list(await session.scalars(select(Account).order_by(Account.id)))


@router.post("/accounts", response_model=AccountOut, status_code=201, summary="Créer un compte")
async def create_account(spec: AccountCreate, session: DbSession, who: Organiser) -> Account:
    return await service.create_account(session, who.actor, service.AccountSpec(**spec.model_dump()))


@router.patch("/accounts/{account_id}", response_model=AccountOut, summary="Modifier, désactiver un compte")
async def update_account(account_id: int, spec: AccountUpdate, session: DbSession, who: Organiser) -> Account:
    account = await service.get_account(session, account_id)
    return await service.update_account(session, who.actor, account, **spec.model_dump(exclude_unset=True))


@router.get("/tokens", response_model=list[TokenOut], summary="Mes jetons d'API")
async def list_tokens(session: DbSession, who: AnyAccount) -> list[ApiToken]:
    return list(await session.scalars(select(ApiToken).where(ApiToken.account_id == who.account_id).order_by(ApiToken.id)))


@router.post("/tokens", response_model=TokenCreated, status_code=201, summary="Créer un jeton d'API pour moi")
async def create_token(spec: TokenCreate, session: DbSession, who: AnyAccount) -> TokenCreated:
    account = await service.get_account(session, who.account_id or 0)
    token, raw = await service.create_api_token(session, who.actor, account, spec.name)
    return TokenCreated(**TokenOut.model_validate(token).model_dump(), token=raw)


@router.delete("/tokens/{token_id}", status_code=204, summary="Révoquer un de mes jetons")
async def revoke_token(token_id: int, session: DbSession, who: AnyAccount) -> Response:
    token = await session.get(ApiToken, token_id)
    if token is None or token.account_id != who.account_id:
        raise NotFound(f"Jeton n° {token_id} introuvable.", code="token_not_found")
    await service.revoke_api_token(session, who.actor, token)
    return Response(status_code=204)


@router.post("/pairing-codes", response_model=PairingCodeOut, status_code=201, summary="Code d'appairage de tablette")
async def issue_pairing_code(spec: PairingCodeCreate, session: DbSession, who: Organiser) -> PairingCodeOut:
    await service.check_station_exists(session, spec.station_code)
    pairing, code = await service.issue_pairing_code(session, who.actor, spec.station_code)
    return PairingCodeOut(station_code=pairing.station_code, code=code, expires_at=pairing.expires_at)
