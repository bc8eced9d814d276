"""Privacy of participation: keyed tokens, encrypted display data, crypto-shredding.

Taking part in a primary reveals a political opinion (GDPR art. 9). The database therefore
never holds a readable list of participants (ARCHITECTURE.md, principle 4):

- a check-in stores `token = HMAC-SHA256(token_secret, identity)`, where `identity` is the
  registry's stable 32-byte identity of the person (`voter_registry.service.voter_identity`)
  and `token_secret` a random 32-byte secret of the election. Same person, same election →
  same token in both rounds, which is what the UNIQUE (round, token) constraint and the
  round-2 « contribution already paid » check need; without the secret a token cannot be
  recomputed from a name;
- what a station must see again (its paper-list reconciliation: who was checked in on the
  tablet) is AES-256-GCM encrypted under the election's `display_key`, with the round and the
  station as associated data (a ciphertext moved to another row does not decrypt);
- both secrets are stored wrapped (AES-GCM) by a key-encryption key derived from the
  installation secret (`PRIMAIRES_SECRET_KEY`, HKDF-SHA256): a copy of the database alone does
  not let anyone recompute tokens from the electoral lists;
- on the retention date `shred_keys` sets both wrapped secrets to NULL and records a
  `PrivacyKeysShredded` event (sealed and signed by the audit log's next checkpoint). The
  check-ins stay — counts, contributions, the log all still verify — but no token can be
  linked to a person and no display data can be read. Backups taken before that date must
  be destroyed on the same date (see polling/README.md).
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from datetime import date

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polling import events
from polling.models import Checkin, ElectionPrivacyKey
from services.db import utcnow
from services.elections.models import Election, Round
from services.errors import Conflict, NotFound, WrongPhase
from services.events import Actor, record
from services.settings import settings

NONCE_BYTES = 12
KEY_BYTES = 32
_KEK_INFO = b"primaires/polling/privacy-kek/v1"


class KeysShredded(WrongPhase):
    code = "keys_shredded"


@dataclass(frozen=True)
class ElectionKeys:
    election_id: int
    token_secret: bytes
    display_key: bytes

    def token(self, identity: bytes) -> bytes:
        """The participation token of a stable identity (32 bytes)."""
        return hmac.digest(self.token_secret, identity, "sha256")  # HMAC-SHA256, one call into OpenSSL

    def seal(self, data: dict, *, round_id: int, station_id: int) -> bytes:
        """Encrypt display data (JSON) for one check-in: nonce ‖ ciphertext ‖ tag."""
        nonce = os.urandom(NONCE_BYTES)
        plain = _DISPLAY_JSON.encode(data).encode()
        return nonce + _cipher(self.display_key).encrypt(nonce, plain, _associated(round_id, station_id))

    def open(self, sealed: bytes, *, round_id: int, station_id: int) -> dict | None:
        """Decrypt display data; None if it does not belong to this round and station."""
        try:
            plain = _cipher(self.display_key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _associated(round_id, station_id))
        except (InvalidTag, ValueError):
            return None
        return json.loads(plain)


# `json.dumps(data, ensure_ascii=False, separators=(",", ":"))`, without building an encoder per call.
_DISPLAY_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=8)
def _cipher(display_key: bytes) -> AESGCM:
    """The AES-GCM object of a display key (its key schedule computed once). Keyed by the key
    itself: shredding clears this cache with the unwrapped keys (`_forget_keys`)."""
    return AESGCM(display_key)


def _forget_keys() -> None:
    """Drop every key held by this process (after a shredding)."""
    _unwrapped.clear()
    _cipher.cache_clear()


def _associated(round_id: int, station_id: int) -> bytes:
    return f"checkin:{round_id}:{station_id}".encode()


def _kek() -> bytes:
    secret = settings().secret_key.encode()
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=_KEK_INFO).derive(secret)


def _wrap(key: bytes, election_id: int, purpose: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(_kek()).encrypt(nonce, key, f"{purpose}:{election_id}".encode())


def _unwrap(wrapped: bytes, election_id: int, purpose: str) -> bytes:
    try:
        return AESGCM(_kek()).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], f"{purpose}:{election_id}".encode())
    except InvalidTag:
        raise Conflict(
            "Les clés de confidentialité de cette élection ne se déchiffrent pas avec la clé de l'installation "
            "(PRIMAIRES_SECRET_KEY a-t-elle changé ?). Aucun émargement n'est possible : prévenez l'assistance.",
            code="privacy_key_mismatch",
        ) from None


# Unwrapped keys, by the wrapped bytes they came from: the row is still read on every use (a
# primary-key look-up), so a shredding done by another process takes effect at once.
_unwrapped: dict[tuple[int, bytes, bytes], ElectionKeys] = {}


async def ensure_keys(session: AsyncSession, actor: Actor, election: Election, retention_until: date | None = None) -> ElectionPrivacyKey:
    """Create the election's participation keys if they do not exist yet (idempotent)."""
    row = await session.get(ElectionPrivacyKey, election.id)
    if row is not None:
        return row
    row = ElectionPrivacyKey(
        election_id=election.id,
        token_secret_wrapped=_wrap(os.urandom(KEY_BYTES), election.id, "token"),
        display_key_wrapped=_wrap(os.urandom(KEY_BYTES), election.id, "display"),
        created_at=utcnow(),
        retention_until=retention_until,
    )
    session.add(row)
    await session.flush()
    record(
        session,
        events.PrivacyKeysCreated(
            actor=actor, election_id=election.id, retention_until=retention_until.isoformat() if retention_until else None
        ),
    )
    return row


