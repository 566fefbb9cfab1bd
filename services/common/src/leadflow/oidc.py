"""OIDC JWTs as a second token source: signature from the issuer's JWKS, pinned algorithms,
issuer, audience and expiry checked; the role from a configured claim.

The issuer's key set is trusted for `JWKS_LIFESPAN` seconds after it was fetched, then fetched
again, so a key the issuer removed stops counting within that time. Fetches run one at a time
on a thread of their own (never the loop's default executor, which DNS lookups need), and at
most one per `JWKS_RETRY_SECONDS`: in between, a kid the set does not hold is refused without
a fetch, so a flood of made-up kids or a dead JWKS endpoint costs one fetch, not one a token.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import jwt

from leadflow.access_tokens import ROLES, Role, as_uuid
from leadflow.prod_guard import refused_algorithms

if TYPE_CHECKING:
    from leadflow.settings import Settings

log = logging.getLogger(__name__)

MAX_JWT_CHARS = 8192
JWKS_LIFESPAN = 300.0  # seconds a fetched key set is trusted (PyJWT's default set lifespan)
JWKS_RETRY_SECONDS = 10.0  # seconds between two fetches, whether the first worked or not
JWKS_TIMEOUT = 5.0


class OidcVerifier:
    """Verifies JWTs of one issuer; its signing keys are fetched (and cached) off the loop."""

    # Why not PyJWKClient's own caches: its per-kid cache never expires (a removed key would
    # stay trusted), and a lookup through it needs a thread even when the set is at hand.

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str,
        algorithms: list[str],
        role_claim: str = "leadflow_role",
        subject_claim: str = "sub",
        lifespan: float = JWKS_LIFESPAN,
        retry_seconds: float = JWKS_RETRY_SECONDS,
        timeout: float = JWKS_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        bad = refused_algorithms(algorithms)
        if bad or not algorithms:
            raise ValueError(f"OIDC algorithms must be asymmetric; refused: {bad}")
        self.issuer = issuer
        self.audience = audience
        self.algorithms = list(algorithms)
        self.role_claim = role_claim
        self.subject_claim = subject_claim
        self.lifespan = lifespan
        self.retry_seconds = retry_seconds
        self._jwks = jwt.PyJWKClient(
            jwks_url, cache_keys=False, cache_jwk_set=False, timeout=timeout
        )
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leadflow-jwks")
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -math.inf  # the last fetch that worked
        self._tried_at = -math.inf  # the last fetch begun
        self._fetching: asyncio.Future[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcVerifier | None:
        """The verifier the settings describe, or None when OIDC is not configured."""
        if not settings.oidc_issuer:
            return None
        return cls(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience or "",
            jwks_url=settings.oidc_jwks_url or "",
            algorithms=list(settings.oidc_algorithms),
            role_claim=settings.oidc_role_claim,
            subject_claim=settings.oidc_subject_claim,
        )

    @staticmethod
    def looks_like_jwt(token: str) -> bool:
        return token.count(".") == 2 and len(token) <= MAX_JWT_CHARS

    async def verify(self, token: str) -> tuple[Role, str | None, str | None, int | None] | None:
        """(role, subject, jti, exp) of a valid token, or None."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            return None
        if header.get("alg") not in self.algorithms:
            return None  # before any key fetch: `none` and HS* never reach the JWKS
        kid = header.get("kid")
        key = await self.signing_key(kid) if isinstance(kid, str) and kid else None
        if key is None:
            log.info("OIDC token refused: no signing key for its kid")
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.InvalidTokenError as exc:
            log.info("OIDC token refused: %s", type(exc).__name__)
            return None
        role = claims.get(self.role_claim)
        if role not in ROLES:
            return None
        subject = claims.get(self.subject_claim)
        subject = subject if isinstance(subject, str) and subject else None
        if role == "rep":  # its subject is a rep_id: a UUID, one spelling
            rep_id = as_uuid(subject)
            if rep_id is None:
                return None
            subject = str(rep_id)
        jti, exp = claims.get("jti"), claims.get("exp")
        return (
            role,
            subject,
            jti if isinstance(jti, str) else None,
            exp if isinstance(exp, int) else None,
        )

    async def signing_key(self, kid: str) -> jwt.PyJWK | None:
        """The issuer's key `kid`: from the set at hand, else after (at most) one fetch."""
        if self._clock() - self._fetched_at > self.lifespan:
            self._keys = {}  # too old to trust: a key the issuer removed must stop counting
        key = self._keys.get(kid)
        if key is not None:
            return key  # no thread, no fetch
        if self._fetching is None:
            if self._clock() - self._tried_at < self.retry_seconds:
                return None  # fetched (or failed) a moment ago: an unknown kid stays unknown
            self._tried_at = self._clock()
            self._fetching = asyncio.ensure_future(self._fetch())
        await asyncio.shield(self._fetching)  # every waiter shares the one fetch
        return self._keys.get(kid)

    async def _fetch(self) -> None:
        """Fetch the key set on the verifier's own thread; a failure keeps the set at hand."""
        try:
            found = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._jwks.get_signing_keys
            )
        except Exception as exc:  # any failure means no new keys: logged, not raised
            log.warning("OIDC JWKS fetch failed: %s", type(exc).__name__)
        else:
            self._keys = {k.key_id: k for k in found if k.key_id}
            self._fetched_at = self._clock()
        finally:
            self._fetching = None

    def close(self) -> None:
        """Let the fetch thread go (a fetch under way ends by its timeout)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
