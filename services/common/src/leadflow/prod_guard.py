"""What prod refuses at start: guessable secrets, and Kafka or PostgreSQL without TLS.

Pure functions over values, called by the settings' validators (settings.py); the refused
JWT algorithms (every env) and the secrets key's split are here too, so that oidc.py and
secretbox.py share them with the settings.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

MIN_SECRET_CHARS = 32
# A random 32-character hex token (secrets.token_hex(16), 128 bits) shows at least 9
# distinct characters and about 95 bits of empirical entropy in 20,000 draws; a token below
# these marks is made of few symbols, not drawn at random.
MIN_DISTINCT_CHARS = 8
MIN_ENTROPY_BITS = 80.0
# Words people put in "random" tokens (5+ characters, so a random base64 token holds one
# about once in a million draws, a random 64-digit hex one "123456" once in 300,000).
_WORDS = (
    "password", "passw0rd", "secret", "admin", "changeme", "change-me", "letmein", "qwerty",
    "123456", "654321", "leadflow", "example", "default", "welcome", "dragon", "monkey",
    "master", "token", "iloveyou", "sunshine", "trustno1", "football",
)  # fmt: skip
_SEQUENCE_RUN = 8  # "abcdefgh", "23456789", "98765432": typed, not drawn
TLS_SSLMODES = ("require", "verify-ca", "verify-full")
# Symmetric or empty JWT algorithms would let anyone who reads the issuer's JWKS sign tokens
# (lower case: compared without case, via refused_algorithms).
REFUSED_JWT_ALGORITHMS = frozenset({"none", "hs256", "hs384", "hs512"})


def _entropy_bits(value: str) -> float:
    """Shannon entropy of the characters as they occur, times the length."""
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values()) * n


def _repeats_a_pattern(value: str) -> bool:
    n = len(value)
    return any(value == (value[:p] * (n // p + 1))[:n] for p in range(1, n // 2 + 1))


def _repeats_a_block(value: str, size: int = 7) -> bool:
    """A run of `size` characters seen twice (about 1 in 150,000 for 64 random hex digits)."""
    seen: set[str] = set()
    for i in range(len(value) - size + 1):
        block = value[i : i + size]
        if block in seen:
            return True
        seen.add(block)
    return False


def _has_sequence(value: str) -> bool:
    run, last = 1, 0
    for a, b in itertools.pairwise(value):
        step = ord(b) - ord(a)
        run = (run + 1 if step == last else 2) if step in (1, -1) else 1
        last = step
        if run >= _SEQUENCE_RUN:
            return True
    return False


def weak_secret(value: str) -> str | None:
    """Why a token or key is guessable (too short, repetitive, few symbols, words), or None."""
    if len(value) < MIN_SECRET_CHARS:
        return f"shorter than {MIN_SECRET_CHARS} characters"
    if _repeats_a_pattern(value) or _repeats_a_block(value):
        return "a repeated pattern"
    if 3 * sum(a == b for a, b in itertools.pairwise(value)) >= len(value):
        return "repeated characters"  # random hex repeats about one character in 16
    if len(set(value)) < MIN_DISTINCT_CHARS:
        return f"fewer than {MIN_DISTINCT_CHARS} distinct characters"
    if _entropy_bits(value) < MIN_ENTROPY_BITS:
        return "too little randomness (few symbols, many repeats)"
    lowered = value.lower()
    word = next((w for w in _WORDS if w in lowered), None)
    if word is not None:
        return f"contains the word or run {word!r}"
    if _has_sequence(lowered):
        return f"contains a run of {_SEQUENCE_RUN} consecutive characters"
    return None


def refused_algorithms(algorithms: Iterable[str]) -> list[str]:
    """The symmetric or empty JWT algorithms among `algorithms` (any case), sorted."""
    return sorted({a for a in algorithms if a.lower() in REFUSED_JWT_ALGORITHMS})


def split_keys(value: str) -> tuple[str, ...]:
    """The keys of a LEADFLOW_SECRETS_KEY value (comma-separated, first seals)."""
    return tuple(k.strip() for k in value.split(",") if k.strip())


def database_sslmode(url: str, setting: str) -> str:
    """The TLS mode the database connection uses: the setting, else the URL's ssl/sslmode."""
    if setting:
        return setting
    query = parse_qs(urlsplit(url).query)
    for key in ("ssl", "sslmode"):
        if query.get(key):
            return query[key][-1]
    return ""


def kafka_problem(
    protocol: str, *, sasl_username: str | None, sasl_password: bool, certfile: str | None,
    keyfile: str | None,
) -> str | None:  # fmt: skip
    """Why this Kafka connection is plaintext or unauthenticated, or None."""
    if protocol not in ("SSL", "SASL_SSL"):
        return (
            f"Kafka over {protocol} is not encrypted: set LEADFLOW_KAFKA_SECURITY_PROTOCOL "
            "to SASL_SSL or SSL"
        )
    if protocol == "SASL_SSL" and not (sasl_username and sasl_password):
        return "SASL_SSL needs LEADFLOW_KAFKA_SASL_USERNAME and LEADFLOW_KAFKA_SASL_PASSWORD"
    if protocol == "SSL" and not (certfile and keyfile):
        return (
            "Kafka over SSL without a client certificate is unauthenticated: set "
            "LEADFLOW_KAFKA_SSL_CERTFILE and LEADFLOW_KAFKA_SSL_KEYFILE (mTLS) or use SASL_SSL"
        )
    return None


def database_problem(url: str, sslmode_setting: str) -> str | None:
    """Why this PostgreSQL connection may go without TLS, or None."""
    mode = database_sslmode(url, sslmode_setting)
    if mode in TLS_SSLMODES:
        return None
    return (
        f"PostgreSQL without TLS (ssl mode {mode or 'unset'!r}): set LEADFLOW_DATABASE_SSLMODE "
        "or ?ssl= in LEADFLOW_DATABASE_URL to require, verify-ca or verify-full"
    )
