"""Explainable scoring rules: a validated rule-set document and how it scores a lead.

A rule set is a JSON document `{"threshold": 60, "caps": {"fit": 80, "engagement": 40},
"rules": [{"name", "group", "when": {"kind": ...}, "points", "reason"}, ...]}`. It carries
no version: the service stores versions and passes one to `parse_rules`. Every rule whose
condition holds adds its points to its group; each group sum is capped from above, the
total is clamped to 0-100, and every cap that bites appears as its own factor, so the factors
of a rules score always add up to it.

Conditions (`when`): company_size {min, max} (inclusive, either may be open); industry,
country, seniority {values}; email_domain {type: corporate | free}; completeness {min_filled}
(of OPTIONAL_FIELDS); attribution {field: source | utm_source | utm_medium | utm_campaign,
values}; touches {min}. List matches ignore case; a missing lead value never matches.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from lead_scoring.titles import Seniority, seniority
from leadflow.events import Factor, Lead

Group = Literal["fit", "engagement"]
EmailType = Literal["corporate", "free"]
AttributionField = Literal["source", "utm_source", "utm_medium", "utm_campaign"]
GROUPS: tuple[Group, ...] = ("fit", "engagement")
TOTAL_CAP = 100

#: The optional lead fields that `completeness` counts.
OPTIONAL_FIELDS: tuple[str, ...] = (
    "first_name", "last_name", "phone", "company", "job_title",
    "company_size", "industry", "country", "website",
)  # fmt: skip

FREE_MAIL_DOMAINS: frozenset[str] = frozenset([
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "rocketmail.com", "hotmail.com",
    "outlook.com", "live.com", "msn.com", "passport.com", "aol.com", "aim.com", "icloud.com",
    "me.com", "mac.com", "proton.me", "protonmail.com", "protonmail.ch", "pm.me", "tutanota.com",
    "tutanota.de", "tuta.io", "mail.com", "email.com", "gmx.de", "gmx.net", "gmx.at", "gmx.ch",
    "gmx.com", "web.de", "t-online.de", "freenet.de", "posteo.de", "mailbox.org", "arcor.de",
    "online.de", "mail.ru", "bk.ru", "inbox.ru", "list.ru", "yandex.ru", "yandex.com", "ya.ru",
    "rambler.ru", "qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "sina.com",
    "sina.cn", "sohu.com", "aliyun.com", "naver.com", "daum.net", "hanmail.net", "orange.fr",
    "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "neuf.fr", "libero.it", "virgilio.it",
    "alice.it", "tiscali.it", "tin.it", "email.it", "uol.com.br", "bol.com.br", "terra.com.br",
    "ig.com.br", "telefonica.net", "zoho.com", "zohomail.com", "fastmail.com", "fastmail.fm",
    "hey.com", "hushmail.com", "seznam.cz", "centrum.cz", "wp.pl", "o2.pl", "interia.pl",
    "onet.pl", "rediffmail.com", "ziggo.nl", "kpnmail.nl", "planet.nl", "home.nl", "hetnet.nl",
    "telenet.be", "skynet.be", "bluewin.ch", "sapo.pt", "btinternet.com", "sky.com",
    "virginmedia.com", "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net",
    "cox.net", "charter.net", "shaw.ca", "rogers.com",
])  # fmt: skip
# Providers with a domain per country (yahoo.co.uk, hotmail.fr, gmx.es, yandex.kz ...).
_FREE_MAIL_FAMILIES = frozenset([
    "gmail", "yahoo", "ymail", "hotmail", "outlook", "live", "msn", "gmx", "yandex", "aol",
    "icloud", "protonmail",
])  # fmt: skip
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "ne", "or"})


def email_domain_type(email: str) -> EmailType:
    """Whether an address (or bare domain) belongs to a free-mail provider or a company."""
    domain = email.rsplit("@", 1)[-1].strip().lower().rstrip(".")
    if domain in FREE_MAIL_DOMAINS:
        return "free"
    labels = domain.split(".")
    family_tld = len(labels) == 2 or (len(labels) == 3 and labels[1] in _SECOND_LEVEL)
    return "free" if labels[0] in _FREE_MAIL_FAMILIES and family_tld else "corporate"


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """What rules and the learned model look at, derived once from a lead."""

    company_size: int | None
    industry: str | None
    country: str | None
    seniority: Seniority | None
    email_type: EmailType
    filled: int
    attribution: Mapping[str, str | None]
    touches: int


_optional_fields = operator.attrgetter(*OPTIONAL_FIELDS)
_ATTRIBUTION_FIELDS = ("source", "utm_source", "utm_medium", "utm_campaign")
_attribution_fields = operator.attrgetter(*_ATTRIBUTION_FIELDS)


def lead_facts(lead: Lead, *, touches: int = 1) -> LeadFacts:
    """Derive the normalised facts of a lead (touches = how often it was captured)."""
    filled = 0
    for value in _optional_fields(lead):  # None or blank text is not filled
        if value is not None and (not isinstance(value, str) or value.strip()):
            filled += 1
    source, utm_source, utm_medium, utm_campaign = _attribution_fields(lead.attribution)
    return LeadFacts(
        company_size=lead.company_size,
        industry=lead.industry.strip().lower() or None if lead.industry else None,
        country=lead.country.strip().upper() or None if lead.country else None,
        seniority=seniority(lead.job_title),
        email_type=email_domain_type(lead.email),
        filled=filled,
        attribution={
            "source": source.strip().lower() or None if source else None,
            "utm_source": utm_source.strip().lower() or None if utm_source else None,
            "utm_medium": utm_medium.strip().lower() or None if utm_medium else None,
            "utm_campaign": utm_campaign.strip().lower() or None if utm_campaign else None,
        },
        touches=touches,
    )


# ---------------------------------------------------------------- the document

Lower = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=200)
]
# Values a condition may list: every country, and plenty of industries or campaigns.
MAX_VALUES = 300


def _country_code(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code such as DE")
    return code


CountryCode = Annotated[str, AfterValidator(_country_code)]


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CompanySize(_Doc):
    """Company size (employees) within [min, max]; either bound may be left open."""

    kind: Literal["company_size"]
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check_band(self) -> CompanySize:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class IndustryIn(_Doc):
    """Industry is one of `values` (case-insensitive)."""

    kind: Literal["industry"]
    values: list[Lower] = Field(min_length=1, max_length=MAX_VALUES)


class CountryIn(_Doc):
    """Country (ISO 3166-1 alpha-2) is one of `values`."""

    kind: Literal["country"]
    values: list[CountryCode] = Field(min_length=1, max_length=MAX_VALUES)


class SeniorityIn(_Doc):
    """Seniority derived from the job title is one of `values`."""

    kind: Literal["seniority"]
    values: list[Seniority] = Field(min_length=1, max_length=MAX_VALUES)


class EmailDomain(_Doc):
    """The email address is on a corporate or a free-mail domain."""

    kind: Literal["email_domain"]
    type: EmailType


class Completeness(_Doc):
    """At least `min_filled` of the optional lead fields (OPTIONAL_FIELDS) are filled."""

    kind: Literal["completeness"]
    min_filled: int = Field(ge=1, le=len(OPTIONAL_FIELDS))


class AttributionIn(_Doc):
    """An attribution field (source, utm_source, utm_medium, utm_campaign) is in `values`."""

    kind: Literal["attribution"]
    field: AttributionField
    values: list[Lower] = Field(min_length=1, max_length=MAX_VALUES)


class Touches(_Doc):
    """The lead was captured at least `min` times (repeat form fills, imports)."""

    kind: Literal["touches"]
    min: int = Field(ge=1)


Condition = Annotated[
    CompanySize | IndustryIn | CountryIn | SeniorityIn | EmailDomain | Completeness
    | AttributionIn | Touches,
    Field(discriminator="kind"),
]  # fmt: skip
CONDITION_KINDS: frozenset[str] = frozenset([
    "company_size", "industry", "country", "seniority", "email_domain", "completeness",
    "attribution", "touches",
])  # fmt: skip


class Rule(_Doc):
    """One explainable rule: when `when` holds, add `points` to `group`."""

    name: str = Field(min_length=1, max_length=80)
    group: Group
    when: Condition
    points: int = Field(ge=-100, le=100)
    reason: str = Field(min_length=1, max_length=300)


class Caps(_Doc):
    """Upper bounds of each group's sum; the total is always capped at 100 too."""

    fit: int = Field(default=80, ge=0, le=TOTAL_CAP)
    engagement: int = Field(default=40, ge=0, le=TOTAL_CAP)


