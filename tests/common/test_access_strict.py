"""Access hardening: one spelling of a token's signature, rep subjects that are UUIDs."""

from __future__ import annotations

import time

from leadflow.access_tokens import Claims, mint_token, verify_token

KEY = b"k" * 32


def test_a_token_signature_has_exactly_one_spelling() -> None:
    now = time.time()
    token = mint_token(KEY, Claims("tok_" + "a" * 24, "analyst", None, int(now) + 100))
    body, _, signature = token.partition(".")
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
        if variant == token:
            continue  # no url-safe character to swap in this one
        assert verify_token(variant, KEY, now=now) is None, name
