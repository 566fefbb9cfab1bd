"""sales-assignment's routing-policy routes: versioned routing rules and account owners."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from leadflow.access import AdminOnly, Reader, roles_text
from leadflow.http import Problem, invalid
from sales_assignment import admin, policy_admin
from sales_assignment.api_deps import NOT_FOUND, A, bad
from sales_assignment.models import AccountOwnerRow, RuleSetRow
from sales_assignment.rules import RulesInvalid
from sales_assignment.schemas import AccountIn, AccountOut, RulesIn, RulesOut

router = APIRouter(prefix="/v1")
Domain = Annotated[str, Path(max_length=253, examples=["acme.com"])]


def _rules_out(row: RuleSetRow | None) -> RulesOut:
    if row is None:
        return RulesOut(version=0, created_at=None, rules=[])
    return RulesOut(version=row.version, created_at=row.created_at, rules=row.rules)


def _rules_invalid(exc: RulesInvalid, rules: list[dict[str, Any]]) -> Problem:
    """422 naming each bad rule by position and, when it has one, by name."""
    errors = []
    for err in exc.errors:
        message = err["msg"]
        index = err["loc"].removeprefix("rules[").partition("]")[0]
        if index.isdigit() and int(index) < len(rules):
            name = rules[int(index)].get("name")
            if isinstance(name, str) and name.strip():
                message = f"rule {name.strip()!r}: {message}"
        errors.append((err["loc"], message))
    return invalid(errors)


@router.get(
    "/routing/rules",
    response_model=RulesOut,
    tags=["routing"],
    summary="The active routing rules (highest version); version 0 = default pool only",
    description=roles_text("admin", "analyst"),
)
async def get_rules(a: A, _: Reader) -> RulesOut:
    return _rules_out(await policy_admin.active_rules(a))


@router.put(
    "/routing/rules",
    response_model=RulesOut,
    tags=["routing"],
    summary="Replace the routing rules: validated, stored as the next version (old kept)",
    description=roles_text("admin"),
)
async def put_rules(body: RulesIn, a: A, _: AdminOnly) -> RulesOut:
    try:
        return _rules_out(await policy_admin.put_rules(a, body.rules))
    except RulesInvalid as exc:
        raise _rules_invalid(exc, body.rules) from exc


@router.get(
    "/routing/rules/history",
    response_model=list[RulesOut],
    tags=["routing"],
    summary="Every stored rules version, newest first",
    description=roles_text("admin", "analyst"),
)
async def rules_history(
    a: A, _: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[RulesOut]:
    return [_rules_out(row) for row in await policy_admin.rules_history(a, limit)]


def _account_out(row: AccountOwnerRow) -> AccountOut:
    return AccountOut.model_validate(row, from_attributes=True)


@router.get(
    "/accounts",
    response_model=list[AccountOut],
    tags=["routing"],
    summary="Accounts: company domain, alias domains and names → owner rep, by domain",
    description=roles_text("admin", "analyst"),
)
async def list_accounts(a: A, _: Reader) -> list[AccountOut]:
    return [_account_out(row) for row in await policy_admin.list_accounts(a)]


@router.put(
    "/accounts/{domain}",
    response_model=AccountOut,
    tags=["routing"],
    responses={201: {"description": "New owner", "model": AccountOut}},
    summary="Set the owner, alias domains and names of an account (its leads go to that rep "
    "first: by domain or alias, else by company name; see docs/sales-assignment.md)",
    description=roles_text("admin"),
)
async def put_account(
    domain: Domain, body: AccountIn, a: A, _: AdminOnly, response: Response
) -> AccountOut:
    try:
        name = policy_admin.normalise_domain(domain)
    except ValueError as exc:
        raise bad("domain", str(exc)) from exc
    try:
        row, created = await policy_admin.put_account(
            a, name, body.rep_id, body.alias_domains, body.names
        )
    except (policy_admin.UnknownRep, policy_admin.AccountInvalid) as exc:
        raise bad(exc.field, str(exc)) from exc
    response.status_code = 201 if created else 200
    return _account_out(row)


@router.delete(
    "/accounts/{domain}",
    status_code=204,
    tags=["routing"],
    responses=NOT_FOUND,
    summary="Remove a domain's owner (its leads go through the rules again)",
    description=roles_text("admin"),
)
async def delete_account(domain: Domain, a: A, _: AdminOnly) -> Response:
    try:
        await policy_admin.delete_account(a, policy_admin.normalise_domain(domain))
    except (admin.NotFound, ValueError):
        raise Problem(404, "Not Found", "No owner for this domain.") from None
    return Response(status_code=204)
