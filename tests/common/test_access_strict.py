"""Access hardening: one spelling of a token's signature, rep subjects that are UUIDs, the
records of `leadflow.tokens`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_access import ADMIN, kernel_app

from leadflow import access_store as store
from leadflow.access import Principal, only_own, rep_of
from leadflow.access_tokens import Claims, mint_token, verify_token
from leadflow.http import Problem
from support.apps import client

KEY = b"k" * 32


# A fixed clock: this token's signature holds both url-safe characters ('-' and '_'), so the
# standard-alphabet spelling differs from it (about one signature in four has neither).
NOW = 1_800_000_000


def test_a_token_signature_has_exactly_one_spelling() -> None:
    now = float(NOW)
    token = mint_token(KEY, Claims("tok_" + "a" * 24, "analyst", None, NOW + 100))
    body, _, signature = token.partition(".")
    assert "-" in signature, signature
    assert "_" in signature, signature
    assert verify_token(token, KEY, now=now) is not None
    flipped = signature[:-1] + chr(ord(signature[-1]) ^ 1)  # the same bytes, other pad bits
    variants = {
        "junk after": token + "!!*",
        "padded": token + "==",
        "a space inside": f"{body}.{signature[:5]} {signature[5:]}",
        "unused bits set": f"{body}.{flipped}",
        "standard alphabet": f"{body}." + signature.replace("-", "+").replace("_", "/"),
        "padded body": f"{body}==.{signature}",
    }
    for name, variant in variants.items():
        assert variant != token, name
        assert verify_token(variant, KEY, now=now) is None, name


def test_rep_helpers_compare_rep_ids_as_uuids() -> None:
    rep_id = uuid.uuid4()
    upper = Principal("rep", str(rep_id).upper(), "tok_x", "token")
    only_own(upper, rep_id)  # the same rep, however its id is spelt
    only_own(upper, str(rep_id))
    assert rep_of(upper) == rep_id
    for subject, assigned in (("None", None), (None, None), ("rep-7", "rep-7")):
        with pytest.raises(Problem):
            only_own(Principal("rep", subject, "tok_x", "token"), assigned)
    with pytest.raises(Problem):
        rep_of(Principal("rep", "None", "tok_x", "token"))
    assert rep_of(Principal("analyst", None, "tok_x", "token")) is None
    only_own(Principal("analyst", None, "tok_x", "token"), None)


def test_a_rep_token_is_compared_with_the_assigned_rep_as_uuids() -> None:
    rep_id = uuid.uuid4()
    only_own(Principal("rep", str(rep_id).upper(), "tok_x", "token"), rep_id)  # no 403
    for subject, assigned in (("None", None), (str(uuid.uuid4()), rep_id)):
        with pytest.raises(Problem):
            only_own(Principal("rep", subject, "tok_x", "token"), assigned)


async def test_a_rep_token_is_minted_only_for_a_uuid_subject(tmp_path: Path) -> None:
    app = await kernel_app(tmp_path)
    try:
        async with client(app) as http:
            for subject in ("None", "rep-7", "", " " + str(uuid.uuid4())):
                r = await http.post(
                    "/v1/tokens", json={"role": "rep", "subject": subject}, headers=ADMIN
                )
                assert r.status_code == 422, subject
                assert [e["field"] for e in r.json()["errors"]] == ["subject"], subject
            rep_id = uuid.uuid4()
            r = await http.post(
                "/v1/tokens", json={"role": "rep", "subject": str(rep_id).upper()}, headers=ADMIN
            )
            assert r.status_code == 201, r.text
            assert r.json()["subject"] == str(rep_id)
    finally:
        await app.state.runtime.engine.dispose()


def test_token_records_round_trip_and_malformed_ones_are_skipped() -> None:
    at = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    issued = store.Issued("tok_" + "b" * 24, "rep", str(uuid.uuid4()), "bootstrap", at, at)
    revoked = store.Revoked("tok_" + "b" * 24, at, at)
    key, value = store.issued_record(issued)
    assert (key, store.parse_record(value)) == (b"tok_" + b"b" * 24 + b"/issued", issued)
    key, value = store.revoked_record(revoked)
    assert (key, store.parse_record(value)) == (b"tok_" + b"b" * 24, revoked)
    old = b'{"token_id": "tok_x", "revoked_at": 1, "until": 2}'  # before "kind" existed
    assert isinstance(store.parse_record(old), store.Revoked)
    for bad in (
        None,
        b"",
        b"[]",
        b'{"token_id": 5, "until": 1}',
        b'{"kind": "issued"}',
        b'{"token_id": "t", "until": 1e400}',
        b'{"token_id": "' + b"x" * 41 + b'"}',
    ):
        assert store.parse_record(bad) is None, bad
