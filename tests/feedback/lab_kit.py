"""What the lab page's tests share: the routing form left empty and a login on /lab."""

from __future__ import annotations

import httpx
from feedback_events import ADMIN

from support.apps import REP_SUBJECT

# The routing form as the page first shows it: March 2026, no draft rules, no rep changes.
ROUTING = {"from": "2026-03-01", "to": "2026-03-31", "rules": "", "reps": ""}


async def login(client: httpx.AsyncClient, role: str = "analyst", *, answer: int = 303) -> None:
    """Log in on /lab with a token of `role` the admin issued (a rep's names a rep id); the
    login answers `answer` (303 back to /lab; 403 for a role the lab is not for)."""
    body = {"role": role} | ({"subject": REP_SUBJECT} if role == "rep" else {})
    issued = await client.post("/v1/tokens", json=body, headers=ADMIN)
    assert issued.status_code == 201, issued.text
    page = await client.post("/login", data={"token": issued.json()["token"], "next": "/lab"})
    assert page.status_code == answer, page.text
