"""The scoring simulation route: `POST /v1/scoring/simulations` (admin, analyst)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from lead_scoring import simulations
from lead_scoring.rules import RuleSetInvalid
from lead_scoring.simulation_schemas import ScoringSimulationOut, ScoringSimulationRequest
from leadflow.access import Reader, roles_text
from leadflow.bounds import RANGE
from leadflow.http import Problem, from_state, invalid

router = APIRouter(prefix="/v1")

SimulatorDep = Annotated[simulations.Simulator, from_state("simulator", simulations.Simulator)]


@router.post(
    "/scoring/simulations",
    response_model=ScoringSimulationOut,
    response_model_by_alias=True,
    tags=["simulations"],
    summary="What a draft rule set or threshold would have made of past leads; nothing changes",
    description=(
        "Scores the leads last scored in [from, to) (their capture or latest touch) twice, "
        "as today's scoring would: with the active rules and threshold (`now`) and with the "
        "draft (`rules` and/or `threshold`). Both ways blend in what the learned model knows "
        "today (`learned`): it is not a draft parameter. Answers the MQLs each way, the leads "
        "that would become or stop being MQLs (counts and the first 100 lead ids), and for "
        "each way's MQLs with a verdict: won, lost, rejected, the win rate won / (won + lost "
        "+ rejected) with its 95 % Wilson interval (null below LEADFLOW_MIN_VERDICTS verdicts: "
        "`insufficient_data`) and the won amounts per currency. Erased leads take part "
        "(`erased`), scored from the coarse facts kept of them (a size band, the values the "
        "rules named, the day); the answer names leads by id only. Nothing is stored or "
        "published. 422 names `from` or `to` (missing, not a "
        f"date-time, outside {RANGE}, `to` before `from`, a window over 366 days), each bad "
        "field of the draft rules as `PUT /v1/scoring/rules` does, under `rules` "
        "(`rules.rules[2].points`), or a `threshold` outside 0-100. 429 (with Retry-After) "
        "while LEADFLOW_SIMULATIONS_MAX_RUNNING simulations (default 2) run in this process: "
        "live scoring goes first. " + roles_text("admin", "analyst")
    ),
    responses={
        422: {"description": "Invalid fields, each named"},
        429: {"description": "As many simulations as allowed run already; retry later"},
    },
)
async def simulate(
    body: ScoringSimulationRequest, simulator: SimulatorDep, _: Reader
) -> ScoringSimulationOut:
    try:
        answer = await simulator.simulate(body, wait=False)
    except RuleSetInvalid as exc:
        raise invalid(exc.errors) from exc
    except simulations.Busy as exc:
        retry = {"Retry-After": str(simulations.RETRY_AFTER)}
        raise Problem(429, "Too Many Requests", str(exc), headers=retry) from exc
    return ScoringSimulationOut.model_validate(answer)
