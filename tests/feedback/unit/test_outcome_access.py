"""Who an outcome comes from, as pure functions: its id space, `reopen`, a rep's own leads."""

from __future__ import annotations

import uuid

import pytest

from feedback.auth import external_scope, outcome_receipt
from feedback.schemas import OutcomeIn
from leadflow.access import Principal, only_own
from leadflow.http import Problem

RITA = uuid.UUID(int=1)
TOOL = uuid.UUID(int=0x70)


@pytest.mark.parametrize(
    ("principal", "scope"),
    [
        (Principal("admin", None, None, "bootstrap"), ""),
        (Principal("admin", None, "tok_1", "token"), ""),
        (Principal("sales_tool", str(TOOL), None, "service"), str(TOOL)),
        (Principal("sales_tool", "HubSpot", "tok_2", "token"), "sales_tool:HubSpot"),
        (Principal("sales_tool", None, "tok_3", "token"), "sales_tool:tok_3"),
        (Principal("rep", str(RITA).upper(), "tok_4", "token"), f"rep:{RITA}"),
        (Principal("rep", "not-a-uuid", "tok_5", "oidc"), "rep:not-a-uuid"),
    ],
)
def test_each_sender_has_its_own_external_id_space(principal: Principal, scope: str) -> None:
    assert external_scope(principal) == scope


def test_only_the_admin_may_reopen() -> None:
    body = OutcomeIn(lead_id=uuid.uuid4(), stage="won", reopen=True)
    assert outcome_receipt(Principal("admin", None, None, "bootstrap"), body).scope == ""
    for principal in (
        Principal("sales_tool", str(TOOL), None, "service"),
        Principal("rep", str(RITA), "tok_1", "token"),
    ):
        with pytest.raises(Problem) as refused:
            outcome_receipt(principal, body)
        assert refused.value.status == 403
    tool = outcome_receipt(
        Principal("sales_tool", str(TOOL), None, "service"),
        body.model_copy(update={"reopen": False}),
    )
    assert tool.integration_id == TOOL


def test_a_rep_owns_only_the_leads_assigned_to_them() -> None:
    rita = Principal("rep", str(RITA), "tok_1", "token")
    only_own(rita, RITA)  # the route's check: no 403
    only_own(Principal("rep", str(RITA).upper(), "tok_1", "token"), RITA)
    for principal, assigned in (
        (rita, uuid.UUID(int=2)),
        (rita, None),
        (Principal("rep", None, "tok_1", "token"), RITA),
        (Principal("rep", "rita", "tok_1", "token"), RITA),
    ):
        with pytest.raises(Problem) as refused:
            only_own(principal, assigned)
        assert refused.value.status == 403
