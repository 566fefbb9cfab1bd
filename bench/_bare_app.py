"""The framework's ceiling: a FastAPI endpoint that parses intake's LeadIn body and answers 202."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from marketing_intake.schemas import LeadIn

app = FastAPI()


@app.post("/v1/leads", status_code=202)
async def submit(body: LeadIn) -> JSONResponse:
    raw = body.model_dump(exclude_unset=True)
    return JSONResponse(
        {"lead_id": str(uuid.uuid4()), "status": "accepted", "duplicate": bool(raw is None)},
        status_code=202,
    )
