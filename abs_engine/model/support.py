"""Risk-sharing layers of a pledge pool (风险分担): the parties that turn a default loss
into payments to the pool, in a set order, each with capacities that can run out.

A deal file writes them under a pool as an ordered list::

    pools:
      - name: main
        kind: pledge_loan
        support:
          - kind: buy_back            # CAPP: a counterparty buys defaulted loans
            name: mcam
            price: 0.75
            price_basis: original_amount
            delay_months: 6
          - kind: sharing             # fund 30% / insurer 60% / bank 10%, then 9:1
            name: district_scheme
            parties:
              - {name: fund, kind: compensation_fund, capacity: 4000000, timing: after_disposal}
              - {name: insurer, kind: insurance, timing: on_default}
            regimes:
              - {fund: 0.30, insurer: 0.60}
              - {insurer: 0.90}

No numerics here; the rules (order, regimes, boundary split, timing, subrogation,
failure, capacities) are in :mod:`abs_engine.support.layers` and docs/risk-sharing.md.
Every payer (buy-back counterparty, sharing party, guarantor, re-guarantor, subsidy
body) and the annual-fee upkeep have a name, unique within the pool's stack; a
scenario's ``support_failures`` uses these names.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, TypeAdapter, model_validator

from .common import Fraction, Frequency, Model, Money, describe

#: Shares in a regime may exceed 1 by this much (rounding in hand-written decimals).
SHARE_TOLERANCE = 1e-9

Timing = Literal["on_default", "after_disposal"]
#: A sharing party may also advance its share of an estimated loss and settle after disposal.
PartyTiming = Literal["on_default", "after_disposal", "advance"]


class _Limits(Model):
    """How much a payer can pay: a total, per asset, per calendar year."""

    capacity: Money | None = describe(
        "Total cover limit (fund size, aggregate limit) in deal currency units; "
        "unlimited if omitted", default=None,
    )
    per_asset_cap: Money | None = describe(
        "Most the payer bears on any one asset (loan or receivable), deal currency units; "
        "unlimited if omitted", default=None,
    )
    annual_cap: Money | None = describe(
        "Most the payer pays in one calendar year (of the payment), deal currency units; "
        "unlimited if omitted", default=None,
    )
    capacity_basis: Literal["net", "gross"] = describe(
        "net: what the payer gets back (its share of disposal proceeds, a bought loan's "
        "proceeds) restores its capacity up to what it paid on that default; gross: "
        "capacity only ever decreases by what it pays",
        default="net",
    )


class CounterGuarantee(Model):
    """A counter-guarantee (反担保) the borrower gave the party: a pledge of its other
    assets, its founders' personal guarantee. When the party has paid a claim it has
    recourse to it for what it paid and did not get back from the disposal; the trust's
    cash is unchanged, the party's net cost falls (and a ``net`` capacity is restored)."""

    recovery_rate: Fraction = describe(
        "Share of what the party paid on a claim and did not get back from the disposal "
        "proceeds that it recovers from the borrower's counter-guarantee"
    )
    lag_months: int = describe(
        "Months from the later of the party's payment (an advance: its settlement) and the "
        "disposal to the recovery", default=12, ge=0, le=120,
    )


