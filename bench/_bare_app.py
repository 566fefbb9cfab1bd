"""The framework's ceiling: a FastAPI endpoint that parses intake's LeadIn body and answers 202.

It reads the body the way intake's `POST /v1/leads` does (`leadflow.handread`: the bytes
validated as `LeadIn`, a 422 otherwise) and answers the same JSON, so the ratio measures what
intake adds, not a difference in how the two parse.
"""

from __future__ import annotations

import uuid

from fastapi import FastAPI, Request, Response
from pydantic_core import to_json

from leadflow import handread
from leadflow.leadbody.schema import LeadIn

app = FastAPI()


@app.post("/v1/leads", status_code=202)
async def submit(request: Request) -> Response:
    raw = (await handread.json_body(request, LeadIn)).model_dump(exclude_unset=True)
    body = {"lead_id": str(uuid.uuid4()), "status": "accepted", "duplicate": raw is None}
    return Response(to_json(body), 202, media_type="application/json")
