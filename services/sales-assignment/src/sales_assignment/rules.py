"""Routing rules: conditions on a lead → a pool of reps; validated from JSON documents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from sales_assignment.facts import LeadFacts
from sales_assignment.fallback import EVERYONE, Fallback
from sales_assignment.places import Place, expand_places

DEFAULT_RULE = "default"
OWNER_RULE = "account_owner"
TERRITORY: Literal["territory"] = "territory"


@dataclass(frozen=True, slots=True)
class RoutingRule:
    """Conditions (all given ones must hold) → a pool: rep ids or `"territory"`.

    Bands are inclusive; an unknown lead fact (no country, no size …) fails a condition set
    on it. The `"territory"` pool is every rep whose territories name the lead's country.
    `fallback` takes the lead when nobody in the pool is eligible (see `fallback`).
    """

    name: str
    pool: Sequence[UUID] | Literal["territory"] = "territory"
    countries: Sequence[str] = ()
    min_employees: int | None = None
    max_employees: int | None = None
    industries: Sequence[str] = ()
    min_score: int | None = None
    max_score: int | None = None
    fallback: Fallback | None = None
    country_set: frozenset[str] = field(init=False, repr=False, compare=False)
    industry_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name.strip() or self.name in (DEFAULT_RULE, OWNER_RULE):
            raise ValueError(f"name {self.name!r} is empty or reserved")
        if isinstance(self.pool, str) and self.pool != TERRITORY:
            raise ValueError(f"pool must be {TERRITORY!r} or a list of rep ids")
        for what in ("employees", "score"):
            low, high = getattr(self, f"min_{what}"), getattr(self, f"max_{what}")
            if low is not None and high is not None and low > high:
                raise ValueError(f"min_{what} {low} > max_{what} {high}")
        object.__setattr__(self, "country_set", expand_places(self.countries))
        object.__setattr__(self, "industry_set", frozenset(i.casefold() for i in self.industries))

    def named_reps(self, index: int) -> list[tuple[str, UUID]]:
        """Each rep the rule names by id, with the field naming it (`rules[2].pool[0]`)."""
        named = [] if isinstance(self.pool, str) else list(self.pool)
        fields = [(f"rules[{index}].pool[{j}]", rep_id) for j, rep_id in enumerate(named)]
        if self.fallback is not None and self.fallback.rep is not None:
            fields.append((f"rules[{index}].fallback.rep", self.fallback.rep))
        elif self.fallback is not None:
            where = f"rules[{index}].fallback.pool"
            fields += [(f"{where}[{j}]", r) for j, r in enumerate(self.fallback.rep_ids)]
        return fields

    def matches(self, lead: LeadFacts) -> bool:
        """Whether every condition of the rule holds for the lead."""
        return (
            (not self.country_set or lead.country in self.country_set)
            and _within(lead.company_size, self.min_employees, self.max_employees)
            and (not self.industry_set or (lead.industry or "").casefold() in self.industry_set)
            and _within(lead.score, self.min_score, self.max_score)
        )


def _within(value: int | None, low: int | None, high: int | None) -> bool:
    if low is None and high is None:
        return True
    return value is not None and (low is None or value >= low) and (high is None or value <= high)


class RulesInvalid(ValueError):
    """Rules that do not validate; `errors` lists `{"loc": "rules[2].countries[0]", "msg"}`."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['loc']}: {e['msg']}" for e in errors))


# What a rule may name: a client's document is bounded before it is read.
_MAX_POOL = 1000
_MAX_EMPLOYEES = 10_000_000  # intake's own ceiling on company_size


def _pool_value(value: object, names: tuple[str, ...]) -> object:
    """A pool as written: one of `names`, or a non-empty list of rep ids (one clear message
    instead of pydantic's one per union branch)."""
    if isinstance(value, str) and value in names:
        return value
    if not isinstance(value, list) or not value:
        either = ", ".join(repr(n) for n in names)
        raise ValueError(f"must be {either} or a non-empty list of rep ids")
    if len(value) > _MAX_POOL:
        raise ValueError(f"at most {_MAX_POOL} rep ids")
    try:
        return [v if isinstance(v, UUID) else UUID(str(v)) for v in value]
    except ValueError:
        raise ValueError(f"{value!r} holds something that is not a rep id") from None


