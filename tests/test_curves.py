"""Rate conventions and curves by loan age (abs_engine/curves.py, docs/scenarios.md).

The conventions against their definitions (the published tables are golden tests in
test_golden_published.py); the properties of curves by loan age: a seasoned loan runs its
curve from its age, and a pool of loans of mixed ages is the sum of its loans."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import abs_engine as ae
from abs_engine import curves
from abs_engine.model.curves import DefaultCurve, PrepaymentCurve
from abs_engine.model.deal import PledgeLoanAsset, PledgeLoanPool
from abs_engine.model.scenario import Scenario
from abs_engine.pools.pledge import SparsePledge, loan_arrays, project_pledge_pool

CUTOFF = dt.date(2026, 1, 1)
SERIES = ("scheduled_principal", "prepayment", "default_amount", "interest_collected", "balance_end")


def add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.month - 1 + n, 12)
    return dt.date(d.year + y, m + 1, d.day)


def grid(months: int) -> list[dt.date]:
    return [add_months(CUTOFF, k) for k in range(months + 1)]


def asset(i: int, origination: dt.date, term: int, balance: float = 1_000_000.0, **kw) -> PledgeLoanAsset:
    kw.setdefault("amortization", "annuity")
    return PledgeLoanAsset(loan_id=f"L{i}", borrower=f"B{i}", balance=balance, rate=kw.pop("rate", 0.06),
                           origination_date=origination, maturity_date=add_months(origination, term), **kw)


def project(assets: list[PledgeLoanAsset], scenarios: list[Scenario], months: int, **kw):
    pool = PledgeLoanPool(name="p", assets=assets)
    g = grid(months)
    la = loan_arrays(pool, CUTOFF, months, [])
    return project_pledge_pool(pool, la, scenarios, g, np.zeros((len(scenarios), 0, months + 1)), **kw)


# --------------------------------------------------------------------------- conventions


def test_conventions_against_their_definitions():
    t = np.arange(1, 361)
    sda = curves.monthly_rates(DefaultCurve(sda=200), 360)[1:]
    cdr = 1 - (1 - sda) ** 12
    assert cdr[0] == pytest.approx(0.0004) and cdr[29] == pytest.approx(0.012) and cdr[59] == pytest.approx(0.012)
    assert cdr[119] == pytest.approx(0.0006) and cdr[200] == pytest.approx(0.0006)
    psa = curves.monthly_rates(PrepaymentCurve(psa=100), 360)[1:]
    np.testing.assert_allclose(1 - (1 - psa) ** 12, np.minimum(0.002 * t, 0.06), rtol=1e-12)
    mdr = curves.monthly_rates(DefaultCurve(mdr=0.01), 3)
    assert mdr.tolist() == [0.0, 0.01, 0.01, 0.01]
    cdr_vec = curves.monthly_rates(DefaultCurve(cdr=[0.12, 0.24], by="loan_age"), 3)
    np.testing.assert_allclose(cdr_vec[1:], [1 - 0.88 ** (1 / 12), 1 - 0.76 ** (1 / 12), 1 - 0.76 ** (1 / 12)])
    # ABS: x of the original new loans prepays every month, until none is left
    x = 0.04
    smm = curves.monthly_rates(PrepaymentCurve(abs=x), 30)[1:]
    left = np.cumprod(1 - smm)
    np.testing.assert_allclose(-np.diff(np.concatenate([[1.0], left]))[:24], x, rtol=1e-12)
    assert left[24] == 0.0 and (smm[24:] == 1.0).all()
    assert curves.monthly_rates(PrepaymentCurve(abs=0.0), 5)[1:].tolist() == [0.0] * 5


def test_defaults_by_convention_name_their_month_axis():
    assert DefaultCurve(sda=100).by == "loan_age" and DefaultCurve(mdr=0.01).by == "projection_month"
    assert PrepaymentCurve(cpr=0.1, by="loan_age").by_age
    assert curves.label(PrepaymentCurve(smm=0.01, by="loan_age")) == "1.00% SMM by loan age"
    assert curves.peak_annual(DefaultCurve(sda=100)) == pytest.approx(0.006)
    assert curves.base_level(DefaultCurve(mdr=0.01)) == pytest.approx(1 - 0.99 ** 12)
    assert curves.base_level(DefaultCurve(sda=100)) is None
    assert curves.scale(DefaultCurve(sda=100), 2.5).value == 250
    assert curves.scale(DefaultCurve(mdr=[0.5, 0.1]), 3).value == [1.0, pytest.approx(0.3)]


def test_a_plain_curve_keeps_its_meaning():
    """A curve without a convention is still expanded to its vector by projection month."""
    s = Scenario(name="x", defaults={"cdr": {"points": {1: 0.01, 3: 0.03}}})
    assert s.defaults.cdr == pytest.approx([0.01, 0.02, 0.03])
    s = Scenario(name="x", defaults={"cdr": {"points": {1: 0.01, 3: 0.03}, "by": "loan_age"}})
    assert isinstance(s.defaults.cdr, DefaultCurve) and s.defaults.cdr.cdr == pytest.approx([0.01, 0.02, 0.03])


def test_age_offsets():
    g = grid(3)
    offsets = curves.age_offsets([CUTOFF, dt.date(2025, 10, 1), dt.date(2025, 12, 15), dt.date(2026, 1, 20)], g)
    # new: month of life 1 in grid month 1; seasoned 3 months: 4; originated mid-December:
    # its first month of life ends on 15 January, within grid month 1; after the cut-off: 0
    assert offsets.tolist() == [0, 3, 0, 0]


# --------------------------------------------------------------------------- properties

default_specs = st.one_of(
    st.builds(lambda s: {"sda": s}, st.floats(0, 3000)),
    st.builds(lambda v: {"mdr": v, "by": "loan_age"}, st.lists(st.floats(0, 0.05), min_size=1, max_size=40)),
    st.builds(lambda a, b: {"points": {1: a, 18: b}, "by": "loan_age"}, st.floats(0, 0.3), st.floats(0, 0.3)),
)
prepay_specs = st.one_of(
    st.builds(lambda s: {"psa": s}, st.floats(0, 1500)),
    st.builds(lambda x: {"abs": x}, st.floats(0, 0.03)),
    st.builds(lambda v: {"smm": v, "by": "loan_age"}, st.lists(st.floats(0, 0.08), min_size=1, max_size=40)),
)


@given(age=st.integers(0, 30), term=st.integers(1, 36), amort=st.sampled_from(["annuity", "equal_principal", "bullet"]),
       freq=st.sampled_from(["monthly", "quarterly"]), cdr=default_specs, cpr=prepay_specs,
       lag=st.integers(0, 6), before=st.booleans())
def test_a_seasoned_loan_runs_its_curve_from_its_age(age, term, amort, freq, cdr, cpr, lag, before):
    """A loan of age ``a`` under curves by loan age gets the flows a new loan gets from
    month ``a + 1`` on, its balance being the new loan's then (rate-based recoveries, so the
    flows are linear in the balance). Terms are whole payment periods: a final stub period
    accrues by actual days, which differ between the two loans' calendar months."""
    term = term + age
    if freq == "quarterly":
        term = 3 * -(-term // 3)
    sc = Scenario(name="s", defaults={"cdr": cdr}, recovery={"rate": 0.4, "lag_months": lag},
                  prepayment={"cpr": cpr, "applies_to": "before_defaults" if before else "after_defaults"})
    M = term + lag + 1
    new = project([asset(1, CUTOFF, term, amortization=amort, payment_frequency=freq)], [sc], M)
    balance = float(new.balance_end[0, age])
    if balance <= 1.0:
        return
    seasoned = project([asset(1, add_months(CUTOFF, -age), term, balance=balance, amortization=amort,
                              payment_frequency=freq)], [sc], M)
    for k in SERIES:
        got = getattr(seasoned, k)[0, 1 : M + 1 - age]
        want = getattr(new, k)[0, age + 1 :]
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-6 * balance / 1e6, err_msg=k)


