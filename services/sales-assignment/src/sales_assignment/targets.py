"""Where webhooks may go: no loopback, private or link-local targets in prod (SSRF guard)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Collection
from urllib.parse import urlsplit


def _refused_address(text: str) -> bool:
    addr = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    # Not global covers loopback, RFC 1918, link-local (cloud metadata), CGNAT, reserved.
    return not addr.is_global or addr.is_multicast


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


async def target_problem(url: str, *, env: str, allowed_hosts: Collection[str]) -> str | None:
    """Why this URL may not be called now, or None; in prod its host must resolve to public IPs."""
    problem = url_problem(url)
    if problem is not None or env != "prod":
        return problem
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if host in allowed_hosts:
        return None
    try:
        return (
            f"{host} is a private, loopback or link-local address"
            if _refused_address(host)
            else None
        )
    except ValueError:
        pass  # a name, not an address: look at what it resolves to
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return f"{host} does not resolve"
    if any(_refused_address(str(info[4][0])) for info in infos):
        return f"{host} resolves to a private, loopback or link-local address"
    return None
