"""Generate the deal-language reference (docs/deal-language-reference.md) from the models,
so the documentation cannot drift from what the loader accepts.

Run ``python -m abs_engine.model.reference > docs/deal-language-reference.md``; a test
checks that the committed file equals this output.
"""

from __future__ import annotations

import typing
from enum import Enum
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .curves import DefaultCurve, PrepaymentCurve, Segment, SegmentDefaults, SegmentPrepayment
from .deal import (
    Account,
    CleanUpCall,
    Cover,
    Deal,
    DrawReserve,
    Eligibility,
    Entity,
    Fee,
    FixedCoupon,
    FloatingCoupon,
    FundReserve,
    Header,
    LeaseAsset,
    LeasePool,
    LeaseScheduleRow,
    LicenceAsset,
    LicencePatentLink,
    LicencePool,
    Limit,
    NoCoupon,
    Parties,
    PatentAsset,
    PayFee,
    PayInterest,
    PayPrincipal,
    PayResidual,
    PledgeLoanAsset,
    PledgeLoanPool,
    Pricing,
    Principal,
    ReimburseSupport,
    ReleaseReserve,
    RepayLiquidity,
    ReserveTarget,
    RiskFactor,
    ScheduleRow,
    Tranche,
    TranchePricing,
    Transfer,
    TransferAsset,
    TransferPool,
    Trigger,
    Waterfalls,
    When,
)
from .delinquency import Delinquency
from .scenario import Defaults, PatentEvent, Patents, Prepayment, Receivables, Recovery, Scenario
from .support import (
    AnnualFeeUpkeep,
    BuyBack,
    CounterGuarantee,
    Guarantee,
    InterestSubsidy,
    Reguarantee,
    Sharing,
    SharingParty,
)

SECTIONS: list[tuple[str, list[type[BaseModel]]]] = [
    ("Deal file", [Deal, Header, Parties, RiskFactor, Entity]),
    ("Pools", [PledgeLoanPool, PledgeLoanAsset, Eligibility, LicencePool, LicenceAsset, PatentAsset, LicencePatentLink,
               TransferPool, TransferAsset, LeasePool, LeaseAsset, LeaseScheduleRow]),
    ("Risk-sharing layers (pool `support`)", [BuyBack, Sharing, SharingParty, Guarantee, Reguarantee,
                                              CounterGuarantee, InterestSubsidy, AnnualFeeUpkeep]),
    ("Accounts and fees", [Account, ReserveTarget, Fee]),
    ("Tranches", [Tranche, FixedCoupon, FloatingCoupon, NoCoupon, Principal, ScheduleRow]),
    ("Triggers", [Trigger]),
    ("Waterfall", [Waterfalls, When, Limit]),
    ("Waterfall actions", [PayFee, PayInterest, PayPrincipal, FundReserve, ReleaseReserve, DrawReserve, Cover,
                           Transfer, PayResidual, ReimburseSupport, RepayLiquidity]),
    ("Clean-up call", [CleanUpCall]),
    ("Pricing", [Pricing, TranchePricing]),
    ("Scenario file", [Scenario, Defaults, DefaultCurve, Prepayment, PrepaymentCurve, Segment, SegmentDefaults,
                       SegmentPrepayment, Delinquency, Recovery, Patents, PatentEvent, Receivables]),
]


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _type_name(get_args(tp)[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in get_args(tp))
    if origin in (typing.Union, __import__("types").UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    if origin is list:
        return f"list of {_type_name(get_args(tp)[0])}"
    if origin is dict:
        k, v = get_args(tp)
        return f"mapping {_type_name(k)} → {_type_name(v)}"
    if isinstance(tp, type) and issubclass(tp, Enum):
        return " \\| ".join(f"`{m.value}`" for m in tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    return getattr(tp, "__name__", str(tp)).replace("NoneType", "null")


def _default(f: Any) -> str:
    if f.is_required():
        return "**required**"
    if f.default_factory is not None:
        return "(empty)" if f.default_factory in (list, dict) else "(see below)"
    d = f.default
    if d is PydanticUndefined or d is None:
        return "—"
    if isinstance(d, Enum):
        return f"`{d.value}`"
    return f"`{d}`"


def model_section(model: type[BaseModel]) -> str:
    doc = (model.__doc__ or "").strip()
    lines = [f"### {model.__name__}", ""]
    if doc:
        lines += [" ".join(doc.split()), ""]
    lines += ["| field | type | default | meaning |", "|---|---|---|---|"]
    for name, f in model.model_fields.items():
        key = f.alias or name
        desc = " ".join((f.description or "").split()).replace("|", "\\|")
        lines.append(f"| `{key}` | {_type_name(f.annotation)} | {_default(f)} | {desc} |")
    return "\n".join(lines) + "\n"


def markdown_reference() -> str:
    parts = [
        "# Deal language reference",
        "",
        "Generated from the models in `abs_engine/model/` by `python -m abs_engine.model.reference`;",
        "do not edit by hand (a test compares this file with the generator's output). Units: rates",
        "are decimals per annum, money is in deal currency units, dates are `YYYY-MM-DD`. See",
        "[deal-language.md](deal-language.md) for the prose guide and examples.",
        "",
    ]
    for title, models in SECTIONS:
        parts += [f"## {title}", ""]
        parts += [model_section(m) for m in models]
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(markdown_reference())
