"""leadflow's shared kernel: what every service is built on, and what a service may import.

Importing `leadflow` imports nothing else; `__all__` names the public modules, those a service
(`services/<name>/src`) may import. The rest are the kernel's own: the runtime, the CLI and
the tools use them, and they may change without notice.

Public — a service may import these:

    service       Runtime: database, producer, outbox relay and consumers, in a lifespan
    uow           the unit of work a handler or route receives: emit, stage, after commit
    settings      `Settings`, subclassed by each service (`LEADFLOW_*`)
    runner        `serve(...)`: what `python -m <service>` runs
    migrations    Alembic: `env.py`'s body, upgrade, the kernel's tables
    bus           handler registry types (`Handlers`, `BatchHandlers`)
    outbox        `kernel_metadata` (outbox and inbox tables) for a service's migrations
    db            column types and naming convention, engines and sessions
    bulk          the one bulk insert
    sql           SQL spelled once: advisory locks, a list of ids as one parameter
    groupcommit   many concurrent callers' writes in one transaction
    schedule      background passes on a schedule, retention purges
    events        the event contract: one model per event, the topic map
    webhooks      Standard Webhooks: secrets, signing, verification
    leadbody      the lead body intake takes and its normalisation (intake, scoring preview)
    http          problem+json errors, health, metrics, bearer tokens
    access        roles, the principal behind a token, `allow(...)` on routes
    access_tokens signing keys of the kernel's access tokens (feedback's sessions)
    limits        size limits on client input, as pydantic types
    bounds        dates and date-times in queries, bounded to years the database can store
    ratelimit     in-process token buckets, Retry-After
    edge          the client's address as the edge middleware saw it
    secretbox     secrets at rest, sealed with a key from settings
    tracing       W3C trace context: spans around outgoing calls, links to incoming ones
    erasure_log   `LogEraser`: erasure on the event log, wrapped around a service's handlers
    fairness      the fairness ledger over recorded routing decisions (pure)
    stats         small statistics (pure): the Wilson interval of a proportion
    lab           the what-if lab's channel: simulation requests and reports on `leadflow.lab`
    lab_follower  a service's consumer of that channel: `follow(...)`, its group, its handler

Internal — the kernel's own (the runtime and the tools use them; services do not):

    access_api, access_follower, access_store   `/v1/tokens` and the revocation follower
    cli, cli_demo, cli_kafka                    the operator CLI (`leadflow`)
    cli_routing, cli_agreement                  its `routing` commands, `agreement status`
    cli_scoring                                 its `scoring simulate`
    cli_cases, cli_simulate                     its `routing test` cases file, `routing simulate`
    cli_http                                    its options and calls to a service (JSON, 429)
    services                                    the registry of the four services (tools)
    kafka, topics, topic_config                 Kafka clients, topics and their configs
    observability, otel, openapi, docs          logs, metrics, tracer, OpenAPI, `/docs`
    dlq_gauge                                   dead letters waiting for a replay (a metric)
    db_limits, prod_guard, oidc                 session time limits, prod checks, OIDC tokens

`tests/common/test_kernel_surface.py` keeps this list and the services' imports in step.
"""

__all__ = [
    "access",
    "access_tokens",
    "bounds",
    "bulk",
    "bus",
    "db",
    "edge",
    "erasure_log",
    "events",
    "fairness",
    "groupcommit",
    "http",
    "lab",
    "lab_follower",
    "leadbody",
    "limits",
    "migrations",
    "outbox",
    "ratelimit",
    "runner",
    "schedule",
    "secretbox",
    "service",
    "settings",
    "sql",
    "stats",
    "tracing",
    "uow",
    "webhooks",
]