class _FallbackDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rep: UUID | None = None
    pool: list[UUID] | Literal["territory", "default"] | None = None

    @field_validator("pool", mode="before")
    @classmethod
    def _pool(cls, value: object) -> object:
        return _pool_value(value, (TERRITORY, EVERYONE))

    @model_validator(mode="after")
    def _one(self) -> _FallbackDoc:
        if (self.rep is None) == (self.pool is None):
            raise ValueError(
                'name either a rep, {"rep": "<rep_id>"}, or a pool, {"pool": [rep ids] | '
                '"territory" | "default"}'
            )
        return self


class _RuleDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    pool: list[UUID] | Literal["territory"] = "territory"
    countries: Annotated[list[Place], Field(max_length=300)] = []
    min_employees: Annotated[int, Field(ge=0, le=_MAX_EMPLOYEES)] | None = None
    max_employees: Annotated[int, Field(ge=0, le=_MAX_EMPLOYEES)] | None = None
    industries: Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=200)] = []
    min_score: Annotated[int, Field(ge=0, le=100)] | None = None
    max_score: Annotated[int, Field(ge=0, le=100)] | None = None
    fallback: _FallbackDoc | None = None

    @field_validator("pool", mode="before")
    @classmethod
    def _pool(cls, value: object) -> object:
        return _pool_value(value, (TERRITORY,))

    @field_validator("fallback", mode="before")
    @classmethod
    def _fallback(cls, value: object) -> object:
        if value is not None and not isinstance(value, dict):
            raise ValueError('must be an object: {"rep": "<rep_id>"} or {"pool": …}')
        return value

    @model_validator(mode="after")
    def _rule(self) -> _RuleDoc:
        self.rule()  # the dataclass holds the cross-field checks
        return self

    def rule(self) -> RoutingRule:
        fallback = self.fallback
        return RoutingRule(
            **self.model_dump(exclude={"fallback"}),
            fallback=Fallback(fallback.rep, fallback.pool) if fallback is not None else None,
        )


_RULES = TypeAdapter(list[_RuleDoc])


def validate_rules(doc: object) -> list[RoutingRule]:
    """Rules from a JSON document (a list of rule objects); RulesInvalid names each bad field."""
    try:
        docs = _RULES.validate_python(doc)
    except ValidationError as exc:
        raise RulesInvalid(
            [
                {"loc": _loc(err["loc"]), "msg": err["msg"].removeprefix("Value error, ")}
                for err in exc.errors()
            ]
        ) from exc
    seen: dict[str, int] = {}
    for i, rule in enumerate(docs):
        if rule.name in seen:
            msg = f"duplicate name {rule.name!r} (also rules[{seen[rule.name]}])"
            raise RulesInvalid([{"loc": f"rules[{i}].name", "msg": msg}])
        seen[rule.name] = i
    return [rule.rule() for rule in docs]


def _loc(parts: tuple[int | str, ...]) -> str:
    return "rules" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def rule_docs(rules: Sequence[RoutingRule]) -> list[dict[str, object]]:
    """Rules as the JSON document `validate_rules` reads back (stored and shown by the API)."""
    docs: list[dict[str, object]] = []
    for rule in rules:
        doc: dict[str, object] = {
            "name": rule.name,
            "pool": rule.pool if isinstance(rule.pool, str) else [str(r) for r in rule.pool],
        }
        if rule.countries:
            doc["countries"] = list(rule.countries)
        if rule.industries:
            doc["industries"] = list(rule.industries)
        for key in ("min_employees", "max_employees", "min_score", "max_score"):
            value = getattr(rule, key)
            if value is not None:
                doc[key] = value
        if rule.fallback is not None:
            doc["fallback"] = rule.fallback.doc()
        docs.append(doc)
    return docs
