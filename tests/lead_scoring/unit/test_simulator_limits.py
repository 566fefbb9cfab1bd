"""The app gives its scoring simulator the limits of its own settings (no defaults guessed
from a runtime's settings of another type)."""

from __future__ import annotations

from lead_scoring.app import build_app
from lead_scoring.settings import ScoringSettings
from lead_scoring.simulations import Simulator


def test_the_simulator_runs_with_the_apps_min_verdicts_and_slot_limit() -> None:
    settings = ScoringSettings(
        admin_token="dev-test-admin",
        database_url="sqlite+aiosqlite:///:memory:",
        min_verdicts=3,
        simulations_max_running=5,
    )
    app = build_app(settings)
    simulator = app.state.simulator
    assert isinstance(simulator, Simulator)
    assert (simulator.min_verdicts, simulator.max_running) == (3, 5)
    assert simulator.rt is app.state.runtime
