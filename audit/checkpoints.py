"""Signing checkpoints: the log's Ed25519 key and the C2SP signed-note / tlog-checkpoint text.

A checkpoint commits to the tree at one size:

    <origin>\\n<tree size>\\n<base64 root hash>\\n\\n— <key name> <base64(key id || signature)>\\n

The origin is the key's name (for instance ``primaires.example.org/journal``), so the one key
file says everything about the log's identity. Key files use the Go ``sumdb/note`` text forms,
which generic transparency-log tooling reads:

    signer (secret)   PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || 32-byte seed)>
    verifier (public) <name>+<key id hex>+<base64(0x01 || 32-byte public key)>

Parsing and checking are in `audit.verifier` (the independent verifier the high authority
runs); this module only writes.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from audit.verifier import ED25519, SIGNATURE_PREFIX, PublicKey, key_id, parse_public_key

SIGNER_PATTERN = re.compile(r"PRIVATE\+KEY\+([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})")
NAME_PATTERN = re.compile(r"[^\s+]+")


class KeyFileError(ValueError):
    """The signing key file is missing or unreadable (message in French, for operators)."""


def key_name_for(public_url: str) -> str:
    """A default log name from the application's public address: 'host[:port]/journal'."""
    host = urlsplit(public_url).netloc or "primaires"
    return f"{host}/journal"


@dataclass(frozen=True)
class Signer:
    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Signer:
        if not NAME_PATTERN.fullmatch(name):
            raise KeyFileError(f"Nom de journal invalide : « {name} » (ni espace ni « + »).")
        return cls(name=name, private_key=Ed25519PrivateKey.generate())

    @classmethod
    def from_text(cls, text: str) -> Signer:
        match = SIGNER_PATTERN.fullmatch(text.strip())
        if not match:
            raise KeyFileError("Fichier de clé de signature illisible (format PRIVATE+KEY+… attendu).")
        name, hex_id, encoded = match.groups()
        blob = base64.b64decode(encoded)
        if len(blob) != 33 or blob[0] != ED25519:
            raise KeyFileError("Fichier de clé de signature : ce n'est pas une clé Ed25519.")
        signer = cls(name=name, private_key=Ed25519PrivateKey.from_private_bytes(blob[1:]))
        if signer.key_id.hex() != hex_id:
            raise KeyFileError("Fichier de clé de signature corrompu : l'identifiant ne correspond pas à la clé.")
        return signer

    @property
    def public_raw(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_raw)

    def to_text(self) -> str:
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        encoded = base64.b64encode(bytes([ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{encoded}"

    @property
    def verifier_key(self) -> str:
        """The public key in verifier-key form (what is published and exported)."""
        encoded = base64.b64encode(bytes([ED25519]) + self.public_raw).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @property
    def public_key(self) -> PublicKey:
        return parse_public_key(self.verifier_key + "\n")

    def sign_note(self, body: str) -> str:
        """A signed note: the body (ending with a newline), a blank line, our signature line."""
        if not body.endswith("\n") or "\n\n" in body:
            raise ValueError("a note body ends with one newline and has no blank line")
        signature = self.private_key.sign(body.encode())
        encoded = base64.b64encode(self.key_id + signature).decode()
        return f"{body}\n{SIGNATURE_PREFIX}{self.name} {encoded}\n"

    def sign_checkpoint(self, size: int, root: bytes) -> str:
        return self.sign_note(checkpoint_body(self.name, size, root))


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def write_signer(signer: Signer, path: Path, *, overwrite: bool = False) -> None:
    """Write the secret key file, readable by its owner only."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise KeyFileError(f"Le fichier {path} existe déjà : une clé n'est jamais écrasée sans --force.")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(signer.to_text() + "\n")


def read_signer(path: Path) -> Signer:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise KeyFileError(
            f"Clé de signature du journal introuvable : {path}. Créez-la avec « primaires audit keygen »."
        ) from None
    except OSError as error:
        raise KeyFileError(f"Clé de signature du journal illisible ({path}) : {error}.") from None
    return Signer.from_text(text)
