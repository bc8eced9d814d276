"""Where the log's signing key lives, and loading it.

Production: `PRIMAIRES_AUDIT_KEY_PATH` names a file created once with `primaires audit keygen`
(keep a sealed offline copy: losing it means starting a new log; leaking it lets someone sign
forged checkpoints). Demo: the key is generated in the data folder on first use. Tests: in a
temporary folder of the process.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from audit.checkpoints import KeyFileError, Signer, key_name_for, read_signer, write_signer
from services.errors import AppError
from services.settings import Mode, settings

logger = logging.getLogger("primaires.audit")

_cache: dict[Path, tuple[float, Signer]] = {}
_test_folder: list[Path] = []


class NoSigningKey(AppError):
    status = 503
    code = "audit_key_missing"


def key_path() -> Path | None:
    current = settings()
    if current.audit_key_path is not None:
        return Path(current.audit_key_path)
    if current.mode == Mode.DEMO:
        return Path(current.data_dir) / "audit" / "journal.key"
    if current.mode == Mode.TEST:
        if not _test_folder:
            _test_folder.append(Path(tempfile.mkdtemp(prefix="primaires-audit-")))
        return _test_folder[0] / "journal.key"
    return None


def generated_automatically() -> bool:
    return settings().audit_key_path is None and settings().mode in (Mode.DEMO, Mode.TEST)


def signer() -> Signer | None:
    """The signing key, or None when none is configured (production without a key)."""
    path = key_path()
    if path is None:
        return None
    if not path.exists() and generated_automatically():
        write_signer(Signer.generate(key_name_for(settings().public_url)), path)
        logger.info("Clé de signature du journal créée : %s", path)
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        raise KeyFileError(
            f"Clé de signature du journal introuvable : {path}. Créez-la avec « primaires audit keygen »."
        ) from None
    cached = _cache.get(path)
    if cached is None or cached[0] != mtime:
        cached = (mtime, read_signer(path))
        _cache[path] = cached
    return cached[1]


def require_signer() -> Signer:
    try:
        found = signer()
    except KeyFileError as error:
        raise NoSigningKey(str(error)) from None
    if found is None:
        raise NoSigningKey(
            "Aucune clé de signature du journal n'est configurée : créez-la avec « primaires audit keygen » "
            "et indiquez son chemin dans PRIMAIRES_AUDIT_KEY_PATH."
        )
    return found
