"""What a deal *is*: the pydantic models behind a deal file (deals/*.yaml).

No numerics here. Cross-references (names of tranches, fees, accounts, triggers used
in waterfall steps) are checked in :mod:`abs_engine.checks`, which can point at
the exact field path and list the known names.
"""

from __future__ import annotations

import datetime as dt
import math
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, PrivateAttr, model_validator

from ..errors import Problem, unknown
from .common import (
    DayCount,
    Fraction,
    Frequency,
    Id,
    Model,
    Money,
    Rate,
    SignedMoney,
    describe,
    field_rules,
)
from .support import AnnualFeeUpkeep, InterestSubsidy, SupportStack

_SUPPORT_DOC = (
    "Risk-sharing layers (风险分担) between a defaulted asset and the pool, in order: "
    "buy_back, sharing (insurance / compensation fund / guarantee / credit insurance), "
    "guarantee (with re-guarantee), interest_subsidy, annual_fee_upkeep (docs/risk-sharing.md)"
)


def _receivable_support(stack: Sequence[object], allowed_upkeep: bool) -> None:
    """Interest subsidies need interest (pledge loans only); annual-fee upkeep needs the
    pool to hold the patents (licence pools: the pool keeps the licensed patents alive)."""
    for i, layer in enumerate(stack):
        if isinstance(layer, InterestSubsidy):
            raise ValueError(f"support[{i}]: an interest_subsidy needs interest-bearing assets (pledge_loan pools)")
        if isinstance(layer, AnnualFeeUpkeep) and not allowed_upkeep:
            raise ValueError(f"support[{i}]: annual_fee_upkeep applies to pledge_loan and licence pools (a transfer pool's IP belongs to the buyer)")

# --------------------------------------------------------------------------- header


class BusinessDayConvention(StrEnum):
    following = "following"
    modified_following = "modified_following"
    preceding = "preceding"
    unadjusted = "unadjusted"


class Parties(Model):
    """Parties named in term sheets (free text); their names (:data:`PARTIES`) are what
    ``pay_residual.to`` may name besides a tranche."""

    originator: str | None = describe("原始权益人 originator", default=None)
    manager: str | None = describe("计划管理人 plan manager", default=None)
    servicer: str | None = describe("资产服务机构 servicer", default=None)
    custodian: str | None = describe("托管人 custodian", default=None)
    guarantor: str | None = describe("担保人 guarantor", default=None)
    shortfall_undertaker: str | None = describe("差额支付承诺人 shortfall undertaker", default=None)


#: Names that `pay_residual.to` may use besides tranche names (the fields of :class:`Parties`).
PARTIES: tuple[str, ...] = tuple(Parties.model_fields)


class RiskFactor(Model):
    """A risk factor (风险因素) as the offering documents state it, in one or both languages."""

    zh: str | None = describe("The risk in Chinese", default=None, min_length=1)
    en: str | None = describe("The risk in English", default=None, min_length=1)

    @model_validator(mode="after")
    def _one(self) -> RiskFactor:
        if self.zh is None and self.en is None:
            raise ValueError("give the risk in 'zh', 'en' or both")
        return self


class Entity(Model):
    """A legal entity behind support providers (``provider`` of pool layers and of
    undertaking / guarantee accounts): its rating, and the legal entity it belongs to, so
    that term sheets can state which support parties are one company (a concentration)."""

    name: str = describe("The provider as written in the deal's `provider` fields", min_length=1)
    legal_entity: str | None = describe(
        "The legal entity this provider is (or belongs to), when another `provider` name is the same "
        "company; default: the name itself", default=None, min_length=1,
    )
    rating: str | None = describe("Issuer rating as stated (e.g. AAA)", default=None, min_length=1)
    rating_agency: str | None = describe("Agency of that rating (e.g. 中诚信国际 / CCXI)", default=None, min_length=1)


