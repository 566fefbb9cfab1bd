"""Where webhooks may go: no loopback, private or link-local targets in prod (SSRF guard).

A name is checked when an endpoint is saved and before each send, but the connection itself
only ever uses addresses that `GuardedResolver` let through: aiohttp resolves the name again
when it connects, so a check alone would leave a DNS-rebinding window.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Collection
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: IPv4 in the low 32 bits
# RFC 8215 local-use NAT64: a site's own translator, IPv4 at a prefix-dependent place. Never
# a public target, whatever it embeds.
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 SIIT ::ffff:0:a.b.c.d
# RFC 3879 deprecated site-local: still routed inside some sites, and `ipaddress` calls it
# global (it is not in its list of private networks).
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, translated, compatible, NAT64,
    6to4, Teredo)."""
    if addr.ipv4_mapped is not None:
        return [addr.ipv4_mapped]
    if addr.sixtofour is not None:
        return [addr.sixtofour]
    if addr.teredo is not None:
        return list(addr.teredo)  # the server and the (de-obfuscated) client
    low32 = ipaddress.IPv4Address(int(addr) & 0xFFFF_FFFF)
    if addr in _NAT64 or addr in _IPV4_TRANSLATED:
        return [low32]
    if addr in _IPV4_COMPATIBLE and int(addr) > 1:  # not :: or ::1, which are checked as they are
        return [low32]
    return []


def _not_public(addr: _IPAddress) -> bool:
    # Not global covers loopback, RFC 1918, link-local (cloud metadata), CGNAT, reserved.
    return not addr.is_global or addr.is_multicast


def address_refused(text: str) -> bool:
    """True if an IP address (text, zone id allowed) is not a public unicast address."""
    addr = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(addr, ipaddress.IPv4Address):
        return _not_public(addr)
    if addr in _NAT64_LOCAL or addr in _SITE_LOCAL:
        return True
    inner = _embedded_ipv4(addr)
    if inner:
        return any(_not_public(v4) for v4 in inner)
    return _not_public(addr)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def url_problem(url: str) -> str | None:
    """Why a URL cannot be a webhook target at all (any env), or None."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return "must be an http or https URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username or parts.password:
        return "must not carry credentials; the signature authenticates us"
    return None


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().rstrip(".")


async def target_problem(url: str, *, env: str, allowed_hosts: Collection[str]) -> str | None:
    """Why this URL may not be called now, or None; in prod its host must resolve to public IPs."""
    problem = url_problem(url)
    if problem is not None or env != "prod":
        return problem
    host = _host(url)
    if host in allowed_hosts:
        return None
    if _is_address(host):
        return (
            f"{host} is a private, loopback or link-local address"
            if address_refused(host)
            else None
        )
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return f"{host} does not resolve"
    if any(address_refused(str(info[4][0])) for info in infos):
        return f"{host} resolves to a private, loopback or link-local address"
    return None


class GuardedResolver(AbstractResolver):
    """Resolves names for the webhook connector, answering only addresses that pass the guard.

    In dev everything passes; in prod a host listed in `allowed_hosts` resolves as it is, any
    other name only to its public addresses (none left: an OSError, so no connection).
    """

    def __init__(
        self,
        *,
        env: str,
        allowed_hosts: Collection[str],
        inner: AbstractResolver | None = None,
    ) -> None:
        self._env = env
        self._allowed = frozenset(h.lower().rstrip(".") for h in allowed_hosts)
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The addresses of `host` a connection may use; OSError if none."""
        found = await self._inner.resolve(host, port, family)
        if self._env != "prod" or host.lower().rstrip(".") in self._allowed:
            return found
        passed = [r for r in found if not address_refused(r["host"])]
        if not passed:
            raise OSError(f"{host} resolves only to private, loopback or link-local addresses")
        return passed

    async def close(self) -> None:
        await self._inner.close()