class SharingParty(_Limits):
    """A party to a loss-sharing agreement: an insurer (保证保险), a risk-compensation
    fund (风险补偿资金池), a guarantee company (担保) or a credit insurer (信用保险)."""

    name: str = describe("Party name, unique in the pool's support stack (used by regimes and support_failures)")
    kind: Literal["insurance", "compensation_fund", "guarantee", "credit_insurance"] = describe(
        "insurance = 保证保险 guarantee insurance; compensation_fund = 风险补偿资金池; "
        "guarantee = 担保 guarantee company; credit_insurance = 信用保险 (licensee credit risk)"
    )
    provider: str | None = describe("Who the party is (free text, for term sheets)", default=None)
    timing: PartyTiming = describe(
        "on_default: pays its share of the defaulted balance in the default month and "
        "receives its share of the disposal proceeds when they arrive (insurer pays first "
        "then disposes); after_disposal: pays its share of the actual loss (defaulted "
        "balance - proceeds) when the disposal completes; advance: 风险补偿前置 — pays its "
        "share of the loss estimated with `advance_recovery` at default, and settles against "
        "the actual loss when the disposal completes (tops up if the proceeds fall short of "
        "the estimate, is paid back if they exceed it)"
    )
    delay_months: int = describe("Months by which its payment follows the default (on_default, advance) or the disposal (after_disposal)", default=0, ge=0, le=120)
    advance_recovery: Fraction = describe(
        "timing advance: the recovery rate (share of the defaulted balance) the advance "
        "assumes; the advance is share x (1 - advance_recovery) of the defaulted balance",
        default=0.0,
    )
    counter_guarantee: CounterGuarantee | None = describe(
        "The borrower's counter-guarantee to this party (反担保), e.g. "
        "{recovery_rate: 0.3, lag_months: 12}", default=None,
    )

    @model_validator(mode="after")
    def _check_advance(self) -> SharingParty:
        if self.advance_recovery and self.timing != "advance":
            raise ValueError("advance_recovery applies only to timing: advance")
        return self


class BuyBack(_Limits):
    """Guaranteed asset purchase price (CAPP, 资产回购): a counterparty buys each defaulted
    loan ``delay_months`` after its default at ``price`` x the basis (never more than the
    defaulted balance) and owns its disposal proceeds; the pool gets the price instead."""

    kind: Literal["buy_back"]
    name: str = describe("Name of the buyer, unique in the pool's support stack")
    provider: str | None = describe("Who the buyer is (free text)", default=None)
    price: Fraction = describe("Purchase price as a share of `price_basis`")
    price_basis: Literal["original_amount", "defaulted_balance"] = describe(
        "original_amount: the loan's original amount (for a partial default, the defaulted "
        "share of it); defaulted_balance: the balance that defaulted"
    )
    delay_months: int = describe(
        "Months from default to purchase; a loan whose disposal completes before the "
        "purchase date (recovery lag < delay) is not bought", default=0, ge=0, le=120,
    )
    exercise: Literal["always", "when_better"] = describe(
        "always: every defaulted loan is sold; when_better: only when the price beats the "
        "expected disposal proceeds", default="always",
    )


class Sharing(Model):
    """A loss-sharing agreement among named parties with ordered regimes. A default starts
    under the first regime; each party's share is limited by that party alone. When a party
    cannot pay (failed, or its capacity or a cap used up; a default that exhausts it
    part-way is split exactly at that point), the rest goes to the first later regime that
    keeps every party that can pay and does without some that cannot, or, if there is none,
    the others pay their own shares and its share stays with the pool. The share a regime
    leaves (1 - sum of shares) stays with the pool and passes to the next layer."""

    kind: Literal["sharing"]
    name: str = describe("Name of the agreement, unique in the pool's support stack")
    parties: list[SharingParty] = describe("The parties", min_length=1)
    regimes: list[dict[str, Fraction]] = describe(
        "Ordered regimes: each maps party names to their share (decimal) of a default; "
        "shares of a regime sum to at most 1",
        min_length=1,
    )

    @model_validator(mode="after")
    def _check(self) -> Sharing:
        names = [p.name for p in self.parties]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"parties: duplicate party name(s) {', '.join(dup)}")
        problems: list[str] = []
        for i, regime in enumerate(self.regimes):
            if not regime:
                problems.append(f"regimes[{i}]: a regime needs at least one party")
            unknown = [n for n in regime if n not in names]
            if unknown:
                problems.append(f"regimes[{i}]: unknown party {', '.join(repr(n) for n in unknown)} (known: {', '.join(names)})")
            total = sum(regime.values())
            if total > 1.0 + SHARE_TOLERANCE:
                problems.append(f"regimes[{i}]: shares sum to {total:g}, more than 1")
        used = {n for r in self.regimes for n in r}
        unused = [n for n in names if n not in used]
        if unused:
            problems.append(f"parties: {', '.join(repr(n) for n in unused)} in no regime")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Reguarantee(_Limits):
    """A re-guarantor (再担保) refunding the guarantor ``share`` of what it pays, and
    receiving the same share of what the guarantor recovers."""

    name: str = describe("Name of the re-guarantor, unique in the pool's support stack")
    provider: str | None = describe("Who the re-guarantor is (free text)", default=None)
    share: Fraction = describe("Share of each guarantor payment refunded (e.g. 0.8)")


