"""Shared fixtures: both kernel backends, hypothesis profiles, QuantLib state guard."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytest
import QuantLib as ql
from hypothesis import HealthCheck, seed, settings

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

# The randomized slice (`random_slice`): property tests that draw new inputs on every run,
# so that CI explores beyond the derandomized examples over time. The seed is drawn once
# per session (shared with xdist workers), printed in the header and in every failure of
# the slice; ABS_ENGINE_RANDOM_SEED=<seed> reproduces a run.
RANDOM_SEED = int(os.environ.get("ABS_ENGINE_RANDOM_SEED") or secrets.randbelow(2**32))
RANDOM_EXAMPLES = int(os.environ.get("ABS_ENGINE_RANDOM_EXAMPLES", "60"))


def random_slice(test: Any) -> Any:
    """Run a ``@given`` test on fresh examples from :data:`RANDOM_SEED` (not derandomized,
    no example database: the seed alone reproduces it)."""
    wrapped = seed(RANDOM_SEED)(settings(derandomize=False, database=None, max_examples=RANDOM_EXAMPLES)(test))
    wrapped._abs_random_slice = True
    return wrapped


def pytest_configure(config: pytest.Config) -> None:
    global RANDOM_SEED
    given = getattr(config, "workerinput", {}).get("abs_random_seed")
    if given is not None:  # an xdist worker: the controller's seed
        RANDOM_SEED = int(given)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """(xdist) every worker draws the randomized slice from the controller's seed."""
    node.workerinput["abs_random_seed"] = RANDOM_SEED


def _reproduce() -> str:
    return (f"randomized property slice: seed {RANDOM_SEED}, {RANDOM_EXAMPLES} examples; reproduce with "
            f"ABS_ENGINE_RANDOM_SEED={RANDOM_SEED} python -m pytest tests/test_properties.py -k random")


def pytest_report_header(config: pytest.Config) -> str:
    return _reproduce()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The seed at the end of every run too (``-q`` hides the header)."""
    terminalreporter.write_line(_reproduce())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.failed and getattr(getattr(item, "function", None), "_abs_random_slice", False):
        report.sections.append(("randomized slice", _reproduce()))


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
