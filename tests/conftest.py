"""Shared fixtures: both kernel backends, hypothesis profiles, QuantLib state guard."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import QuantLib as ql
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
DEALS = ROOT / "deals"
SCENARIOS = ROOT / "scenarios"

# bounded and derandomized in CI; thorough locally (HYPOTHESIS_PROFILE=thorough)
settings.register_profile(
    "ci", max_examples=40, derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/snapshot.csv from the current code (tests/test_snapshot.py)")


@pytest.fixture(params=["reference", "cython"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every engine test runs on both kernel backends."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _quantlib_global_state():
    """No test may leak a changed QuantLib evaluation date."""
    before = ql.Settings.instance().evaluationDate
    with ql.SavedSettings():
        yield
    assert ql.Settings.instance().evaluationDate == before


@pytest.fixture(scope="session")
def example_deal():
    import abs_engine as ae

    return ae.load_deal(DEALS / "sz_pledge_2026_1.yaml")


@pytest.fixture(scope="session")
def example_scenarios():
    import abs_engine as ae

    return [ae.load_scenario(SCENARIOS / "base.yaml"), ae.load_scenario(SCENARIOS / "stress.yaml")]
