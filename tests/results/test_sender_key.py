"""The SMS sender's keyed hash: the cached HMAC gives the very key the formula gives."""

from __future__ import annotations

import hashlib
import hmac

from results import service
from services.settings import settings


def test_sender_key_is_the_keyed_hash_of_the_number() -> None:
    secret = settings().secret_key.encode()
    key = hmac.new(secret, b"primaires/results/sender/v1", hashlib.sha256).digest()
    for phone in ("+33612345678", "+33700000000", "+590690123456"):
        assert service.sender_key(phone) == hmac.new(key, phone.encode(), hashlib.sha256).hexdigest()[:40]
    # The cached HMAC object is copied, never fed: the same number gives the same key twice.
    assert service.sender_key("+33612345678") == service.sender_key("+33612345678")
