"""What every router of the service shares: the use-case dependency and error shapes."""

from __future__ import annotations

from typing import Annotated, Any

from leadflow.http import Problem, from_state, invalid
from sales_assignment.assigning import Assigner

A = Annotated[Assigner, from_state("assigner", Assigner)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found"}}


def missing(what: str) -> Problem:
    return Problem(404, "Not Found", f"No {what} with this id.")


def bad(field: str, message: str) -> Problem:
    return invalid([(field, message)])
