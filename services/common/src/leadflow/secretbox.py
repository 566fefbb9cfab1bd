"""Secrets at rest (webhook signing secrets): sealed with a key from settings, never stored bare.

`LEADFLOW_SECRETS_KEY` holds one key, or several separated by commas during a rotation: the
first seals, every one opens. Each is any random string of 32+ characters; the Fernet key
(AES-128-CBC + HMAC-SHA256) is derived from it with HKDF. In dev, without the setting, the
key derives from the admin token (as access tokens' signing key does).
"""

from __future__ import annotations

import base64
import functools
import os

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import Connection

from leadflow.prod_guard import split_keys
from leadflow.settings import Settings

# split_keys lives in prod_guard (settings' validators need it; settings cannot import this).
__all__ = [
    "SEALED_PREFIX",
    "SecretBox",
    "SecretUnreadable",
    "reseal_rows",
    "secret_box",
    "secret_box_from_environment",
    "split_keys",
]

SEALED_PREFIX = "lfenc1:"
_INFO = b"leadflow secrets at rest v1"
_DEV_SALT = b"leadflow-dev-secrets-key"


class SecretUnreadable(ValueError):
    """A sealed value no configured key opens (a key was removed or is wrong)."""


def _fernet(material: bytes, salt: bytes | None = None) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO).derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


class SecretBox:
    """Seals and opens short secrets; a value without the prefix is a row from before."""

    def __init__(self, fernets: list[Fernet]) -> None:
        self._fernet = MultiFernet(fernets)
        self._opened: dict[str, str] = {}  # sealed → plain, for the sender's hot path

    def seal(self, plain: str) -> str:
        """The value to store."""
        return SEALED_PREFIX + self._fernet.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret a stored value holds (a value stored bare before sealing: itself)."""
        if not stored.startswith(SEALED_PREFIX):
            return stored
        found = self._opened.get(stored)
        if found is not None:
            return found
        try:
            plain = self._fernet.decrypt(stored[len(SEALED_PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise SecretUnreadable("no LEADFLOW_SECRETS_KEY opens this stored secret") from exc
        if len(self._opened) >= 4096:
            self._opened.clear()
        self._opened[stored] = plain
        return plain

    @staticmethod
    def is_sealed(stored: str) -> bool:
        return stored.startswith(SEALED_PREFIX)


@functools.lru_cache(maxsize=8)
def _box(keys: tuple[str, ...], admin_token: str) -> SecretBox:
    if keys:
        return SecretBox([_fernet(k.encode()) for k in keys])
    return SecretBox([_fernet(admin_token.encode(), _DEV_SALT)])


def secret_box(settings: Settings) -> SecretBox:
    """The box for these settings (the same object for the same keys)."""
    value = settings.secrets_key.get_secret_value() if settings.secrets_key else ""
    return _box(split_keys(value), settings.admin_token.get_secret_value())


def secret_box_from_environment() -> SecretBox | None:
    """The box the services use, from the environment alone (for migrations); None without
    LEADFLOW_SECRETS_KEY, unless in dev with LEADFLOW_ADMIN_TOKEN (prod services never use
    the key derived from it)."""
    keys = split_keys(os.environ.get("LEADFLOW_SECRETS_KEY", ""))
    admin = os.environ.get("LEADFLOW_ADMIN_TOKEN", "")
    dev = os.environ.get("LEADFLOW_ENV", "dev") != "prod"
    if not keys and not (admin and dev):
        return None
    return _box(keys, admin)


def reseal_rows(
    conn: Connection, table: str, key: str, column: str, *, listed: bool, seal: bool = True
) -> int:
    """A migration's step: seal every bare value of `column` (a string, or a JSON list of
    strings if `listed`), or with `seal=False` open every sealed one; how many rows changed.

    The key comes from the environment the migration runs in, needed only if a row changes.
    """
    t = sa.table(
        table, sa.column(key, sa.Uuid), sa.column(column, sa.JSON if listed else sa.String)
    )
    rows = conn.execute(sa.select(t.c[key], t.c[column]).where(t.c[column].is_not(None))).all()

    def changes(value: str) -> bool:
        return SecretBox.is_sealed(value) != seal

    todo = [r for r in rows if any(map(changes, r[1] if listed else [r[1]]))]
    if not todo:
        return 0
    box = secret_box_from_environment()
    if box is None:
        raise RuntimeError(
            f"{table}.{column} holds secrets to (un)seal: run this migration with "
            "LEADFLOW_SECRETS_KEY set (in dev, LEADFLOW_ADMIN_TOKEN)"
        )

    def convert(value: str) -> str:
        if not changes(value):
            return value
        return box.seal(value) if seal else box.open(value)

    for row_key, value in todo:
        new = [convert(v) for v in value] if listed else convert(value)
        conn.execute(t.update().where(t.c[key] == row_key).values({column: new}))
    return len(todo)
