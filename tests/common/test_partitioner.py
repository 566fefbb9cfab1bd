"""The kernel's partitioner puts a key where Kafka's default partitioner does."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as reference_murmur2

from leadflow.kafka import murmur2, partition_for


@pytest.mark.parametrize("length", range(0, 41))
def test_murmur2_matches_the_java_clients_for_every_tail_length(length: int) -> None:
    rng = random.Random(length)
    for _ in range(50):
        key = rng.randbytes(length)
        assert murmur2(key) == reference_murmur2(key)


def test_a_key_goes_to_the_default_partitioners_partition() -> None:
    rng = random.Random(7)
    for n in (1, 3, 6, 12):
        partitions = list(range(n))
        for _ in range(200):
            key = str(rng.getrandbits(128)).encode()
            expected = DefaultPartitioner()(key, partitions, partitions)
            assert partition_for(key, partitions, partitions) == expected
