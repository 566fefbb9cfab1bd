"""How well lead scores predict won deals, on a seeded synthetic population.

    uv run python bench/scoring_quality.py [--json out.json] [--seed N]

Streams 10,000 won/lost outcomes into the learned model and the Odoo baseline and, after 500,
2,000 and 10,000 of them, measures ROC AUC and Brier score on 5,000 held-out leads. Rules
only: the score / 100 is taken as a probability as it stands (no calibration), so its Brier
shows how far a hand-tuned score is from a probability; its AUC only needs the ranking.
"Blended" is what the service reports (domain.score with the model), also read as score / 100.
"Oracle" is the hidden attribute propensity: the best any model can do.
Exits 1 when a target fails: learned AUC >= 0.75 after 2,000 outcomes, and at every checkpoint
the learned model's AUC >= the baseline's and its Brier lower.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as a script, Python puts bench/ (not the repository) on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.progress import Progress

from bench._progress import bench_progress
from bench.synthetic import START, Sample, brier, deciles, generate, roc_auc
from lead_scoring.baseline import OdooBaseline
from lead_scoring.domain import score
from lead_scoring.model import LearnedModel
from lead_scoring.rules import DEFAULT_RULES
from leadflow.events import Lead

CHECKPOINTS = (500, 2_000, 10_000)
N_TEST = 5_000
TARGET_AUC = 0.75
TARGET_AT = 2_000


def _evaluate(
    name: str, n: int, test: list[Sample], predict: Callable[[Lead], float]
) -> dict[str, Any]:
    probs = [predict(s.lead) for s in test]
    labels = [s.won for s in test]
    return {
        "model": name,
        "outcomes": n,
        "auc": roc_auc(probs, labels),
        "brier": brier(probs, labels),
        "mean_predicted": sum(probs) / len(probs),
        "win_rate": sum(labels) / len(labels),
        "deciles": deciles(probs, labels),
    }


def run(seed: int, progress: Progress | None = None) -> dict[str, Any]:
    """Train and evaluate every model; return the results as a JSON-able dict."""
    progress = progress or Progress(disable=True)
    samples = generate(CHECKPOINTS[-1] + N_TEST, seed=seed)
    train, test = samples[: CHECKPOINTS[-1]], samples[CHECKPOINTS[-1] :]
    # Work in leads: each outcome learned is one, each evaluation scores the held-out leads.
    evaluations = 2 + 3 * len(CHECKPOINTS)
    task = progress.add_task("scoring quality", total=len(train) + evaluations * len(test))

    def evaluate(name: str, n: int, predict: Callable[[Lead], float]) -> dict[str, Any]:
        progress.update(task, description=f"scoring quality: {name} after {n} outcomes")
        row = _evaluate(name, n, test, predict)
        progress.advance(task, len(test))
        return row

    oracle = {s.lead.lead_id: s.propensity for s in test}
    rows = [
        evaluate("oracle", 0, lambda lead: oracle[lead.lead_id]),
        evaluate("rules only", 0, lambda lead: _score(lead, None)),
    ]
    learned, odoo = LearnedModel(), OdooBaseline()
    progress.update(task, description="scoring quality: learning outcomes")
    for n, sample in enumerate(train, start=1):
        learned.update(sample.lead, sample.won)
        odoo.update(sample.lead, sample.won)
        progress.advance(task)
        if n in CHECKPOINTS:
            rows.append(evaluate("learned", n, learned.probability))
            rows.append(evaluate("odoo baseline", n, odoo.probability))
            rows.append(evaluate("blended score", n, lambda lead: _score(lead, learned)))
            progress.update(task, description="scoring quality: learning outcomes")
    progress.remove_task(task)
    return {"seed": seed, "n_test": len(test), "rows": rows, "failures": _failures(rows)}


def _score(lead: Lead, model: LearnedModel | None) -> float:
    return score(lead, DEFAULT_RULES, model, now=START).score / 100.0


def _failures(rows: list[dict[str, Any]]) -> list[str]:
    at = {(r["model"], r["outcomes"]): r for r in rows}
    failures = []
    if at["learned", TARGET_AT]["auc"] < TARGET_AUC:
        failures.append(f"learned AUC after {TARGET_AT} outcomes is below {TARGET_AUC}")
    for n in CHECKPOINTS:
        mine, base = at["learned", n], at["odoo baseline", n]
        if mine["auc"] < base["auc"]:
            failures.append(f"learned AUC below the Odoo baseline's after {n} outcomes")
        if mine["brier"] >= base["brier"]:
            failures.append(f"learned Brier not below the Odoo baseline's after {n} outcomes")
    return failures


def _print(result: dict[str, Any], elapsed: float) -> None:
    print(f"held-out leads: {result['n_test']}, seed {result['seed']}, {elapsed:.1f} s")
    print(f"{'model':<15}{'outcomes':>9}{'AUC':>8}{'Brier':>8}{'mean p':>8}{'won':>7}")
    for r in result["rows"]:
        print(
            f"{r['model']:<15}{r['outcomes']:>9}{r['auc']:>8.4f}{r['brier']:>8.4f}"
            f"{r['mean_predicted']:>8.3f}{r['win_rate']:>7.3f}"
        )
    last = CHECKPOINTS[-1]
    shown = [r for r in result["rows"] if r["outcomes"] in (0, last)]
    print("\npredicted / actual win rate per decile (lowest predictions first)")
    for r in shown:
        cells = " ".join(f"{p:.2f}/{a:.2f}" for p, a in r["deciles"])
        print(f"{r['model']:<15}{r['outcomes']:>6}  {cells}")
    for failure in result["failures"]:
        print(f"FAIL: {failure}")
    if not result["failures"]:
        print("\nall targets met")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, optionally write JSON; 1 if a target fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with bench_progress() as progress:
        result = run(args.seed, progress)
    _print(result, time.perf_counter() - started)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
