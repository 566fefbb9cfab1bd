"""`/docs` of every service loads nothing from another origin and runs no inline script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from feedback.app import build_app as feedback_app
from feedback.settings import FeedbackSettings
from lead_scoring.app import build_app as scoring_app
from lead_scoring.settings import ScoringSettings
from marketing_intake.app import build_app as intake_app
from marketing_intake.settings import IntakeSettings
from sales_assignment.app import build_app as assignment_app
from sales_assignment.settings import AssignmentSettings
from support.apps import client

APPS = {
    "marketing-intake": (IntakeSettings, intake_app),
    "lead-scoring": (ScoringSettings, scoring_app),
    "sales-assignment": (AssignmentSettings, assignment_app),
    "feedback": (FeedbackSettings, feedback_app),
}


@pytest.mark.parametrize("name", sorted(APPS))
async def test_docs_load_only_this_origins_scripts_under_a_strict_csp(
    name: str, tmp_path: Path
) -> None:
    settings_cls, build = APPS[name]
    app = build(
        settings_cls(
            admin_token="dev-test-admin",
            database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db",
            kafka_bootstrap="127.0.0.1:9",
        )
    )
    async with client(app) as http:
        page = await http.get("/docs")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == "'self'"  # no CDN, no inline script
        assert directives["default-src"] == "'none'"
        assert "frame-ancestors" in directives
        assert "//" not in page.text  # every URL is on this origin (relative)
        assert not re.search(r"<script>[^<]", page.text), "inline script"
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources
        for source in sources:
            asset = await http.get("/" + source)
            assert asset.status_code == 200, source
            assert len(asset.content) > 0
        bundle = await http.get("/docs/assets/swagger-ui-bundle.js")
        assert bundle.headers["content-type"].startswith("text/javascript")
        assert b"SwaggerUIBundle" in bundle.content
        init = await http.get("/docs/assets/init.js")
        assert b'url: "openapi.json"' in init.content
        assert (await http.get("/docs/assets/..%2F..%2Fcore.py")).status_code == 404
        assert (await http.get("/docs/assets/swagger-ui.js.map")).status_code == 404
        # FastAPI's own ReDoc page loads its script and fonts from CDNs: not served.
        assert (await http.get("/redoc")).status_code == 404
    await app.state.runtime.engine.dispose()
