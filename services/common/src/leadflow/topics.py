"""`python -m leadflow.topics`: create the contract's topics and DLQs (idempotent)."""

from __future__ import annotations

import argparse
import asyncio
import os

from leadflow.kafka import DEFAULT_PARTITIONS, ensure_topics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--bootstrap", default=os.environ.get("LEADFLOW_KAFKA_BOOTSTRAP", "localhost:9092")
    )
    parser.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS)
    parser.add_argument("--replication", type=int, default=1)
    args = parser.parse_args()
    created = asyncio.run(
        ensure_topics(args.bootstrap, partitions=args.partitions, replication=args.replication)
    )
    print(f"topics: {len(created)} created" + (f" ({', '.join(created)})" if created else ""))


if __name__ == "__main__":
    main()
