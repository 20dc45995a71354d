"""Liquidity facilities (流动性支持), VAT on the plan's taxable income (增值税) and fees as a
share of collections: hand-computed cases on both backends, and the checks' messages."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import deal, loan

import abs_engine as ae
from abs_engine.errors import InputError
from abs_engine.model.scenario import Scenario

BASE = Scenario(name="base")


def facility_deal(**facility: object) -> ae.Deal:
    """One bullet loan of 1,000,000 at 8% paying interest quarterly from 2026-04-15 (so the
    first two monthly collection periods bring in nothing), A 900,000 at 3% and SUB 100,000;
    a facility `lf` of 10,000 at 5% with a 1% commitment fee backs A's interest and is
    repaid right after it."""
    lf = {"name": "lf", "kind": "liquidity", "limit": 10_000.0, "rate": 0.05, "commitment_fee": 0.01,
          "provider": "Example Bank"} | facility
    tranches = [{"name": "A", "rank": 1, "balance": 900_000.0, "coupon": {"kind": "fixed", "rate": 0.03}},
                {"name": "SUB", "rank": 2, "kind": "subordinate", "balance": 100_000.0}]
    wf = [{"action": "pay_interest", "from": "collection", "to": ["A"], "support": ["lf"]},
          {"action": "repay_liquidity", "from": "collection", "to": "lf"},
          {"action": "pay_principal", "from": "collection", "to": ["A", "SUB"]},
          {"action": "pay_residual", "from": "collection", "to": "SUB"}]
    return deal([loan(1, rate=0.08, amortization="bullet", payment_frequency="quarterly")], tranches, wf,
                accounts=[{"name": "collection"}, lf])


def test_liquidity_draw_repaid_with_interest(backend):
    """Periods (ACT/365F): p1 2026-02-10..03-10 (28 days), p2 ..04-10 (31), p3 ..05-10 (30).

    p1: no collections. A's interest 900,000 x 3% x 28/365 = 2,071.232877 is drawn from the
    facility. Commitment fee on the undrawn 10,000: 10,000 x 1% x 28/365 = 7.671233; interest
    on draws 0 (nothing drawn at the start). Nothing repaid (no cash).
    p2: no collections. A's interest 900,000 x 3% x 31/365 = 2,293.150685 is drawn; the
    facility accrues 2,071.232877 x 5% x 31/365 = 8.795646 interest and
    (10,000 - 2,071.232877) x 1% x 31/365 = 6.734021 commitment fee. Balance 4,364.383562.
    p3: the loan pays its first quarter's interest, 1,000,000 x 8% / 4 = 20,000. A's interest
    900,000 x 3% x 30/365 = 2,219.178082 is paid from it; the facility accrues
    4,364.383562 x 5% x 30/365 = 17.935823 interest and (10,000 - 4,364.383562) x 1% x 30/365
    = 4.632014 commitment fee. repay_liquidity pays its interest and fees first,
    7.671233 + 8.795646 + 6.734021 + 17.935823 + 4.632014 = 45.768737, then the principal
    4,364.383562; the rest, 20,000 - 2,219.178082 - 45.768737 - 4,364.383562 = 13,370.669619,
    pays A's principal down (pass-through).
    """
    r = ae.run(facility_deal(), BASE, backend=backend)
    r.check_conservation()
    lq = r.liquidity.set_index("period")
    a1, a2, a3 = (900_000 * 0.03 * d / 365 for d in (28, 31, 30))
    fee1 = 10_000 * 0.01 * 28 / 365
    int2, fee2 = a1 * 0.05 * 31 / 365, (10_000 - a1) * 0.01 * 31 / 365
    int3, fee3 = (a1 + a2) * 0.05 * 30 / 365, (10_000 - a1 - a2) * 0.01 * 30 / 365
    assert (a1, a2, a3) == pytest.approx((2071.232877, 2293.150685, 2219.178082), abs=1e-6)
    assert (fee1, int2, fee2, int3, fee3) == pytest.approx((7.671233, 8.795646, 6.734021, 17.935823, 4.632014), abs=1e-6)
    assert lq.loc[1, "drawn"] == pytest.approx(a1, abs=1e-9)
    assert lq.loc[1, "commitment_fee"] == pytest.approx(fee1, abs=1e-9)
    assert lq.loc[1, "interest"] == 0.0
    assert lq.loc[1, "interest_paid"] == 0.0
    assert lq.loc[2, "drawn"] == pytest.approx(a2, abs=1e-9)
    assert lq.loc[2, "interest"] == pytest.approx(int2, abs=1e-9)
    assert lq.loc[2, "commitment_fee"] == pytest.approx(fee2, abs=1e-9)
    assert lq.loc[2, "balance"] == pytest.approx(4364.383562, abs=1e-6)
    assert lq.loc[2, "available"] == pytest.approx(10_000 - 4364.383562, abs=1e-6)
    assert lq.loc[3, "drawn"] == 0.0
    assert lq.loc[3, "interest_paid"] == pytest.approx(45.768737, abs=1e-6)
    assert lq.loc[3, "repaid"] == pytest.approx(4364.383562, abs=1e-6)
    assert lq.loc[3, "balance"] == pytest.approx(0.0, abs=1e-9)
    assert lq.loc[3, "interest_owed"] == pytest.approx(0.0, abs=1e-9)
    assert lq.loc[3, "available"] == pytest.approx(10_000.0, abs=1e-9)  # repaid principal may be drawn again
    tr = r.tranches.set_index(["tranche", "period"])
    assert r.pool.set_index("period").loc[3, "interest_collected"] == pytest.approx(20_000.0, abs=1e-9)
    assert [tr.loc[("A", t), "interest_paid"] for t in (1, 2, 3)] == pytest.approx([a1, a2, a3], abs=1e-9)
    assert tr.loc[("A", 3), "principal_paid"] == pytest.approx(13_370.669619, abs=1e-6)
    # the facility draws are cash in, its repayments and interest cash out (check_conservation above)
    assert r.support.set_index("period").loc[3, "reimbursed"] == pytest.approx(4364.383562, abs=1e-6)


def test_repay_liquidity_parts_and_limit(backend):
    """A facility of 3,000 lends only 3,000 of p1 and p2's 4,364.38 of A's interest: A is short
    by the rest in p2. Interest-only repayment leaves the principal owed."""
    d = facility_deal(limit=3_000.0)
    r = ae.run(d, BASE, backend=backend)
    r.check_conservation()
    lq = r.liquidity.set_index("period")
    assert lq.loc[1, "drawn"] + lq.loc[2, "drawn"] == pytest.approx(3_000.0, abs=1e-9)
    tr = r.tranches.set_index(["tranche", "period"])
    assert tr.loc[("A", 2), "interest_shortfall"] == pytest.approx(2071.232877 + 2293.150685 - 3_000.0, abs=1e-6)
    wf = d.model_dump(by_alias=True)["waterfalls"]
    wf["normal"][1]["part"] = "interest"
    d2 = ae.Deal.model_validate(d.model_dump(by_alias=True) | {"waterfalls": wf})
    r2 = ae.run(d2, BASE, backend=backend)
    r2.check_conservation()
    lq2 = r2.liquidity.set_index("period")
    assert lq2["repaid"].sum() == 0.0
    assert lq2.loc[3, "balance"] == pytest.approx(3_000.0, abs=1e-9)
    assert lq2.loc[3, "interest_owed"] == pytest.approx(0.0, abs=1e-9)


def test_failed_facility_lends_nothing_and_charges_no_commitment_fee(backend):
    sc = Scenario(name="lf_fails", support_failures={"lf": dt.date(2026, 2, 1)})
    r = ae.run(facility_deal(), sc, backend=backend)
    r.check_conservation()
    lq = r.liquidity
    assert lq["drawn"].sum() == 0.0
    assert lq["commitment_fee"].sum() == 0.0


def vat_deal(**fee: object) -> ae.Deal:
    return deal([loan(1)], fees=[{"name": "vat", **fee}],
                waterfall=[{"action": "pay_fee", "from": "collection", "to": ["vat"]},
                           {"action": "pay_interest", "from": "collection", "to": ["A"]},
                           {"action": "pay_principal", "from": "collection", "to": ["A", "SUB"]},
                           {"action": "pay_residual", "from": "collection", "to": "SUB"}])


def test_vat_on_a_periods_interest(backend):
    """The loan: 1,000,000 at 6%, 12 monthly level payments from 2026-02-15. Period 1 collects
    its first payment: interest 1,000,000 x 6% / 12 = 5,000.00 and principal
    1,000,000 x 0.005 / (1 - 1.005^-12) - 5,000 = 81,066.43. VAT at the 3% simplified rate plus
    12% surcharges on the interest only: 5,000 x 3% x 1.12 = 168.00 (not on the principal).
    Period 2: interest (1,000,000 - 81,066.43) x 0.005 = 4,594.67, VAT 154.38."""
    r = ae.run(vat_deal(base="taxable_income", rate=0.03), BASE, backend=backend)
    r.check_conservation()
    fees = r.fees.set_index("period")
    pool = r.pool.set_index("period")
    assert pool.loc[1, "interest_collected"] == pytest.approx(5_000.0, abs=1e-6)
    assert pool.loc[1, "scheduled_principal"] == pytest.approx(81_066.43, abs=0.005)
    assert fees.loc[1, "due"] == pytest.approx(168.00, abs=1e-6)
    assert fees.loc[1, "paid"] == pytest.approx(168.00, abs=1e-6)
    assert fees.loc[2, "due"] == pytest.approx(4_594.67 * 0.0336, abs=0.001)
    assert fees.loc[2, "due"] == pytest.approx(pool.loc[2, "interest_collected"] * 0.0336, abs=1e-9)
    # a stated surcharge replaces the default 12%
    r2 = ae.run(vat_deal(base="taxable_income", rate=0.03, surcharge=0.07), BASE, backend=backend)
    assert r2.fees.set_index("period").loc[1, "due"] == pytest.approx(5_000 * 0.03 * 1.07, abs=1e-9)


def test_vat_on_a_receivable_pools_income_share(backend):
    """A transfer receivable of 100,000 a quarter from 2026-02-20: with an income share of 5%
    the plan's taxable income in period 1 is 5,000 and its VAT 5,000 x 0.0336 = 168.00."""
    d = deal(fees=[{"name": "vat", "base": "taxable_income", "rate": 0.03}],
             waterfall=[{"action": "pay_fee", "from": "collection", "to": ["vat"]},
                        {"action": "pay_interest", "from": "collection", "to": ["A"]},
                        {"action": "pay_principal", "from": "collection", "to": ["A", "SUB"]},
                        {"action": "pay_residual", "from": "collection", "to": "SUB"}],
             pools=[{"name": "pool", "kind": "transfer", "income_share": 0.05, "assets": [
                 {"receivable_id": "R1", "buyer": "Buyer", "instalment": 100_000.0, "frequency": "quarterly",
                  "first_date": dt.date(2026, 2, 20), "last_date": dt.date(2027, 2, 20)}]}])
    r = ae.run(d, BASE, backend=backend)
    r.check_conservation()
    assert r.pool.set_index("period").loc[1, "scheduled_principal"] == pytest.approx(100_000.0)
    assert r.fees.set_index("period").loc[1, "due"] == pytest.approx(168.0, abs=1e-9)
    assert r.fees.set_index("period").loc[2, "due"] == 0.0  # nothing collected in period 2


