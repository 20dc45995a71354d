"""Pool statistics (abs_engine/pools/stats.py): hand-computed figures on a small pool and
properties on generated pools."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from abs_engine.dates import months_between
from abs_engine.errors import InputError
from abs_engine.model.deal import Header, PledgeLoanAsset, PledgeLoanPool
from abs_engine.pools.stats import (
    LTV_LABELS,
    OBLIGOR_SIZE_LABELS,
    RATE_LABELS,
    STRATA_COLUMNS,
    TERM_LABELS,
    deal_pool_stats,
    pool_stats,
)

CUTOFF = dt.date(2026, 6, 30)
CUTOFF_RECV = dt.date(2026, 1, 31)  # the cut-off of tests/builders.py (the receivable tests' deals)
HEADER = Header(
    name="T",
    cutoff_date=CUTOFF,
    closing_date=dt.date(2026, 7, 20),
    first_payment_date=dt.date(2026, 10, 26),
    expected_maturity=dt.date(2027, 7, 26),
    legal_maturity=dt.date(2030, 7, 26),
    reference_rates={"LPR1Y": 0.03},
)


def loan(lid, borrower, balance, orig, mat, *, rate=0.05, reference=None, spread=0.0, coll=0.0,
         ip_type="patent", industry="electronics", region="Nanshan"):
    return PledgeLoanAsset(
        loan_id=lid, borrower=borrower, balance=balance, rate=rate, reference=reference, spread=spread,
        origination_date=orig, maturity_date=mat, amortization="bullet", collateral_value=coll,
        ip_type=ip_type, industry=industry, region=region,
    )


D = dt.date
#: Four loans, three borrowers; figures below are worked out by hand in the comments.
LOANS = [
    #    id    obligor  balance     origination     maturity       rate  remaining seasoning LTV
    loan("L1", "A", 1_000_000, D(2026, 3, 31), D(2027, 3, 31), rate=0.05, coll=2_500_000,
         ip_type="patent", industry="electronics", region="Nanshan"),      # 0.050   9   3   0.40
    loan("L2", "A", 3_000_000, D(2025, 12, 31), D(2027, 12, 31), rate=0.0, reference="LPR1Y",
         spread=0.015, coll=6_000_000, ip_type="trademark", industry="electronics",
         region="Futian"),                                                 # 0.045  18   6   0.50
    loan("L3", "B", 6_000_000, D(2026, 6, 30), D(2029, 6, 30), rate=0.04, coll=0.0,
         ip_type="mixed", industry="biomedicine", region="Nanshan"),       # 0.040  36   0   n/a
    loan("L4", "C", 10_000_000, D(2025, 6, 30), D(2026, 12, 31), rate=0.06, coll=40_000_000,
         ip_type="patent", industry="software", region="Futian"),          # 0.060   6  12   0.25
]


def strata_dict(table, col="balance"):
    return dict(zip(table["bucket"], table[col], strict=True))


# --------------------------------------------------------------------------- hand-computed


def test_months_between():
    assert months_between(D(2026, 6, 30), D(2027, 6, 30)) == 12.0
    assert months_between(D(2026, 6, 30), D(2026, 12, 31)) == 6.0  # month ends stay month ends
    assert months_between(D(2026, 1, 31), D(2026, 2, 28)) == 1.0
    assert months_between(D(2026, 6, 15), D(2026, 7, 1)) == pytest.approx(16 / 30)
    assert months_between(D(2026, 6, 30), D(2026, 7, 15)) == pytest.approx(15 / 31)
    assert months_between(D(2027, 6, 30), D(2026, 6, 30)) == -12.0


def test_hand_computed_figures():
    s = pool_stats(PledgeLoanPool(name="p", assets=LOANS), HEADER)
    assert s.n_assets == 4
    assert s.n_obligors == 3
    assert s.total_balance == 20_000_000
    assert s.average_balance == 5_000_000
    assert s.average_obligor_balance == pytest.approx(20e6 / 3)
    assert s.max_obligor_balance == 10_000_000
    # (1*0.05 + 3*(0.03+0.015) + 6*0.04 + 10*0.06) / 20
    assert s.wa_rate == pytest.approx(1.025 / 20)
    # (1*9 + 3*18 + 6*36 + 10*6) / 20
    assert s.wa_remaining_term_months == pytest.approx(339 / 20)
    # (1*3 + 3*6 + 6*0 + 10*12) / 20
    assert s.wa_seasoning_months == pytest.approx(141 / 20)
    # only loans with a collateral value: (1*0.4 + 3*0.5 + 10*0.25) / 14
    assert s.wa_ltv == pytest.approx(4.4 / 14)
    assert s.ltv_coverage == pytest.approx(14 / 20)
    # obligors: C 10M, B 6M, A 4M
    assert s.top1_share == pytest.approx(0.5)
    assert s.top_share(2) == pytest.approx(0.8)
    assert s.top5_share == pytest.approx(1.0)
    assert s.top10_share == pytest.approx(1.0)
    top = s.top_obligors
    assert top["obligor"].tolist() == ["C", "B", "A"]
    assert top["count"].tolist() == [1, 1, 2]
    assert top["cumulative_share"].tolist() == pytest.approx([0.5, 0.8, 1.0])


def test_hand_computed_strata():
    s = pool_stats(PledgeLoanPool(name="p", assets=LOANS), HEADER)
    assert set(s.strata) == {"ip_type", "industry", "region", "obligor_size", "remaining_term", "rate", "ltv"}
    for t in s.strata.values():
        assert list(t.columns) == list(STRATA_COLUMNS)
    assert strata_dict(s.strata["ip_type"]) == {"patent": 11e6, "mixed": 6e6, "trademark": 3e6}
    assert s.strata["ip_type"]["bucket"].tolist() == ["patent", "mixed", "trademark"]  # largest first
    assert strata_dict(s.strata["industry"]) == {"software": 10e6, "biomedicine": 6e6, "electronics": 4e6}
    assert strata_dict(s.strata["industry"], "obligors") == {"software": 1, "biomedicine": 1, "electronics": 1}
    assert strata_dict(s.strata["region"]) == {"Futian": 13e6, "Nanshan": 7e6}
    assert strata_dict(s.strata["region"], "count") == {"Futian": 2, "Nanshan": 2}
    # obligor size is per borrower: A's two loans (4M together) are one 2–5M obligor
    size = s.strata["obligor_size"]
    assert size["bucket"].tolist() == OBLIGOR_SIZE_LABELS
    assert strata_dict(size) == {"< 2M": 0, "2–5M": 4e6, "5–10M": 6e6, "10–30M": 10e6, "≥ 30M": 0}
    assert strata_dict(size, "count") == {"< 2M": 0, "2–5M": 2, "5–10M": 1, "10–30M": 1, "≥ 30M": 0}
    assert strata_dict(size, "obligors") == {"< 2M": 0, "2–5M": 1, "5–10M": 1, "10–30M": 1, "≥ 30M": 0}
    term = s.strata["remaining_term"]
    assert term["bucket"].tolist() == TERM_LABELS
    assert strata_dict(term) == {"≤ 6m": 10e6, "6–12m": 1e6, "12–24m": 3e6, "24–36m": 6e6, "> 36m": 0}
    rate = s.strata["rate"]
    assert rate["bucket"].tolist() == RATE_LABELS
    assert strata_dict(rate) == {"< 3%": 0, "3%–4%": 0, "4%–5%": 9e6, "5%–6%": 1e6, "≥ 6%": 10e6}
    ltv = s.strata["ltv"]
    assert ltv["bucket"].tolist() == LTV_LABELS
    assert strata_dict(ltv) == {"≤ 30%": 10e6, "30%–40%": 1e6, "40%–50%": 3e6, "50%–60%": 0, "> 60%": 0, "n/a": 6e6}
    assert s.strata["rate"]["share"].tolist() == pytest.approx([0, 0, 0.45, 0.05, 0.5])


def test_deal_level_combines_pools_and_matches_obligors_across_pools(example_deal):
    p1 = PledgeLoanPool(name="p1", assets=LOANS[:2])
    p2 = PledgeLoanPool(name="p2", assets=[*LOANS[2:], loan("L5", "A", 2_000_000, D(2026, 6, 30), D(2027, 6, 30), coll=4e6)])
    deal = example_deal.model_copy(update={"deal": HEADER, "pools": [p1, p2]})
    s = deal_pool_stats(deal)
    assert s.name == "T"
    assert s.n_assets == 5
    assert s.n_obligors == 3  # A has loans in both pools
    assert s.total_balance == 22_000_000
    assert s.top_obligors.set_index("obligor").loc["A", "balance"] == 6_000_000
    assert s.top_obligors.set_index("obligor").loc["A", "count"] == 3
    one, two = pool_stats(p1, HEADER), pool_stats(p2, HEADER)
    assert s.wa_rate == pytest.approx(
        (one.wa_rate * one.total_balance + two.wa_rate * two.total_balance) / s.total_balance
    )


def test_example_deal_single_pool_equals_deal_level(example_deal):
    one = pool_stats(example_deal.pools[0], example_deal.deal)
    whole = deal_pool_stats(example_deal)
    assert one.figures() == whole.figures()
    assert one.total_balance == sum(t.balance for t in example_deal.tranches)


def test_unknown_reference_rate_is_an_input_error():
    bad = loan("X", "A", 1e6, D(2026, 1, 1), D(2027, 1, 1), reference="SHIBOR3M", spread=0.01)
    with pytest.raises(InputError, match="SHIBOR3M"):
        pool_stats(PledgeLoanPool(name="p", assets=[bad]), HEADER)


def test_unknown_pool_kinds_are_refused():
    with pytest.raises(NotImplementedError, match="royalty"):
        pool_stats(SimpleNamespace(kind="royalty", name="r", assets=[]), HEADER)


def test_licence_pool_statistics_add_up_to_the_tape_and_the_projection():
    """A licence's balance is its remaining scheduled fees (the projection's pool balance);
    its IP type is the patent type carrying the largest share of its fee (``mixed`` on a
    tie); no rate, no LTV."""
    from test_receivables import lic, licence_deal, pat

    import abs_engine as ae

    d = licence_deal(
        [lic(1), lic(2, fee=50_000.0, industry="biomedicine", region="Pudong"), lic(3, fee=20_000.0, licensee="SME1")],
        [pat("P1"), pat("P2", type="utility_model"), pat("P3", type="design")],
        [{"licence_id": "LIC1", "patent_id": "P1", "share": 0.6}, {"licence_id": "LIC1", "patent_id": "P2", "share": 0.4},
         {"licence_id": "LIC2", "patent_id": "P3", "share": 1.0},
         {"licence_id": "LIC3", "patent_id": "P2", "share": 0.5}, {"licence_id": "LIC3", "patent_id": "P3", "share": 0.5}],
    )
    st = deal_pool_stats(d)
    # 8 quarterly fees each, from 2026-03-15 to 2027-12-15, all after the 2026-01-31 cut-off
    assert st.n_assets == 3 and st.n_obligors == 2  # LIC3's licensee is SME1, as LIC1's
    assert st.total_balance == pytest.approx(8 * (100_000 + 50_000 + 20_000))
    assert st.total_balance == pytest.approx(ae.run(d).pool["balance_start"].iloc[0])
    ip = st.strata["ip_type"].set_index("bucket")
    # LIC1 mostly on the invention patent; LIC3 half utility model, half design: a tie
    assert ip.loc["invention", "balance"] == pytest.approx(800_000) and ip.loc["design", "balance"] == pytest.approx(400_000)
    assert ip.loc["mixed", "balance"] == pytest.approx(160_000)
    for dim, table in st.strata.items():
        assert table["balance"].sum() == pytest.approx(st.total_balance), dim
        assert table["count"].sum() == st.n_assets, dim
    assert "rate" not in st.strata and "ltv" not in st.strata and math.isnan(st.wa_rate)
    assert st.top1_share == pytest.approx(960_000 / 1_360_000)
    assert st.wa_remaining_term_months == pytest.approx(months_between(CUTOFF_RECV, dt.date(2027, 12, 15)))


def test_transfer_pool_statistics():
    from builders import deal as recv_deal

    import abs_engine as ae

    d = recv_deal()
    data = d.model_dump(by_alias=True)
    data["pools"] = [{"name": "tr", "kind": "transfer", "assets": [
        {"receivable_id": "T1", "buyer": "B1", "instalment": 250_000.0, "frequency": "quarterly",
         "first_date": dt.date(2026, 4, 15), "last_date": dt.date(2027, 1, 15), "ip_type": "trademark"},
        {"receivable_id": "T2", "buyer": "B2", "instalment": 100_000.0, "frequency": "monthly",
         "first_date": dt.date(2026, 2, 15), "last_date": dt.date(2026, 11, 15), "ip_type": "copyright"}]}]
    d = ae.Deal.model_validate(data)
    st = deal_pool_stats(d)
    assert st.total_balance == pytest.approx(4 * 250_000 + 10 * 100_000)
    assert st.strata["ip_type"].set_index("bucket")["balance"].to_dict() == {"trademark": 1_000_000.0, "copyright": 1_000_000.0}


def test_empty_balance_gives_nan_shares():
    s = pool_stats(PledgeLoanPool(name="p", assets=[loan("Z", "A", 0.0, D(2026, 1, 1), D(2027, 1, 1))]), HEADER)
    assert s.total_balance == 0
    assert math.isnan(s.wa_rate) and math.isnan(s.top1_share)
    assert s.strata["rate"]["count"].sum() == 1


# --------------------------------------------------------------------------- properties

OBLIGORS = [f"B{i}" for i in range(8)]


@st.composite
def pools(draw, min_size=1):
    n = draw(st.integers(min_value=min_size, max_value=20))
    assets = []
    for i in range(n):
        orig = CUTOFF - dt.timedelta(days=draw(st.integers(0, 900)))
        mat = CUTOFF + dt.timedelta(days=draw(st.integers(1, 1800)))
        floating = draw(st.booleans())
        assets.append(loan(
            f"L{i}", draw(st.sampled_from(OBLIGORS)),
            draw(st.one_of(st.just(0.0), st.floats(1e3, 5e7, allow_nan=False))),
            orig, mat,
            rate=0.0 if floating else draw(st.floats(0.0, 0.12)),
            reference="LPR1Y" if floating else None,
            spread=draw(st.floats(-0.01, 0.05)) if floating else 0.0,
            coll=draw(st.one_of(st.just(0.0), st.floats(1e4, 2e8))),
            ip_type=draw(st.sampled_from(["patent", "trademark", "copyright", "mixed", "other"])),
            industry=draw(st.sampled_from(["a", "b", "c"])),
            region=draw(st.sampled_from(["x", "y"])),
        ))
    # at least one positive balance, so that shares are defined
    assets[0] = assets[0].model_copy(update={"balance": draw(st.floats(1e3, 5e7))})
    return PledgeLoanPool(name="gen", assets=assets)


@given(pools())
def test_strata_add_up(pool):
    s = pool_stats(pool, HEADER)
    for name, t in s.strata.items():
        assert t["balance"].sum() == pytest.approx(s.total_balance, rel=1e-12), name
        assert t["share"].sum() == pytest.approx(1.0, rel=1e-12), name
        assert int(t["count"].sum()) == s.n_assets, name
        assert (t["balance"] >= 0).all() and (t["share"] >= 0).all()
    assert int(s.strata["obligor_size"]["obligors"].sum()) == s.n_obligors


@given(pools())
def test_concentration_monotone_and_bounded(pool):
    s = pool_stats(pool, HEADER)
    shares = [s.top_share(n) for n in range(1, s.n_obligors + 3)]
    assert all(a <= b + 1e-15 for a, b in zip(shares, shares[1:], strict=False))
    assert all(0 < x <= 1.0 for x in shares)
    assert shares[s.n_obligors - 1] == pytest.approx(1.0)
    assert s.top1_share <= s.top5_share <= s.top10_share <= 1.0
    assert s.top1_share == pytest.approx(s.max_obligor_balance / s.total_balance)
    assert s.top_obligors["share"].sum() == pytest.approx(s.top_share(10))


@given(pools())
def test_weighted_averages_lie_within_the_range(pool):
    s = pool_stats(pool, HEADER)
    a = s.assets
    pos = a[a["balance"] > 0]
    for figure, col in (("wa_rate", "rate"), ("wa_remaining_term_months", "remaining_term_months"),
                        ("wa_seasoning_months", "seasoning_months")):
        v = getattr(s, figure)
        assert pos[col].min() - 1e-12 <= v <= pos[col].max() + 1e-12, figure
    assert 0.0 <= s.ltv_coverage <= 1.0
    assert s.average_balance * s.n_assets == pytest.approx(s.total_balance)


@given(p1=pools(), p2=pools())
def test_deal_level_adds_pools(p1, p2, example_deal):
    p2 = p2.model_copy(update={"name": "gen2", "assets": [x.model_copy(update={"loan_id": "M" + x.loan_id}) for x in p2.assets]})
    deal = example_deal.model_copy(update={"deal": HEADER, "pools": [p1, p2]})
    s, s1, s2 = deal_pool_stats(deal), pool_stats(p1, HEADER), pool_stats(p2, HEADER)
    assert s.n_assets == s1.n_assets + s2.n_assets
    assert s.total_balance == pytest.approx(s1.total_balance + s2.total_balance)
    assert max(s1.n_obligors, s2.n_obligors) <= s.n_obligors <= s1.n_obligors + s2.n_obligors
    assert s.wa_rate == pytest.approx((s1.wa_rate * s1.total_balance + s2.wa_rate * s2.total_balance) / s.total_balance)


def test_result_exposes_the_pool_statistics(example_deal):
    import abs_engine as ae

    ps = ae.run(example_deal).pool_stats()
    assert list(ps) == ["deal", "pledge_loans"]
    assert ps["deal"].total_balance == pytest.approx(sum(a.balance for a in example_deal.pools[0].assets))
    assert ps["pledge_loans"].n_assets == ps["deal"].n_assets == len(example_deal.pools[0].assets)