class RuleSet(_Doc):
    """A validated rule set; `version` is assigned by the service, not by the document."""

    threshold: int = Field(ge=0, le=100)
    caps: Caps = Field(default_factory=Caps)
    rules: list[Rule] = Field(max_length=500)
    version: str = Field(default="default", exclude=True, min_length=1)


class RuleSetInvalid(ValueError):
    """A rule-set document failed validation; `errors` holds (location, message) pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{loc}: {msg}" for loc, msg in errors))
        self.errors = errors


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif not (i and loc[i - 1] == "when" and part in CONDITION_KINDS):
            # pydantic puts the union's tag in the path (when.company_size.min); readers
            # wrote `when.min`, so the tag is dropped.
            out += f".{part}" if out else part
    return out


def _rule_name(doc: Mapping[str, Any], loc: tuple[int | str, ...]) -> str | None:
    rules = doc.get("rules")
    if len(loc) < 2 or loc[0] != "rules" or not isinstance(loc[1], int):
        return None
    if not isinstance(rules, list) or not 0 <= loc[1] < len(rules):
        return None
    rule = rules[loc[1]]
    name = rule.get("name") if isinstance(rule, dict) else None
    return name if isinstance(name, str) and name else None


def parse_rules(doc: Mapping[str, Any], *, version: str = "default") -> RuleSet:
    """Validate a rule-set document; raise RuleSetInvalid naming every bad rule and field.

    A `version` key in the document is ignored, so a document fetched with its version can
    be edited and sent back unchanged.
    """
    if not isinstance(doc, Mapping):
        raise RuleSetInvalid([("", "a rule set must be a JSON object")])
    body = {k: v for k, v in doc.items() if k != "version"}
    errors: list[tuple[str, str]] = []
    parsed: RuleSet | None = None
    try:
        parsed = RuleSet.model_validate({**body, "version": version})
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            name = _rule_name(body, loc)
            msg = err["msg"].removeprefix("Value error, ")  # our own checks' messages
            errors.append((_location(loc), msg + (f" (rule {name!r})" if name else "")))
    seen: dict[str, int] = {}
    raw_rules = body.get("rules")
    for i, rule in enumerate(raw_rules if isinstance(raw_rules, list) else []):
        name = rule.get("name") if isinstance(rule, dict) else None
        if isinstance(name, str) and name in seen:
            first = f"rules[{seen[name]}]"
            errors.append((f"rules[{i}].name", f"duplicate rule name {name!r} (see {first})"))
        elif isinstance(name, str):
            seen[name] = i
    if errors or parsed is None:
        raise RuleSetInvalid(errors)
    return parsed


def rules_to_doc(rules: RuleSet) -> dict[str, Any]:
    """The JSON document of a rule set (without its version); parse_rules reads it back."""
    return rules.model_dump(mode="json")


# ---------------------------------------------------------------- scoring


@dataclass(frozen=True, slots=True)
class RulesOutcome:
    """A rules score 0-100 and the factors (fired rules, caps) that add up to it."""

    points: int
    factors: tuple[Factor, ...]


Predicate = Callable[[LeadFacts], bool]


def predicate(when: Condition) -> Predicate:
    """A condition as a function of a lead's facts (unknown values never match)."""
    match when:
        case CompanySize(min=lo, max=hi):
            return lambda f: (
                f.company_size is not None
                and (lo is None or f.company_size >= lo)
                and (hi is None or f.company_size <= hi)
            )
        case IndustryIn():
            industries = frozenset(when.values)
            return lambda f: f.industry in industries
        case CountryIn():
            countries = frozenset(when.values)
            return lambda f: f.country in countries
        case SeniorityIn():
            levels = frozenset(when.values)
            return lambda f: f.seniority in levels
        case EmailDomain(type=kind):
            return lambda f: f.email_type == kind
        case Completeness(min_filled=least):
            return lambda f: f.filled >= least
        case AttributionIn(field=name):
            wanted = frozenset(when.values)
            return lambda f: f.attribution.get(name) in wanted
        case Touches(min=least):
            return lambda f: f.touches >= least


