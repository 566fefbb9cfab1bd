"""Which account a lead belongs to: by domain, alias domain, then company name. Pure.

An account is its primary domain, its alias domains (other domains of the company) and its
names (the company's name and its subsidiaries'). `match_account(index, domain, company)`:

1. the lead's company domain, or a parent of it (`eu.acme.com` → `acme.com`, never a bare
   suffix), is an account's domain or alias → that account, whatever the name says;
2. else (free mail, no domain, or a domain no account lists) its company name, normalised
   (`company_names.normalise`), is compared with every account name sharing a word with it;
   the best account at or above `NAME_THRESHOLD` wins, unless another account scores within
   `AMBIGUITY_MARGIN` of it: then the match is ambiguous and names both.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from sales_assignment.company_names import (
    MIN_FUZZY,
    STOPWORDS,
    normalise,
    one_edit_apart,
    similarity,
)

# 0.9: the same words after normalisation (1.0), the same letters spaced otherwise (0.98),
# or at most one differing word in a name of 10+ words; a one-letter typo in a word of 6+
# letters passes in names of 2+ words. Measured on tests/sales_assignment/data/company_pairs.csv
# by bench/account_matching.py.
NAME_THRESHOLD = 0.9
AMBIGUITY_MARGIN = 0.05
MAX_FUZZY = 40  # no real word is longer: the deletion neighbourhood stays small


@dataclass(frozen=True, slots=True)
class Account:
    """An account: primary domain, its owner, alias domains and company names."""

    domain: str
    rep_id: UUID
    alias_domains: Sequence[str] = ()
    names: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class AccountMatch:
    """The account a lead matched (None: none, or ambiguous) and how."""

    account: Account | None
    how: str  # "domain", "alias", "name", "ambiguous" or "none"
    matched: str | None = None  # the domain or alias matched
    score: float | None = None
    ambiguous: tuple[str, ...] = ()  # primary domains of the accounts tied


@dataclass(frozen=True, slots=True)
class AccountIndex:
    """Accounts by domain and alias, and their normalised names by word."""

    by_domain: Mapping[str, tuple[Account, str]] = field(default_factory=dict)
    names: Sequence[tuple[tuple[str, ...], Account]] = ()
    by_word: Mapping[str, Sequence[int]] = field(default_factory=dict)
    by_letters: Mapping[str, Sequence[int]] = field(default_factory=dict)
    # One letter deleted (or none) → the words of 6+ letters that give it: words one edit
    # apart share one (SymSpell's deletion neighbourhood), so a typo is found without a scan.
    by_deletion: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, accounts: Iterable[Account]) -> AccountIndex:
        """The index of `accounts`; a domain listed twice keeps its first account."""
        by_domain: dict[str, tuple[Account, str]] = {}
        names: list[tuple[tuple[str, ...], Account]] = []
        by_word: dict[str, list[int]] = {}
        by_letters: dict[str, list[int]] = {}
        for account in accounts:
            by_domain.setdefault(account.domain, (account, "domain"))
            for alias in account.alias_domains:
                by_domain.setdefault(alias, (account, "alias"))
            for name in account.names:
                words = normalise(name)
                if not words:
                    continue
                i = len(names)
                names.append((words, account))
                for word in set(words) - STOPWORDS:
                    by_word.setdefault(word, []).append(i)
                by_letters.setdefault("".join(words), []).append(i)
        by_deletion: dict[str, list[str]] = {}
        for word in by_word:
            for key in _deletions(word):
                by_deletion.setdefault(key, []).append(word)
        return cls(by_domain, names, by_word, by_letters, by_deletion)


def walk_up(domain: str | None) -> Iterator[str]:
    """`domain` and its parents (eu.acme.com, acme.com), never a bare suffix such as "com"."""
    labels = (domain or "").split(".")
    for i in range(len(labels) - 1):
        yield ".".join(labels[i:])


def by_domain(index: AccountIndex, domain: str | None) -> AccountMatch | None:
    """The account whose domain or alias is `domain` or a parent of it, if any."""
    for candidate in walk_up(domain):
        hit = index.by_domain.get(candidate)
        if hit is not None:
            return AccountMatch(hit[0], hit[1], matched=candidate)
    return None


def by_name(index: AccountIndex, company: str | None) -> AccountMatch:
    """The account whose name is most like `company`, at or above the threshold, if one."""
    words = normalise(company or "")
    if not words or not index.names:
        return AccountMatch(None, "none")
    distinct = set(words) - STOPWORDS
    postings: list[set[int]] = []  # per distinct word: the names holding it or a near word
    for word in distinct:
        ids = set(index.by_word.get(word, ()))
        for near in {w for k in _deletions(word) for w in index.by_deletion.get(k, ())}:
            if one_edit_apart(word, near):
                ids.update(index.by_word[near])
        postings.append(ids)
    # A name passes only if it shares `needed` of the lead's words (2c / (n + c) >= T), so it
    # holds one of the lead's rarest words: the common ones ("systems", in thousands of names)
    # need not be read. Repeated words and stopwords are not indexed: they lower the count.
    needed = math.ceil(NAME_THRESHOLD * len(words) / (2 - NAME_THRESHOLD) - 1e-9)
    needed -= len(words) - len(distinct)
    probe = len(postings) - needed + 1 if needed > 0 else len(postings)
    seen = set(index.by_letters.get("".join(words), ()))
    for ids in sorted(postings, key=len)[: max(1, probe)]:
        seen |= ids
    # …and is of a length within that reach: c <= both lengths.
    shortest = len(words) * NAME_THRESHOLD / (2 - NAME_THRESHOLD) - 1e-9
    longest = len(words) * (2 / NAME_THRESHOLD - 1) + 1e-9
    best: dict[str, tuple[float, Account]] = {}  # by account domain: its best name
    for i in sorted(seen):
        name, account = index.names[i]
        if not shortest <= len(name) <= longest and "".join(name) != "".join(words):
            continue
        score = similarity(words, name)
        if score >= NAME_THRESHOLD and score > best.get(account.domain, (0.0,))[0]:
            best[account.domain] = (score, account)
    if not best:
        return AccountMatch(None, "none")
    ranked = sorted(best.values(), key=lambda hit: (-hit[0], hit[1].domain))
    top_score, top = ranked[0]
    tied = [a.domain for s, a in ranked if top_score - s <= AMBIGUITY_MARGIN]
    if len(tied) > 1:
        return AccountMatch(None, "ambiguous", score=top_score, ambiguous=tuple(tied))
    return AccountMatch(top, "name", matched=top.domain, score=top_score)


def _deletions(word: str) -> set[str]:
    """The word and the word with one letter deleted; none for words too short or long."""
    if not MIN_FUZZY <= len(word) <= MAX_FUZZY:
        return set()
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def match_account(index: AccountIndex, domain: str | None, company: str | None) -> AccountMatch:
    """The lead's account: its domain or an alias first, else its company name."""
    return by_domain(index, domain) or by_name(index, company)


__all__ = [
    "AMBIGUITY_MARGIN",
    "NAME_THRESHOLD",
    "Account",
    "AccountIndex",
    "AccountMatch",
    "by_domain",
    "by_name",
    "match_account",
    "walk_up",
]
