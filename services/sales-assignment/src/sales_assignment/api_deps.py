"""What every router of the service shares: the use-case dependency and error shapes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Request, Response

from leadflow.http import Problem, from_state, invalid, problem_response
from sales_assignment.admin import Conflict, NotFound, NotYours
from sales_assignment.assigning import Assigner

A = Annotated[Assigner, from_state("assigner", Assigner)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found"}}


def install_errors(app: FastAPI) -> None:
    """Use cases' NotFound, NotYours, Conflict leave as 404, 403, 409: routes need no try."""
    answers: dict[type[Exception], tuple[int, str]] = {
        NotFound: (404, "Not Found"),
        NotYours: (403, "Forbidden"),
        Conflict: (409, "Conflict"),
    }

    async def on_error(_: Request, exc: Exception) -> Response:
        # Its class or nearest listed base: a RepRetired is a NotYours.
        status, title = next(answers[c] for c in type(exc).__mro__ if c in answers)
        return problem_response(status, title, str(exc))

    for cls in answers:
        app.add_exception_handler(cls, on_error)


def bad(field: str, message: str) -> Problem:
    return invalid([(field, message)])