@given(ages=st.lists(st.integers(0, 24), min_size=1, max_size=6), cdr=default_specs, cpr=prepay_specs,
       by_value=st.booleans())
def test_a_pool_of_mixed_ages_is_the_sum_of_its_loans(ages, cdr, cpr, by_value):
    """A pool of identical loans of different ages is the sum of each loan projected alone
    (collateral-value recoveries too: each loan sets its defaults against its own balance)."""
    recovery = {"haircut": 0.3, "lag_months": 3} if by_value else {"rate": 0.5, "lag_months": 3}
    sc = Scenario(name="s", defaults={"cdr": cdr}, prepayment={"cpr": cpr}, recovery=recovery)
    loans = [asset(i, add_months(CUTOFF, -a), 30, collateral_value=700_000.0) for i, a in enumerate(ages)]
    M = 34
    pool = project(loans, [sc], M)
    alone = [project([x], [sc], M) for x in loans]
    for k in (*SERIES, "recovery", "loss"):
        np.testing.assert_allclose(getattr(pool, k)[0], sum(getattr(f, k)[0] for f in alone), rtol=1e-12, atol=1e-6,
                                   err_msg=k)


def test_a_projection_month_rate_is_unchanged_by_age():
    """By projection month (the default of cdr, cpr, mdr, smm) every loan has the same rates
    whatever its age, as scenarios always meant."""
    loans = [asset(1, CUTOFF, 24), asset(2, add_months(CUTOFF, -12), 24)]
    sc = Scenario(name="s", defaults={"cdr": {"mdr": [0.01, 0.02, 0.03]}}, prepayment={"cpr": {"smm": 0.01}})
    vec = Scenario(name="v", defaults={"cdr": [1 - (1 - x) ** 12 for x in (0.01, 0.02, 0.03)]},
                   prepayment={"cpr": 1 - 0.99 ** 12})
    f = project(loans, [sc, vec], 26)
    np.testing.assert_allclose(f.default_amount[0], f.default_amount[1], rtol=1e-12)
    np.testing.assert_allclose(f.prepayment[0], f.prepayment[1], rtol=1e-12)