def matches(when: Condition, f: LeadFacts) -> bool:
    """Whether a lead's facts satisfy a condition (unknown values never match)."""
    return predicate(when)(f)


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A rule ready to apply: its test, and the factor it adds when it fires (shared)."""

    group: Group
    points: int
    test: Predicate
    factor: Factor


# A rule set's compiled rules, by identity; the few rule sets a process sees stay cached.
_COMPILED: dict[int, tuple[RuleSet, tuple[_Compiled, ...]]] = {}


def _compiled(rules: RuleSet) -> tuple[_Compiled, ...]:
    found = _COMPILED.get(id(rules))
    if found is not None and found[0] is rules:
        return found[1]
    compiled = tuple(
        _Compiled(
            rule.group,
            rule.points,
            predicate(rule.when),
            Factor(name=rule.name, points=rule.points, reason=rule.reason),
        )
        for rule in rules.rules
    )
    if len(_COMPILED) >= 16:
        _COMPILED.clear()
    _COMPILED[id(rules)] = (rules, compiled)
    return compiled


def apply_rules(rules: RuleSet, facts: LeadFacts) -> RulesOutcome:
    """Score a lead's facts with a rule set; every fired rule and every cap is a factor."""
    factors: list[Factor] = []
    totals = dict.fromkeys(GROUPS, 0)
    for rule in _compiled(rules):
        if rule.test(facts):
            totals[rule.group] += rule.points
            factors.append(rule.factor)
    total = 0
    for group in GROUPS:
        cap = getattr(rules.caps, group)
        if totals[group] > cap:
            why = f"{group} points are capped at {cap}"
            factors.append(Factor(name=f"cap:{group}", points=cap - totals[group], reason=why))
        total += min(totals[group], cap)
    clamped = max(0, min(TOTAL_CAP, total))
    if clamped != total:
        factors.append(
            Factor(name="cap:total", points=clamped - total, reason="a score stays within 0-100")
        )
    return RulesOutcome(points=clamped, factors=tuple(factors))


