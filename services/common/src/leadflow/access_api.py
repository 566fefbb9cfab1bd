"""`POST /v1/tokens` and `DELETE /v1/tokens/{token_id}` on every service, and the follower
that keeps each replica's revoked set in step with the `leadflow.tokens` topic.

A revocation commits to the service's outbox before it is answered, so an answered DELETE is
never lost: the relay publishes it when Kafka is there. The issuing service refuses the
token at once; every other replica reads the compacted topic from its beginning, with no
consumer group, and refuses it as soon as the record arrives (about a second).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import APIRouter, FastAPI, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from leadflow.access import AdminOnly, Role, access_of, as_uuid, roles_text
from leadflow.access_tokens import Claims, RevokedTokens, mint_token, new_token_id
from leadflow.events import new_event_id
from leadflow.http import invalid
from leadflow.kafka import TOKENS_TOPIC, client_options
from leadflow.outbox import add_record
from leadflow.settings import Settings

log = logging.getLogger(__name__)

# A revocation is kept this long: past the longest lifetime a token can be issued with.
REVOKED_FOR_SECONDS = 366 * 86400
TOKEN_ID_PATTERN = r"^tok_[0-9a-f]{24}$"
RETRY_SECONDS = 2.0

router = APIRouter(prefix="/v1/tokens", tags=["access"])


class TokenRequest(BaseModel):
    """A token to issue."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    subject: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="rep: the rep_id (required); sales_tool: the integration's name",
    )
    ttl_days: int | None = Field(default=None, ge=1, le=365)


class IssuedToken(BaseModel):
    """A new token: `token` is shown this once and stored nowhere."""

    token_id: str
    token: str
    role: Role
    subject: str | None
    expires_at: datetime


@router.post(
    "",
    status_code=201,
    summary="Issue an access token",
    description="Issue a signed `lf_at_` token that every service accepts until it expires "
    "or is revoked. A `rep` token needs `subject` (the rep_id). " + roles_text("admin"),
)
async def issue_token(body: TokenRequest, request: Request, _: AdminOnly) -> IssuedToken:
    subject = body.subject
    if body.role == "rep":
        rep_id = as_uuid(subject)
        if rep_id is None:
            raise invalid([("subject", "a rep token needs the rep_id (a UUID) as subject")])
        subject = str(rep_id)  # one spelling of the rep, whatever was sent
    access = access_of(request.app.state)
    days = body.ttl_days or access.settings.token_default_ttl_days
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    claims = Claims(new_token_id(), body.role, subject, int(expires.timestamp()))
    token = mint_token(access.key, claims)
    log.info("token issued", extra={"token_id": claims.token_id, "role": body.role})
    return IssuedToken(
        token_id=claims.token_id,
        token=token,
        role=body.role,
        subject=subject,
        expires_at=expires,
    )


@router.delete(
    "/{token_id}",
    status_code=204,
    summary="Revoke an access token",
    description="Every service refuses the token within seconds (this one at once; the "
    "others when the revocation reaches them through Kafka). Revoking an unknown or "
    "already revoked id changes nothing. " + roles_text("admin"),
)
async def revoke_token(
    token_id: Annotated[str, Path(pattern=TOKEN_ID_PATTERN, max_length=28)],
    request: Request,
    _: AdminOnly,
) -> Response:
    now = time.time()
    until = now + REVOKED_FOR_SECONDS
    value = json.dumps({"token_id": token_id, "revoked_at": int(now), "until": int(until)})
    runtime = request.app.state.runtime
    async with runtime.transaction() as session:
        add_record(
            session,
            record_id=new_event_id(),
            topic=TOKENS_TOPIC,
            key=token_id.encode(),
            value=value.encode(),
            headers=[("content-type", b"application/json")],
        )
    access_of(request.app.state).revoked.add(token_id, until)
    log.info("token revoked", extra={"token_id": token_id})
    return Response(status_code=204)


def apply_record(revoked: RevokedTokens, value: bytes | None, *, now: float) -> None:
    """Add one `leadflow.tokens` record to the revoked set (a malformed one is skipped)."""
    if value is None:
        return  # a tombstone: nothing to refuse
    try:
        record: Any = json.loads(value)
        token_id, until = record["token_id"], float(record["until"])
    except (ValueError, KeyError, TypeError):
        log.warning("skipping a malformed token revocation record")
        return
    if isinstance(token_id, str) and until > now:
        revoked.add(token_id, until)


async def follow_revocations(settings: Settings, revoked: RevokedTokens) -> None:
    """Read `leadflow.tokens` from the beginning, then follow it, for ever (no group, no
    commits: each replica needs every record). While Kafka is away it retries."""
    while True:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            client_id=f"{settings.service_name}-tokens",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **client_options(settings),
        )
        try:
            await consumer.start()
            if TOKENS_TOPIC not in await consumer.topics():  # never auto-create it
                log.warning("topic %s is missing; retrying", TOKENS_TOPIC)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            # Partition 0 first: the consumer learns a topic's partitions once it reads it.
            consumer.assign([TopicPartition(TOKENS_TOPIC, 0)])
            await consumer.seek_to_beginning()
            partitions = consumer.partitions_for_topic(TOKENS_TOPIC) or {0}
            if len(partitions) > 1:  # made by hand with more: read them all
                consumer.assign([TopicPartition(TOKENS_TOPIC, p) for p in sorted(partitions)])
                await consumer.seek_to_beginning()
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=1000)
                now = time.time()
                for records in batches.values():
                    for record in records:
                        apply_record(revoked, record.value, now=now)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Kafka away or refusing: try again, never stop following
            log.warning("following token revocations failed (%s); retrying", type(exc).__name__)
            await asyncio.sleep(RETRY_SECONDS)
        finally:
            try:
                async with asyncio.timeout(5):
                    await consumer.stop()
            except Exception:  # a consumer that never started
                log.debug("token follower stop failed", exc_info=True)


def install_access(app: FastAPI) -> Callable[[], Coroutine[Any, Any, None]]:
    """Mount the token routes on `app` and make its `Access`; return the revocation follower,
    a worker for the app's runtime."""
    access = access_of(app.state)
    app.include_router(router)
    settings = access.settings
    return lambda: follow_revocations(settings, access.revoked)
