"""Small deals built in code, for hand-computed and property tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from abs_engine.model.deal import Deal

CUTOFF = dt.date(2026, 1, 31)


def loan(i: int = 1, **kw: Any) -> dict[str, Any]:
    base = {
        "loan_id": f"L{i:03d}",
        "borrower": f"B{i:03d}",
        "balance": 1_000_000.0,
        "rate": 0.06,
        "origination_date": dt.date(2026, 1, 15),
        "maturity_date": dt.date(2027, 1, 15),
        "amortization": "annuity",
        "payment_frequency": "monthly",
        "collateral_value": 2_000_000.0,
    }
    base.update(kw)
    return base


def deal(
    loans: list[dict[str, Any]] | None = None,
    tranches: list[dict[str, Any]] | None = None,
    waterfall: list[dict[str, Any]] | None = None,
    **kw: Any,
) -> Deal:
    """A monthly-pay deal on a NONE calendar (no holiday adjustment), ACT/365F."""
    loans = loans if loans is not None else [loan(1)]
    total = sum(x["balance"] for x in loans)
    tranches = tranches or [
        {"name": "A", "rank": 1, "balance": round(total * 0.9, 2), "coupon": {"kind": "fixed", "rate": 0.03}},
        {"name": "SUB", "rank": 2, "kind": "subordinate", "balance": round(total - round(total * 0.9, 2), 2)},
    ]
    names = [t["name"] for t in tranches]
    coupon_names = [t["name"] for t in tranches if t.get("coupon", {"kind": "none"})["kind"] != "none"]
    waterfall = waterfall or [
        *([{"action": "pay_interest", "from": "collection", "to": coupon_names}] if coupon_names else []),
        {"action": "pay_principal", "from": "collection", "to": names},
        {"action": "pay_residual", "from": "collection", "to": names[-1]},
    ]
    header = {
        "name": "TEST",
        "cutoff_date": CUTOFF,
        "closing_date": dt.date(2026, 2, 10),
        "first_payment_date": dt.date(2026, 3, 10),
        "payment_frequency": "monthly",
        "collection_frequency": "monthly",
        "collection_to_payment_days": 0,
        "expected_maturity": dt.date(2027, 3, 10),
        "legal_maturity": dt.date(2029, 3, 10),
        "calendar": "NONE",
    }
    header.update(kw.pop("header", {}))
    data = {
        "deal": header,
        "pools": [{"name": "pool", "kind": "pledge_loan", "assets": loans}],
        "tranches": tranches,
        "waterfalls": {"normal": waterfall, **kw.pop("waterfalls", {})},
    }
    data.update(kw)
    return Deal.model_validate(data)
