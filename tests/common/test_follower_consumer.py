"""The kernel's followers (lab requests, token records) make their consumer one way
(`kafka.follower_consumer`): named after the service, committing by hand, from the earliest
record, with the follower's own options (aiokafka keeps them in private fields: read here
only because nothing else shows them before the consumer connects)."""

from __future__ import annotations

from leadflow.kafka import follower_consumer
from leadflow.settings import Settings


async def test_a_follower_consumer_is_named_after_its_service_and_commits_by_hand() -> None:
    settings = Settings(admin_token="dev-test-admin", kafka_bootstrap="127.0.0.1:1")
    lab = follower_consumer(settings, "lab", group="leadflow-lab", max_poll_interval_ms=1234)
    tokens = follower_consumer(settings, "tokens", group=None)
    try:
        assert lab._client._client_id == "leadflow-lab"
        assert tokens._client._client_id == "leadflow-tokens"
        assert (lab._group_id, tokens._group_id) == ("leadflow-lab", None)
        assert (lab._max_poll_interval_ms, tokens._max_poll_interval_ms) == (1234, 300_000)
        for consumer in (lab, tokens):
            assert consumer._enable_auto_commit is False
            assert consumer._auto_offset_reset == "earliest"
    finally:
        await lab.stop()
        await tokens.stop()