class Guarantee(_Limits):
    """A guarantee company (担保) that pays ``share`` of each default; its caps bind on its
    cost net of what a re-guarantor refunds. Once the re-guarantor is exhausted or failed
    the guarantor bears its payments alone."""

    kind: Literal["guarantee"]
    name: str = describe("Name of the guarantor, unique in the pool's support stack")
    provider: str | None = describe("Who the guarantor is (free text)", default=None)
    share: Fraction = describe("Share of each default guaranteed", default=1.0)
    timing: Timing = describe(
        "on_default: pays at default (代偿) and is subrogated to the disposal proceeds; "
        "after_disposal: pays the loss once the disposal completes",
        default="on_default",
    )
    delay_months: int = describe("Months by which its payment follows the default / disposal", default=0, ge=0, le=120)
    reguarantee: Reguarantee | None = describe("Re-guarantee of the guarantor (再担保)", default=None)
    counter_guarantee: CounterGuarantee | None = describe(
        "The borrower's counter-guarantee to the guarantor (反担保), e.g. "
        "{recovery_rate: 0.3, lag_months: 12}; a re-guarantor receives its share of what "
        "the guarantor recovers", default=None,
    )


class InterestSubsidy(Model):
    """Interest subsidy (贴息): a public body pays ``share`` of the interest borrowers pay,
    capped per borrower and calendar year. It lowers the borrower's cost, not the lender's
    cash: paid to the borrowers (the default) it is reported only; paid to the pool it pays
    that part of the contractual interest on the borrower's behalf, so the pool still
    collects the contractual interest, no more."""

    kind: Literal["interest_subsidy"]
    name: str = describe("Name of the paying body, unique in the pool's support stack")
    provider: str | None = describe("Who pays (free text)", default=None)
    share: Fraction = describe("Share of interest paid that is subsidised (e.g. 0.5)")
    per_borrower_annual_cap: Money | None = describe(
        "Most paid per borrower per calendar year, deal currency units (e.g. 500000)", default=None
    )
    capacity: Money | None = describe("Total budget of the programme, deal currency units; unlimited if omitted", default=None)
    until: dt.date | None = describe("Interest paid after this date is not subsidised", default=None)
    to: Literal["pool", "borrower"] = describe(
        "borrower: paid to the borrowers (按实际支出贷款利息予以补助), reported only; pool: paid to "
        "the pool on the borrower's behalf, as part of the contractual interest (the borrower "
        "pays the rest; the pool's interest is unchanged, and if the body fails the borrower "
        "pays it all)",
        default="borrower",
    )


