"""Settings: development defaults in dev, refused in prod."""

from __future__ import annotations

import ssl

import pytest
from pydantic import ValidationError

from leadflow.kafka import client_options
from leadflow.settings import Settings


class _Svc(Settings):
    service_name = "svc"
    default_port = 8009


def test_dev_defaults_to_a_sqlite_file_per_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADFLOW_ADMIN_TOKEN", "dev-token")
    s = _Svc()
    assert s.database_url == "sqlite+aiosqlite:///var/svc.db"
    assert s.http_port == 8009
    assert s.kafka_bootstrap == "localhost:9092"


def test_prod_refuses_a_development_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADFLOW_ENV", "prod")
    monkeypatch.setenv("LEADFLOW_ADMIN_TOKEN", "dev-token")
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", "postgresql+asyncpg://db/x")
    with pytest.raises(ValidationError, match="development token"):
        _Svc()


def test_prod_refuses_sqlite_and_a_missing_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADFLOW_ENV", "prod")
    monkeypatch.setenv("LEADFLOW_ADMIN_TOKEN", "x" * 40)
    with pytest.raises(ValidationError, match="DATABASE_URL must be set"):
        _Svc()
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", "sqlite+aiosqlite:///x.db")
    with pytest.raises(ValidationError, match="refuses SQLite"):
        _Svc()


def test_the_admin_token_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEADFLOW_ADMIN_TOKEN", raising=False)
    with pytest.raises(ValidationError, match="admin_token"):
        _Svc()


def test_webhook_allowed_hosts_is_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADFLOW_ADMIN_TOKEN", "dev-token")
    monkeypatch.setenv("LEADFLOW_WEBHOOK_ALLOWED_HOSTS", "crm.internal, 10.0.0.5")
    assert _Svc().webhook_allowed_hosts == ["crm.internal", "10.0.0.5"]


def test_kafka_security_settings_become_client_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADFLOW_ADMIN_TOKEN", "dev-token")
    assert client_options(_Svc()) == {}
    monkeypatch.setenv("LEADFLOW_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("LEADFLOW_KAFKA_SASL_USERNAME", "leadflow-lead-scoring")
    monkeypatch.setenv("LEADFLOW_KAFKA_SASL_PASSWORD", "s3cret")
    options = client_options(_Svc())
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "leadflow-lead-scoring"
    assert options["sasl_plain_password"] == "s3cret"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert "s3cret" not in repr(_Svc())
