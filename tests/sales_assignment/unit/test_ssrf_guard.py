"""The SSRF guard's address table: what prod refuses, including IPv4 hidden in IPv6."""

from __future__ import annotations

import pytest

from sales_assignment.targets import address_refused, target_problem

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("10.1.2.3", "RFC 1918"),
    ("172.16.0.1", "RFC 1918"),
    ("192.168.1.1", "RFC 1918"),
    ("169.254.169.254", "cloud metadata (link-local)"),
    ("100.64.0.1", "CGNAT"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("::1", "IPv6 loopback"),
    ("::", "IPv6 unspecified"),
    ("fe80::1%eth0", "IPv6 link-local with a zone"),
    ("fd00::1", "unique local"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:169.254.169.254", "IPv4-mapped metadata"),
    ("::127.0.0.1", "IPv4-compatible loopback"),
    ("::10.0.0.1", "IPv4-compatible private"),
    ("64:ff9b::7f00:1", "NAT64 of 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254"),
    ("64:ff9b::10.0.0.1", "NAT64 of 10.0.0.1"),
    ("64:ff9b:1::808:808", "local-use NAT64, whatever it embeds"),
    ("2002:7f00:1::", "6to4 of 127.0.0.1"),
    ("2002:a00:1::1", "6to4 of 10.0.0.1"),
    ("2002:a9fe:a9fe::1", "6to4 of 169.254.169.254"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo, client 127.0.0.1"),
    ("ff02::1", "IPv6 multicast"),
    ("::ffff:0:7f00:1", "IPv4-translated 127.0.0.1"),
    ("::ffff:0:10.0.0.1", "IPv4-translated 10.0.0.1"),
    ("::ffff:0:a9fe:a9fe", "IPv4-translated 169.254.169.254"),
    ("fec0::1", "site-local"),
    ("feff:ffff::1", "site-local, its last address block"),
]

PASSED = [
    ("8.8.8.8", "public IPv4"),
    ("1.1.1.1", "public IPv4"),
    ("2606:4700:4700::1111", "public IPv6"),
    ("::ffff:8.8.8.8", "IPv4-mapped public"),
    ("64:ff9b::808:808", "NAT64 of 8.8.8.8"),
    ("2002:808:808::1", "6to4 of 8.8.8.8"),
    ("::ffff:0:808:808", "IPv4-translated 8.8.8.8"),
]


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_prod_refuses_addresses_that_are_not_public(address: str, why: str) -> None:
    assert address_refused(address), why


@pytest.mark.parametrize(("address", "why"), PASSED)
def test_public_addresses_pass(address: str, why: str) -> None:
    assert not address_refused(address), why


@pytest.mark.parametrize(("address", "why"), REFUSED)
async def test_a_url_naming_a_refused_address_is_refused_in_prod_and_allowed_in_dev(
    address: str, why: str
) -> None:
    host = address.split("%", 1)[0]
    url = f"http://[{host}]/hook" if ":" in host else f"http://{host}/hook"
    assert await target_problem(url, env="prod", allowed_hosts=[]) is not None, why
    assert await target_problem(url, env="dev", allowed_hosts=[]) is None, why


async def test_an_allowed_host_passes_in_prod() -> None:
    assert (
        await target_problem("http://127.0.0.1/x", env="prod", allowed_hosts=["127.0.0.1"]) is None
    )