class AnnualFeeUpkeep(Model):
    """Patent annual fees (年费) paid out of the pool while a loan is pledged; if they stop
    (a scenario's ``support_failures`` names this layer) the pledged rights lapse
    ``grace_months`` after the first unpaid fee and disposals completing from then on
    recover nothing."""

    kind: Literal["annual_fee_upkeep"]
    name: str = describe("Name of the upkeep, unique in the pool's support stack", default="annual_fees")
    cost_per_year: Money = describe("Annual fee per loan, deal currency units", default=0.0)
    collateral_share: Fraction = describe("Annual fee as a share of the loan's appraised collateral value (added to cost_per_year)", default=0.0)
    frequency: Frequency = describe("How often fees are paid, in advance (annual: grid months 1, 13, 25, ...)", default=Frequency.annual)
    grace_months: int = describe("Months after an unpaid fee before the right lapses (6 under the Chinese patent rules)", default=6, ge=0, le=24)

    def lapse_month(self, stop: int) -> int:
        """The grid month from which the rights have lapsed when the fees, paid in advance in
        grid months 1, 1 + k, 1 + 2k, ... (k: months of :attr:`frequency`), are not paid from
        grid month ``stop`` on: the first unpaid fee month plus :attr:`grace_months`.

        >>> AnnualFeeUpkeep(kind="annual_fee_upkeep").lapse_month(5)  # fees in months 1, 13, ...: 13 unpaid
        19
        """
        every = self.frequency.months
        stop = max(int(stop), 1)
        first_unpaid = 1 + -(-(stop - 1) // every) * every
        return first_unpaid + self.grace_months


#: A layer of a pool's support stack: the closed set of layer kinds (the one place they are listed).
Layer = BuyBack | Sharing | Guarantee | InterestSubsidy | AnnualFeeUpkeep

SupportLayer = Annotated[Layer, Field(discriminator="kind")]


def stack_names(layers: list[Layer]) -> list[str]:
    """Every name in a stack, in order: layer names and, for sharing layers, party names
    (after the agreement's name), for guarantees the re-guarantor's."""
    out: list[str] = []
    for layer in layers:
        out.append(layer.name)
        if isinstance(layer, Sharing):
            out += [p.name for p in layer.parties]
        if isinstance(layer, Guarantee) and layer.reguarantee is not None:
            out.append(layer.reguarantee.name)
    return out


def failure_names(layers: list[Layer]) -> list[str]:
    """The names a scenario's ``support_failures`` may use for this stack: every payer and
    the annual-fee upkeep (not the name of a sharing agreement)."""
    out: list[str] = []
    for layer in layers:
        if isinstance(layer, Sharing):
            out += [p.name for p in layer.parties]
        else:
            out.append(layer.name)
            if isinstance(layer, Guarantee) and layer.reguarantee is not None:
                out.append(layer.reguarantee.name)
    return out


def payer_capacities(layers: list[Layer]) -> dict[str, float | None]:
    """The total capacity (``capacity``: a fund's size, a guarantee's aggregate limit, a
    subsidy's budget) of every payer of :func:`failure_names`; None where unlimited."""
    out: dict[str, float | None] = {}
    for layer in layers:
        payers: list[Any] = list(layer.parties) if isinstance(layer, Sharing) else [layer]
        if isinstance(layer, Guarantee) and layer.reguarantee is not None:
            payers.append(layer.reguarantee)
        out.update({p.name: getattr(p, "capacity", None) for p in payers})
    return out


def _check_stack(layers: list[Layer]) -> list[Layer]:
    names = stack_names(layers)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"names must be unique in a pool's support stack: {', '.join(repr(n) for n in dup)} used more than once")
    upkeep = [i for i, layer in enumerate(layers) if isinstance(layer, AnnualFeeUpkeep)]
    if len(upkeep) > 1:
        raise ValueError(f"at most one annual_fee_upkeep layer (found at {', '.join(f'[{i}]' for i in upkeep)})")
    return layers


#: The type of a pool's ``support`` field: an ordered stack of layers, names unique.
SupportStack = Annotated[list[SupportLayer], AfterValidator(_check_stack)]

_STACK: TypeAdapter[list[Layer]] = TypeAdapter(SupportStack)


def parse_stack(data: object) -> list[Layer]:
    """Validate a ``support:`` list (as read from YAML) into layer models."""
    return _STACK.validate_python(data)


__all__ = [
    "AnnualFeeUpkeep",
    "BuyBack",
    "CounterGuarantee",
    "Guarantee",
    "InterestSubsidy",
    "Layer",
    "Reguarantee",
    "Sharing",
    "SharingParty",
    "SupportLayer",
    "SupportStack",
    "failure_names",
    "parse_stack",
    "stack_names",
]