async def election_keys(session: AsyncSession, election_id: int) -> ElectionKeys:
    """The election's keys, or a French refusal when they do not exist or were shredded."""
    row = await session.get(ElectionPrivacyKey, election_id, populate_existing=True)
    if row is None:
        return keys_from_wrapped(election_id, None, None, exists=False)
    return keys_from_wrapped(election_id, row.token_secret_wrapped, row.display_key_wrapped)


def keys_from_wrapped(election_id: int, token_wrapped: bytes | None, display_wrapped: bytes | None, *, exists: bool = True) -> ElectionKeys:
    """The keys from their wrapped columns as just read from the database (the check-in reads
    them in the same query as the rest of its context), or the same French refusals as
    `election_keys`."""
    if not exists:
        raise NotFound(
            "Les émargements de cette élection ne sont pas encore possibles : ses clés de confidentialité n'existent "
            "pas (créez les bureaux de vote d'abord).",
            code="no_privacy_keys",
        )
    if token_wrapped is None or display_wrapped is None:
        raise KeysShredded(
            "Les clés de confidentialité de cette élection ont été détruites : plus aucun émargement n'est possible "
            "et la participation n'est plus lisible.",
        )
    cache_key = (election_id, bytes(token_wrapped), bytes(display_wrapped))
    keys = _unwrapped.get(cache_key)
    if keys is None:
        keys = ElectionKeys(
            election_id,
            _unwrap(bytes(token_wrapped), election_id, "token"),
            _unwrap(bytes(display_wrapped), election_id, "display"),
        )
        _forget_keys()  # a handful of elections at most: keep only the live one
        _unwrapped[cache_key] = keys
    return keys


async def set_retention_date(session: AsyncSession, actor: Actor, election: Election, retention_until: date) -> ElectionPrivacyKey:
    row = await ensure_keys(session, actor, election)
    if row.retention_until != retention_until:
        row.retention_until = retention_until
        record(
            session,
            events.PrivacyKeysCreated(actor=actor, election_id=election.id, retention_until=retention_until.isoformat()),
        )
        await session.flush()
    return row


@dataclass(frozen=True)
class ShredReport:
    election_id: int
    checkins_per_round: dict[int, int]
    retention_until: date | None
    before_retention_date: bool


async def shred_keys(session: AsyncSession, actor: Actor, election: Election, *, today: date, force: bool = False) -> ShredReport:
    """Destroy the election's participation keys (crypto-shredding). Irreversible.

    Refused before the retention date unless `force` (a data-protection decision, recorded as
    such in the event). Counts stay: they are recorded in the event for the log's readers.
    """
    row = await session.get(ElectionPrivacyKey, election.id, with_for_update=True)
    if row is None:
        raise NotFound(f"L'élection « {election.slug} » n'a pas de clés de confidentialité : rien à détruire.", code="no_privacy_keys")
    if row.token_secret_wrapped is None:
        raise Conflict(f"Les clés de l'élection « {election.slug} » ont déjà été détruites le {row.shredded_at:%d/%m/%Y}.", code="already_shredded")
    early = row.retention_until is not None and today < row.retention_until
    if early and not force:
        raise WrongPhase(
            f"La date de conservation de l'élection « {election.slug} » est le {row.retention_until:%d/%m/%Y} : "
            "les clés ne peuvent pas être détruites avant (ou utilisez --avant-terme sur décision écrite).",
            code="retention_not_reached",
        )
    counts = {
        round_id: count
        for round_id, count in await session.execute(
            select(Checkin.round_id, func.count())
            .join(Round, Round.id == Checkin.round_id)
            .where(Round.election_id == election.id)
            .group_by(Checkin.round_id)
        )
    }
    row.token_secret_wrapped = None
    row.display_key_wrapped = None
    row.shredded_at = utcnow()
    _forget_keys()
    record(
        session,
        events.PrivacyKeysShredded(
            actor=actor,
            election_id=election.id,
            retention_until=row.retention_until.isoformat() if row.retention_until else None,
            checkins_per_round={str(key): value for key, value in sorted(counts.items())},
            before_retention_date=early,
        ),
    )
    await session.flush()
    return ShredReport(election.id, counts, row.retention_until, early)
