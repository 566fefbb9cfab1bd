"""The use cases behind the routing-policy API: versioned rules and accounts (owners).

Both change who gets future leads, never who owns a lead already; both run under the
routing lock and drain the queue, since a new rule or owner can make a waiting lead routable.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from leadflow.uow import UnitOfWork
from sales_assignment import repo
from sales_assignment.admin import NotFound
from sales_assignment.assigning import Assigner
from sales_assignment.company_names import normalise
from sales_assignment.models import AccountOwnerRow, RuleSetRow
from sales_assignment.places import is_free_mail
from sales_assignment.rules import RoutingRule, RulesInvalid, rule_docs, validate_rules


class UnknownRep(ValueError):
    """A rule or an account names a rep that does not exist (or was retired)."""

    def __init__(self, field: str, rep_id: uuid.UUID) -> None:
        self.field = field
        super().__init__(f"no rep {rep_id}")


async def active_rules(a: Assigner) -> RuleSetRow | None:
    async with a.rt.sessions() as s:
        return await repo.active_rules(s)


async def rules_history(a: Assigner, limit: int) -> list[RuleSetRow]:
    async with a.rt.sessions() as s:
        return await repo.rules_history(s, limit)


def check_named_reps(rules: Sequence[RoutingRule], live: Collection[uuid.UUID]) -> None:
    """RulesInvalid naming the first pool or fallback rep that is not a live rep."""
    for i, rule in enumerate(rules):
        for field, rep_id in rule.named_reps(i):  # the pool's and the fallback's
            if rep_id not in live:
                raise RulesInvalid([{"loc": field, "msg": f"no rep {rep_id}"}])


async def put_rules(a: Assigner, doc: object) -> RuleSetRow:
    """Validate and store the rules as the next version (RulesInvalid/UnknownRep if not)."""
    rules = validate_rules(doc)
    async with repo.routing_change(a.rt) as uow:
        return await store_rules(a, uow, rules)


async def store_rules(a: Assigner, uow: UnitOfWork, rules: Sequence[RoutingRule]) -> RuleSetRow:
    """Store validated rules as the next version and drain the queue into them, in `uow`,
    whose caller holds the routing lock (RulesInvalid if they name a rep that is gone).
    PUT /v1/routing/rules and a promoted experiment both come this way."""
    s = uow.session
    check_named_reps(rules, {r.rep_id for r in await repo.live_reps(s)})
    row = await repo.add_rules(s, rule_docs(rules), a.clock())
    await a.drain_queue(uow)
    return row


def normalise_domain(text: str) -> str:
    """A company domain as stored: lower case, no `www.`, no trailing dot; ValueError if not one."""
    domain = text.strip().lower().rstrip(".").removeprefix("www.")
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels) or len(domain) > 253 or "@" in domain or "/" in domain:
        raise ValueError(f"{text!r} is not a domain such as acme.com")
    if is_free_mail(domain):
        raise ValueError(f"{domain} is a free-mail provider: it names no company")
    return domain


async def list_accounts(a: Assigner) -> list[AccountOwnerRow]:
    async with a.rt.sessions() as s:
        return await repo.account_owners(s)


class AccountInvalid(ValueError):
    """An account field that cannot be stored; `field` names it (`alias_domains[1]`)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def account_aliases(
    domain: str, alias_domains: Sequence[str], names: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The alias domains normalised and the names checked, each once (AccountInvalid if not)."""
    aliases: list[str] = []
    for i, text in enumerate(alias_domains):
        try:
            alias = normalise_domain(text)
        except ValueError as exc:
            raise AccountInvalid(f"alias_domains[{i}]", str(exc)) from None
        if alias == domain:
            raise AccountInvalid(f"alias_domains[{i}]", f"{alias} is the account's own domain")
        if alias not in aliases:
            aliases.append(alias)
    kept: list[str] = []
    for i, name in enumerate(names):
        if not normalise(name):
            raise AccountInvalid(f"names[{i}]", f"{name!r} has no letter or digit to match on")
        if name not in kept:
            kept.append(name)
    return aliases, kept


def _taken(rows: Sequence[AccountOwnerRow], domain: str, aliases: Sequence[str]) -> None:
    """AccountInvalid when another account already lists the domain or one of the aliases."""
    for row in rows:
        if row.domain == domain:
            continue
        theirs = {row.domain, *row.alias_domains}
        if domain in theirs:
            raise AccountInvalid("domain", f"{domain} is an alias of account {row.domain}")
        for i, alias in enumerate(aliases):
            if alias in theirs:
                raise AccountInvalid(
                    f"alias_domains[{i}]", f"{alias} already belongs to account {row.domain}"
                )


async def put_account(
    a: Assigner,
    domain: str,
    rep_id: uuid.UUID,
    alias_domains: Sequence[str] = (),
    names: Sequence[str] = (),
) -> tuple[AccountOwnerRow, bool]:
    """Give the account (domain, aliases, names) to a rep; returns the row and whether new."""
    aliases, kept = account_aliases(domain, alias_domains, names)
    async with repo.routing_change(a.rt) as uow:
        s = uow.session
        if await repo.get_rep(s, rep_id) is None:
            raise UnknownRep("rep_id", rep_id)
        _taken(await repo.account_owners(s), domain, aliases)
        now = a.clock()
        row = await repo.get_account(s, domain)
        created = row is None
        if row is None:
            row = AccountOwnerRow(domain=domain, rep_id=rep_id, created_at=now, updated_at=now)
            s.add(row)
        else:
            row.rep_id, row.updated_at = rep_id, now
        row.alias_domains, row.names = aliases, kept
        await s.flush()
        await a.drain_queue(uow)
    return row, created


async def delete_account(a: Assigner, domain: str) -> None:
    async with repo.routing_change(a.rt) as uow:
        s = uow.session
        if not await repo.delete_account(s, domain):
            raise NotFound("owner for this domain")
