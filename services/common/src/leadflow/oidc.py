"""OIDC JWTs as a second token source: signature from the issuer's JWKS, pinned algorithms,
issuer, audience and expiry checked; the role from a configured claim."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import jwt

if TYPE_CHECKING:
    from leadflow.access import Role
    from leadflow.settings import Settings

log = logging.getLogger(__name__)

_ROLES = frozenset({"admin", "analyst", "sales_tool", "rep"})
# Symmetric or empty algorithms would let anyone who reads the JWKS sign tokens.
REFUSED_ALGORITHMS = frozenset({"none", "HS256", "HS384", "HS512"})
MAX_JWT_CHARS = 8192


class OidcVerifier:
    """Verifies JWTs of one issuer; its signing keys are fetched (and cached) off the loop."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str,
        algorithms: list[str],
        role_claim: str = "leadflow_role",
        subject_claim: str = "sub",
    ) -> None:
        bad = set(algorithms) & REFUSED_ALGORITHMS
        if bad or not algorithms:
            raise ValueError(f"OIDC algorithms must be asymmetric; refused: {sorted(bad)}")
        self.issuer = issuer
        self.audience = audience
        self.algorithms = list(algorithms)
        self.role_claim = role_claim
        self.subject_claim = subject_claim
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5)

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

    async def verify(self, token: str) -> tuple[Role, str | None, str | None] | None:
        """(role, subject, jti) of a valid token, or None."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            return None
        if header.get("alg") not in self.algorithms:
            return None  # before any key fetch: `none` and HS* never reach the JWKS
        try:
            # PyJWKClient fetches over blocking urllib: keep it off the event loop.
            key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud"]},
            )
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            log.info("OIDC token refused: %s", type(exc).__name__)
            return None
        role = claims.get(self.role_claim)
        if role not in _ROLES:
            return None
        subject = claims.get(self.subject_claim)
        subject = subject if isinstance(subject, str) and subject else None
        if role == "rep" and subject is None:
            return None
        jti = claims.get("jti")
        return role, subject, jti if isinstance(jti, str) else None
