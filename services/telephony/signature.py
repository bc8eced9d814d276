"""Twilio's request signature: the access rule of every webhook under ``/twilio/``.

Twilio signs each webhook with the account's auth token: ``X-Twilio-Signature`` is the
base64 HMAC-SHA1 of the URL Twilio requested followed by the sorted POST parameters. We
check it with the SDK's own `RequestValidator`, over the CONFIGURED public URL
(``settings().public_url`` + path + query string): behind a reverse proxy or a load balancer
``request.url`` is an internal address (http, another host and port) that Twilio never
signed. A missing or wrong signature is refused with 403 before anything is read or stored.

The auth token is ``PRIMAIRES_TWILIO_AUTH_TOKEN``. In the demo and test modes, when it is not
set, the fixed `TEST_AUTH_TOKEN` below is used, so that tests, benchmarks and rehearsals can
sign requests (``RequestValidator(TEST_AUTH_TOKEN).compute_signature(url, params)``). In any
other mode, no token means every webhook is refused (fail closed) and the error is logged.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from urllib.parse import unquote_plus

from fastapi import Request
from twilio.request_validator import RequestValidator, compare

from services.auth.dependencies import Access
from services.auth.roles import Role
from services.errors import Forbidden
from services.settings import Mode, settings
from services.telephony.phone import mask_phone

logger = logging.getLogger("primaires.telephony")

# Documented test token: demo and test modes only, when PRIMAIRES_TWILIO_AUTH_TOKEN is unset.
TEST_AUTH_TOKEN = "primaires-jeton-twilio-de-test-0000"
SIGNATURE_HEADER = "x-twilio-signature"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def twilio_auth_token() -> str | None:
    """The token webhooks are signed with, or None when none is configured (production)."""
    current = settings()
    if current.twilio_auth_token:
        return current.twilio_auth_token
    if current.mode in (Mode.DEMO, Mode.TEST):
        return TEST_AUTH_TOKEN
    return None


@lru_cache(maxsize=4)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


def plain_form(body: bytes) -> dict[str, str] | None:
    """The form of a Twilio POST as Starlette's parser reads it (latin-1, then `unquote_plus`),
    without its multipart machinery — for the plain shape Twilio sends only: ``name=value``
    pairs joined by ``&``, each name once. Anything else (an empty pair, a pair without ``=``,
    a ``;``, a repeated name) returns None: the caller then reads it with Starlette's parser."""
    if not body:
        return {}
    text = body.decode("latin-1")
    if ";" in text:
        return None
    form: dict[str, str] = {}
    for pair in text.split("&"):
        name, equals, value = pair.partition("=")
        if not equals or not name:
            return None
        name = unquote_plus(name)
        if name in form:
            return None
        form[name] = unquote_plus(value)
    return form


def public_request_url(request: Request) -> str:
    """The URL Twilio requested, as it knows it: the public URL, the app's path, the raw query."""
    path = request.scope.get("path", "")
    root_path = request.scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    query = request.scope.get("query_string", b"").decode("latin-1")
    return settings().public_url.rstrip("/") + path + (f"?{query}" if query else "")


def public_url_for(path: str) -> str:
    """An absolute public URL for `path` (TwiML action URLs)."""
    return settings().public_url.rstrip("/") + path


def _refuse(reason: str, request: Request, sender: str = "") -> Forbidden:
    logger.warning(
        "Webhook Twilio refusé (%s) : %s %s, expéditeur %s",
        reason,
        request.method,
        request.scope.get("path", ""),
        mask_phone(sender) if sender else "-",
    )
    return Forbidden("Requête refusée : signature Twilio absente ou invalide.", code="invalid_twilio_signature")


class TwilioSigned(Access):
    """Access rule of the Twilio webhooks: a valid ``X-Twilio-Signature`` and nothing else.

    Twilio calls anonymously: no account, no cookie, no CSRF token — the signature is the
    authentication. So `allows_role` admits only the anonymous caller (what the signature
    then decides), and no role: an organiser's session posting to the webhook is refused
    like anyone without a valid signature. The validated form parameters are left in
    ``request.state.twilio_params``.
    """

    def __init__(self) -> None:
        super().__init__(public=True, csrf=False)

    def __repr__(self) -> str:
        return "Access(signature Twilio)"

    def allows_role(self, role: Role | None) -> bool:
        return role is None

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        token = twilio_auth_token()
        if token is None:
            logger.error("PRIMAIRES_TWILIO_AUTH_TOKEN n'est pas défini : webhooks Twilio refusés.")
            raise _refuse("jeton non configuré", request)
        signature = request.headers.get(SIGNATURE_HEADER, "")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != FORM_CONTENT_TYPE:
            raise _refuse("corps non formulaire", request)
        form = await request.form()
        sender = form.get("From")
        sender = sender if isinstance(sender, str) else ""
        if not signature:
            raise _refuse("signature absente", request, sender)
        if not _validator(token).validate(public_request_url(request), form, signature):
            raise _refuse("signature invalide", request, sender)
        request.state.twilio_params = form

    def check_plain(self, request: Request, body: bytes) -> dict[str, str] | None:
        """The same check for the hot path (`services.telephony.api`), on the body already read:
        the form parsed by `plain_form`, the signature checked by the same SDK validator. Returns
        the form when the request is signed and plain; None in every other case (unusual form,
        no token, no or wrong signature): the caller then goes through `__call__`, which
        refuses, logs and words it as always."""
        token = twilio_auth_token()
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if token is None or not signature:
            return None
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_CONTENT_TYPE:
            return None
        form = plain_form(body)
        if form is None:
            return None
        validator, url = _validator(token), public_request_url(request)
        # The SDK's `validate` computes two signatures (the URL with and without its port) and
        # accepts either. Twilio signs the URL as configured, which is one of the two: its
        # signature alone, computed by the same SDK method and compared in constant time by
        # the SDK's `compare`, is accepted at once; any other case gets `validate`'s verdict.
        if "?" not in url and compare(validator.compute_signature(url, form), signature):
            return form
        return form if validator.validate(url, form, signature) else None
