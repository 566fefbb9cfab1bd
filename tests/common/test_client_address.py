"""The client address behind trusted proxies: X-Forwarded-For, only as far as they wrote it."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import ValidationError

from leadflow.access import client_address_of
from leadflow.edge import IPNetwork, address_behind, client_address, client_key, limit_key
from leadflow.settings import Settings

PROXIES = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "2001:db8:ff::/48", "192.0.2.7")]

CASES: list[tuple[str, str, list[str], list[IPNetwork], str]] = [
    # (why, peer, X-Forwarded-For headers, trusted proxies, client address)
    ("no proxies trusted: the header is ignored", "10.1.1.1", ["6.6.6.6"], [], "10.1.1.1"),
    ("spoofed header from an untrusted peer", "203.0.113.9", ["1.1.1.1"], PROXIES, "203.0.113.9"),
    ("a trusted proxy's hop", "10.1.1.1", ["198.51.100.4"], PROXIES, "198.51.100.4"),
    ("no header from a trusted proxy: the proxy", "10.1.1.1", [], PROXIES, "10.1.1.1"),
    (
        "what the client wrote, left of the hop its proxy appended, is not believed",
        "10.1.1.1",
        ["6.6.6.6, 198.51.100.4"],
        PROXIES,
        "198.51.100.4",
    ),
    (
        "a chain of trusted proxies is walked to the first untrusted hop",
        "10.1.1.1",
        ["6.6.6.6, 198.51.100.4, 192.0.2.7, 10.2.2.2"],
        PROXIES,
        "198.51.100.4",
    ),
    (
        "several header lines are one list",
        "10.1.1.1",
        ["6.6.6.6", "198.51.100.4, 10.2.2.2"],
        PROXIES,
        "198.51.100.4",
    ),
    ("every hop trusted: the left-most", "10.1.1.1", ["10.3.3.3, 10.2.2.2"], PROXIES, "10.3.3.3"),
    ("IPv6 proxy and client", "2001:db8:ff::1", ["2001:DB8:0:0::42"], PROXIES, "2001:db8::42"),
    (
        "IPv6 client in brackets with a port",
        "10.1.1.1",
        ["[2001:db8::42]:4711"],
        PROXIES,
        "2001:db8::42",
    ),
    ("IPv4 client with a port", "10.1.1.1", ["198.51.100.4:4711"], PROXIES, "198.51.100.4"),
    (
        "IPv4-mapped IPv6 peer is its IPv4",
        "::ffff:10.1.1.1",
        ["198.51.100.4"],
        PROXIES,
        "198.51.100.4",
    ),
    (
        "untrusted IPv6 peer, spoofed header",
        "2001:db8:1::9",
        ["10.1.1.1"],
        PROXIES,
        "2001:db8:1::9",
    ),
    ("garbage hop: the proxy that passed it", "10.1.1.1", ["not-an-ip"], PROXIES, "10.1.1.1"),
    ("empty header value", "10.1.1.1", [""], PROXIES, "10.1.1.1"),
    (
        "garbage behind a good hop is never reached",
        "10.1.1.1",
        ["<script>, 198.51.100.4"],
        PROXIES,
        "198.51.100.4",
    ),
    (
        "garbage between trusted hops stops at the last trusted one",
        "10.1.1.1",
        ["198.51.100.4, unknown, 10.2.2.2"],
        PROXIES,
        "10.2.2.2",
    ),
    ("a CIDR is not an address", "10.1.1.1", ["0.0.0.0/0"], PROXIES, "10.1.1.1"),
    ("a huge header", "10.1.1.1", [", ".join(["10.9.9.9"] * 5000)], PROXIES, "10.9.9.9"),
    ("non-IP peer (test client, Unix socket)", "testclient", ["1.1.1.1"], PROXIES, "testclient"),
    ("no peer at all", "", ["1.1.1.1"], PROXIES, "unknown"),
]


@pytest.mark.parametrize(
    ("why", "peer", "headers", "trusted", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_the_client_address(
    why: str, peer: str, headers: list[str], trusted: list[IPNetwork], expected: str
) -> None:
    assert address_behind(peer, headers, trusted) == expected, why


LIMIT_KEYS = [
    # (why, client address, what per-address limits count it as)
    ("IPv4 as it is", "203.0.113.7", "203.0.113.7"),
    ("IPv6 by its /64", "2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("another address of that /64, the same key", "2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::/64"),
    ("the next /64, another key", "2001:db8:1:3::1", "2001:db8:1:3::/64"),
    ("any spelling of it", "2001:DB8:1:2:0:0:0:9", "2001:db8:1:2::/64"),
    ("bracketed with a port", "[2001:db8:1:2::5]:443", "2001:db8:1:2::/64"),
    ("a zone index dropped", "fe80::1%eth0", "fe80::/64"),
    ("IPv4-mapped IPv6 as the IPv4", "::ffff:198.51.100.4", "198.51.100.4"),
    ("not an address: as it is", "testclient", "testclient"),
]


@pytest.mark.parametrize(("why", "address", "key"), LIMIT_KEYS, ids=[c[0] for c in LIMIT_KEYS])
def test_limits_count_an_ipv6_client_by_its_64(why: str, address: str, key: str) -> None:
    assert limit_key(address) == key, why


async def test_the_request_key_is_the_client_address_as_limits_count_it() -> None:
    transport = httpx.ASGITransport(app=_app(""), client=("2001:db8:7::42", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/key")).json() == "2001:db8:7::/64"
        assert (await http.get("/access-key")).json() == "2001:db8:7::/64"


def _app(trusted: str) -> FastAPI:
    app = FastAPI()
    app.state.settings = Settings(admin_token="dev-x", trusted_proxies=trusted)

    @app.get("/who")
    async def who(request: Request) -> str:
        return client_address(request)

    @app.get("/key")
    async def key(request: Request) -> str:
        return client_key(request)

    @app.get("/access-key")
    async def access_key(request: Request) -> str:
        return client_address_of(request)  # what the failed-check limiter counts

    return app


async def _who(trusted: str, headers: list[tuple[str, str]]) -> str:
    transport = httpx.ASGITransport(app=_app(trusted), client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        answer: str = (await http.get("/who", headers=headers)).json()
    return answer


async def test_the_request_reads_the_setting_and_every_header_line() -> None:
    lines = [("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "1.2.3.4")]
    assert await _who("127.0.0.0/8", lines) == "1.2.3.4"
    assert await _who("", lines) == "127.0.0.1"


def test_the_setting_is_a_comma_separated_list_of_cidrs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADFLOW_ADMIN_TOKEN", "dev-x")
    assert Settings().trusted_proxies == []  # never trust, by default
    monkeypatch.setenv("LEADFLOW_TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8,192.0.2.1")
    assert [str(n) for n in Settings().trusted_proxies] == [
        "10.0.0.0/8",
        "fd00::/8",
        "192.0.2.1/32",
    ]
    monkeypatch.setenv("LEADFLOW_TRUSTED_PROXIES", "10.0.0.0/8,proxy.example")
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings()
