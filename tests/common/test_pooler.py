"""`LEADFLOW_DATABASE_POOLER=pgbouncer-transaction`: what it changes and what it refuses
(issue 20); tests/common/test_pooler_db.py runs it through a real PgBouncer."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from leadflow.db_limits import DbLimits, relay_engine
from leadflow.settings import Settings

PG = "postgresql+asyncpg://app:pw@pgbouncer.example:6432/leads"
DIRECT = "postgresql+asyncpg://app:pw@primary.example:5432/leads"


class _Svc(Settings):
    service_name = "svc"


def _settings(**kw: object) -> _Svc:
    return _Svc(admin_token="dev-token", database_url=PG, **kw)  # type: ignore[arg-type]


def test_the_transaction_pooler_without_a_relay_url_is_refused_naming_both_settings() -> None:
    with pytest.raises(ValidationError) as refused:
        _settings(database_pooler="pgbouncer-transaction")
    message = str(refused.value)
    assert "LEADFLOW_DATABASE_POOLER=pgbouncer-transaction" in message
    assert "LEADFLOW_RELAY_DATABASE_URL" in message
    assert "session-level advisory lock" in message


def test_an_unknown_pooler_is_refused() -> None:
    with pytest.raises(ValidationError, match="database_pooler"):
        _settings(database_pooler="pgbouncer-statement")


def test_the_relay_url_must_be_postgresql_and_with_tls_in_prod() -> None:
    with pytest.raises(ValidationError, match="RELAY_DATABASE_URL is for PostgreSQL"):
        _settings(relay_database_url="sqlite+aiosqlite:///x.db")
    prod = {
        "env": "prod",
        "admin_token": "Zq8vN3kT1pX6wR9mB2cF5hJ7uY4eA0sD",
        "token_secret": "Lw3eR8tY1uI6oP9aS2dF5gH7jK4lZ0xC",
        "secrets_key": "Mn4bV7cX2zA9sD6fG1hJ8kL3qW5eR0tY",
        "database_url": DIRECT + "?ssl=verify-full",
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_username": "svc",
        "kafka_sasl_password": "Pk2jH5gF8dS1aQ4wE7rT0yU3iO6pL9zX",
    }
    with pytest.raises(
        ValidationError, match="LEADFLOW_RELAY_DATABASE_URL: PostgreSQL without TLS"
    ):
        _Svc(**prod, relay_database_url=DIRECT)  # type: ignore[arg-type]
    ok = _Svc(**prod, relay_database_url=DIRECT + "?ssl=verify-full")  # type: ignore[arg-type]
    assert ok.relay_database_url.endswith("ssl=verify-full")


def test_behind_the_pooler_no_statement_is_cached_and_no_startup_parameter_sent() -> None:
    default = DbLimits().connect_args()
    assert "statement_timeout" in default["server_settings"]  # sent at startup, as before
    assert "statement_cache_size" not in default
    args = DbLimits(pooler="pgbouncer-transaction").connect_args()
    assert args["server_settings"] == {}
    assert args["statement_cache_size"] == 0  # asyncpg's cache
    assert args["prepared_statement_cache_size"] == 0  # SQLAlchemy's
    names = {args["prepared_statement_name_func"]() for _ in range(100)}
    assert len(names) == 100  # no two sessions share a statement name
    assert args["command_timeout"] == 30.0  # client-side: still bounded


def test_the_settings_reach_the_limits_and_the_relay_gets_its_own_engine() -> None:
    s = _settings(database_pooler="pgbouncer-transaction", relay_database_url=DIRECT)
    assert DbLimits.from_settings(s).pooler == "pgbouncer-transaction"
    assert relay_engine(_settings(), engine=None) is None  # type: ignore[arg-type]
    own = relay_engine(s, engine=None)  # type: ignore[arg-type]
    assert own is not None
    assert own.url.host == "primary.example"
    assert own.pool.size() == 2  # type: ignore[attr-defined]
