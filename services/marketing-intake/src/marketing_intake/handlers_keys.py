"""marketing-intake's API key use cases: create (shown once), check, list, revoke."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from datetime import UTC, datetime

from leadflow.service import Runtime
from marketing_intake import repo
from marketing_intake.models import ApiKey

KEY_PREFIX = "lf_sk_"


def hash_key(key: str) -> str:
    """Keys are 256 random bits, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(rt: Runtime, name: str) -> tuple[ApiKey, str]:
    """A new key; the plaintext is returned once and never stored."""
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=uuid.uuid4(),
        name=name,
        prefix=plaintext[: len(KEY_PREFIX) + 4],
        key_hash=hash_key(plaintext),
        created_at=datetime.now(UTC),
    )
    async with rt.transaction() as uow:
        s = uow.session
        s.add(key)
    return key, plaintext


# Live keys seen in the last KEY_CACHE_SECONDS, by hash: most calls skip the database. A
# revocation applies at once in the replica that made it, within this time in the others.
KEY_CACHE_SECONDS = 2.0
_live_keys: dict[str, tuple[float, ApiKey]] = {}
# One lookup per key at a time: when a key's entry runs out, the requests that arrive while
# it is read again wait for that read instead of each making their own (counted under load:
# docs/decisions.md, session 9).
_lookups: dict[str, asyncio.Task[ApiKey | None]] = {}
# Bumped by each revocation: a lookup that began before one does not cache what it read.
_revocations = [0]


async def authenticate(rt: Runtime, plaintext: str) -> ApiKey | None:
    """The live key with this plaintext, if any."""
    if not plaintext.startswith(KEY_PREFIX):
        return None
    digest = hash_key(plaintext)
    cached = _live_keys.get(digest)
    if cached is not None and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
        return cached[1]
    lookup = _lookups.get(digest)
    # A lookup left by a loop that closed before it finished (tests run apps on several
    # loops; a service has one) never ends: start a new one instead of waiting on it.
    if lookup is None or lookup.get_loop() is not asyncio.get_running_loop():
        lookup = asyncio.create_task(_look_up(rt, digest))
        _lookups[digest] = lookup
        lookup.add_done_callback(lambda done: _finished(digest, done))
    # Shielded: a caller that goes away (its client hung up) does not cancel the others' read.
    return await asyncio.shield(lookup)


async def _look_up(rt: Runtime, digest: str) -> ApiKey | None:
    began, revocations = time.monotonic(), _revocations[0]
    key = await _read(rt, digest)
    if key is None or key.revoked_at is not None:
        _live_keys.pop(digest, None)
        return None
    if revocations == _revocations[0]:
        if len(_live_keys) > 10_000:
            _live_keys.clear()
        _live_keys[digest] = (began, key)
    return key


async def _read(rt: Runtime, digest: str) -> ApiKey | None:
    async with rt.sessions() as s:
        return await repo.key_by_hash(s, digest)


def _finished(digest: str, lookup: asyncio.Task[ApiKey | None]) -> None:
    if _lookups.get(digest) is lookup:
        del _lookups[digest]
    if not lookup.cancelled():
        lookup.exception()  # retrieved: a database error reaches the waiting callers


async def list_api_keys(rt: Runtime) -> list[ApiKey]:
    async with rt.sessions() as s:
        return await repo.list_keys(s)


async def revoke_api_key(rt: Runtime, key_id: uuid.UUID) -> ApiKey | None:
    """Revoke a key (at once, for every later request); None if unknown."""
    async with rt.transaction() as uow:
        s = uow.session
        key = await repo.get_key(s, key_id)
        if key is not None and key.revoked_at is None:
            key.revoked_at = datetime.now(UTC)
    if key is not None:
        _revocations[0] += 1
        _live_keys.pop(key.key_hash, None)
        _lookups.pop(key.key_hash, None)  # a later request reads it again, revoked
    return key
