"""Account matching by company name: precision and recall on the project's labelled pairs.

`uv run python bench/account_matching.py [--json out.json]`

- quality: every pair of tests/sales_assignment/data/company_pairs.csv (written by
  make_company_pairs.py next to it) is called the same company when
  `similarity(normalise(a), normalise(b)) >= NAME_THRESHOLD`; precision and recall against
  the labels, per category, and each miss listed.
- cost: 20,000 accounts of generated names in an `AccountIndex`, then 5,000 lookups of
  names seen and unseen (time.perf_counter over `by_name` only), and the slowest hostile
  input (200 KB of one repeated word, ampersands, single letters, combining marks).

Exits 1 when a target fails: precision >= 0.97, recall >= 0.90, under 2 ms a lookup.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from uuid import UUID

from sales_assignment.account_match import NAME_THRESHOLD, Account, AccountIndex, by_name
from sales_assignment.company_names import normalise, similarity

PAIRS = Path(__file__).resolve().parents[1] / "tests/sales_assignment/data/company_pairs.csv"
TARGET_PRECISION = 0.97
TARGET_RECALL = 0.90
TARGET_MS_PER_LOOKUP = 2.0
ACCOUNTS = 20_000
LOOKUPS = 5_000
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ra",
    "ve",
    "to",
    "su",
    "ne",
    "bri",
    "dal",
    "fen",
    "gor",
    "hal",
    "jun",
    "kes",
    "lin",
    "mor",
    "nor",
    "pex",
    "qua",
]
WORDS = [
    "Systems",
    "Foods",
    "Logistics",
    "Bank",
    "Capital",
    "Media",
    "Health",
    "Energy",
    "Labs",
    "Motors",
    "Group",
]
FORMS = ["Inc.", "GmbH", "Ltd", "S.A.", "AB", "LLC", "Oy", ""]


def quality() -> dict[str, Any]:
    """Precision, recall and the misses on the labelled pairs."""
    with PAIRS.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0, "tn": 0})
    misses: list[dict[str, Any]] = []
    for row in rows:
        score = similarity(normalise(row["name_a"]), normalise(row["name_b"]))
        predicted, labelled = score >= NAME_THRESHOLD, row["same"] == "1"
        key = {(1, 1): "tp", (1, 0): "fp", (0, 1): "fn", (0, 0): "tn"}[predicted, labelled]
        counts[row["category"]][key] += 1
        if key in ("fp", "fn"):
            misses.append({"kind": key, "a": row["name_a"], "b": row["name_b"], "score": score})
    total = {k: sum(c[k] for c in counts.values()) for k in ("tp", "fp", "fn", "tn")}
    return {
        "pairs": len(rows),
        "same": total["tp"] + total["fn"],
        **total,
        "precision": round(total["tp"] / max(1, total["tp"] + total["fp"]), 4),
        "recall": round(total["tp"] / max(1, total["tp"] + total["fn"]), 4),
        "by_category": dict(sorted(counts.items())),
        "misses": misses,
    }


def _name(rng: random.Random) -> str:
    core = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).title()
    return f"{core} {rng.choice(WORDS)} {rng.choice(FORMS)}".strip()


def cost() -> dict[str, Any]:
    """Microseconds per lookup over many accounts, and the slowest hostile input."""
    rng = random.Random(7)
    names = [_name(rng) for _ in range(ACCOUNTS)]
    started = time.perf_counter()
    index = AccountIndex.build(
        Account(f"a{i}.example", UUID(int=i), names=(name,)) for i, name in enumerate(names)
    )
    build_s = time.perf_counter() - started
    queries = [rng.choice(names) if i % 2 else _name(rng) for i in range(LOOKUPS)]
    started = time.perf_counter()
    matched = sum(by_name(index, q).how == "name" for q in queries)
    per_lookup_ms = 1e3 * (time.perf_counter() - started) / LOOKUPS
    hostile = ["Acme " * 40_000, "&" * 200_000, "a." * 100_000, "\u0301" * 200_000]
    worst_ms = 0.0
    for text in hostile:
        started = time.perf_counter()
        by_name(index, text)
        worst_ms = max(worst_ms, 1e3 * (time.perf_counter() - started))
    return {
        "accounts": ACCOUNTS,
        "build_s": round(build_s, 3),
        "lookups": LOOKUPS,
        "matched": matched,
        "ms_per_lookup": round(per_lookup_ms, 4),
        "hostile_worst_ms": round(worst_ms, 3),
    }


def main() -> int:
    """Measure, print, write JSON if asked; 1 when a target fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    q, c = quality(), cost()
    print(f"threshold {NAME_THRESHOLD}; {q['pairs']} labelled pairs, {q['same']} the same company")
    print(f"{'category':<22}{'tp':>5}{'fp':>5}{'fn':>5}{'tn':>5}")
    for category, n in q["by_category"].items():
        print(f"{category:<22}{n['tp']:>5}{n['fp']:>5}{n['fn']:>5}{n['tn']:>5}")
    for miss in q["misses"]:
        print(f"  {miss['kind']}: {miss['a']!r} / {miss['b']!r} ({miss['score']})")
    print(f"precision {q['precision']:.4f} (target {TARGET_PRECISION})")
    print(f"recall    {q['recall']:.4f} (target {TARGET_RECALL})")
    print(
        f"{c['accounts']} accounts indexed in {c['build_s']} s; {c['ms_per_lookup']:.3f} ms a "
        f"lookup ({c['matched']} of {c['lookups']} matched); hostile input "
        f"{c['hostile_worst_ms']:.2f} ms at worst"
    )
    failures = []
    if q["precision"] < TARGET_PRECISION:
        failures.append(f"precision {q['precision']} < {TARGET_PRECISION}")
    if q["recall"] < TARGET_RECALL:
        failures.append(f"recall {q['recall']} < {TARGET_RECALL}")
    if max(c["ms_per_lookup"], c["hostile_worst_ms"]) > TARGET_MS_PER_LOOKUP:
        failures.append(f"lookup slower than {TARGET_MS_PER_LOOKUP} ms")
    if args.json:
        args.json.write_text(json.dumps({"quality": q, "cost": c, "failures": failures}, indent=2))
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    print("OK" if not failures else "FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
