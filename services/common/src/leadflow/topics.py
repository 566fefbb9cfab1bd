"""`python -m leadflow.topics`: create the contract's topics and DLQs, and bring existing ones'
erasure configs (compaction, segment time) up to date (idempotent)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time

from aiokafka.errors import KafkaError

from leadflow.kafka import DEFAULT_PARTITIONS, client_options, ensure_topics
from leadflow.settings import KafkaSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    kafka = KafkaSettings()
    parser.add_argument("--bootstrap", default=kafka.kafka_bootstrap)
    parser.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS)
    parser.add_argument("--replication", type=int, default=1)
    parser.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="retry until the broker answers metadata requests, for up to this long "
        "(a broker just formatted and started takes a moment)",
    )
    args = parser.parse_args()
    # Each failed try is logged by aiokafka; the last one's error is said once, below.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    deadline = time.monotonic() + args.wait
    while True:
        try:
            created = asyncio.run(
                ensure_topics(
                    args.bootstrap,
                    partitions=args.partitions,
                    replication=args.replication,
                    options=client_options(kafka),
                    erasure_delay_seconds=kafka.erasure_delay_seconds,
                    prefix=kafka.kafka_topic_prefix,
                )
            )
            break
        except KafkaError as exc:
            if time.monotonic() >= deadline:
                sys.exit(
                    f"topics: Kafka at {args.bootstrap} did not accept metadata requests"
                    + (f" within {args.wait:g} s" if args.wait else "")
                    + f" ({type(exc).__name__}: {exc})"
                )
            time.sleep(1.0)
    print(f"topics: {len(created)} created" + (f" ({', '.join(created)})" if created else ""))


if __name__ == "__main__":
    main()
