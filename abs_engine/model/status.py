"""A deal's status as of a payment date (存续期状态): what a manager (计划管理人) reads in
the period's trustee report (受托机构报告) and servicer report (资产服务机构报告), from
which the engine picks the deal up mid-life (abs_engine/restart.py, docs/seasoned.md).

Units as everywhere (docs/conventions.md): money in deal currency units, shares as
decimals. The status is as of the *status date*, a payment date of the deal, after that
date's payments: note balances, carried shortfalls and account balances are those after
the waterfall ran; the pool is as of the end of the last collection period distributed
on that date (the grid month whose cash that date paid).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import model_validator

from .common import Fraction, Model, Money, describe


class TrancheStatus(Model):
    """One class of notes after the status date's payments."""

    balance: Money = describe("Balance outstanding after the status date's payments (the factor is balance / original)")
    unpaid_interest: Money = describe(
        "Interest due and not paid, carried into the next period (0 for a class that does not carry shortfalls)",
        default=0.0,
    )


class AccountStatus(Model):
    """A trust account's cash, or a support provider's position (差额支付承诺人, 担保人)."""

    balance: Money | None = describe("Trust accounts: cash held after the status date's payments", default=None)
    capacity_remaining: Money | None = describe(
        "Support providers: what they will still pay (needed when the deal limits their capacity; omitted: "
        "unlimited; 0 for a provider that has failed)",
        default=None,
    )
    owed: Money = describe("Support providers: what they paid into the trust and have not been repaid", default=0.0)
    target_met: bool | None = describe(
        "Reserve accounts: whether the balance met the reserve target on the status date (checked against "
        "the target computed from the status figures)", default=None,
    )


class TriggerStatus(Model):
    """A trigger's state after its test on the status date."""

    fired: bool = describe("Fired (for a non-curable trigger: ever fired)", default=False)
    consecutive: int = describe("Breaches in a row up to and including the status date's test", default=0, ge=0, le=10_000)


class Cumulative(Model):
    """Pool figures since the cut-off date (累计), as the trustee report gives them."""

    defaults: Money = describe(
        "Cumulative defaulted balance, the cumulative default ratio's numerator: the defaults listed plus the "
        "terminations", default=0.0,
    )
    terminations: Money = describe(
        "Receivable pools: remaining fees lost to terminated licences or receivables, which recover nothing",
        default=0.0,
    )
    recoveries: Money = describe("Cumulative disposal proceeds received", default=0.0)
    losses: Money = describe("Cumulative losses recognised", default=0.0)


class AssetStatus(Model):
    """One asset still in the pool; the columns of a status asset tape."""

    asset_id: str = describe("Loan, licence or receivable id, as in the deal's tape")
    balance: Money = describe(
        "Current balance: a loan's principal outstanding; a licence's or receivable's remaining scheduled "
        "fees (instalments), as the patents' status leaves them"
    )
    performing: Fraction = describe(
        "Chance the asset still performs: 1 for an asset observed performing; a status written from an "
        "expected-value run gives the projection's survival factor, so that balance / performing is what "
        "the asset owes if it performs", default=1.0,
    )
    days_past_due: int = describe(
        "Days past due (逾期天数) on the status date; 0 when current (carried with the status; the projection "
        "treats a surviving asset as performing)", default=0, ge=0, le=100_000,
    )


class DefaultStatus(Model):
    """A default since the cut-off date; the columns of a status defaults tape."""

    asset_id: str = describe("Defaulted loan, licence or receivable id, as in the deal's tape")
    default_date: dt.date = describe("Date of default (the collection month it fell in counts)")
    amount: Money = describe("Defaulted balance (receivables: the remaining fees lost to the default)")
    balance_if_performing: Money | None = describe(
        "What the asset owed had it still performed, the balance its pledged collateral covers (default: "
        "amount; a status written from an expected-value run gives the projection's)", default=None,
    )
    recovered: Money | None = describe(
        "Disposal proceeds received (处置回收); omit while the disposal is pending (its proceeds are then "
        "projected by the scenario's recovery assumptions)", default=None,
    )
    recovery_date: dt.date | None = describe("When the proceeds were received", default=None)

    @model_validator(mode="after")
    def _check(self) -> DefaultStatus:
        if self.recovered is not None and self.recovered > self.amount * (1 + 1e-9) + 0.005:
            raise ValueError(f"recovered ({self.recovered:,.2f}) exceeds the defaulted amount ({self.amount:,.2f})")
        if self.recovery_date is not None and self.recovery_date < self.default_date:
            raise ValueError(f"recovery_date ({self.recovery_date}) is before default_date ({self.default_date})")
        if self.recovery_date is not None and self.recovered is None:
            raise ValueError("recovery_date without recovered: give the proceeds received")
        return self


class PatentStatus(Model):
    """A patent of a licence pool; the columns of a status patent tape."""

    patent_id: str = describe("Patent id, as in the deal's patent tape")
    in_force: Fraction = describe(
        "Share of the patent's fees still in force: 1 valid, 0 invalidated or lapsed (a status written from an "
        "expected-value run gives the projection's factor)", default=1.0,
    )