class Header(Model):
    """The deal's identity, dates and conventions."""

    name: str = describe("Deal name, used in outputs and term sheets")
    name_zh: str | None = describe("Chinese deal name for term sheets", default=None)
    currency: str = describe("ISO currency code of every amount in the deal", default="CNY")
    asset_type: Literal["pledge_loan", "licence", "transfer", "lease", "mixed"] = describe(
        "Kind of underlying assets shown in term sheets", default="pledge_loan"
    )
    cutoff_date: dt.date = describe("Pool cut-off date (封包日): projection starts here")
    closing_date: dt.date = describe("Closing / issue date: notes start accruing interest")
    first_payment_date: dt.date = describe("First payment date (unadjusted)")
    payment_frequency: Frequency = describe("Note payment frequency", default=Frequency.quarterly)
    collection_frequency: Frequency = describe(
        "Collection-period frequency; collection periods start at the cut-off date",
        default=Frequency.monthly,
    )
    collection_to_payment_days: int = describe(
        "A collection period is distributed on the first payment date at least this many "
        "calendar days after it ends",
        default=0,
        ge=0,
        le=120,
    )
    expected_maturity: dt.date = describe(
        "Expected final maturity (预期到期日): a payment date, as scheduled or as adjusted "
        "(prospectuses state the adjusted date)"
    )
    legal_maturity: dt.date = describe("Legal final maturity (法定到期日): the projection ends here")
    calendar: Literal["SSE", "SZSE", "IB", "US", "WEEKENDS", "NONE"] = describe(
        "Business-day calendar for payment dates (IB payment dates never fall on a make-up "
        "weekend day; US: United States settlement days; see docs/calendars.md)",
        default="SSE",
    )
    business_day_convention: BusinessDayConvention = describe(
        "How payment dates falling on holidays are adjusted",
        default=BusinessDayConvention.following,
    )
    day_count: DayCount = describe("Default day count for note interest and fees", default=DayCount.act365f)
    total_notes: Money | None = describe(
        "Total issuance stated by the deal; if given, tranche balances must add up to it",
        default=None,
    )
    reference_rates: dict[str, Rate] = describe(
        "Current value of each reference rate (e.g. LPR1Y: 0.030), decimal p.a.; scenarios may override",
        default_factory=dict,
    )
    parties: Parties = describe("Parties named in term sheets", default_factory=Parties)
    venue: str | None = describe(
        "Trading venue (交易场所) shown in term sheets, e.g. 深圳证券交易所 / SZSE", default=None, min_length=1
    )
    risk_factors: list[RiskFactor] = describe(
        "Risk factors (风险因素) of the offering documents, shown in term sheets in their order",
        default_factory=list,
    )
    glossary: dict[str, str] = describe(
        "Translations of names and words of the deal file and its tapes shown in term sheets "
        "(industries, regions, party names): text as written -> the same in the other language "
        "(中文 for English text, English for Chinese); term sheets show both", default_factory=dict,
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> Header:
        order = [
            ("cutoff_date", self.cutoff_date),
            ("closing_date", self.closing_date),
            ("first_payment_date", self.first_payment_date),
            ("expected_maturity", self.expected_maturity),
            ("legal_maturity", self.legal_maturity),
        ]
        bad = [
            f"{a} ({da}) is after {b} ({db})"
            for (a, da), (b, db) in zip(order, order[1:], strict=False)
            if da > db
        ]
        if self.closing_date >= self.first_payment_date:
            bad.append(
                f"closing_date ({self.closing_date}) must be before first_payment_date ({self.first_payment_date})"
            )
        if bad:
            raise ValueError("dates out of order: " + "; ".join(dict.fromkeys(bad)))
        return self


# --------------------------------------------------------------------------- pools


#: The highest annual rate (or spread) a pledge loan may carry: Chinese courts never enforce
#: interest above 36% a year (since 2020 the cap is four times the one-year LPR, far lower),
#: so a loan rate above it is a typing mistake, not a loan.
MAX_LOAN_RATE = 0.36


class PledgeLoanAsset(Model):
    """One IP-pledge loan (知识产权质押贷款); the columns of a loan tape."""

    loan_id: Id = describe("Unique loan identifier")
    borrower: str = describe("Borrower (obligor) name or id")
    balance: Money = describe("Current principal balance at the cut-off date")
    original_balance: Money | None = describe("Original principal amount", default=None)
    rate: Rate = describe("Loan interest rate, decimal p.a. (the spread if `reference` is set)")
    reference: str | None = describe(
        "Reference rate name (e.g. LPR1Y) for floating loans; rate = reference + spread", default=None
    )
    spread: Rate = describe("Spread over the reference rate, decimal p.a.", default=0.0)
    origination_date: dt.date = describe("Origination date; scheduled payments fall on its day of month")
    maturity_date: dt.date = describe("Final maturity date")
    amortization: Literal["annuity", "equal_principal", "bullet", "interest_only_balloon"] = describe(
        "annuity = 等额本息 level payment; equal_principal = 等额本金; bullet = interest "
        "periodically, principal at maturity; interest_only_balloon = interest only for "
        "`io_periods` payments, then level payments on `amortization_term_months` with the "
        "remainder at maturity"
    )
    payment_frequency: Frequency = describe("Loan payment frequency", default=Frequency.monthly)
    io_periods: int = describe("Interest-only payments before amortisation starts", default=0, ge=0, le=1200)
    amortization_term_months: int | None = describe(
        "Amortisation term (months) for interest_only_balloon; longer than the loan leaves a balloon",
        default=None,
        ge=1,
        le=1200,
    )
    ip_type: Literal["patent", "trademark", "copyright", "mixed", "other"] = describe(
        "Type of the pledged IP", default="patent"
    )
    ip_count: int = describe("Number of IP rights pledged (patents, trademarks, copyrights)", default=1, ge=1, le=10_000)
    collateral_value: Money = describe("Appraised value of the pledged IP at the cut-off date", default=0.0)
    industry: str = describe("Borrower industry", default="unknown")
    region: str = describe("Borrower region", default="unknown")
    valuer: str | None = describe("Appraiser (评估机构) of `collateral_value`, shown in term sheets", default=None)
    annual_sales: Money | None = describe(
        "Borrower's annual sales revenue (年销售收入), latest financial year; for the pool's "
        "`eligibility` screens (min_annual_sales, max_loan_to_sales)", default=None,
    )
    net_assets: SignedMoney | None = describe(
        "Borrower's net assets (净资产), may be negative; for the pool's `eligibility` screens "
        "(min_net_assets)", default=None,
    )

    @model_validator(mode="after")
    def _check(self) -> PledgeLoanAsset:
        """The rules between a loan's fields (every one broken, each on its field)."""
        errors: list[tuple[str, str]] = []
        if self.maturity_date <= self.origination_date:
            errors.append(("maturity_date", f"{self.maturity_date} is not after the origination_date {self.origination_date}"))
        if self.original_balance is not None and self.original_balance < self.balance:
            errors.append(("original_balance", (
                f"{self.original_balance:,.2f} is below the balance {self.balance:,.2f}: a loan's balance "
                "cannot exceed the amount lent (are the two columns swapped?)")))
        if self.reference is None and self.rate < 0:
            errors.append(("rate", f"must not be negative for a fixed-rate loan (got {self.rate:g})"))
        for field in ("rate", "spread"):
            if (v := getattr(self, field)) > MAX_LOAN_RATE:
                errors.append((field, (
                    f"{v:g} is above {MAX_LOAN_RATE:g} a year, beyond any enforceable loan rate "
                    "(decimals per annum: 0.0495 for 4.95%)")))
        field_rules(errors)
        return self


@dataclass(frozen=True)
class Exclusion:
    """A loan dropped from its pool by the pool's eligibility criteria."""

    asset: PledgeLoanAsset
    file: str
    where: str
    reasons: tuple[str, ...]


IpType = Literal["patent", "trademark", "copyright", "mixed", "other"]


class Eligibility(Model):
    """Eligibility criteria (入池标准 / 合格标准) of a pledge-loan pool, checked against every
    loan when the deal loads (docs/deal-language.md, "Eligibility criteria"). Each criterion
    is optional; a stated one needs its tape column on every loan (missing data is an input
    error whatever `on_breach` says). Minimums and maximums are inclusive."""

    on_breach: Literal["error", "exclude"] = describe(
        "error: a loan that breaks a criterion is an input error (the deal is refused, every "
        "breach listed); exclude: such loans are dropped from the pool, and the run says so "
        "(validate, run output, manifest, pool statistics)", default="error",
    )
    min_annual_sales: Money | None = describe("Minimum borrower annual sales (`annual_sales`)", default=None)
    min_net_assets: SignedMoney | None = describe(
        "Minimum borrower net assets (`net_assets`); 0 means non-negative net assets", default=None
    )
    max_loan_to_sales: Fraction | None = describe(
        "Maximum loan-to-sales, decimal: the borrower's balance in the pool (all its loans) / "
        "its `annual_sales`", default=None,
    )
    max_ltv: Fraction | None = describe(
        "Maximum loan-to-value (质押率), decimal: `balance` / `collateral_value` (the appraised IP value)",
        default=None,
    )
    min_balance: Money | None = describe("Minimum loan `balance` at the cut-off date", default=None)
    max_balance: Money | None = describe("Maximum loan `balance` at the cut-off date", default=None)
    max_original_term_months: float | None = describe(
        "Maximum term from origination to maturity, months (as pool statistics count months)",
        default=None, gt=0, le=1200,
    )
    max_remaining_term_months: float | None = describe(
        "Maximum remaining term from the cut-off date to maturity, months", default=None, gt=0, le=1200
    )
    min_seasoning_months: float | None = describe(
        "Minimum seasoning from origination to the cut-off date, months", default=None, ge=0, le=1200
    )
    industries: list[str] | None = describe("Borrower industries allowed (`industry`, exact names)", default=None)
    regions: list[str] | None = describe("Borrower regions allowed (`region`, exact names)", default=None)
    ip_types: list[IpType] | None = describe("Types of pledged IP allowed (`ip_type`)", default=None)

    @model_validator(mode="after")
    def _check(self) -> Eligibility:
        for lo, hi in (("min_balance", "max_balance"),):
            a, b = getattr(self, lo), getattr(self, hi)
            if a is not None and b is not None and a > b:
                raise ValueError(f"{lo} ({a:,.2f}) is above {hi} ({b:,.2f})")
        for key in ("industries", "regions", "ip_types"):
            v = getattr(self, key)
            if v is not None and not v:
                raise ValueError(f"{key} is an empty list (no loan could be eligible); omit it to allow any")
        return self

    def stated(self) -> list[str]:
        """The criteria given, in field order (``on_breach`` aside)."""
        return [k for k in type(self).model_fields if k != "on_breach" and getattr(self, k) is not None]


class PledgeLoanPool(Model):
    """A pool of IP-pledge loans, from a loan tape file or inline assets."""

    #: The sections of a scenario that apply to a pool of this kind (docs/scenarios.md):
    #: interest-bearing loans that prepay and whose pledged IP is disposed of after a default.
    SECTIONS: ClassVar[frozenset[str]] = frozenset({"defaults", "prepayment", "recovery"})

    name: str = describe("Pool name")
    kind: Literal["pledge_loan"] = "pledge_loan"
    tape: str | None = describe("Loan tape (CSV or XLSX), path relative to the deal file", default=None)
    assets: list[PledgeLoanAsset] = describe("Inline loans (instead of, or besides, a tape)", default_factory=list)
    deposit_interest_to: str = describe("Account that receives interest collections", default="collection")
    deposit_principal_to: str = describe(
        "Account that receives principal collections (scheduled, prepaid, recovered)", default="collection"
    )
    interest_basis: Literal["periodic", "act365", "act360"] = describe(
        "Loan interest per payment: periodic = balance x rate x months between payments / 12 "
        "(等额本息 / 等额本金 schedules), except a final stub period (maturity off the loan's "
        "schedule), which accrues balance x rate x actual days / 365; act365 / act360 = balance x rate x actual days / 365 or "
        "/ 360 (日利率 = 年利率 / 360), the days from the loan's previous payment date (or its "
        "origination date) to this one, unadjusted; the principal schedule is set with the "
        "periodic rate on every basis",
        default="periodic",
    )
    support: SupportStack = describe(_SUPPORT_DOC, default_factory=list)
    eligibility: Eligibility | None = describe(
        "Eligibility criteria (入池标准) every loan must meet (docs/deal-language.md)", default=None
    )
    #: Loans dropped by `eligibility` (on_breach: exclude) when the deal loaded
    _excluded: tuple[Exclusion, ...] = PrivateAttr(default=())

    @property
    def excluded(self) -> tuple[Exclusion, ...]:
        """The loans ``eligibility`` (``on_breach: exclude``) dropped when the deal loaded,
        each with where it was and the criteria it breaks (empty otherwise)."""
        return self._excluded

    def surviving(self, balances: dict[str, float]) -> PledgeLoanPool:
        """The pool with only the loans named in ``balances`` (loan id -> balance), at those balances."""
        return self.model_copy(update={"assets": [a.model_copy(update={"balance": balances[a.loan_id]})
                                                  for a in self.assets if a.loan_id in balances]})

    def check(self, header: Header, file: str, at: str) -> list[Problem]:
        """What a pool of this kind must meet besides its fields (:mod:`abs_engine.checks`):
        every loan matures after the cut-off date; a floating loan's reference rate is one of the deal's."""
        problems: list[Problem] = []
        cutoff = header.cutoff_date
        for a in self.assets:
            if a.maturity_date <= cutoff:
                problems.append(Problem(file, f"{at} loan '{a.loan_id}'", f"matures on {a.maturity_date}, on or before the cut-off date {cutoff}"))
            if a.reference is not None and a.reference not in header.reference_rates:
                problems.append(Problem(file, f"{at} loan '{a.loan_id}'", unknown("reference rate", a.reference, list(header.reference_rates))))
        return problems


class LicenceAsset(Model):
    """One licence-fee receivable (知识产权许可应收许可费): a licensee's schedule of fees
    under a (sub-)licence of one or more patents; the columns of a licence tape."""

    licence_id: Id = describe("Unique licence identifier")
    licensee: str = describe("Licensee (obligor) name or id")
    fee: Money = describe("Fee per fee period at the first fee date (before escalation)")
    fee_frequency: Frequency = describe("Fee frequency", default=Frequency.quarterly)
    first_fee_date: dt.date = describe("Date of the first scheduled fee")
    last_fee_date: dt.date = describe("Date of the last scheduled fee")
    escalation: Rate = describe("Annual fee escalation, decimal (fees step up each 12 months)", default=0.0)
    upfront_fee: Money = describe("One-off fee due on the first fee date, besides the periodic fee", default=0.0)
    industry: str = describe("Licensee industry", default="unknown")
    region: str = describe("Licensee region", default="unknown")
    pd: Fraction | None = describe("Licensee annual default probability (used when the scenario asks for tape PDs)", default=None)
    credit_score: float | None = describe("Licensee credit score (informative)", default=None)

    @model_validator(mode="after")
    def _check(self) -> LicenceAsset:
        if self.last_fee_date < self.first_fee_date:
            field_rules([("last_fee_date", f"{self.last_fee_date} is before the first_fee_date {self.first_fee_date}")])
        return self


class PatentAsset(Model):
    """A patent (or trademark / copyright) on which licences rest; the columns of a patent tape."""

    patent_id: Id = describe("Unique patent identifier (e.g. the CNIPA number)")
    type: Literal["invention", "utility_model", "design", "trademark", "copyright"] = describe(
        "发明 invention / 实用新型 utility model / 外观设计 design / 商标 trademark / 著作权 copyright",
        default="invention",
    )
    expiry_date: dt.date = describe("Date the right expires (term end)")
    appraised_value: Money = describe("Appraised value", default=0.0)
    valuer: str | None = describe("Appraiser (评估机构) of `appraised_value`, shown in term sheets", default=None)
    annual_fee_status: Literal["paid", "prepaid", "unpaid", "not_applicable"] = describe(
        "Status at the cut-off of the annual fee (年费) that keeps a patent alive: unpaid, and no "
        "annual_fee_upkeep layer on the pool, the patent lapses after the 6-month grace period "
        "(in force through grid month 6, as if it expired then); the other values change nothing",
        default="paid",
    )


class LicencePatentLink(Model):
    """How much of a licence's fee rests on a patent; the columns of a licence-patent table."""

    licence_id: str = describe("Licence id")
    patent_id: str = describe("Patent id")
    share: Fraction = describe("Share of the licence's fee resting on this patent; a licence's shares sum to 1")


class LicencePool(Model):
    """A pool of licence-fee receivables resting on a set of patents (专利许可-再许可)."""

    #: Receivables (terminations, recovery rates, tape PDs) resting on patents (patent risks).
    SECTIONS: ClassVar[frozenset[str]] = frozenset({"defaults", "receivables", "patents"})

    name: str = describe("Pool name")
    kind: Literal["licence"] = "licence"
    licence_tape: str | None = describe("Licence tape (CSV/XLSX), relative to the deal file", default=None)
    patent_tape: str | None = describe("Patent tape (CSV/XLSX), relative to the deal file", default=None)
    link_tape: str | None = describe("Licence-patent table (CSV/XLSX), relative to the deal file", default=None)
    licences: list[LicenceAsset] = describe("Inline licences", default_factory=list)
    patents: list[PatentAsset] = describe("Inline patents", default_factory=list)
    links: list[LicencePatentLink] = describe("Inline licence-patent links", default_factory=list)
    deposit_interest_to: str = describe("Unused for receivables (fees are principal collections)", default="collection")
    deposit_principal_to: str = describe("Account that receives fee collections and recoveries", default="collection")
    income_share: Fraction = describe(
        "Share of the pool's fee collections (scheduled and early, not recoveries) that is the plan's "
        "interest-like income for VAT (the receivables' yield over their purchase price, 财税〔2016〕140号): "
        "what a `taxable_income` fee counts from this pool; 0: none", default=0.0,
    )
    allow_fees_after_expiry: bool = describe(
        "Accept fees scheduled after a supporting patent expires (that share then stops at expiry); "
        "otherwise such fees are an input error",
        default=False,
    )
    discount_rate: Rate | None = describe(
        "Rate p.a. (decimal, annual compounding, ACT/365F from the cut-off date) at which term sheets "
        "discount the remaining receivables to their present value and state the over-collateralisation "
        "(present value / notes) as the offering documents do; none: not stated", default=None,
    )
    support: SupportStack = describe(
        _SUPPORT_DOC + "; a claim is a defaulted licence's remaining scheduled fees (licence credit "
        "insurance 信用保险, guarantees of the licence fees); annual_fee_upkeep keeps the licensed "
        "patents alive (fees per patent; if they stop, every patent lapses)",
        default_factory=list,
    )

    @model_validator(mode="after")
    def _check_support(self) -> LicencePool:
        _receivable_support(self.support, allowed_upkeep=True)
        return self

    @property
    def assets(self) -> list[LicenceAsset]:
        return self.licences

    def surviving(self, balances: dict[str, float]) -> LicencePool:
        """The pool with only the licences named in ``balances`` (and their links; a
        receivable's balance follows from its schedule)."""
        return self.model_copy(update={"licences": [a for a in self.licences if a.licence_id in balances],
                                       "links": [k for k in self.links if k.licence_id in balances]})

    def check(self, header: Header, file: str, at: str) -> list[Problem]:
        """The joins of the pool (ids exist and are unique, a licence's shares sum to 1, no fee
        after a patent's expiry unless allowed), and every licence pays after the cut-off date."""
        problems: list[Problem] = []
        lic = {x.licence_id: x for x in self.licences}
        pat = {x.patent_id: x for x in self.patents}
        for kind, items, key in (("licence", self.licences, "licence_id"), ("patent", self.patents, "patent_id")):
            seen: set[str] = set()
            for x in items:
                v = getattr(x, key)
                if v in seen:
                    problems.append(Problem(file, f"{at} {kind} '{v}'", f"duplicate {kind} id"))
                seen.add(v)
        shares: dict[str, float] = {}
        for j, link in enumerate(self.links):
            where = f"{at}.links[{j}]"
            if link.licence_id not in lic:
                problems.append(Problem(file, where, unknown("licence", link.licence_id, list(lic)[:20])))
            if link.patent_id not in pat:
                problems.append(Problem(file, where, unknown("patent", link.patent_id, list(pat)[:20])))
            shares[link.licence_id] = shares.get(link.licence_id, 0.0) + link.share
            p = pat.get(link.patent_id)
            lc = lic.get(link.licence_id)
            if p is not None and lc is not None and lc.last_fee_date > p.expiry_date and not self.allow_fees_after_expiry:
                problems.append(Problem(
                    file, f"{at} licence '{lc.licence_id}'",
                    f"fees run to {lc.last_fee_date} but patent '{p.patent_id}' expires on {p.expiry_date} "
                    "(set allow_fees_after_expiry: true to stop that share at expiry)"))
        for lid in lic:
            total = shares.get(lid)
            if total is None:
                problems.append(Problem(file, f"{at} licence '{lid}'", "rests on no patent (no row in the licence-patent table)"))
            elif abs(total - 1.0) > 1e-6:
                problems.append(Problem(file, f"{at} licence '{lid}'", f"patent shares sum to {total:.6g}, not 1"))
        cutoff = header.cutoff_date
        for a in self.licences:
            if a.last_fee_date <= cutoff:
                problems.append(Problem(file, f"{at} licence '{a.licence_id}'", f"last fee on {a.last_fee_date}, on or before the cut-off date {cutoff}"))
        return problems


class TransferAsset(Model):
    """An IP transfer receivable (知识产权转让应收账款): instalments owed by the buyer of an IP right."""

    receivable_id: Id = describe("Unique receivable identifier")
    buyer: str = describe("Buyer (obligor) name or id")
    instalment: Money = describe("Amount of each instalment")
    frequency: Frequency = describe("Instalment frequency", default=Frequency.quarterly)
    first_date: dt.date = describe("Date of the first instalment")
    last_date: dt.date = describe("Date of the last instalment")
    ip_type: Literal["patent", "trademark", "copyright", "mixed", "other"] = describe("Type of the IP sold", default="patent")
    industry: str = describe("Buyer industry", default="unknown")
    region: str = describe("Buyer region", default="unknown")
    pd: Fraction | None = describe("Buyer annual default probability (used when the scenario asks for tape PDs)", default=None)

    @model_validator(mode="after")
    def _check(self) -> TransferAsset:
        if self.last_date < self.first_date:
            field_rules([("last_date", f"{self.last_date} is before the first_date {self.first_date}")])
        return self


class TransferPool(Model):
    """A pool of IP transfer receivables."""

    #: Receivables (terminations, recovery rates, tape PDs).
    SECTIONS: ClassVar[frozenset[str]] = frozenset({"defaults", "receivables"})

    name: str = describe("Pool name")
    kind: Literal["transfer"] = "transfer"
    tape: str | None = describe("Receivable tape (CSV/XLSX), relative to the deal file", default=None)
    assets: list[TransferAsset] = describe("Inline receivables", default_factory=list)
    deposit_interest_to: str = describe("Unused for receivables (instalments are principal collections)", default="collection")
    deposit_principal_to: str = describe("Account that receives instalments and recoveries", default="collection")
    income_share: Fraction = describe(
        "Share of the pool's instalment collections (scheduled and early, not recoveries) that is the "
        "plan's interest-like income for VAT (the receivables' yield over their purchase price, "
        "财税〔2016〕140号): what a `taxable_income` fee counts from this pool; 0: none", default=0.0,
    )
    discount_rate: Rate | None = describe(
        "Rate p.a. (decimal, annual compounding, ACT/365F from the cut-off date) at which term sheets "
        "discount the remaining receivables to their present value and state the over-collateralisation "
        "(present value / notes) as the offering documents do; none: not stated", default=None,
    )
    support: SupportStack = describe(
        _SUPPORT_DOC + "; a claim is a defaulted receivable's remaining instalments", default_factory=list
    )

    @model_validator(mode="after")
    def _check_support(self) -> TransferPool:
        _receivable_support(self.support, allowed_upkeep=False)
        return self

    def surviving(self, balances: dict[str, float]) -> TransferPool:
        """The pool with only the receivables named in ``balances``."""
        return self.model_copy(update={"assets": [a for a in self.assets if a.receivable_id in balances]})

    def check(self, header: Header, file: str, at: str) -> list[Problem]:
        """Every receivable pays after the cut-off date."""
        cutoff = header.cutoff_date
        return [Problem(file, f"{at} receivable '{a.receivable_id}'", f"last instalment on {a.last_date}, on or before the cut-off date {cutoff}")
                for a in self.assets if a.last_date <= cutoff]


class LeaseAsset(Model):
    """One finance lease (融资租赁, usually 售后回租 sale-and-leaseback of IP): the lessee sold
    its IP to the lessor and leases it back; each rent (租金) is lease principal plus
    interest. The columns of a lease tape (docs/deal-language.md, "Lease pools")."""

    lease_id: Id = describe("Unique lease (contract) identifier")
    lessee: str = describe("Lessee (承租人, obligor) name or id")
    balance: Money = describe(
        "Outstanding lease principal (租赁本金余额) at the cut-off date: the pool balance counts this, not the rents"
    )
    original_balance: Money | None = describe("Lease principal at the start of the lease (原始租赁本金)", default=None)
    rate: Rate = describe(
        "Lease interest rate in force at the cut-off date, decimal p.a. (租赁利率); for an LPR-linked lease "
        "the rate until its first reset after the cut-off date"
    )
    reference: str | None = describe(
        "Reference rate (e.g. LPR1Y, one of the deal's reference_rates) of an LPR-linked lease: at each reset "
        "date the rate becomes reference + spread and the rent is recomputed on the remaining principal",
        default=None,
    )
    spread: Rate = describe("Spread over the reference rate at a reset, decimal p.a.", default=0.0)
    reset_months: int = describe(
        "Months between rate resets of an LPR-linked lease, counted from `origination_date` (12: each "
        "anniversary of the lease start)", default=12, ge=1, le=120,
    )
    origination_date: dt.date = describe("Lease start date (起租日); rate resets count from it")
    first_rent_date: dt.date = describe("Date of the first rent; rents fall every `rent_frequency` after it")
    last_rent_date: dt.date = describe("Date of the last rent (the lease's maturity)")
    rent_frequency: Frequency = describe("Rent frequency (租金支付频率)", default=Frequency.quarterly)
    schedule: Literal["equal_rent", "equal_principal", "irregular"] = describe(
        "equal_rent = 等额租金 (annuity: level rent on the remaining principal at the periodic rate "
        "rate x months / 12); equal_principal = 等额本金 (the remaining principal in equal parts, interest "
        "on top); irregular = 不规则租金: the principal of each rent from the pool's `schedule_tape` "
        "(interest on top)", default="equal_rent",
    )
    deposit: Money = describe(
        "Security deposit (保证金) the lessee paid; set against the last rents at the end, or against the "
        "amount owed on default if the pool's `deposit_held_by` is trust", default=0.0,
    )
    upfront_fee: Money = describe(
        "Upfront fee (手续费): collected at the lease start, so not a pool cash flow unless "
        "`upfront_fee_date` falls after the cut-off date", default=0.0,
    )
    upfront_fee_date: dt.date | None = describe(
        "Date the upfront fee is due, when it is paid to the pool after the cut-off date (income of that month)",
        default=None,
    )
    purchase_option: Money = describe(
        "Purchase option price (留购价, often nominal such as 100元): paid with the last rent (income)", default=0.0
    )
    termination_fee: Fraction = describe(
        "Early termination fee as a share of the principal prepaid (提前还款手续费), income", default=0.0
    )
    ip_type: IpType = describe("Type of the leased IP", default="patent")
    ip_count: int = describe("Number of IP rights leased", default=1, ge=1, le=10_000)
    collateral_value: Money = describe(
        "Appraised value of the leased IP at the cut-off date (what selling or re-leasing it after a "
        "default recovers, with the scenario's recovery haircut and value decay)", default=0.0,
    )
    valuer: str | None = describe("Appraiser (评估机构) of `collateral_value`", default=None)
    industry: str = describe("Lessee industry", default="unknown")
    region: str = describe("Lessee region", default="unknown")
    pd: Fraction | None = describe("Lessee annual default probability (informative)", default=None)

    @model_validator(mode="after")
    def _check(self) -> LeaseAsset:
        bad = []
        if self.last_rent_date < self.first_rent_date:
            bad.append(f"last_rent_date ({self.last_rent_date}) is before first_rent_date ({self.first_rent_date})")
        if self.first_rent_date <= self.origination_date:
            bad.append(f"first_rent_date ({self.first_rent_date}) must be after origination_date ({self.origination_date})")
        if self.reference is None and self.rate < 0:
            bad.append("rate must not be negative for a fixed-rate lease")
        if self.upfront_fee_date is not None and not self.upfront_fee:
            bad.append("upfront_fee_date is given but upfront_fee is 0")
        if bad:
            raise ValueError("; ".join(bad))
        return self


class LeaseScheduleRow(Model):
    """One rent of an irregular lease (不规则租金): the principal it repays; the columns of a
    lease schedule tape."""

    lease_id: str = describe("Lease id (a lease of the pool with schedule: irregular)")
    date: dt.date = describe("Rent date")
    principal: Money = describe("Lease principal repaid by the rent of this date (interest comes on top)")


class LeasePool(Model):
    """A pool of finance-lease receivables (融资租赁 / 售后回租): lease principal, interest,
    deposits, purchase options, early terminations and lessee defaults (docs/methodology.md,
    "Lease pools")."""

    #: Leases pay interest, terminate early (prepayment) and recover by selling the IP.
    SECTIONS: ClassVar[frozenset[str]] = frozenset({"defaults", "prepayment", "recovery"})

    name: str = describe("Pool name")
    kind: Literal["lease"] = "lease"
    tape: str | None = describe("Lease tape (CSV or XLSX), path relative to the deal file", default=None)
    assets: list[LeaseAsset] = describe("Inline leases (instead of, or besides, a tape)", default_factory=list)
    schedule_tape: str | None = describe(
        "Principal schedule of the irregular leases (CSV or XLSX: lease_id, date, principal), relative to the "
        "deal file", default=None,
    )
    schedule: list[LeaseScheduleRow] = describe("Inline schedule rows of irregular leases", default_factory=list)
    deposit_interest_to: str = describe(
        "Account that receives the interest part of the rents and the income (purchase options, "
        "termination fees, upfront fees paid after the cut-off date)", default="collection",
    )
    deposit_principal_to: str = describe(
        "Account that receives the principal part of the rents, early terminations, recoveries", default="collection"
    )
    deposit_held_by: Literal["trust", "lessor"] = describe(
        "Who holds the security deposits (保证金): trust = transferred to the plan, which sets a "
        "defaulted lessee's deposit against what it owes at once (a recovery in the default month); "
        "lessor = kept by the originator outside the plan (the plan gets nothing from it on default). "
        "Either way a performing lessee's deposit pays its last rents, so the plan collects them in full",
        default="lessor",
    )
    support: SupportStack = describe(
        _SUPPORT_DOC + "; the lessor's repurchase obligation (原始权益人回购) is a buy_back with price 1, "
        "price_basis defaulted_balance and delay_months N (docs/deal-language.md, \"Lease pools\")",
        default_factory=list,
    )

    @model_validator(mode="after")
    def _check_support(self) -> LeasePool:
        for i, layer in enumerate(self.support):
            if isinstance(layer, InterestSubsidy | AnnualFeeUpkeep):
                raise ValueError(f"support[{i}]: {layer.kind} applies to pledge_loan pools (and annual fees to "
                                 "licence pools); a lease pool takes buy_back, sharing and guarantee layers")
        return self

    def surviving(self, balances: dict[str, float]) -> LeasePool:
        """The pool with only the leases named in ``balances`` (lease id -> principal), at those balances."""
        return self.model_copy(update={"assets": [a.model_copy(update={"balance": balances[a.lease_id]})
                                                  for a in self.assets if a.lease_id in balances]})

    def check(self, header: Header, file: str, at: str) -> list[Problem]:
        """Every lease pays a rent after the cut-off date; a reference rate is the deal's; an
        irregular lease has schedule rows on its rent dates after the cut-off whose principal
        sums to its balance; schedule rows name irregular leases of the pool."""
        problems: list[Problem] = []
        cutoff = header.cutoff_date
        rows: dict[str, list[LeaseScheduleRow]] = {}
        for r in self.schedule:
            rows.setdefault(r.lease_id, []).append(r)
        by_id = {a.lease_id: a for a in self.assets}
        for lid in rows:
            if lid not in by_id:
                problems.append(Problem(file, f"{at}.schedule lease '{lid}'", unknown("lease", lid, list(by_id)[:20])))
            elif by_id[lid].schedule != "irregular":
                problems.append(Problem(file, f"{at}.schedule lease '{lid}'",
                                        f"has schedule rows but its schedule is {by_id[lid].schedule} (set schedule: irregular)"))
        for a in self.assets:
            where = f"{at} lease '{a.lease_id}'"
            if a.last_rent_date <= cutoff:
                problems.append(Problem(file, where, f"last rent on {a.last_rent_date}, on or before the cut-off date {cutoff}"))
            if a.reference is not None and a.reference not in header.reference_rates:
                problems.append(Problem(file, where, unknown("reference rate", a.reference, list(header.reference_rates))))
            if a.upfront_fee_date is not None and a.upfront_fee_date > a.last_rent_date:
                problems.append(Problem(file, where, f"upfront_fee_date {a.upfront_fee_date} is after the last rent {a.last_rent_date}"))
            if a.schedule == "irregular":
                mine = rows.get(a.lease_id, [])
                if not mine:
                    problems.append(Problem(file, where, "schedule irregular but no row in the pool's schedule (schedule_tape)"))
                    continue
                off = sorted({r.date for r in mine if not on_rent_schedule(a, r.date)})
                if off:
                    problems.append(Problem(file, where, f"schedule row(s) on {', '.join(map(str, off[:5]))}, not a rent date "
                                            f"(every {a.rent_frequency.value} from {a.first_rent_date} to {a.last_rent_date})"))
                dup = sorted({r.date for r in mine if sum(x.date == r.date for x in mine) > 1})
                if dup:
                    problems.append(Problem(file, where, f"more than one schedule row on {', '.join(map(str, dup[:5]))}"))
                total = sum(r.principal for r in mine if r.date > cutoff)
                if abs(total - a.balance) > 0.01:
                    problems.append(Problem(file, where, f"schedule principal after the cut-off sums to {total:,.2f}, "
                                            f"not the balance {a.balance:,.2f}"))
        return problems



def on_rent_schedule(lease: LeaseAsset, d: dt.date) -> bool:
    """Whether ``d`` is one of a lease's rent dates: every ``rent_frequency`` from the first
    rent (its day of month, or the month's last day for a month-end first rent, clamped to
    the month's length) up to the last rent, which is always one
    (:func:`abs_engine.pools.lease.rent_dates` lists them).

    >>> a = LeaseAsset(lease_id="x", lessee="y", balance=1, rate=0.05, origination_date=dt.date(2024, 1, 31),
    ...                first_rent_date=dt.date(2024, 4, 30), last_rent_date=dt.date(2024, 12, 31))
    >>> [on_rent_schedule(a, d) for d in (dt.date(2024, 7, 31), dt.date(2024, 7, 30), dt.date(2024, 12, 31))]
    [True, False, True]
    """
    import calendar

    first = lease.first_rent_date
    if d == lease.last_rent_date:
        return True
    k = (d.year - first.year) * 12 + d.month - first.month
    if k < 0 or k % lease.rent_frequency.months or d > lease.last_rent_date:
        return False
    month_end = first.day == calendar.monthrange(first.year, first.month)[1]
    days = calendar.monthrange(d.year, d.month)[1]
    return d.day == (days if month_end else min(first.day, days))

Pool = Annotated[PledgeLoanPool | LicencePool | TransferPool | LeasePool, Field(discriminator="kind")]

def sections(pools: Sequence[PledgeLoanPool | LicencePool | TransferPool | LeasePool]) -> frozenset[str]:
    """The sections of a scenario that apply to any of ``pools`` (their kinds' ``SECTIONS``):
    ``prepayment`` and ``recovery`` for pools of loans, ``receivables`` for receivables,
    ``patents`` for pools resting on patents.

    >>> sorted(sections([TransferPool(name="t")]))
    ['defaults', 'receivables']
    """
    return frozenset().union(*(type(p).SECTIONS for p in pools))


def patents_of(pool: PledgeLoanPool | LicencePool | TransferPool | LeasePool) -> list[PatentAsset]:
    """The patents a pool's assets rest on (pools whose kind has the ``patents`` section; none otherwise)."""
    return list(getattr(pool, "patents", []))


#: The pool kinds (the ``kind:`` tags of :data:`Pool`), in the order of the union.
POOL_KINDS: tuple[str, ...] = tuple(c.model_fields["kind"].default for c in (PledgeLoanPool, LicencePool, TransferPool, LeasePool))

#: For each pool kind: (tape path field, inline list field, row model, id column) per tape.
TAPES: dict[str, list[tuple[str, str, type[Model], str]]] = {
    "pledge_loan": [("tape", "assets", PledgeLoanAsset, "loan_id")],
    "licence": [
        ("licence_tape", "licences", LicenceAsset, "licence_id"),
        ("patent_tape", "patents", PatentAsset, "patent_id"),
        ("link_tape", "links", LicencePatentLink, ""),
    ],
    "transfer": [("tape", "assets", TransferAsset, "receivable_id")],
    "lease": [("tape", "assets", LeaseAsset, "lease_id"), ("schedule_tape", "schedule", LeaseScheduleRow, "")],
}


def asset_id(asset: Model) -> str:
    """The identifier of any asset row."""
    for key in ("loan_id", "licence_id", "receivable_id", "lease_id"):
        if hasattr(asset, key):
            return str(getattr(asset, key))
    raise AttributeError(type(asset).__name__)


def obligor(asset: Model) -> str:
    for key in ("borrower", "licensee", "buyer", "lessee"):
        if hasattr(asset, key):
            return str(getattr(asset, key))
    raise AttributeError(type(asset).__name__)

# --------------------------------------------------------------------------- accounts


class ReserveTarget(Model):
    """Target balance of a reserve account; the largest of the parts that are given,
    then floored and capped."""

    amount: Money | None = describe("Fixed target amount", default=None)
    percent_of_pool: Fraction | None = describe("Share of the pool balance at period end", default=None)
    percent_of_notes: Fraction | None = describe("Share of the outstanding note balance", default=None)
    floor: Money = describe("Minimum target (while notes are outstanding)", default=0.0)
    cap: Money | None = describe("Maximum target", default=None)

    def level(self, notes: float, pool: float) -> float:
        """The target for a note balance and a pool balance (the kernel's rule: 0 once the
        notes are repaid; else the largest part, floored, capped).

        >>> ReserveTarget(percent_of_notes=0.1, floor=5.0).level(100.0, 0.0)
        10.0
        """
        if notes <= 0:
            return 0.0
        t = max(self.amount or 0.0, (self.percent_of_pool or 0.0) * pool, (self.percent_of_notes or 0.0) * notes)
        t = max(t, self.floor)
        return min(t, math.inf if self.cap is None else self.cap)


class Account(Model):
    """A cash account of the trust, or a support provider standing outside it.

    ``undertaking`` (差额支付承诺) and ``guarantee`` (担保) accounts are parties outside
    the trust: their balance is what they will still pay (``capacity``, unlimited if
    omitted); waterfall steps draw on them through ``support`` (fees, interest) or
    ``draw_reserve`` (any named dues), and a scenario can make them fail from a date.
    """

    name: str = describe("Account name")
    kind: Literal["collection", "reserve", "undertaking", "guarantee", "liquidity"] = describe(
        "collection (收款账户), reserve (储备账户), or a support provider outside the trust: "
        "undertaking (差额支付承诺人), guarantee (担保人) or liquidity (流动性支持: a facility "
        "that lends, is paid interest and a commitment fee, and is repaid by `repay_liquidity`)",
        default="collection",
    )
    initial_balance: Money = describe("Balance at closing (e.g. a funded reserve)", default=0.0)
    target: ReserveTarget | None = describe("Reserve target (reserve accounts only)", default=None)
    capacity: Money | None = describe(
        "Support providers: the most they will ever pay (unlimited if omitted)", default=None
    )
    provider: str | None = describe("Support providers: who stands behind the undertaking", default=None)
    limit: Money | None = describe(
        "Liquidity facilities: the most that may be drawn and not yet repaid at any time (principal "
        "repaid may be drawn again)", default=None,
    )
    rate: Rate | None = describe(
        "Liquidity facilities: interest p.a. on the amount drawn and not repaid, decimal, accrued over "
        "each period at the deal's day count", default=None,
    )
    commitment_fee: Rate | None = describe(
        "Liquidity facilities: fee p.a. on the undrawn amount (limit less drawn, while notes are "
        "outstanding), decimal, at the deal's day count; default 0", default=None,
    )

    @property
    def external(self) -> bool:
        """A support provider outside the trust (its balance is not trust cash)."""
        return self.kind in ("undertaking", "guarantee", "liquidity")

    @model_validator(mode="after")
    def _check(self) -> Account:
        if self.kind == "reserve" and self.target is None:
            raise ValueError("a reserve account needs a target")
        if self.kind != "reserve" and self.target is not None:
            raise ValueError("only reserve accounts have a target")
        if self.external and self.initial_balance:
            raise ValueError("a support provider has a capacity, not an initial_balance")
        if not self.external and self.capacity is not None:
            raise ValueError("only support providers (undertaking, guarantee) have a capacity")
        facility = {"limit": self.limit, "rate": self.rate, "commitment_fee": self.commitment_fee}
        if self.kind == "liquidity":
            if self.limit is None:
                raise ValueError("a liquidity facility needs a limit (the most it lends)")
            if self.capacity is not None:
                raise ValueError("a liquidity facility has a limit, not a capacity")
        else:
            given = [k for k, v in facility.items() if v is not None]
            if given:
                raise ValueError(f"only liquidity facilities (kind: liquidity) have {', '.join(given)}")
        return self


# --------------------------------------------------------------------------- fees


class Fee(Model):
    """A senior expense (tax, trustee, custodian, servicer, rating...).

    Due per period = min(cap, fixed + rate x base x year fraction), plus any unpaid
    amount carried forward from earlier periods.
    """

    name: str = describe("Fee name")
    label_zh: str | None = describe("Chinese label for term sheets", default=None)
    fixed: Money = describe("Fixed amount due each payment period", default=0.0)
    rate: Rate = describe("Rate p.a. on `base`, decimal", default=0.0)
    base: Literal["pool_balance", "note_balance", "original_notes", "collections", "taxable_income"] = describe(
        "What `rate` applies to: pool balance at period start, note balance at period start, "
        "or the original note balance (`rate` p.a., times the period's year fraction); the period's "
        "collections (`rate` a share of the collections `collections` names, not annualised); the "
        "period's taxable income (`rate` the VAT rate, 0.03 for the simplified rate, plus "
        "`surcharge`; not annualised; docs/deal-language.md, \"Fees\")",
        default="pool_balance",
    )
    collections: Literal["interest", "principal", "all"] | None = describe(
        "base collections: which of the period's pool collections the fee is a share of (interest, "
        "principal, or all of both)", default=None,
    )
    surcharge: Fraction | None = describe(
        "base taxable_income: surcharges (城建税, 教育费附加, 地方教育附加) as a share of the VAT; "
        "default 0.12", default=None,
    )
    cap: Money | None = describe("Maximum due per period (before carry-forward)", default=None)
    carry_forward: bool = describe("Unpaid amounts are owed in later periods", default=True)
    payee: str | None = describe("Who receives the fee (收取方), shown in term sheets", default=None, min_length=1)
    vat: Literal["included", "excluded", "tax"] | None = describe(
        "VAT (增值税) of the fee as the documents state it, shown in term sheets (it does not change "
        "the amount): included (the rate includes VAT), excluded (VAT on top, as its own fee), tax "
        "(this fee is the plan's VAT and surcharges, 财税〔2016〕140号)", default=None,
    )

    @model_validator(mode="after")
    def _check(self) -> Fee:
        if self.base == "collections" and self.collections is None:
            raise ValueError("base 'collections' needs `collections`: interest, principal or all")
        if self.base != "collections" and self.collections is not None:
            raise ValueError(f"`collections` is only used with base 'collections', not '{self.base}'")
        if self.base != "taxable_income" and self.surcharge is not None:
            raise ValueError(f"`surcharge` is only used with base 'taxable_income', not '{self.base}'")
        if self.base == "taxable_income":
            if self.rate <= 0:
                raise ValueError("base 'taxable_income' needs `rate`, the VAT rate (0.03: the 3% simplified "
                                 "rate of 财税〔2017〕56号)")
            if self.vat not in (None, "tax"):
                raise ValueError(f"a fee on base 'taxable_income' is the plan's VAT: `vat` must be 'tax' "
                                 f"(or omitted), not '{self.vat}'")
        return self

    @property
    def is_tax(self) -> bool:
        """The plan's VAT and surcharges (base taxable_income, or stated ``vat: tax``)."""
        return self.base == "taxable_income" or self.vat == "tax"

    @property
    def effective_rate(self) -> float:
        """The rate the engine applies to the base: for taxable income the VAT rate times one
        plus the surcharge rate (0.03 x 1.12 = 0.0336), else ``rate``."""
        if self.base == "taxable_income":
            return self.rate * (1.0 + (0.12 if self.surcharge is None else self.surcharge))
        return self.rate


# --------------------------------------------------------------------------- tranches


def _check_coupon(v: float) -> float:
    if v < 0:
        raise ValueError(f"a coupon rate must not be negative (got {v:g}); a note pays no negative interest")
    return v


class FixedCoupon(Model):
    kind: Literal["fixed"] = "fixed"
    rate: Annotated[Rate, AfterValidator(_check_coupon)] = describe("Coupon rate, decimal p.a. (not negative)")


class FloatingCoupon(Model):
    kind: Literal["floating"] = "floating"
    index: str = describe("Reference rate name, e.g. LPR1Y (value from the scenario or header)")
    spread: Rate = describe("Spread over the index, decimal p.a.")
    floor: Rate | None = describe("Minimum coupon, decimal p.a.", default=None)
    cap: Rate | None = describe("Maximum coupon, decimal p.a.", default=None)


class NoCoupon(Model):
    kind: Literal["none"] = "none"


Coupon = Annotated[FixedCoupon | FloatingCoupon | NoCoupon, Field(discriminator="kind")]


class ScheduleRow(Model):
    date: dt.date = describe("Payment date of the scheduled balance, as scheduled or as adjusted")
    balance: Money = describe("Target balance after that payment date")


class Principal(Model):
    """How a tranche's principal is scheduled.

    pass_through: any principal available may be paid; scheduled: not below the
    schedule's target balance; bullet: nothing before the expected maturity.
    """

    style: Literal["pass_through", "scheduled", "bullet"] = "pass_through"
    schedule: list[ScheduleRow] = describe("Target balances (style: scheduled)", default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Principal:
        if self.style == "scheduled" and not self.schedule:
            raise ValueError("style 'scheduled' needs a schedule")
        if self.style != "scheduled" and self.schedule:
            raise ValueError(f"a schedule is only used with style 'scheduled', not '{self.style}'")
        dates = [r.date for r in self.schedule]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise ValueError("schedule dates must be strictly increasing")
        return self


class Tranche(Model):
    """A class of notes (优先级 / 中间级 / 次级)."""

    name: str = describe("Tranche name (e.g. A1, B, SUB)")
    rank: int = describe(
        "Seniority as described (1 is the most senior): orders the classes in term sheets and "
        "their credit enhancement; it does not change payments, the waterfall's order does "
        "(equal ranks are pari passu only if the steps pay them together, pro rata)", ge=1, le=1000,
    )
    kind: Literal["senior", "mezzanine", "subordinate"] = describe("Class shown in term sheets", default="senior")
    balance: Money = describe("Original balance at closing")
    coupon: Coupon = describe("Coupon", default_factory=NoCoupon)
    day_count: DayCount | None = describe("Day count for interest; default: the deal's", default=None)
    principal: Principal = describe("Principal schedule style", default_factory=Principal)
    rating: str | None = describe("Rating as stated in the offering documents", default=None)
    rating_agency: str | None = describe("Agency of `rating` (评级机构)", default=None, min_length=1)
    code: str | None = describe("Security code (证券代码) on the trading venue", default=None, min_length=1)
    expected_maturity: dt.date | None = describe(
        "Expected maturity, a payment date as scheduled or as adjusted; default: the deal's", default=None
    )
    legal_maturity: dt.date | None = describe(
        "Legal maturity, shown in term sheets; default: the deal's. It does not change payments: "
        "a balance left is written off only in the deal's last period (its legal maturity)",
        default=None,
    )


# --------------------------------------------------------------------------- triggers


class Trigger(Model):
    """A test run at the start of every period; when it fires the deal changes state.

    Metrics: cumulative_default_ratio (cumulative defaults / original pool balance),
    oc_ratio (pool balance at period end / balance of `tranches`), interest_coverage
    (collections deposited into `account` this period / interest due on `tranches`),
    debt_service_coverage (DSCR: collections deposited into `account` this period /
    interest and principal due on `tranches` this period), interest_shortfall (unpaid
    interest carried on `tranches` from the last period), delinquency_ratio (严重拖欠率: the
    unpaid principal of loans at least `past_due_days` days past due / the pool balance, both
    at period end; 0 without a delinquency pipeline in the scenario).
    """

    name: str = describe("Trigger name")
    metric: Literal["cumulative_default_ratio", "oc_ratio", "interest_coverage", "debt_service_coverage",
                    "interest_shortfall", "delinquency_ratio"]
    above: float | None = describe("Breached when the metric is strictly above this value (equal is no breach)", default=None)
    below: float | None = describe("Breached when the metric is strictly below this value (equal is no breach)", default=None)
    tranches: list[str] = describe("Tranches the metric looks at (oc_ratio, interest_coverage, interest_shortfall)", default_factory=list)
    account: str | None = describe("Account whose deposits count as income (interest_coverage, debt_service_coverage)", default=None)
    past_due_days: Literal[1, 31, 61] = describe(
        "delinquency_ratio: loans at least this many days past due count (1: every delinquent loan; 31: more "
        "than 30 days, 严重拖欠 as many deals define it; 61: more than 60 days)", default=31)
    consecutive: int = describe("Fires after this many consecutive breaches", default=1, ge=1, le=1200)
    curable: bool = describe("Cures when the breach ends (otherwise it stays fired)", default=False)
    effect: Literal["accelerate", "event_of_default"] = describe(
        "State the deal moves to: accelerated (加速清偿) or event_of_default (违约事件)", default="accelerate"
    )

    @model_validator(mode="after")
    def _check(self) -> Trigger:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of 'above' or 'below'")
        level = self.above if self.above is not None else self.below
        if level is not None and not math.isfinite(level):
            raise ValueError(f"the trigger level must be a finite number (got {level})")
        if level is not None and level < 0:
            raise ValueError(f"the trigger level must not be negative (got {level:g}): metric '{self.metric}' never is, "
                             f"so the trigger would {'always' if self.above is not None else 'never'} breach")
        if level is not None and level > 1 and self.metric in ("cumulative_default_ratio", "delinquency_ratio"):
            raise ValueError(f"the trigger level {level:g} looks like a percentage: '{self.metric}' is a ratio between "
                             f"0 and 1 (write {level / 100:g} for {level:g}%)")
        if self.metric in ("oc_ratio", "interest_coverage", "debt_service_coverage", "interest_shortfall") and not self.tranches:
            raise ValueError(f"metric '{self.metric}' needs 'tranches'")
        if self.metric in ("interest_coverage", "debt_service_coverage") and self.account is None:
            raise ValueError(f"metric '{self.metric}' needs 'account'")
        return self


# --------------------------------------------------------------------------- waterfall


class Limit(Model):
    """Caps the amount a step moves: a fixed amount and/or a fraction of what is available."""

    amount: Money | None = describe("At most this amount", default=None)
    fraction: Fraction | None = describe("At most this share of the cash available at the step", default=None)

    @model_validator(mode="after")
    def _check(self) -> Limit:
        if self.amount is None and self.fraction is None:
            raise ValueError("give 'amount' or 'fraction'")
        return self


class When(Model):
    """Runs a step only when all the given conditions hold."""

    trigger: str | None = describe("Only while this trigger has fired", default=None)
    not_trigger: str | None = describe("Only while this trigger has not fired", default=None)
    on_or_after: dt.date | None = describe(
        "Only from the period of this payment date on (a payment date, as scheduled or as adjusted)",
        default=None,
    )
    before: dt.date | None = describe(
        "Only in the periods before that of this payment date (a payment date, as scheduled or as adjusted)",
        default=None,
    )


class _Step(Model):
    when: When | None = describe("Condition for the step to run", default=None)
    limit: Limit | None = describe("Cap on the amount the step moves", default=None)
    comment: str | None = describe("Free text", default=None)


class _PayStep(_Step):
    from_: str = Field(alias="from", description="Account paid from")
    support: list[str] = describe(
        "Accounts drawn in order when `from` cannot pay in full", default_factory=list
    )


class PayFee(_PayStep):
    """Pay fees due (current and carried forward), pro rata among `to` if short."""

    action: Literal["pay_fee"]
    to: list[str] = describe("Fees paid, pro rata")


class PayInterest(_PayStep):
    """Pay interest due, pro rata within the group `to` if short."""

    action: Literal["pay_interest"]
    to: list[str] = describe("Tranches paid, pro rata")
    carry_shortfall: bool = describe("Unpaid interest is owed in later periods", default=True)
    interest_on_shortfall: bool = describe("Carried unpaid interest accrues at the coupon rate", default=False)


class PayPrincipal(_PayStep):
    """Pay principal to `to`, sequentially or pro rata."""

    action: Literal["pay_principal"]
    to: list[str] = describe("Tranches paid")
    mode: Literal["sequential", "pro_rata"] = describe("Order among `to`", default="sequential")
    follow_schedule: bool = describe(
        "Respect each tranche's principal style (scheduled / bullet); false pays down as fast as cash allows",
        default=True,
    )
    target_percent_of_pool: Fraction | None = describe(
        "Pay the group down only to this share of the pool balance at period end (OC target)",
        default=None,
    )


class FundReserve(_Step):
    """Top a reserve account up to its target."""

    action: Literal["fund_reserve"]
    from_: str = Field(alias="from", description="Account paid from")
    to: str = describe("Reserve account")


class ReleaseReserve(_Step):
    """Move a reserve's excess over its target (all of it once the notes are repaid or at
    the last period) to another account."""

    action: Literal["release_reserve"]
    from_: str = Field(alias="from", description="Reserve account")
    to: str = describe("Receiving account")


class Cover(Model):
    fees: list[str] = describe("Fees whose dues count", default_factory=list)
    interest: list[str] = describe("Tranches whose interest due counts", default_factory=list)
    principal: list[str] = describe(
        "Tranches whose principal due counts: a scheduled tranche's excess over its schedule; "
        "a pass-through or bullet tranche's whole balance from its expected maturity on",
        default_factory=list,
    )


class DrawReserve(_Step):
    """Draw from a reserve, or from a support provider (shortfall undertaking, guarantee),
    what `to` lacks to cover the named dues."""

    action: Literal["draw_reserve"]
    from_: str = Field(alias="from", description="Reserve account or support provider")
    to: str = describe("Account topped up")
    cover: Cover = describe("Dues the draw covers")


class Transfer(_Step):
    """Move cash between accounts (all available, or as limited)."""

    action: Literal["transfer"]
    from_: str = Field(alias="from", description="Account paid from")
    to: str = describe("Receiving account")


class PayResidual(_Step):
    """Pay what is left (excess spread, 超额收益) to a tranche or a named party."""

    action: Literal["pay_residual"]
    from_: str = Field(alias="from", description="Account paid from")
    to: str = describe("A tranche name, or a party such as 'originator'")
    share: Fraction = describe("Share of the residual paid to `to`; the rest stays in `from`", default=1.0)


class ReimburseSupport(_Step):
    """Repay a support provider (shortfall undertaker, guarantor) what it has paid into the
    trust and not yet been repaid (its right of recourse, 追偿), out of the cash available,
    at this step's rank."""

    action: Literal["reimburse_support"]
    from_: str = Field(alias="from", description="Trust account paid from")
    to: str = describe("The support provider (an account of kind undertaking or guarantee)")
    restore_capacity: bool = describe(
        "The repayment restores the provider's capacity (a revolving undertaking); otherwise its "
        "capacity only ever decreases. A failed provider is still repaid, but its capacity is not "
        "restored (it stays 0)", default=False,
    )


class RepayLiquidity(_Step):
    """Repay a liquidity facility (流动性支持) out of the cash available, at this step's rank:
    its interest and commitment fee due (current and unpaid from earlier periods) first, then
    the principal drawn and not yet repaid (which may be drawn again)."""

    action: Literal["repay_liquidity"]
    from_: str = Field(alias="from", description="Trust account paid from")
    to: str = describe("The liquidity facility (an account of kind liquidity)")
    part: Literal["all", "interest", "principal"] = describe(
        "What this step repays: all (interest and fees, then principal), interest (interest and "
        "commitment fee only) or principal (only the amount drawn)", default="all",
    )


#: A waterfall step: the closed vocabulary of actions (docs/deal-language.md).
AnyStep = (PayFee | PayInterest | PayPrincipal | FundReserve | ReleaseReserve | DrawReserve | Transfer | PayResidual
           | ReimburseSupport | RepayLiquidity)
Step = Annotated[AnyStep, Field(discriminator="action")]

#: The waterfall's actions (the ``action:`` tags of :data:`Step`), in the order of the union.
ACTIONS: tuple[str, ...] = tuple(
    typing.get_args(c.model_fields["action"].annotation)[0] for c in typing.get_args(AnyStep)
)

#: Deal states, in order of severity; a state's waterfall runs while it is the deal's state.
STATES = ("normal", "accelerated", "event_of_default")


class Waterfalls(Model):
    """One ordered list of steps per deal state."""

    normal: list[Step] = describe("Priority of payments in normal times")
    accelerated: list[Step] | None = describe(
        "After an `accelerate` trigger (加速清偿); an empty list pays nothing (the cash stays in the "
        "accounts); absent, no trigger may move the deal there", default=None,
    )
    event_of_default: list[Step] | None = describe(
        "After an event of default (违约事件); an empty list pays nothing (the cash stays in the "
        "accounts); absent, no trigger may move the deal there", default=None,
    )


class CleanUpCall(Model):
    """Clean-up call (清仓回购): when the pool balance falls to `threshold` of its cut-off
    balance, the originator buys the remaining performing loans at `price` x balance;
    loans that defaulted before stay in the trust and bring in their recoveries."""

    threshold: Fraction = describe("Pool balance / cut-off pool balance at which the call is exercised")
    price: Fraction = describe("Price as a share of the performing balance", default=1.0)


class TranchePricing(Model):
    """How a tranche is priced in the analytics and term sheets: a clean price or a yield."""

    price: float | None = describe("Clean price per 100 of the face outstanding at settlement", default=None, gt=0, le=1000)
    yield_: Rate | None = Field(default=None, alias="yield", description="Yield, decimal (0.038 is 3.8%)")
    compounding: Literal[
        "auto", "chinabond", "chinabond_icma", "annual", "semiannual", "quarterly", "monthly", "simple", "continuous",
        "annual_simple_stub", "semiannual_simple_stub", "quarterly_simple_stub", "monthly_simple_stub",
    ] = describe(
        "Yield convention; auto = the market's: chinabond for a CNY deal (the PBoC / ChinaBond "
        "formulas of 银发〔2007〕200号: compounding at the payment frequency over coupon periods, "
        "simple interest in the last period; TS the actual days of the current coupon period, an odd "
        "first period included); chinabond_icma measures an odd first period on its regular quasi-coupon "
        "periods instead (ICMA); in other currencies simple for a last payment at "
        "most 365 days after settlement, else annual; the subordinate is always annual (its IRR). "
        "annual ... monthly compound a yield over ACT/365F years (the street formula); "
        "<f>_simple_stub discounts the fraction of a period before the first payment at simple "
        "interest (the US Treasury formula); docs/analytics.md", default="auto",
    )

    @model_validator(mode="after")
    def _one(self) -> TranchePricing:
        if (self.price is None) == (self.yield_ is None):
            raise ValueError("give exactly one of price and yield")
        if self.yield_ is not None and abs(self.yield_) >= 1.0:
            raise ValueError(f"yield {self.yield_:g} is not usable: a yield is a decimal above -1 and below 1 "
                             f"(write {self.yield_ / 100:g} for {self.yield_:g}%)")
        return self


class Pricing(Model):
    """Pricing assumptions of the analytics (docs/analytics.md): settlement, prices or
    yields per tranche (default price 100), and the discount curve of the spreads."""

    settlement: dt.date | None = describe("Settlement date of the analytics (default: the closing date)", default=None)
    tranches: dict[str, TranchePricing] = describe("Tranche name -> price or yield", default_factory=dict)
    curve: str | dict[str, object] | None = describe(
        "Discount curve for z-spreads and effective durations: a curve mapping (docs/analytics.md, "
        "'Curve files') or the path of a YAML file holding one under `curve:`, relative to the deal "
        "file; a scenario's own `curve` replaces it for that scenario", default=None,
    )


class Deal(Model):
    """A whole deal file."""

    deal: Header
    pools: list[Pool] = describe("Collateral pools", min_length=1)
    accounts: list[Account] = describe(
        "Trust accounts", default_factory=lambda: [Account(name="collection")]
    )
    fees: list[Fee] = describe("Senior expenses", default_factory=list)
    tranches: list[Tranche] = describe("Classes of notes", min_length=1)
    triggers: list[Trigger] = describe("Triggers", default_factory=list)
    waterfalls: Waterfalls = describe("Priority of payments per deal state")
    cleanup_call: CleanUpCall | None = describe("Clean-up call", default=None)
    pricing: Pricing = describe("Pricing assumptions of the analytics", default_factory=Pricing)
    entities: list[Entity] = describe(
        "Legal entities behind the support providers: ratings, and which provider names are one company",
        default_factory=list,
    )

    @property
    def name(self) -> str:
        return self.deal.name

    def tranche(self, name: str) -> Tranche:
        return next(t for t in self.tranches if t.name == name)