def _rule(name: str, group: Group, when: dict[str, Any], points: int, reason: str) -> Any:
    return {"name": name, "group": group, "when": when, "points": points, "reason": reason}


# Out of the box for B2B SaaS: a complete lead from a corporate domain at a 50-5,000 person
# company with a manager-or-above title reaches 65 (>= 60); free-mail without company or title
# cannot get past the engagement cap (40) and is pulled down by the free-mail penalty.
_DEFAULT_DOC: dict[str, Any] = {
    "threshold": 60,
    "caps": {"fit": 85, "engagement": 40},
    "rules": [
        _rule("corporate-email", "fit", {"kind": "email_domain", "type": "corporate"}, 15,
              "works at a company domain"),
        _rule("free-mail", "fit", {"kind": "email_domain", "type": "free"}, -10,
              "free-mail address: often private or low intent"),
        _rule("size-sweet-spot", "fit", {"kind": "company_size", "min": 50, "max": 5000}, 20,
              "50-5,000 employees: our core market"),
        _rule("size-small", "fit", {"kind": "company_size", "min": 10, "max": 49}, 8,
              "10-49 employees: small but reachable"),
        _rule("size-enterprise", "fit", {"kind": "company_size", "min": 5001}, 10,
              "over 5,000 employees: long enterprise cycle"),
        _rule("size-micro", "fit", {"kind": "company_size", "max": 9}, -5,
              "under 10 employees: rarely buys"),
        _rule("executive", "fit", {"kind": "seniority", "values": ["c_level", "vp"]}, 25,
              "executive: signs the contract"),
        _rule("director", "fit", {"kind": "seniority", "values": ["director"]}, 20,
              "director or head of a department: owns the budget"),
        _rule("manager", "fit", {"kind": "seniority", "values": ["manager"]}, 15,
              "manager: influences the purchase"),
        _rule("complete-profile", "fit", {"kind": "completeness", "min_filled": 7}, 15,
              "filled in most of the form: serious interest"),
        _rule("target-industry", "fit", {"kind": "industry", "values": [
            "software", "saas", "technology", "it services", "financial services", "fintech",
            "e-commerce", "professional services", "marketing"]}, 10,
              "industry that buys software like ours"),
        _rule("high-intent-campaign", "engagement", {"kind": "attribution",
              "field": "utm_campaign", "values": ["demo", "pricing", "trial", "free-trial"]},
              15, "came from a demo, pricing or trial campaign"),
        _rule("referral", "engagement", {"kind": "attribution", "field": "source",
              "values": ["referral", "partner"]}, 15, "referred by a customer or partner"),
        _rule("event", "engagement", {"kind": "attribution", "field": "source",
              "values": ["event", "webinar"]}, 10, "met us at an event or webinar"),
        _rule("paid-search", "engagement", {"kind": "attribution", "field": "utm_medium",
              "values": ["cpc", "ppc", "paid_search", "sem"]}, 5,
              "searched for a solution (paid search)"),
        _rule("returning", "engagement", {"kind": "touches", "min": 2}, 10,
              "came back: captured more than once"),
        _rule("returning-often", "engagement", {"kind": "touches", "min": 3}, 10,
              "came back three times or more"),
    ],
}  # fmt: skip

DEFAULT_RULES: RuleSet = parse_rules(_DEFAULT_DOC, version="default")
