"""The flagship deal (deals/sz_pledge_2026_1.yaml) recomputed from its tape as a desk would in
a spreadsheet, under scenarios/base.yaml and scenarios/stress.yaml, and compared with the
engine to the fen: pool collections per period, note interest and principal, fees, the
reserve, the deal state, the subordinate's residual.

Nothing here calls the engine's projection, support layers, compiler or waterfall: the
loans are amortised month by month from the tape with the formulas of docs/conventions.md
and docs/methodology.md written out plainly, the guarantee pays each default three months
later (its cover limit cannot bind: checked), and the waterfall of the deal file runs as a
list of statements. The deal's terms (rates, fees, the reserve, the trigger) are repeated
here from the deal file on purpose: a change to the file must be re-derived by hand.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from conftest import DEALS, SCENARIOS

import abs_engine as ae

# --- the deal's terms (deals/sz_pledge_2026_1.yaml) ---------------------------------------------

CLOSING = dt.date(2026, 7, 20)
# quarterly from 26 Oct 2026 to the legal maturity 26 Jul 2029, following on the SSE calendar:
# every 26th is a weekday; 26 Jan 2028 falls in the Spring Festival closure (the engine's SSE
# holiday data, docs/calendars.md) and moves to Wednesday 2 Feb 2028
PAYMENT_DATES = [dt.date(2026, 10, 26), dt.date(2027, 1, 26), dt.date(2027, 4, 26), dt.date(2027, 7, 26),
                 dt.date(2027, 10, 26), dt.date(2028, 2, 2), dt.date(2028, 4, 26), dt.date(2028, 7, 26),
                 dt.date(2028, 10, 26), dt.date(2029, 1, 26), dt.date(2029, 4, 26), dt.date(2029, 7, 26)]
EXPECTED_MATURITY_PERIOD = 4  # 26 Jul 2027: from then on the undertaking covers A's whole balance
A0, SUB0 = 195_700_000.0, 10_300_000.0
COUPON_A = 0.038
GUARANTEE_DELAY, GUARANTEE_CAP = 3, 40_000_000.0
RESERVE_PCT_NOTES, RESERVE_FLOOR = 0.01, 500_000.0
CDR_TRIGGER = 0.10
FREQ = {"monthly": 1, "quarterly": 3}


def projection(cdr: float, cpr: float) -> pd.DataFrame:
    """The pool month by month (months 1.. of the grid from the 30 Jun 2026 cut-off, month m
    = calendar month Jul 2026 + m - 1), expected values: default on the opening balance,
    then the scheduled payment on what survives, then prepayment on what is left."""
    tape = pd.read_csv(DEALS / "tapes" / "sz_pledge_2026_1.csv")
    mdr = 1 - (1 - cdr) ** (1 / 12)
    smm = 1 - (1 - cpr) ** (1 / 12)
    months = 12 + GUARANTEE_DELAY
    cols = ["interest", "scheduled", "prepaid", "defaults", "guarantee", "balance_end"]
    out = pd.DataFrame(0.0, index=range(1, months + 1), columns=cols)
    for loan in tape.itertuples():
        f = FREQ[loan.payment_frequency]
        # every loan was made in June 2026 for a year: payments on its day of the month in
        # the months Jul 2026 + f - 1, ..., Jun 2027 (grid months f, 2f, ..., 12)
        pay_months = list(range(f, 13, f))
        n_payments = len(pay_months)
        B = float(loan.balance)
        for m in range(1, 13):
            D = B * mdr
            B1 = B - D
            out.loc[m, "defaults"] += D
            if m in pay_months:
                j = pay_months.index(m) + 1  # payment number
                left = n_payments - j + 1  # payments left, this one included
                r = loan.rate * f / 12  # periodic rate (interest basis "periodic")
                out.loc[m, "interest"] += B1 * r
                if left == 1:  # the final payment repays the balance
                    principal = B1
                elif loan.amortization == "bullet":
                    principal = 0.0
                elif loan.amortization == "equal_principal":
                    principal = B1 / left
                elif loan.amortization == "annuity":  # level payment less interest
                    principal = B1 * r / ((1 + r) ** left - 1)
                else:  # interest_only_balloon: io_periods interest-only, then an annuity on the term
                    io, term_payments = int(loan.io_periods), int(loan.amortization_term_months) // f
                    principal = 0.0 if j <= io else B1 * r / ((1 + r) ** (term_payments - (j - io) + 1) - 1)
                out.loc[m, "scheduled"] += principal
                B1 -= principal
            P = B1 * smm
            out.loc[m, "prepaid"] += P
            B = B1 - P
            out.loc[m, "balance_end"] += B
    # the guarantee (代偿) pays each default in full three months later and keeps the
    # disposal proceeds (subrogation): the pool recovers nothing itself and loses nothing
    assert out["defaults"].sum() < GUARANTEE_CAP  # so its cover limit never binds
    out.loc[1 + GUARANTEE_DELAY:, "guarantee"] = out["defaults"].to_numpy()[: months - GUARANTEE_DELAY]
    out.loc[13:, "balance_end"] = 0.0
    return out


def by_period(monthly: pd.DataFrame) -> pd.DataFrame:
    """Months -> the quarterly payment periods they are paid in: a month's collections are
    distributed on the first payment date at least 10 days after its end, so months 1-3
    (Jul-Sep 2026) on 26 Oct 2026, months 4-6 on 26 Jan 2027, ..."""
    period = (monthly.index - 1) // 3 + 1
    flows = monthly.drop(columns="balance_end").groupby(period).sum()
    flows["balance_end"] = monthly["balance_end"].groupby(period).last()
    flows = flows.reindex(range(1, len(PAYMENT_DATES) + 1), fill_value=0.0)
    flows["balance_start"] = [206_000_000.0, *flows["balance_end"].to_numpy()[:-1]]
    flows["collections"] = flows[["interest", "scheduled", "prepaid", "guarantee"]].sum(axis=1)
    return flows


def waterfall(pool: pd.DataFrame) -> pd.DataFrame:
    """The deal's waterfalls (normal until the cumulative default trigger, then accelerated),
    period by period, as statements. The undertaking would pay any shortfall of fees, senior
    interest and, from the expected maturity, senior principal: recorded in `undertaking`."""
    a, sub, reserve = A0, SUB0, 0.0
    cum_defaults, accelerated = 0.0, False
    rows = []
    for t, pay_date in enumerate(PAYMENT_DATES, start=1):
        p = pool.loc[t]
        start = CLOSING if t == 1 else PAYMENT_DATES[t - 2]
        yf = (pay_date - start).days / 365  # ACT/365F
        last = t == len(PAYMENT_DATES)
        notes = a + sub
        cash = p["collections"]
        # triggers: cumulative defaults / cut-off balance above 10% (sticky); the senior
        # interest shortfall trigger never fires (the undertaking pays any shortfall)
        cum_defaults += p["defaults"]
        accelerated = accelerated or cum_defaults / 206_000_000.0 > CDR_TRIGGER
        # what is due: fees only while notes are outstanding
        fees = 0.0
        if notes > 0:
            fees = (0.03 * (1 + 0.12) * p["interest"]  # VAT: 3% and 12% surcharges on the period's interest
                    + 0.0010 * notes * yf + 0.0001 * notes * yf  # manager, custodian on the notes
                    + 0.0005 * p["balance_start"] * yf  # servicer on the pool balance
                    + min(12_500.0, 12_500.0))  # rating and audit, fixed (capped at itself)
        interest_a = a * COUPON_A * yf

        # the reserve's target (the notes do not move before the principal steps): 1% of the
        # notes, at least the floor; nothing once they are repaid or in the last period
        target = 0.0 if last or notes <= 0 else max(RESERVE_PCT_NOTES * notes, RESERVE_FLOOR)
        undertaking = 0.0
        # release the reserve's excess over its target
        excess = max(reserve - target, 0.0)
        reserve -= excess
        cash += excess
        # fees, then senior interest (from the reserve, then the undertaking, if short)
        short = max(fees - cash, 0.0)
        undertaking += short
        cash += short - fees
        from_reserve = min(max(interest_a - cash, 0.0), reserve)
        reserve -= from_reserve
        cash += from_reserve
        short = max(interest_a - cash, 0.0)
        undertaking += short
        cash += short - interest_a
        if not accelerated:  # fund the reserve to its target
            top_up = min(max(target - reserve, 0.0), cash)
            reserve += top_up
            cash -= top_up
        # the undertaking covers senior principal due (A's balance from the expected maturity)
        if t >= EXPECTED_MATURITY_PERIOD:
            short = max(a - cash, 0.0)
            undertaking += short
            cash += short
        # principal: A then SUB (accelerated: A may also draw on the reserve)
        if accelerated:
            from_reserve = min(max(a - cash, 0.0), reserve)
            reserve -= from_reserve
            cash += from_reserve
        principal_a = min(a, cash)
        a -= principal_a
        cash -= principal_a
        principal_sub = min(sub, cash)
        sub -= principal_sub
        cash -= principal_sub
        residual, cash = cash, 0.0
        writedown = (a, sub) if last else (0.0, 0.0)
        rows.append({"period": t, "state": "accelerated" if accelerated else "normal", "fees": fees,
                     "interest_a": interest_a, "principal_a": principal_a, "principal_sub": principal_sub,
                     "residual_sub": residual, "reserve_end": reserve, "undertaking": undertaking,
                     "a_end": a - writedown[0], "sub_end": sub - writedown[1]})
    return pd.DataFrame(rows).set_index("period")


@pytest.fixture(scope="module")
def engine_run():
    deal = ae.load_deal(DEALS / "sz_pledge_2026_1.yaml")
    scs = [ae.load_scenario(SCENARIOS / "base.yaml"), ae.load_scenario(SCENARIOS / "stress.yaml")]
    return ae.run(deal, scs)


SCENARIO_RATES = {"base": (0.02, 0.05), "stress": (0.15, 0.0)}  # (CDR, CPR) of the scenario files
FEN = 0.005


def _close(got, want, what):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    worst = float(np.max(np.abs(got - want)))
    assert worst < FEN, f"{what}: off by {worst:.6f}\nengine      {got}\nspreadsheet {want}"


@pytest.mark.parametrize("scenario", ["base", "stress"])
def test_the_flagship_deal_to_the_fen(engine_run, scenario):
    r = engine_run
    assert r.schedule.payment_dates == PAYMENT_DATES
    pool = by_period(projection(*SCENARIO_RATES[scenario]))
    sheet = waterfall(pool)

    ep = r.pool[r.pool["scenario"] == scenario].set_index("period")
    _close(ep["interest_collected"], pool["interest"], "pool interest")
    _close(ep["scheduled_principal"], pool["scheduled"], "scheduled principal")
    _close(ep["prepayment"], pool["prepaid"], "prepayments")
    _close(ep["default_amount"], pool["defaults"], "defaults")
    _close(ep["support_paid"], pool["guarantee"], "guarantee payments")
    _close(ep["recovery"], 0.0, "recoveries kept by the pool")
    _close(ep["balance_end"], pool["balance_end"], "pool balance")

    tr = r.tranches[r.tranches["scenario"] == scenario]
    a = tr[tr["tranche"] == "A"].set_index("period")
    sub = tr[tr["tranche"] == "SUB"].set_index("period")
    _close(a["interest_paid"], sheet["interest_a"], "A interest")
    _close(a["interest_shortfall"], 0.0, "A interest shortfall")
    _close(a["principal_paid"], sheet["principal_a"], "A principal")
    _close(a["balance_end"], sheet["a_end"], "A balance")
    _close(sub["principal_paid"], sheet["principal_sub"], "SUB principal")
    _close(sub["residual_paid"], sheet["residual_sub"], "SUB residual")
    _close(sub["balance_end"], sheet["sub_end"], "SUB balance")
    fees = r.fees[r.fees["scenario"] == scenario].groupby("period")["paid"].sum()
    _close(fees, sheet["fees"], "fees")
    acc = r.accounts[r.accounts["scenario"] == scenario]
    _close(acc[acc["account"] == "reserve"].set_index("period")["balance_end"], sheet["reserve_end"], "reserve")
    _close(acc[acc["account"] == "undertaking"].set_index("period")["drawn"], sheet["undertaking"], "undertaking")
    states = r.states[r.states["scenario"] == scenario].set_index("period")["state"]
    assert states.tolist() == sheet["state"].tolist()


def test_the_key_figures(engine_run):
    """The figures the README prints, from the spreadsheet (not from the engine)."""
    base = waterfall(by_period(projection(*SCENARIO_RATES["base"])))
    stress = waterfall(by_period(projection(*SCENARIO_RATES["stress"])))
    assert round(base["interest_a"].sum(), 2) == 5_998_874.33
    assert round(base["residual_sub"].sum(), 2) == 1_323_326.25
    assert round(stress["interest_a"].sum(), 2) == 5_995_983.61
    assert round(stress["residual_sub"].sum(), 2) == 938_666.53
    # the reserve's floor holds it at 500,000 in period 5 (1% of the notes would be 3,450)
    assert base.loc[5, "reserve_end"] == 500_000.0
    assert (stress["state"] == "accelerated").tolist() == [False] * 3 + [True] * 9
