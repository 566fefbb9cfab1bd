"""`python -m leadflow.topics`: create the contract's topics and DLQs, and bring existing ones'
erasure configs (compaction, segment time) up to date (idempotent)."""

from __future__ import annotations

import argparse
import asyncio

from leadflow.kafka import DEFAULT_PARTITIONS, client_options, ensure_topics
from leadflow.settings import KafkaSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    kafka = KafkaSettings()
    parser.add_argument("--bootstrap", default=kafka.kafka_bootstrap)
    parser.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS)
    parser.add_argument("--replication", type=int, default=1)
    args = parser.parse_args()
    created = asyncio.run(
        ensure_topics(
            args.bootstrap,
            partitions=args.partitions,
            replication=args.replication,
            options=client_options(kafka),
            erasure_delay_seconds=kafka.erasure_delay_seconds,
        )
    )
    print(f"topics: {len(created)} created" + (f" ({', '.join(created)})" if created else ""))


if __name__ == "__main__":
    main()
