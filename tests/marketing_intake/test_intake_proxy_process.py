"""The served process: only LEADFLOW_TRUSTED_PROXIES decides whose X-Forwarded-For counts.

uvicorn's own proxy headers believed any local peer (its default `forwarded_allow_ips`), so
a client through a local proxy that passes the header on could pick its address.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from support.infra import closed_port, free_port
from support.intake import ORIGIN, intake_proc, wait_alive
from support.procs import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def _two_visitors(tmp_path: Path, trusted: str) -> list[int]:
    """Start intake (no broker needed), post a form as two visitors from 127.0.0.1."""
    url = f"sqlite+aiosqlite:///{tmp_path}/intake-{bool(trusted)}.db"
    proc = intake_proc(tmp_path, url, f"127.0.0.1:{closed_port()}", free_port())
    proc.env |= {
        "LEADFLOW_RATE_LIMIT_FORM_PER_MINUTE": "1",
        "LEADFLOW_RATE_LIMIT_FORM_BURST": "1",
        "LEADFLOW_TRUSTED_PROXIES": trusted,
    }
    proc.start()
    try:
        wait_alive(proc)
        async with httpx.AsyncClient(base_url=proc.url, timeout=10) as http:
            body = {"name": "Contact", "allowed_origins": [ORIGIN], "min_fill_seconds": 0}
            r = await http.post("/v1/forms", json=body, headers=ADMIN)
            assert r.status_code == 201, r.text
            codes = []
            for i, visitor in enumerate(["203.0.113.1", "203.0.113.2"]):
                headers = {"Origin": ORIGIN, "X-Forwarded-For": visitor}
                post = {"email": f"v{i}@example.com"}
                codes.append(
                    (
                        await http.post(r.json()["submit_url"], json=post, headers=headers)
                    ).status_code
                )
        return codes
    finally:
        proc.terminate()


async def test_a_local_peer_is_not_a_trusted_proxy_unless_configured(tmp_path: Path) -> None:
    assert await _two_visitors(tmp_path, "") == [202, 429]
    assert await _two_visitors(tmp_path, "127.0.0.1") == [202, 202]