def test_sparse_projection_runs_prepayment_by_loan_age():
    """The Monte Carlo's sparse projection equals the dense one with prepayment by loan age
    and loans of different ages."""
    loans = [asset(i, add_months(CUTOFF, -a), 30, collateral_value=600_000.0, amortization=am)
             for i, (a, am) in enumerate([(0, "annuity"), (7, "bullet"), (20, "equal_principal"), (3, "annuity")])]
    pool = PledgeLoanPool(name="p", assets=loans)
    M = 40
    sc = Scenario(name="mc", prepayment={"cpr": {"psa": 400}}, recovery={"haircut": 0.4, "lag_months": 4})
    la = loan_arrays(pool, CUTOFF, M, [])
    dm = np.array([[0, 5, 0, 0], [3, 0, 12, 30], [0, 0, 0, 0]])
    dense = project_pledge_pool(pool, la, [sc] * 3, grid(M), np.zeros((3, 0, M + 1)), default_month=dm)
    sparse = SparsePledge(pool, la, sc, grid(M), np.zeros((0, M + 1))).flows(dm)
    for k in (*SERIES, "recovery", "loss"):
        np.testing.assert_allclose(getattr(sparse, k), getattr(dense, k), rtol=1e-12, atol=1e-6, err_msg=k)


def test_monte_carlo_obligors_take_their_loans_default_curve():
    """Each obligor's default-time distribution is its own loan's curve by loan age: a new
    loan and one seasoned 30 months under SDA have the cumulative default probabilities of
    their own months of life."""
    from abs_engine.model.scenario import MonteCarlo
    from abs_engine.studies.montecarlo import SimulationContext, build_model

    d = ae.load_deal("tests/golden/deals/sifma_sf22_mortgage.yaml")
    raw = d.model_dump(mode="python")
    old = dict(raw["pools"][0]["assets"][0], loan_id="OLD", borrower="old", origination_date=dt.date(2023, 7, 1),
               maturity_date=dt.date(2053, 7, 1))
    raw["pools"][0]["assets"].append(old)
    raw["tranches"][0]["balance"] = 200_000_000
    deal = type(d).model_validate(raw)
    sc = Scenario(name="s", defaults={"cdr": {"sda": 100}}, recovery={"rate": 0.8, "lag_months": 12})
    model = build_model(SimulationContext(deal, sc, MonteCarlo(paths=1), "reference", True))
    from scipy.special import ndtr

    F = {tuple(idx.tolist()): ndtr(thr) for thr, idx in zip(model.thresholds, model.members, strict=True)}
    new_f, old_f = F[(0,)], F[(1,)]
    cdr = curves.sda_cdr(100, np.arange(1, 100))
    mdr = 1 - (1 - cdr) ** (1 / 12)
    np.testing.assert_allclose(new_f[:60], 1 - np.cumprod(1 - mdr[:60]), rtol=1e-9)
    np.testing.assert_allclose(old_f[:60], 1 - np.cumprod(1 - mdr[30:90]), rtol=1e-9)