@pytest.mark.parametrize(("part", "expected"), [("interest", 50.0), ("principal", 810.6643), ("all", 860.6643)])
def test_fee_as_a_share_of_collections(backend, part, expected):
    """1% of period 1's collections: interest 5,000.00 and principal 81,066.43 (the level
    payment 86,066.43 less interest) -> 50.00, 810.66, 860.66; not annualised."""
    r = ae.run(vat_deal(base="collections", collections=part, rate=0.01), BASE, backend=backend)
    r.check_conservation()
    assert r.fees.set_index("period").loc[1, "due"] == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(("change", "message"), [
    ({"fees": [{"name": "x", "base": "collections", "rate": 0.01}]}, "base 'collections' needs `collections`"),
    ({"fees": [{"name": "x", "base": "pool_balance", "collections": "all"}]}, "only used with base 'collections'"),
    ({"fees": [{"name": "x", "base": "taxable_income"}]}, "needs `rate`, the VAT rate"),
    ({"fees": [{"name": "x", "base": "taxable_income", "rate": 0.03, "vat": "included"}]}, "`vat` must be 'tax'"),
    ({"fees": [{"name": "x", "rate": 0.01, "surcharge": 0.12}]}, "`surcharge` is only used with base 'taxable_income'"),
    ({"accounts": [{"name": "collection"}, {"name": "lf", "kind": "liquidity"}]}, "needs a limit"),
    ({"accounts": [{"name": "collection"}, {"name": "u", "kind": "undertaking", "rate": 0.05}]},
     "only liquidity facilities (kind: liquidity) have rate"),
])
def test_bad_fee_and_facility_fields(change, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        deal(**change)


def test_facility_reference_problems():
    from abs_engine.checks import reference_problems

    d = facility_deal()
    wf = d.model_dump(by_alias=True)["waterfalls"]
    wf["normal"][1] = {"action": "reimburse_support", "from": "collection", "to": "lf"}
    bad = ae.Deal.model_validate(d.model_dump(by_alias=True) | {"waterfalls": wf})
    msgs = [p.message for p in reference_problems(bad, "deal.yaml")]
    assert any("repay it with repay_liquidity" in m for m in msgs)
    assert any("liquidity facility 'lf' is never repaid" in m for m in msgs)
    wf["normal"][1] = {"action": "repay_liquidity", "from": "collection", "to": "collection"}
    bad = ae.Deal.model_validate(d.model_dump(by_alias=True) | {"waterfalls": wf})
    msgs = [p.message for p in reference_problems(bad, "deal.yaml")]
    assert any("unknown liquidity facility 'collection'" in m for m in msgs), msgs
    with pytest.raises(InputError):
        ae.run(bad, BASE)


def test_a_status_of_a_deal_with_a_facility_is_refused():
    """A status does not carry a facility's interest owed yet: writing one and running from
    one are refused with a clear reason (docs/deal-language.md, "Liquidity facilities")."""
    from abs_engine.checks import status_problems

    r = ae.run(facility_deal(), BASE)
    with pytest.raises(ValueError, match="liquidity facility is not written yet"):
        r.status_at(1)
    plain = ae.Deal.model_validate(facility_deal().model_dump(by_alias=True) | {
        "accounts": [{"name": "collection"}],
        "waterfalls": {"normal": [{"action": "pay_interest", "from": "collection", "to": ["A"]},
                                  {"action": "pay_principal", "from": "collection", "to": ["A", "SUB"]}]}})
    st = ae.run(plain, BASE).status_at(1)
    msgs = [p.message for p in status_problems(facility_deal(), st, "status.yaml")]
    assert any("'lf' is a liquidity facility: a run from a status does not model" in m for m in msgs), msgs


def test_term_sheets_state_the_facility_vat_and_collections_fee_in_both_languages(tmp_path):
    import openpyxl

    from abs_engine.report import write_term_sheets

    d = ae.Deal.model_validate(facility_deal().model_dump(by_alias=True) | {"fees": [
        {"name": "vat", "label_zh": "增值税及附加", "base": "taxable_income", "rate": 0.03},
        {"name": "svc", "base": "collections", "collections": "all", "rate": 0.005}]})
    paths = write_term_sheets(ae.run(d, BASE), tmp_path)
    cells = [str(v) for ws in openpyxl.load_workbook(paths[0]).worksheets
             for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    text = "\n".join(cells)
    for fragment in ("流动性支持 / Liquidity facilities",
                     "从 collection 偿还流动性支持 lf：先付利息及承诺费，再偿还已提取本金 / repay the liquidity "
                     "facility lf from collection: interest and commitment fee first, then the amount drawn",
                     "不足时依次由 lf 补足", "shortfalls drawn in turn from lf",
                     "另加增值税额的12%附加", "plus surcharges of 12% of the VAT",
                     "the period's collections, interest and principal (per period, not p.a.)",
                     "Example Bank", "流动性支持 / Liquidity facility"):
        assert fragment in text, fragment
