"""Settings: development defaults in dev, refused in prod."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

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


# ---------------------------------------------------------------- prod: secrets and transport

STRONG = "q7Vd-2mKx9LrT_4bWn8ZcYe1HsJu6PfA3gNo5RiE0tU"  # secrets.token_urlsafe(32)
SECURE_PROD = {
    "LEADFLOW_ENV": "prod",
    "LEADFLOW_ADMIN_TOKEN": STRONG,
    "LEADFLOW_TOKEN_SECRET": "Xk3-vQ8pLm2Rz7Wt5Yb9Nc4Hd6Jf1Gs0Ae_uOiKyTqE",
    "LEADFLOW_SECRETS_KEY": "Hn5_Wq2Zx8Lc4Vb7Mk1Jd9Rf3Tg6Ys0Pe-aUoIiEyQw",
    "LEADFLOW_DATABASE_URL": "postgresql+asyncpg://svc:pw@db:5432/svc?ssl=verify-full",
    "LEADFLOW_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "LEADFLOW_KAFKA_SASL_USERNAME": "leadflow-svc",
    "LEADFLOW_KAFKA_SASL_PASSWORD": "s3cret",
}


def _prod(monkeypatch: pytest.MonkeyPatch, **changes: str | None) -> _Svc:
    for key, value in {**SECURE_PROD, **changes}.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    return _Svc()


def test_a_secure_prod_configuration_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _prod(monkeypatch).env == "prod"


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("a" * 32, "a repeated pattern"),
        ("x" * 40, "a repeated pattern"),
        ("ab" * 16, "a repeated pattern"),
        ("0123456789abcdef" * 2, "a repeated pattern"),
        ("aaaabbbbccccddddaaaabbbbccccdddd1", "a repeated pattern"),
        ("abababababababababababab1212121212", "a repeated pattern"),
        ("abcdefg1abcdefg2abcdefg3abcdefg4", "a repeated pattern"),
        ("aabbccddeeffgghhaabbccddeeffgghhab", "a repeated pattern"),
        ("Zq8xLp3vNc7tWb2y-Zq8xLp3vNc7tWb2y-x", "a repeated pattern"),
        ("aaaaaaabbbbbbbcccccccdddddddeeeeeeefffff1234", "repeated characters"),
        ("abcabdabeabfacbacdaceacfadbadcadeadf", "distinct characters"),
        ("MyCompanyPassword2024!production!", "'password'"),
        ("admin-token-for-leadflow-in-prod-2026", "'admin'"),
        ("changeme-Zq8x-Lp3v-Nc7t-Wb2y-Hd5k", "'changeme'"),
        ("Zq8xLp3vNc7tWb2yHd5k-hgfedcba-Rm4j", "consecutive"),
        ("Zq8xLp3vNc7tWb2yHd5k-23456789-Rm4j", "consecutive"),
        ("q7Vd-2mKx9LrT_4bWn8Z", "at least 32 characters"),
    ],
)
def test_prod_refuses_a_guessable_admin_token(
    monkeypatch: pytest.MonkeyPatch, token: str, why: str
) -> None:
    with pytest.raises(ValidationError, match="LEADFLOW_ADMIN_TOKEN") as caught:
        _prod(monkeypatch, LEADFLOW_ADMIN_TOKEN=token)
    assert why in str(caught.value)


@pytest.mark.parametrize(
    "token",
    [
        STRONG,
        "9f86d081884c7d659a2feaa0c55ad015",  # secrets.token_hex(16)
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "mT9#vL2$qR7!xZ4@nB8%wK1^pJ6&hF3*",
    ],
)
def test_prod_accepts_a_random_admin_token(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    assert _prod(monkeypatch, LEADFLOW_ADMIN_TOKEN=token).admin_token.get_secret_value() == token


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"LEADFLOW_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}, "Kafka over PLAINTEXT"),
        ({"LEADFLOW_KAFKA_SECURITY_PROTOCOL": None}, "Kafka over PLAINTEXT"),
        ({"LEADFLOW_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "Kafka over SASL_PLAINTEXT"),
        ({"LEADFLOW_KAFKA_SASL_PASSWORD": None}, "SASL_SSL needs"),
        ({"LEADFLOW_KAFKA_SASL_USERNAME": None}, "SASL_SSL needs"),
        ({"LEADFLOW_KAFKA_SECURITY_PROTOCOL": "SSL"}, "without a client certificate"),
        (
            {"LEADFLOW_KAFKA_SECURITY_PROTOCOL": "SSL", "LEADFLOW_KAFKA_SSL_CERTFILE": "/c.pem"},
            "without a client certificate",
        ),
        ({"LEADFLOW_DATABASE_URL": "postgresql+asyncpg://svc:pw@db/svc"}, "PostgreSQL without TLS"),
        (
            {"LEADFLOW_DATABASE_URL": "postgresql+asyncpg://svc:pw@db/svc?ssl=prefer"},
            "PostgreSQL without TLS",
        ),
        (
            {
                "LEADFLOW_DATABASE_URL": "postgresql+asyncpg://svc:pw@db/svc?ssl=require",
                "LEADFLOW_DATABASE_SSLMODE": "disable",
            },
            "PostgreSQL without TLS",
        ),
    ],
)
def test_prod_refuses_plaintext_or_unauthenticated_kafka_and_postgresql(
    monkeypatch: pytest.MonkeyPatch, changes: dict[str, str | None], why: str
) -> None:
    with pytest.raises(ValidationError, match="LEADFLOW_ALLOW_PLAINTEXT") as caught:
        _prod(monkeypatch, **changes)
    assert why in str(caught.value)


@pytest.mark.parametrize(
    "changes",
    [
        {
            "LEADFLOW_KAFKA_SECURITY_PROTOCOL": "SSL",
            "LEADFLOW_KAFKA_SSL_CERTFILE": "/certs/client.pem",
            "LEADFLOW_KAFKA_SSL_KEYFILE": "/certs/client.key",
        },
        {"LEADFLOW_DATABASE_URL": "postgresql+asyncpg://svc:pw@db/svc?ssl=require"},
        {"LEADFLOW_DATABASE_URL": "postgresql+asyncpg://svc:pw@db/svc?sslmode=verify-ca"},
        {
            "LEADFLOW_DATABASE_URL": "postgresql+asyncpg://svc:pw@db/svc",
            "LEADFLOW_DATABASE_SSLMODE": "verify-full",
        },
        {  # a service mesh encrypts and authenticates for the services
            "LEADFLOW_ALLOW_PLAINTEXT": "true",
            "LEADFLOW_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
            "LEADFLOW_DATABASE_URL": "postgresql+asyncpg://svc:pw@db/svc",
        },
    ],
)
def test_prod_accepts_tls_with_sasl_or_mtls_or_an_explicit_plaintext_allowance(
    monkeypatch: pytest.MonkeyPatch, changes: dict[str, str]
) -> None:
    assert _prod(monkeypatch, **changes).env == "prod"


def test_the_plaintext_allowance_does_not_excuse_a_weak_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValidationError, match="guessable"):
        _prod(monkeypatch, LEADFLOW_ALLOW_PLAINTEXT="true", LEADFLOW_ADMIN_TOKEN="a" * 32)


def test_a_kafka_client_certificate_goes_into_the_ssl_context(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=leadflow-svc", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    settings = _prod(
        monkeypatch,
        LEADFLOW_KAFKA_SECURITY_PROTOCOL="SSL",
        LEADFLOW_KAFKA_SSL_CERTFILE=str(cert),
        LEADFLOW_KAFKA_SSL_KEYFILE=str(key),
    )
    options = client_options(settings)
    assert options["security_protocol"] == "SSL"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    monkeypatch.setenv("LEADFLOW_KAFKA_SSL_KEYFILE", str(tmp_path / "missing.key"))
    with pytest.raises(FileNotFoundError):  # the key is really loaded, not just named
        client_options(_Svc())


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (None, "prod needs LEADFLOW_SECRETS_KEY"),
        (" , ", "prod needs LEADFLOW_SECRETS_KEY"),  # commas alone name no key to seal with
        ("a" * 40, "LEADFLOW_SECRETS_KEY is guessable"),
    ],
)
def test_prod_needs_a_random_secrets_key(
    monkeypatch: pytest.MonkeyPatch, key: str | None, why: str
) -> None:
    with pytest.raises(ValidationError, match=why):
        _prod(monkeypatch, LEADFLOW_SECRETS_KEY=key)
