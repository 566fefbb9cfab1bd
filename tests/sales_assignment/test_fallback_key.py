"""A fallback pool's round-robin state has a key of its own: never a rule's, never another
rule's fallback's (before, `x/fallback` and `x`'s fallback shared one, as did two long names
alike in their first 91 characters)."""

from __future__ import annotations

import hashlib

from sales_assignment.fallback import EVERYONE, TERRITORY, Fallback, hidden_pool

LONG = "e" * 91


def test_no_two_rules_and_no_rule_share_a_fallback_key() -> None:
    fb = Fallback(pool=TERRITORY)
    names = ["x", "x/fallback", "default", LONG + "a" * 9, LONG + "b" * 9, "z" * 100]
    keys = [fb.rr_pool(name) for name in names]
    assert len(set(keys)) == len(names)
    assert not set(keys) & set(names)  # a rule's own key is its name
    assert fb.rr_pool("x") == Fallback(pool=TERRITORY).rr_pool("x")  # stable across reads
    assert all(len(k) <= 100 for k in keys)  # rr_state.pool is 100 characters


def test_the_default_pool_as_fallback_shares_the_default_pools_state() -> None:
    assert Fallback(pool=EVERYONE).rr_pool("anything") == EVERYONE


def test_a_hidden_pool_is_its_prefix_then_the_sha256_of_the_whole_name() -> None:
    key = hidden_pool(" exp ", "e1:" + LONG)
    assert key == " exp " + hashlib.sha256(("e1:" + LONG).encode()).hexdigest()
    assert hidden_pool(" exp ", "x") != hidden_pool(" exp ", "x ")  # the whole name counts
    assert Fallback(pool=TERRITORY).rr_pool("x") == hidden_pool(" fallback ", "x")
    assert len(hidden_pool(" fallback ", "z" * 100)) <= 100  # rr_state.pool
