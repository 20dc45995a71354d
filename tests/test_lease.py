"""Lease pools (``kind: lease``, abs_engine/pools/lease.py): each mechanism against numbers
computed by hand, conservation of lease principal, the sparse Monte Carlo projection
against the dense one, and the waterfall's kernel against its twin on random lease deals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from builders import CUTOFF, deal
from hypothesis import given
from hypothesis import strategies as st
from test_properties import kernel_equals_reference_and_conserves_cash, structures

import abs_engine as ae
from abs_engine.checks import check_deal
from abs_engine.engine import Projector
from abs_engine.errors import InputError
from abs_engine.model.deal import LeaseAsset, LeasePool
from abs_engine.model.scenario import Scenario
from abs_engine.pools.base import Events
from abs_engine.pools.lease import KIND, lease_schedule

QUIET = Scenario(name="quiet")


def lease(i: int = 1, **kw: Any) -> dict[str, Any]:
    """A quarterly equal-rent lease of 1,000,000 at 6%: 8 rents from 15 Mar 2026 (the
    builders' cut-off date is 31 Jan 2026)."""
    base = {"lease_id": f"LS{i:03d}", "lessee": f"C{i:03d}", "balance": 1_000_000.0, "rate": 0.06,
            "origination_date": dt.date(2025, 12, 15), "first_rent_date": dt.date(2026, 3, 15),
            "last_rent_date": dt.date(2027, 12, 15), "rent_frequency": "quarterly", "collateral_value": 500_000.0}
    base.update(kw)
    return base


def lease_deal(leases: list[dict[str, Any]], **pool: Any) -> ae.Deal:
    total = sum(x["balance"] for x in leases)
    refs = pool.pop("reference_rates", {})
    return deal([{"balance": total}], pools=[{"name": "leases", "kind": "lease", "assets": leases, **pool}],
                header={"reference_rates": refs, "legal_maturity": dt.date(2030, 3, 10)})


def flows(d: ae.Deal, scenarios: list[Scenario], **events: Any) -> Any:
    """The lease pool's monthly flows (dense projection)."""
    return Projector(d, scenarios).monthly(scenarios, [Events(**events)])[0]


def month_of(d: dt.date) -> int:
    """Grid month of a date after the builders' cut-off date (31 Jan 2026, month ends)."""
    return (d.year - CUTOFF.year) * 12 + d.month - CUTOFF.month


# --------------------------------------------------------------------------- rent schedules


def test_equal_rent_is_the_annuity():
    """1,000,000 at 6% p.a., 8 quarterly rents: periodic rate 0.06 x 3 / 12 = 0.015,
    1.015^8 = 1.1264925866, 1 / 1.1264925866 = 0.8877111, rent = 1,000,000 x 0.015 /
    (1 - 0.8877111) = 15,000 / 0.1122889 = 133,584.02; the first rent is 15,000.00 interest and
    118,584.02 principal; the rents repay exactly the 1,000,000 of principal (8 x 133,584.02 =
    1,068,672.2 of rents, of which 68,672.2 interest)."""
    df = lease_schedule(LeaseAsset(**lease()), CUTOFF)
    assert len(df) == 8
    assert df["rent"].to_numpy() == pytest.approx([133_584.02] * 8, abs=0.01)
    assert df["interest"].iloc[0] == pytest.approx(15_000.00, abs=1e-6)
    assert df["principal"].iloc[0] == pytest.approx(118_584.02, abs=0.01)
    assert df["principal"].sum() == pytest.approx(1_000_000.0, abs=1e-6)
    assert df["interest"].sum() == pytest.approx(68_672.2, abs=0.05)


def test_equal_principal():
    """1,200,000 at 8% p.a., 4 quarterly rents (periodic rate 0.02): principal 300,000 each;
    interest 1,200,000 x 0.02 = 24,000, then 18,000, 12,000, 6,000; rents 324,000, 318,000,
    312,000, 306,000."""
    a = lease(balance=1_200_000.0, rate=0.08, schedule="equal_principal", last_rent_date=dt.date(2026, 12, 15))
    df = lease_schedule(LeaseAsset(**a), CUTOFF)
    assert df["principal"].tolist() == pytest.approx([300_000.0] * 4)
    assert df["interest"].tolist() == pytest.approx([24_000.0, 18_000.0, 12_000.0, 6_000.0])
    assert df["rent"].tolist() == pytest.approx([324_000.0, 318_000.0, 312_000.0, 306_000.0])


def test_irregular_schedule_from_the_tape():
    """Principal 100,000 / 500,000 / 400,000 at 8% (periodic 0.02): interest 20,000, then
    (1,000,000 - 100,000) x 0.02 = 18,000, then 400,000 x 0.02 = 8,000."""
    a = lease(rate=0.08, schedule="irregular", last_rent_date=dt.date(2026, 9, 15))
    rows = [{"lease_id": "LS001", "date": dt.date(2026, 3, 15), "principal": 100_000.0},
            {"lease_id": "LS001", "date": dt.date(2026, 6, 15), "principal": 500_000.0},
            {"lease_id": "LS001", "date": dt.date(2026, 9, 15), "principal": 400_000.0}]
    d = lease_deal([a], schedule=rows)
    f = flows(d, [QUIET])
    got = {m: (f.scheduled_principal[0, m], f.interest_collected[0, m]) for m in (2, 5, 8)}
    assert got[2] == pytest.approx((100_000.0, 20_000.0))
    assert got[5] == pytest.approx((500_000.0, 18_000.0))
    assert got[8] == pytest.approx((400_000.0, 8_000.0))


def test_purchase_option_paid_with_the_last_rent():
    """A 100元 purchase option (留购价) comes with the last rent, as income: the last month's
    interest is 306,000 - 300,000 = 6,000 of interest plus 100 (the equal-principal lease of
    test_equal_principal); the principal paid in all is the 1,200,000, not a cent more."""
    a = lease(balance=1_200_000.0, rate=0.08, schedule="equal_principal", last_rent_date=dt.date(2026, 12, 15),
              purchase_option=100.0)
    f = flows(lease_deal([a]), [QUIET])
    last = month_of(dt.date(2026, 12, 15))
    assert f.interest_collected[0, last] == pytest.approx(6_000.0 + 100.0)
    assert f.interest_collected[0, :last].sum() == pytest.approx(24_000.0 + 18_000.0 + 12_000.0)
    assert f.scheduled_principal[0].sum() == pytest.approx(1_200_000.0)
    assert f.balance_end[0, last] == 0.0


def test_upfront_fee_is_a_pool_flow_only_after_the_cut_off():
    """手续费 of 20,000 paid at the lease start (before the cut-off date) is no pool cash
    flow; one due on 20 Apr 2026 (grid month 3) is income of that month."""
    before = flows(lease_deal([lease(upfront_fee=20_000.0)]), [QUIET])
    after = flows(lease_deal([lease(upfront_fee=20_000.0, upfront_fee_date=dt.date(2026, 4, 20))]), [QUIET])
    diff = after.interest_collected[0] - before.interest_collected[0]
    assert diff[3] == pytest.approx(20_000.0)
    assert np.delete(diff, 3) == pytest.approx(0.0)


def test_deposit_pays_the_last_rents():
    """A 350,000 deposit (保证金) against the rents 324,000 / 318,000 / 312,000 / 306,000 of
    test_equal_principal pays the last rent (306,000) and 44,000 of the one before: the
    lessee pays 324,000, 318,000, 268,000 and 0. The plan collects the full rents whoever
    holds the deposit (a trust-held deposit is the plan's cash; the lessor passes the
    set-off amount on)."""
    a = lease(balance=1_200_000.0, rate=0.08, schedule="equal_principal", last_rent_date=dt.date(2026, 12, 15),
              deposit=350_000.0)
    df = lease_schedule(LeaseAsset(**a), CUTOFF)
    assert df["deposit_applied"].tolist() == pytest.approx([0.0, 0.0, 44_000.0, 306_000.0])
    assert df["lessee_pays"].tolist() == pytest.approx([324_000.0, 318_000.0, 268_000.0, 0.0])
    trust = flows(lease_deal([a], deposit_held_by="trust"), [QUIET])
    lessor = flows(lease_deal([a], deposit_held_by="lessor"), [QUIET])
    for f in (trust, lessor):
        assert (f.scheduled_principal + f.interest_collected)[0].sum() == pytest.approx(1_260_000.0)


def test_deposit_set_against_the_amount_owed_on_default():
    """The lease of 1,000,000 defaults in March 2026 (grid month 2) before its first rent; its
    deposit of 100,000 is held by the trust and set against what it owes at once (recovery
    of 100,000 in month 2); the IP (500,000, haircut 20%: 400,000) then recovers
    min(1, 400,000 / 900,000) x 900,000 = 400,000 three months later (month 5); the loss is
    900,000 - 400,000 = 500,000. Held by the lessor: nothing at once, 400,000 in month 5,
    a loss of 600,000."""
    sc = Scenario(name="d", defaults={"loans": {"LS001": dt.date(2026, 3, 1)}},
                  recovery={"haircut": 0.2, "lag_months": 3})
    a = lease(deposit=100_000.0)
    trust = flows(lease_deal([a], deposit_held_by="trust"), [sc])
    assert trust.default_amount[0, 2] == pytest.approx(1_000_000.0)
    assert trust.recovery[0, 2] == pytest.approx(100_000.0)
    assert trust.recovery[0, 5] == pytest.approx(400_000.0)
    assert trust.loss[0].sum() == pytest.approx(500_000.0)
    lessor = flows(lease_deal([a], deposit_held_by="lessor"), [sc])
    assert lessor.recovery[0, 2] == 0.0
    assert lessor.recovery[0, 5] == pytest.approx(400_000.0)
    assert lessor.loss[0].sum() == pytest.approx(600_000.0)


def test_lpr_reset_recomputes_the_rent():
    """An LPR-linked lease started 31 Jul 2025 at LPR + 1% with annual resets on 31 Jul; at the
    cut-off (31 Jan 2026) it carries 4.5% and 1,000,000 with 6 quarterly rents left (30 Apr
    2026 ... 31 Jul 2027). Periodic rate 0.01125: rent R1 = 1,000,000 x 0.01125 /
    (1 - 1.01125^-6). The reset of 31 Jul 2026 sets LPR (3.0%, flat) + 1% = 4% for the periods
    from then on: the rent of 31 Oct 2026 is recomputed on the principal left after two rents,
    B2 = 1,000,000 x 1.01125^2 - R1 (1.01125^2 - 1) / 0.01125, over the 4 rents left at
    0.01: R2 = B2 x 0.01 / (1 - 1.01^-4). The scenario's LPR path (2.5%) gives 3.5% instead."""
    a = lease(origination_date=dt.date(2025, 7, 31), first_rent_date=dt.date(2025, 10, 31),
              last_rent_date=dt.date(2027, 7, 31), rate=0.045, reference="LPR1Y", spread=0.01)
    d = lease_deal([a], reference_rates={"LPR1Y": 0.03})
    r1 = 1e6 * 0.01125 / (1 - 1.01125 ** -6)
    b2 = 1e6 * 1.01125 ** 2 - r1 * (1.01125 ** 2 - 1) / 0.01125
    r2 = b2 * 0.01 / (1 - 1.01 ** -4)
    path = Scenario(name="lpr", reference_rates={"LPR1Y": 0.025})
    f = flows(d, [QUIET, path])
    rent = f.scheduled_principal + f.interest_collected
    m = [month_of(x) for x in (dt.date(2026, 4, 30), dt.date(2026, 7, 31), dt.date(2026, 10, 31), dt.date(2027, 7, 31))]
    assert rent[0, m[0]] == pytest.approx(r1, abs=1e-6)
    assert rent[0, m[1]] == pytest.approx(r1, abs=1e-6)
    assert rent[0, m[2]] == pytest.approx(r2, abs=1e-6)
    assert rent[0, m[3]] == pytest.approx(r2, abs=1e-6)
    assert r2 < r1 - 100  # the rate fell: the rent is really recomputed
    r3 = b2 * 0.00875 / (1 - 1.00875 ** -4)
    assert rent[1, m[2]] == pytest.approx(r3, abs=1e-6)


def test_early_termination_pays_principal_and_the_fee():
    """CPR 100% in a month would be SMM 1: with CPR such that SMM = 1 - (1 - CPR)^(1/12) and a
    2% termination fee, the principal prepaid P in the first month is 1,000,000 x SMM and
    the fee 0.02 P is income (no rent falls in grid month 1)."""
    cpr = 0.2
    smm = 1 - (1 - cpr) ** (1 / 12)
    f = flows(lease_deal([lease(termination_fee=0.02)]), [Scenario(name="p", prepayment={"cpr": cpr})])
    assert f.prepayment[0, 1] == pytest.approx(1e6 * smm)
    assert f.interest_collected[0, 1] == pytest.approx(0.02 * 1e6 * smm)


def test_repurchase_obligation_buys_the_defaulted_lease():
    """原始权益人回购 as a buy_back at price 1 of the defaulted balance after 2 months: the lease
    defaulting in month 2 (1,000,000, deposit 100,000 held by the trust, set off at once) is
    bought back for 900,000 in month 4; if the originator fails in February 2026 the IP's
    sale recovers 400,000 in month 5 instead (test_deposit_set_against_the_amount_owed_on_default)."""
    sc = Scenario(name="d", defaults={"loans": {"LS001": dt.date(2026, 3, 1)}},
                  recovery={"haircut": 0.2, "lag_months": 3})
    bb = {"kind": "buy_back", "name": "originator", "price": 1.0, "price_basis": "defaulted_balance", "delay_months": 2}
    d = lease_deal([lease(deposit=100_000.0)], deposit_held_by="trust", support=[bb])
    f = flows(d, [sc, sc.model_copy(update={"name": "fails", "support_failures": {"originator": dt.date(2026, 2, 1)}})])
    assert f.recovery[0, 2] == pytest.approx(100_000.0)
    assert f.support_paid[0, 4] == pytest.approx(900_000.0)
    assert f.loss[0].sum() == pytest.approx(0.0, abs=1e-6)
    assert f.support_paid[1].sum() == pytest.approx(0.0)
    assert f.recovery[1, 5] == pytest.approx(400_000.0)
    assert f.loss[1].sum() == pytest.approx(500_000.0)


def test_the_pool_balance_is_lease_principal_not_rents():
    d = lease_deal([lease(), lease(2, balance=2_000_000.0)])
    f = flows(d, [QUIET])
    assert f.balance_end[0, 0] == pytest.approx(3_000_000.0)
    assert KIND.original_balance(d.pools[0], CUTOFF) == pytest.approx(3_000_000.0)


# --------------------------------------------------------------------------- bad input


def test_bad_lease_pool_lists_every_problem():
    bad = [lease(1, last_rent_date=dt.date(2026, 1, 15), first_rent_date=dt.date(2026, 1, 10)),
           lease(2, reference="LPR5Y"), lease(3, schedule="irregular")]
    rows = [{"lease_id": "LS002", "date": dt.date(2026, 3, 15), "principal": 1.0},
            {"lease_id": "NOPE", "date": dt.date(2026, 3, 15), "principal": 1.0}]
    with pytest.raises(InputError) as e:
        check_deal(lease_deal(bad, schedule=rows), "d.yaml")
    text = str(e.value)
    for frag in ("lease 'LS001'", "on or before the cut-off date", "unknown reference rate 'LPR5Y'",
                 "lease 'NOPE'", "its schedule is equal_rent", "LS003", "schedule irregular but no row"):
        assert frag in text, frag


# --------------------------------------------------------------------------- properties


@st.composite
def leases(draw, n_max=5):
    out = []
    for i in range(draw(st.integers(1, n_max))):
        n = draw(st.integers(1, 12))
        freq = draw(st.sampled_from(["monthly", "quarterly"]))
        k = 1 if freq == "monthly" else 3
        first = dt.date(2026, 2 + draw(st.integers(0, k - 1)), draw(st.integers(1, 28)))
        y, m = divmod(first.month - 1 + (n - 1) * k, 12)
        floating = draw(st.booleans())
        out.append(lease(
            i + 1, balance=float(draw(st.integers(100_000, 20_000_000))), rate=draw(st.floats(0.0, 0.12)),
            origination_date=dt.date(2025, draw(st.integers(1, 12)), 1), first_rent_date=first,
            last_rent_date=dt.date(first.year + y, m + 1, first.day), rent_frequency=freq,
            schedule=draw(st.sampled_from(["equal_rent", "equal_principal"])),
            deposit=float(draw(st.integers(0, 2_000_000))), purchase_option=float(draw(st.integers(0, 1000))),
            termination_fee=draw(st.floats(0, 0.05)), collateral_value=float(draw(st.integers(0, 20_000_000))),
            **({"reference": "LPR1Y", "spread": draw(st.floats(-0.01, 0.03)), "reset_months": draw(st.integers(1, 12))}
               if floating else {})))
    return out


@st.composite
def lease_scenarios(draw):
    return Scenario(name=f"s{draw(st.integers(0, 10**6))}", defaults={"cdr": draw(st.floats(0.0, 0.6))},
                    prepayment={"cpr": draw(st.floats(0.0, 0.6))},
                    recovery={"haircut": draw(st.floats(0, 1)), "lag_months": draw(st.integers(0, 12)),
                              "value_decay": draw(st.floats(0, 0.5)),
                              **({"rate": draw(st.floats(0, 1))} if draw(st.booleans()) else {})},
                    reference_rates={"LPR1Y": draw(st.floats(0.0, 0.06))})


@given(leases(), st.lists(lease_scenarios(), min_size=1, max_size=3, unique_by=lambda s: s.name),
       st.sampled_from(["trust", "lessor"]))
def test_lease_principal_is_conserved(ls, scs, held):
    """Scheduled + prepaid + defaulted principal = the principal at the cut-off date, in
    every scenario; recovered + lost = defaulted (all recoveries fall on the grid)."""
    d = lease_deal(ls, deposit_held_by=held, reference_rates={"LPR1Y": 0.035})
    f = flows(d, scs)
    total = sum(x["balance"] for x in ls)
    out = f.scheduled_principal + f.prepayment + f.default_amount
    np.testing.assert_allclose(out.sum(axis=1), total, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose((f.recovery + f.loss).sum(axis=1), f.default_amount.sum(axis=1), rtol=1e-12, atol=1e-6)
    assert (f.balance_end[:, -1] == 0).all() or np.allclose(f.balance_end[:, -1], 0.0, atol=1e-6)


@given(leases(), lease_scenarios(), st.sampled_from(["trust", "lessor"]), st.data())
def test_sparse_paths_equal_the_dense_projection(ls, sc, held, data):
    """A Monte Carlo path's flows by the sparse projection (no-default flows less the
    defaulted leases' from their default month) equal the dense projection given the same
    default months."""
    d = lease_deal(ls, deposit_held_by=held, reference_rates={"LPR1Y": 0.035})
    sc = sc.model_copy(update={"defaults": sc.defaults.model_copy(update={"cdr": 0.0})})
    proj = Projector(d, [sc])
    M = proj.grid_months
    dm = np.array([[data.draw(st.integers(0, M + 2)) for _ in ls] for _ in range(3)])
    sparse = proj.sparse(sc, exact=True)[0]
    assert sparse is not None
    got = sparse.flows(dm)
    want = proj.monthly([sc] * 3, [Events(default_month=dm)])[0]
    for k in ("scheduled_principal", "prepayment", "interest_collected", "balance_end", "default_amount", "recovery", "loss"):
        np.testing.assert_allclose(getattr(got, k), getattr(want, k), rtol=1e-10, atol=1e-6, err_msg=k)


@given(structures(), leases(n_max=3), st.lists(lease_scenarios(), min_size=1, max_size=2, unique_by=lambda s: s.name))
def test_kernel_equals_reference_on_lease_deals(dm, ls, scs):
    """The waterfall's kernel and its reference twin agree on lease deals (the random
    structures of tests/test_properties.py on a pool of random leases of the same
    principal), and cash is conserved."""
    d = dm[0]
    total = sum(a.balance for a in d.pools[0].assets)
    scale = total / sum(x["balance"] for x in ls)
    ls = [{**x, "balance": x["balance"] * scale, "deposit": x["deposit"] * scale} for x in ls]
    data = d.model_dump(by_alias=True, exclude_unset=True)
    data["pools"] = [{"name": "pool", "kind": "lease", "assets": ls, "deposit_held_by": "trust"}]
    data["deal"]["reference_rates"] = {"LPR1Y": 0.035}
    kernel_equals_reference_and_conserves_cash(ae.Deal.model_validate(data), scs)


def test_a_run_from_a_status_is_refused_for_lease_pools():
    d = lease_deal([lease()])
    with pytest.raises(InputError, match="not modelled for lease pools"):
        Projector(d, [QUIET]).monthly([QUIET], snapshot=3)


def test_lease_pool_rejects_an_interest_subsidy():
    with pytest.raises(ValueError, match="a lease pool takes buy_back"):
        LeasePool(name="p", assets=[LeaseAsset(**lease())],
                  support=[{"kind": "interest_subsidy", "name": "s", "share": 0.5}])  # type: ignore[list-item]