class InterestStatus(Model):
    """Interest a loan paid in one collection month; the columns of a status interest tape
    (needed by a pool with an interest subsidy, whose per-borrower annual caps and capacity
    count the interest paid since the cut-off date)."""

    asset_id: str = describe("Loan id, as in the deal's tape")
    month_end: dt.date = describe("End of the collection month the interest was paid in (the month containing this date counts)")
    interest: Money = describe("Interest paid in the month (an expected-value run: the expected interest)")
    performing: Fraction = describe(
        "Chance the loan performed when it paid (1 observed; an expected-value run's survival factor)", default=1.0,
    )


class PayerStatus(Model):
    """A payer of a pool's risk-sharing stack (docs/risk-sharing.md)."""

    capacity_remaining: Money | None = describe(
        "What it will still pay (omit: unlimited); checked against the defaults listed, which the layers replay",
        default=None,
    )


class PoolStatus(Model):
    """A pool as of the end of the last collection period distributed on the status date."""

    balance: Money = describe("Pool balance (the sum of the asset tape's balances)")
    tape: str | None = describe("Asset tape (CSV/XLSX: asset_id, balance, performing, days_past_due), relative to the status file", default=None)
    assets: list[AssetStatus] = describe("Inline assets (instead of, or besides, a tape)", default_factory=list)
    defaults_tape: str | None = describe(
        "Defaults tape (CSV/XLSX: asset_id, default_date, amount, balance_if_performing, recovered, recovery_date)",
        default=None,
    )
    defaults: list[DefaultStatus] = describe("Every default since the cut-off date, inline", default_factory=list)
    patent_tape: str | None = describe("Licence pools: patent tape (CSV/XLSX: patent_id, in_force)", default=None)
    patents: list[PatentStatus] = describe("Licence pools: patents, inline (omitted ones are in force)", default_factory=list)
    interest_tape: str | None = describe(
        "Pools with an interest subsidy: interest tape (CSV/XLSX: asset_id, month_end, interest, performing)", default=None,
    )
    interest: list[InterestStatus] = describe(
        "Pools with an interest subsidy: the interest each loan paid in each month since the cut-off date, inline",
        default_factory=list,
    )
    support: dict[str, PayerStatus] = describe("Risk-sharing payers by name", default_factory=dict)


class TranchePeriod(Model):
    """A class's payments on one payment date."""

    interest: Money = describe("Interest paid", default=0.0)
    principal: Money = describe("Principal paid", default=0.0)
    residual: Money = describe("Excess return paid (超额收益; the subordinate)", default=0.0)
    balance: Money = describe("Balance after the payments")


class PeriodActuals(Model):
    """What happened in one period, as reported (the actuals of the actual-vs-projected report)."""

    date: dt.date = describe("Payment date of the period")
    interest_collected: Money = describe("Pool interest collected", default=0.0)
    principal_collected: Money = describe("Pool principal collected: scheduled and prepaid (licence fees, instalments)", default=0.0)
    prepayments: Money = describe("Of which prepaid", default=0.0)
    defaults: Money = describe("Defaults of the period", default=0.0)
    recoveries: Money = describe("Disposal proceeds received", default=0.0)
    losses: Money = describe("Losses recognised", default=0.0)
    support_paid: Money = describe("Paid by the pools' risk-sharing layers", default=0.0)
    pool_balance: Money = describe("Pool balance at the end of the collection period")
    fees_paid: Money = describe("Expenses paid", default=0.0)
    tranches: dict[str, TranchePeriod] = describe("Each class's payments", default_factory=dict)


class Status(Model):
    """A deal's status as of a payment date (docs/seasoned.md gives every field)."""

    deal: str = describe("The deal's name (deal.name), checked")
    date: dt.date = describe("Status date: a payment date of the deal, as scheduled or as adjusted, after its payments")
    scenario: str | None = describe("Written from a run: the scenario it came from (informative)", default=None)
    tranches: dict[str, TrancheStatus] = describe("Every class of notes")
    fees: dict[str, Money] = describe("Unpaid fees carried into the next period, by fee (omitted: 0)", default_factory=dict)
    accounts: dict[str, AccountStatus] = describe("Every account of the deal (trust accounts and support providers)")
    triggers: dict[str, TriggerStatus] = describe("Trigger states (omitted: not fired, no breach)", default_factory=dict)
    deal_state: Literal["normal", "accelerated", "event_of_default"] = describe(
        "Deal state on the status date (the most severe effect of the fired triggers; checked)", default="normal"
    )
    cumulative: Cumulative = describe("Pool figures since the cut-off date", default_factory=Cumulative)
    pools: dict[str, PoolStatus] = describe("Every pool of the deal, by name")
    history: list[PeriodActuals] = describe(
        "Actuals of the periods paid so far (this one included), oldest first; optional", default_factory=list
    )
