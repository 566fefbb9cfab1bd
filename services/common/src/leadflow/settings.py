"""Settings from `LEADFLOW_*` environment variables; each service subclasses `Settings`."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from leadflow.prod_guard import (
    database_problem,
    kafka_problem,
    refused_algorithms,
    split_keys,
    weak_secret,
)
from leadflow.services import LOCAL_PORT_BASE, port_of

DEV_ADMIN_TOKEN_PREFIX = "dev-"


def _split_hosts(value: object) -> object:
    if isinstance(value, str):
        return [h.strip().lower() for h in value.split(",") if h.strip()]
    return value


class KafkaSettings(BaseSettings):
    """How to reach Kafka (also read alone by tools such as `python -m leadflow.topics`)."""

    # Errors do not echo the environment (tokens, passwords in URLs) into logs.
    model_config = SettingsConfigDict(
        env_prefix="LEADFLOW_", extra="ignore", hide_input_in_errors=True
    )

    kafka_bootstrap: str = "localhost:9092"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None  # CA bundle for SSL/SASL_SSL; default: system CAs
    # Trust (transport): a client certificate and its key for mTLS (protocol SSL).
    kafka_ssl_certfile: str | None = None
    kafka_ssl_keyfile: str | None = None
    # Erasure on the event log (issue 19, docs/architecture.md): how long an erased person's
    # records may stay readable on the compacted topics and DLQs. The topics' segment and
    # compaction times (topic_config.py) and the services' second tombstone derive from it.
    erasure_delay_seconds: int = Field(default=60, ge=20, le=30 * 86400)
    # Topics of its own (issue 20, `make bench`): every contract topic and DLQ is read and
    # written as `<prefix><topic>`; empty (the contract's names) for every normal run.
    kafka_topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]{0,100}$")


class Settings(KafkaSettings):
    """What every service reads. Nothing here connects to anything."""

    # Errors do not echo the environment (tokens, passwords in URLs) into logs.
    model_config = SettingsConfigDict(
        env_prefix="LEADFLOW_", extra="ignore", hide_input_in_errors=True
    )

    service_name: ClassVar[str] = "leadflow"
    # The registry's port for service_name (leadflow.services), set per subclass below; a
    # subclass may still name its own.
    default_port: ClassVar[int] = LOCAL_PORT_BASE
    # Readiness (contract "HTTP"): a service whose outbox accepts work while Kafka is away
    # stays ready without it, naming Kafka as degraded.
    ready_without_kafka: ClassVar[bool] = False

    env: Literal["dev", "prod"] = "dev"
    database_url: str = ""
    admin_token: SecretStr
    http_host: str = "127.0.0.1"
    http_port: int = 0
    log_level: str = "INFO"
    data_dir: str = "var"
    migrate_on_start: bool = True
    # Defaults to the service name; another group (benchmarks, a blue/green copy) reads apart.
    consumer_group: str = ""

    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_retry_backoff_seconds: float = Field(default=0.2, ge=0)
    consumer_max_batch: int = Field(default=200, ge=1)
    # After a poll smaller than a full batch, wait this long before the next one, so events
    # gather into fewer, larger transactions: for services off the lead's path (0: at once).
    consumer_linger_ms: int = Field(default=0, ge=0, le=5000)
    # Offsets are committed at most this often (and at once on a rebalance or a stop): a
    # crash re-delivers what came after, which the inbox turns into no-ops.
    consumer_commit_interval_ms: int = Field(default=1000, ge=0, le=60_000)
    # Polls handled at once, each in its own transaction, on disjoint partitions (bus.py):
    # for services whose transactions do not wait for each other (no linger then).
    consumer_concurrency: int = Field(default=1, ge=1, le=16)
    relay_batch_size: int = Field(default=500, ge=1)
    relay_poll_seconds: float = Field(default=0.5, gt=0)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)

    # Access (roles and tokens, access.py): `lf_at_` tokens are signed with the token secret
    # (prod: required, >= 32 random characters; dev: derived from the admin token).
    token_secret: SecretStr | None = None
    token_default_ttl_days: int = Field(default=90, ge=1, le=365)
    # Failed bearer checks per client address: a burst, then this many a minute (0: no limit).
    auth_failures_burst: int = Field(default=20, ge=1)
    auth_failures_per_minute: float = Field(default=10.0, ge=0)
    # OIDC JWTs as a second token source (off unless the issuer is set).
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_role_claim: str = "leadflow_role"
    oidc_subject_claim: str = "sub"
    oidc_algorithms: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["RS256", "ES256"]
    )

    @field_validator("oidc_algorithms", mode="before")
    @classmethod
    def _split_algorithms(cls, value: object) -> object:
        if isinstance(value, str):
            return [a.strip() for a in value.split(",") if a.strip()]
        return value

    # Spans are always made (their trace context travels); exported only with an exporter:
    # `auto` is OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, otherwise none (tracing.py).
    otel_exporter: Literal["auto", "none", "console", "otlp"] = "auto"

    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    assignment_sla_seconds: float = Field(default=900.0, gt=0)

    # Trust (client addresses): peers in these CIDRs are proxies whose X-Forwarded-For is
    # believed (leadflow.edge.client_address); empty, the default, believes no one.
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = Field(default_factory=list)

    # Trust (transport, prod_guard.py): prod refuses Kafka and PostgreSQL without TLS and
    # authentication unless this is set (a service mesh encrypting and authenticating for us).
    allow_plaintext: bool = False
    # asyncpg's ssl mode; empty: the URL's ?ssl= (prod needs require, verify-ca or verify-full).
    database_sslmode: Literal[
        "", "disable", "allow", "prefer", "require", "verify-ca", "verify-full"
    ] = ""
    # Trust (a vanished primary, db.py): each query's client-side limit, the server's statement
    # and idle-in-transaction limits (0: off), TCP keepalives and an unacknowledged-send limit.
    db_command_timeout_seconds: float = Field(default=30.0, gt=0)
    db_statement_timeout_ms: int = Field(default=30_000, ge=0)
    db_idle_in_transaction_timeout_ms: int = Field(default=60_000, ge=0)
    db_keepalive_idle_seconds: int = Field(default=30, ge=1)
    db_keepalive_interval_seconds: int = Field(default=10, ge=1)
    db_keepalive_count: int = Field(default=3, ge=1)
    # /healthz reports the outbox relay stuck when one pass has run this long with rows waiting.
    relay_stuck_after_seconds: float = Field(default=120.0, gt=0)
    # Trust (secrets at rest, secretbox.py): seals stored webhook secrets; comma-separated
    # during a rotation (the first seals, all open). prod: required; dev: from the admin token.
    secrets_key: SecretStr | None = None

    # Platform (issue 20): how often each service reads how many dead letters of the topics
    # it consumes wait for a replay (`leadflow_dlq_pending_replay`, dlq_gauge.py; 0: never).
    dlq_gauge_seconds: float = Field(default=60.0, ge=0)
    # Platform (issue 20, db_limits.py): a pooler between the services and PostgreSQL.
    # `pgbouncer-transaction` (PgBouncer's pool_mode=transaction): no prepared-statement cache,
    # no startup parameters (set the timeouts on the role), and the outbox relay on its own
    # session-mode URL, since a transaction pooler cannot keep its session advisory lock.
    database_pooler: Literal["none", "pgbouncer-transaction"] = "none"
    relay_database_url: str = ""

    @model_validator(mode="after")
    def _pooler_needs_a_relay_url(self) -> Self:
        if self.database_pooler == "pgbouncer-transaction" and not self.relay_database_url:
            raise ValueError(
                "LEADFLOW_DATABASE_POOLER=pgbouncer-transaction needs LEADFLOW_RELAY_DATABASE_URL: "
                "the outbox relay holds a session-level advisory lock (one publisher per "
                "database), which a transaction pooler drops after every transaction; point it "
                "at the primary or at a PgBouncer pool in session mode"
            )
        if self.relay_database_url and self.relay_database_url.startswith("sqlite"):
            raise ValueError("LEADFLOW_RELAY_DATABASE_URL is for PostgreSQL; SQLite has no pooler")
        if self.relay_database_url and self.env == "prod" and not self.allow_plaintext:
            problem = database_problem(self.relay_database_url, self.database_sslmode)
            if problem is not None:
                raise ValueError(f"LEADFLOW_RELAY_DATABASE_URL: {problem}")
        return self

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "default_port" not in cls.__dict__:
            cls.default_port = port_of(cls.service_name)

    @model_validator(mode="before")
    @classmethod
    def _parse_lists(cls, data: object) -> object:
        if isinstance(data, dict) and "webhook_allowed_hosts" in data:
            data["webhook_allowed_hosts"] = _split_hosts(data["webhook_allowed_hosts"])
        if isinstance(data, dict) and "trusted_proxies" in data:
            data["trusted_proxies"] = _split_hosts(data["trusted_proxies"])
        return data

    @model_validator(mode="after")
    def _defaults_and_prod_guard(self) -> Self:
        if not self.http_port:
            self.http_port = self.default_port
        if not self.consumer_group:
            self.consumer_group = self.service_name
        if not self.database_url:
            if self.env == "prod":
                raise ValueError("LEADFLOW_DATABASE_URL must be set when LEADFLOW_ENV=prod")
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir}/{self.service_name}.db"
        if self.env == "prod":
            token = self.admin_token.get_secret_value()
            if token.startswith(DEV_ADMIN_TOKEN_PREFIX) or len(token) < 32:
                raise ValueError(
                    "LEADFLOW_ADMIN_TOKEN looks like a development token; "
                    "prod needs a random token of at least 32 characters"
                )
            if self.database_url.startswith("sqlite"):
                raise ValueError("prod refuses SQLite; set LEADFLOW_DATABASE_URL to PostgreSQL")
        return self

    @model_validator(mode="after")
    def _transport_and_secrets_guard(self) -> Self:
        if self.env != "prod":
            return self
        weak = weak_secret(self.admin_token.get_secret_value())
        if weak is not None:
            raise ValueError(
                f"LEADFLOW_ADMIN_TOKEN is guessable ({weak}); prod needs a random token, "
                "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        # The keys secretbox will use: a value of commas alone names none.
        keys = split_keys(self.secrets_key.get_secret_value() if self.secrets_key else "")
        if not keys:
            raise ValueError("prod needs LEADFLOW_SECRETS_KEY (seals stored webhook secrets)")
        for key in keys:
            if (weak := weak_secret(key)) is not None:
                raise ValueError(f"LEADFLOW_SECRETS_KEY is guessable ({weak}); use a random one")
        if self.allow_plaintext:
            return self
        password = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else ""
        problem = kafka_problem(
            self.kafka_security_protocol,
            sasl_username=self.kafka_sasl_username,
            sasl_password=bool(password),
            certfile=self.kafka_ssl_certfile,
            keyfile=self.kafka_ssl_keyfile,
        ) or database_problem(self.database_url, self.database_sslmode)
        if problem is not None:
            raise ValueError(f"{problem} (or LEADFLOW_ALLOW_PLAINTEXT=true behind a service mesh)")
        return self

    @model_validator(mode="after")
    def _access_guard(self) -> Self:
        if self.oidc_issuer and not (self.oidc_audience and self.oidc_jwks_url):
            raise ValueError(
                "LEADFLOW_OIDC_ISSUER needs LEADFLOW_OIDC_AUDIENCE and LEADFLOW_OIDC_JWKS_URL"
            )
        if refused_algorithms(self.oidc_algorithms):
            raise ValueError("LEADFLOW_OIDC_ALGORITHMS must name asymmetric algorithms only")
        if self.env == "prod":
            secret = self.token_secret.get_secret_value() if self.token_secret else ""
            weak = weak_secret(secret) if secret else "missing"
            if secret and secret == self.admin_token.get_secret_value():
                weak = "the admin token itself"
            if weak is not None:
                raise ValueError(
                    f"LEADFLOW_TOKEN_SECRET is {weak}; prod needs its own random secret of "
                    "at least 32 characters to sign access tokens"
                )
        return self
