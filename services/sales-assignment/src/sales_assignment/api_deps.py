"""What every router of the service shares: the use-case dependency and error shapes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Request, Response

from leadflow.http import Problem, from_state, invalid, problem_response
from sales_assignment.admin import NotFound
from sales_assignment.assigning import Assigner

A = Annotated[Assigner, from_state("assigner", Assigner)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found"}}


def install_not_found(app: FastAPI) -> None:
    """Every use case's NotFound leaves as a 404 problem, so routes need no try/except."""

    async def on_not_found(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotFound)
        return problem_response(404, "Not Found", str(exc))

    app.add_exception_handler(NotFound, on_not_found)


def bad(field: str, message: str) -> Problem:
    return invalid([(field, message)])
