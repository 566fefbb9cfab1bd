"""DNS rebinding: the webhook connection uses only addresses the SSRF guard let through."""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult

from sales_assignment.sender import WebhookSender
from sales_assignment.targets import GuardedResolver
from support.receiver import Receiver

NAME = "hooks.example.com"  # looks public; this resolver says it is on loopback


class AnswersLoopback(AbstractResolver):
    """A name server that answers 127.0.0.1 for every name (a rebinding attacker's)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


async def _post(receiver: Receiver, resolver: GuardedResolver) -> str | None:
    sender = WebhookSender(timeout=5, per_host=2, resolver=resolver)
    try:
        answer = await sender.post(f"http://{NAME}:{receiver.port}/hooks", b"{}", {})
    finally:
        await sender.close()
    return answer.error


async def test_prod_never_connects_to_a_private_address_a_public_looking_name_resolves_to(
    receiver: Receiver,
) -> None:
    dns = AnswersLoopback()
    error = await _post(receiver, GuardedResolver(env="prod", allowed_hosts=[], inner=dns))
    assert dns.asked == [NAME]  # the connection resolved through the guard
    assert error is not None
    assert "Cannot connect" in error
    assert receiver.snapshot() == []


async def test_dev_and_allowed_hosts_connect_to_what_the_name_resolves_to(
    receiver: Receiver,
) -> None:
    for resolver in (
        GuardedResolver(env="dev", allowed_hosts=[], inner=AnswersLoopback()),
        GuardedResolver(env="prod", allowed_hosts=[NAME], inner=AnswersLoopback()),
    ):
        assert await _post(receiver, resolver) is None
    assert len(receiver.snapshot()) == 2
