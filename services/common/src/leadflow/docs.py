"""`/docs`: Swagger UI from files this process serves, never a CDN, under a strict CSP.

FastAPI's own `/docs` and `/redoc` load their scripts from a CDN onto the service's origin
(feedback's dashboard lives there): whoever controls that CDN would run script beside the
dashboard's session. The assets come from the `fastapi-offline` package (Swagger UI 5,
which reads OpenAPI 3.1); the page has no inline script, so the CSP can forbid every script
but this origin's.
"""

from __future__ import annotations

import html
from functools import cache
from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

from leadflow.http import Problem

ASSETS = files("fastapi_offline") / "static"
MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "init.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
# Swagger UI sets inline style attributes and shows data: images; scripts come from here only.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ASSET_HEADERS = {**HEADERS, "Cache-Control": "public, max-age=86400"}
# Relative URLs: /docs and its assets work behind a path prefix too.
INIT_JS = """window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API documentation</title>
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
<link rel="icon" href="docs/assets/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/init.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """Serve `/docs` and its assets (the app is built with `docs_url=None, redoc_url=None`)."""
    page = PAGE.format(title=html.escape(app.title, quote=False))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers=HEADERS)

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        if name not in MEDIA_TYPES:
            raise Problem(404, "Not Found", "No such documentation asset.")
        return Response(_asset(name), media_type=MEDIA_TYPES[name], headers=ASSET_HEADERS)


@cache
def _asset(name: str) -> bytes:
    """One of the few files named in MEDIA_TYPES, read once (Swagger UI is 1.5 MB)."""
    return INIT_JS.encode() if name == "init.js" else (ASSETS / name).read_bytes()