# --------------------------------------------------------------------------- segments


def _segment_pool() -> list[PledgeLoanAsset]:
    return [asset(1, CUTOFF, 24, ip_type="trademark", industry="media"),
            asset(2, add_months(CUTOFF, -10), 24, ip_type="patent", industry="biomedicine"),
            asset(3, dt.date(2025, 8, 1), 30, ip_type="patent", industry="media"),
            asset(4, dt.date(2024, 2, 1), 36, ip_type="copyright", industry="software")]


def test_segments_give_their_loans_their_own_rates():
    """A pool with segments is the sum of each loan projected alone under the rates its
    segment gives it; for each rate the first segment that selects a loan and sets the rate
    wins, and a loan no segment sets a rate for keeps the scenario's."""
    loans = _segment_pool()
    sc = Scenario(name="s", defaults={"cdr": 0.02}, prepayment={"cpr": 0.05}, recovery={"rate": 0.5, "lag_months": 2},
                  segments=[
                      {"name": "trademarks", "where": {"ip_type": "trademark"}, "prepayment": {"cpr": {"psa": 300}}},
                      {"where": {"industry": "media"}, "defaults": {"cdr": {"sda": 500}}},
                      {"where": {"vintage": ["2025Q3", "2024"]}, "defaults": {"cdr": {"mdr": 0.01}},
                       "prepayment": {"cpr": 0.2}},
                  ])
    M = 40
    pool = project(loans, [sc], M)
    # loan 1: trademark (PSA 300) and media (SDA 500); loan 2: the scenario's; loan 3: media
    # (SDA 500) and vintage 2025Q3 (its cdr comes from the earlier media segment, its cpr 20%);
    # loan 4: vintage 2024 (MDR 1%, CPR 20%)
    own = [({"sda": 500}, {"psa": 300}), (0.02, 0.05), ({"sda": 500}, 0.2), ({"mdr": 0.01}, 0.2)]
    alone = [project([x], [Scenario(name="a", defaults={"cdr": c}, prepayment={"cpr": p},
                                    recovery={"rate": 0.5, "lag_months": 2})], M) for x, (c, p) in zip(loans, own, strict=True)]
    for k in (*SERIES, "recovery", "loss"):
        np.testing.assert_allclose(getattr(pool, k)[0], sum(getattr(f, k)[0] for f in alone), rtol=1e-12, atol=1e-6,
                                   err_msg=k)


def test_segments_through_derivation_and_break_even(tmp_path):
    """``multiply: {defaults.cdr: x}`` scales the segments' default rates too; a break-even's
    ``cdr_multiple`` does the same and its ``cdr`` stress puts one rate on every loan."""
    from abs_engine.io import load_scenario
    from abs_engine.studies.breakeven import stress_range, stressed

    (tmp_path / "b.yaml").write_text(
        "defaults: {cdr: 0.01}\nsegments:\n  - where: {industry: media}\n    defaults: {cdr: {sda: 200}}\n"
        "  - where: {industry: software}\n    prepayment: {cpr: 0.1}\n", encoding="utf-8")
    (tmp_path / "d.yaml").write_text("base: b\nmultiply: {defaults.cdr: 3}\n", encoding="utf-8")
    d = load_scenario(tmp_path / "d.yaml")
    assert d.defaults.cdr == pytest.approx(0.03)
    assert d.segments[0].cdr.sda == 600 and d.segments[1].cdr is None and d.segments[1].cpr == 0.1
    b = load_scenario(tmp_path / "b.yaml")
    x2 = stressed(b, "cdr_multiple", 2.0)
    assert x2.defaults.cdr == pytest.approx(0.02) and x2.segments[0].cdr.sda == 400
    flat = stressed(b, "cdr", 0.05)
    assert flat.defaults.cdr == 0.05 and all(seg.cdr is None for seg in flat.segments)
    assert flat.segments[1].cpr == 0.1
    lo, hi, _, level = stress_range(b, "cdr_multiple")
    assert hi == pytest.approx(1 / 0.012) and level == 1.0  # the peak is 200% SDA's 1.2%


def test_segment_mistakes_are_reported(example_deal):
    sc = Scenario(name="b", segments=[{"where": {"ip_typ": "patent"}, "defaults": {"cdr": 0.1}},
                                      {"where": {"region": "Mars"}, "defaults": {"cdr": 0.1}},
                                      {"where": {"region": "Nanshan"}}])
    with pytest.raises(ae.InputError) as exc:
        ae.run(example_deal, sc)
    text = str(exc.value)
    assert "segments[0].where.ip_typ: not a loan field; did you mean 'ip_type'?" in text
    assert "segments[1].where: selects no pledge loan of the deal (region=Mars)" in text
    assert "segments[2]: sets no rate" in text


def test_monte_carlo_obligors_take_their_segment_curve(example_deal):
    from abs_engine.model.scenario import MonteCarlo
    from abs_engine.studies.montecarlo import SimulationContext, build_model

    sc = Scenario(name="s", defaults={"cdr": 0.02},
                  segments=[{"where": {"industry": "biomedicine"}, "defaults": {"cdr": 0.2}}])
    model = build_model(SimulationContext(example_deal, sc, MonteCarlo(paths=1), "reference", True))
    from scipy.special import ndtr

    bio = {i for i, a in enumerate(example_deal.pools[0].assets) if a.industry == "biomedicine"}
    assert bio and len(model.thresholds) == 2
    for thr, idx in zip(model.thresholds, model.members, strict=True):
        annual = 0.2 if set(idx.tolist()) <= bio else 0.02
        assert set(idx.tolist()) <= bio or not set(idx.tolist()) & bio
        assert ndtr(thr[11]) == pytest.approx(annual, rel=1e-9)


def test_structuring_tools_take_curves_by_loan_age(example_deal):
    """The agency test stresses the pool's effective default rate by projection month when
    the base runs by loan age (or by segment); that vector gives the pool the same defaults
    in its first month and nearly the same over the life; the investor tables show a
    convention's mean annual rate."""
    from abs_engine.engine import effective_cdr
    from abs_engine.studies.agency import stress_scenarios
    from abs_engine.studies.investor import default_speeds

    base = Scenario(name="b", defaults={"cdr": {"sda": 1500}}, prepayment={"cpr": {"psa": 200}},
                    recovery={"rate": 0.4, "lag_months": 6})
    vec = effective_cdr(example_deal, base)
    r = ae.run(example_deal, [base, base.model_copy(update={"name": "v", "defaults": base.defaults.model_copy(
        update={"cdr": vec})})])
    d = r.pool.groupby("scenario", sort=False)["default_amount"]
    assert d.first()["b"] == pytest.approx(d.first()["v"], rel=1e-9)
    assert d.sum()["v"] == pytest.approx(d.sum()["b"], rel=0.01)
    stresses = stress_scenarios(example_deal, base)
    assert stresses[0][2].defaults.cdr == pytest.approx(vec)
    assert [s.name for s in default_speeds(example_deal, base)][1] == "b"
