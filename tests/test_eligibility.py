"""Eligibility criteria (入池标准) of pledge-loan pools: each criterion passes at its limit and
breaks past it, missing data is a problem, load_deal reports every breach with the tape file,
row and loan id (on_breach: error) or drops the loans and says so (exclude), and the pool
statistics show how the pool measures against each criterion."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from builders import CUTOFF, loan
from pydantic import ValidationError

import abs_engine as ae
from abs_engine.eligibility import CRITERIA, check_pool, criteria_table, format_value
from abs_engine.model.deal import Eligibility, Header, PledgeLoanAsset, PledgeLoanPool
from abs_engine.pools.stats import pool_stats

HEADER = Header(name="T", cutoff_date=CUTOFF, closing_date=dt.date(2026, 2, 10), first_payment_date=dt.date(2026, 3, 10),
                expected_maturity=dt.date(2027, 3, 10), legal_maturity=dt.date(2029, 3, 10))
ROOT = Path(__file__).parent.parent
CORPUS = Path(__file__).parent / "bad_inputs"


def _loan(i: int = 1, **kw: Any) -> PledgeLoanAsset:
    """1M, originated 2026-01-15 for 12 months (cut-off 2026-01-31), collateral 2M (LTV 50%),
    sales 5M (loan-to-sales 20%), net assets 1M."""
    base = {"annual_sales": 5_000_000.0, "net_assets": 1_000_000.0, "industry": "electronics", "region": "Nanshan"}
    return PledgeLoanAsset.model_validate(loan(i, **{**base, **kw}))


def _messages(criteria: dict[str, Any], *loans: PledgeLoanAsset) -> list[str]:
    pool = PledgeLoanPool(name="p", assets=list(loans), eligibility=criteria)
    return [f.message for f in check_pool(pool, HEADER)]


#: criterion, its value, a loan at the limit (passes), a loan past it, the breach message
CASES = [
    ("min_annual_sales", 2e6, {"annual_sales": 2e6}, {"annual_sales": 1.8e6},
     "annual sales 1,800,000 below min_annual_sales 2,000,000"),
    ("min_net_assets", 0.0, {"net_assets": 0.0}, {"net_assets": -50_000.0}, "net assets -50,000 below min_net_assets 0"),
    ("max_loan_to_sales", 0.40, {"annual_sales": 2.5e6}, {"annual_sales": 2_164_502.0},
     "loan-to-sales 46.2% above max_loan_to_sales 40%"),
    ("max_ltv", 0.50, {"collateral_value": 2e6}, {"collateral_value": 1.9e6}, "LTV 52.6% above max_ltv 50%"),
    ("min_balance", 2e6, {"balance": 2e6, "annual_sales": 1e7, "collateral_value": 5e6}, {},
     "balance 1,000,000 below min_balance 2,000,000"),
    ("max_balance", 1e6, {}, {"balance": 1_500_000.0, "collateral_value": 5e6},
     "balance 1,500,000 above max_balance 1,000,000"),
    ("max_original_term_months", 12.0, {}, {"maturity_date": dt.date(2027, 2, 15)},
     "original term 13 months above max_original_term_months 12 months"),
    ("max_remaining_term_months", 12.0, {"maturity_date": dt.date(2027, 1, 31)}, {"maturity_date": dt.date(2027, 3, 31)},
     "remaining term 14 months above max_remaining_term_months 12 months"),
    ("min_seasoning_months", 1.0, {"origination_date": dt.date(2025, 12, 31)}, {},
     "seasoning 0.52 months below min_seasoning_months 1 months"),
    ("industries", ["electronics", "biomedicine"], {}, {"industry": "electronic"},
     "industry 'electronic' not among industries (electronics, biomedicine); did you mean 'electronics'?"),
    ("regions", ["Nanshan"], {}, {"region": "Futian"}, "region 'Futian' not among regions (Nanshan)"),
    ("ip_types", ["patent", "mixed"], {"ip_type": "mixed"}, {"ip_type": "trademark"},
     "IP type 'trademark' not among ip_types (patent, mixed)"),
]


def test_every_criterion_has_a_case():
    assert {c[0] for c in CASES} == set(CRITERIA)


@pytest.mark.parametrize(("name", "limit", "ok", "bad", "message"), CASES, ids=[c[0] for c in CASES])
def test_criterion_passes_at_the_limit_and_breaks_past_it(name, limit, ok, bad, message):
    assert _messages({name: limit}, _loan(**ok)) == []
    assert _messages({name: limit}, _loan(**bad)) == [message]


def test_no_criteria_no_findings():
    assert check_pool(PledgeLoanPool(name="p", assets=[_loan(collateral_value=0.0)]), HEADER) == []
    assert Eligibility().stated() == []


def test_loan_to_sales_counts_all_the_borrowers_loans():
    """Two 1M loans to one borrower with 4.5M of sales: 44.4% each, though each alone is 22.2%."""
    a, b = _loan(1, borrower="X", annual_sales=4.5e6), _loan(2, borrower="X", annual_sales=4.5e6)
    assert _messages({"max_loan_to_sales": 0.40}, a, b) == [
        "loan-to-sales 44.4% (the borrower's 2 loans in the pool) above max_loan_to_sales 40%"] * 2
    assert _messages({"max_loan_to_sales": 0.45}, a, b) == []


def test_zero_sales_breaks_loan_to_sales():
    assert _messages({"max_loan_to_sales": 0.4}, _loan(annual_sales=0.0)) == [
        "loan-to-sales unbounded above max_loan_to_sales 40%"]


def test_missing_data_is_a_problem_once_per_column():
    pool = PledgeLoanPool(name="p", eligibility={"min_annual_sales": 1.0, "max_loan_to_sales": 0.4, "max_ltv": 0.5,
                                                 "min_net_assets": 0.0, "industries": ["x"], "regions": ["y"]},
                          assets=[_loan(annual_sales=None, net_assets=None, collateral_value=0.0, industry="unknown",
                                        region="unknown")])
    found = check_pool(pool, HEADER)
    assert all(f.missing for f in found)
    assert [f.message for f in found] == [
        "no annual_sales (annual sales revenue), needed by eligibility.min_annual_sales",
        "no net_assets, needed by eligibility.min_net_assets",
        "no appraised IP value (collateral_value missing or 0), needed by eligibility.max_ltv",
        "no industry (missing or 'unknown'), needed by eligibility.industries",
        "no region (missing or 'unknown'), needed by eligibility.regions",
    ]


def test_comparisons_absorb_rounding_and_show_enough_digits():
    # 0.4 * 3 / 3 style noise meets the limit; a real excess prints with the digits that show it
    assert _messages({"max_ltv": 0.1 + 0.2}, _loan(balance=0.3, collateral_value=1.0, annual_sales=10.0)) == []
    assert format_value(0.40001, "ratio", near=0.4) == "40.001%"
    assert format_value(0.462, "ratio") == "46.2%"
    assert format_value(-1_500_000.0, "money") == "-1,500,000"


def test_criteria_are_validated():
    with pytest.raises(ValidationError, match="min_balance .* is above max_balance"):
        Eligibility(min_balance=3e6, max_balance=2e6)
    with pytest.raises(ValidationError, match="industries is an empty list"):
        Eligibility(industries=[])
    with pytest.raises(ValidationError, match="looks like a percentage"):
        Eligibility(max_loan_to_sales=40)
    with pytest.raises(ValidationError, match="ip_types"):
        Eligibility(ip_types=["patents"])


def test_criteria_table_shows_the_pools_worst_value():
    pool = PledgeLoanPool(name="p", assets=[_loan(1), _loan(2, collateral_value=2.5e6, region="Futian")],
                          eligibility={"max_ltv": 0.5, "min_net_assets": 0.0, "regions": ["Nanshan"]})
    t = criteria_table(pool, HEADER).set_index("criterion")
    assert t.loc["max_ltv", "pool_value"] == 0.5 and t.loc["max_ltv", "breaches"] == 0
    assert t.loc["min_net_assets", "pool_value"] == 1e6
    assert t.loc["regions", "pool_value"] == "Futian, Nanshan" and t.loc["regions", "breaches"] == 1
    assert list(pool_stats(pool, HEADER).eligibility["criterion"]) == ["min_net_assets", "max_ltv", "regions"]


# --------------------------------------------------------------------------- through load_deal


def _case(tmp_path: Path, criteria: str, *, tape_edit: dict[tuple[int, str], str] | None = None,
          inline: str = "") -> Path:
    """The corpus's good example with sales columns that pass, ``criteria`` as the pool's
    eligibility section and the tape cells ``tape_edit`` ((row, column) -> value) changed."""
    src = CORPUS / "good_eligibility_exclude"
    shutil.copytree(src / "tapes", tmp_path / "tapes")
    text = (src / "deal.yaml").read_text(encoding="utf-8")
    head, rest = text.split("    eligibility:\n", 1)
    rest = rest.split("\n", 2)[2]  # drop the case's own two criteria lines
    (tmp_path / "deal.yaml").write_text(head + inline + criteria + rest, encoding="utf-8")
    tape = tmp_path / "tapes" / "sz_pledge_2026_1.csv"
    lines = [line.split(",") for line in tape.read_text(encoding="utf-8").splitlines()]
    for (row, col), value in (tape_edit or {}).items():
        lines[row - 1][lines[0].index(col)] = value
    tape.write_text("\n".join(",".join(x) for x in lines) + "\n", encoding="utf-8")
    return tmp_path / "deal.yaml"


def test_load_deal_reports_every_breach_with_file_row_and_id(tmp_path):
    path = _case(tmp_path, "    eligibility:\n      max_loan_to_sales: 0.35\n      min_annual_sales: 70000000\n",
                 tape_edit={(2, "annual_sales"): ""})
    with pytest.raises(ae.InputError) as exc:
        ae.load_deal(path)
    tape = str((tmp_path / "tapes" / "sz_pledge_2026_1.csv").resolve())
    assert [(p.file, p.path, p.message) for p in exc.value.problems] == [
        (tape, "row 2 (SZ-001)", "no annual_sales (annual sales revenue), needed by eligibility.min_annual_sales"),
        (tape, "row 4 (SZ-003)", "annual sales 60,000,000 below min_annual_sales 70,000,000"),
        (tape, "row 4 (SZ-003)", "loan-to-sales 36.7% above max_loan_to_sales 35%"),
    ]


def test_inline_loans_are_named_by_their_path(tmp_path):
    inline = ("    assets:\n      - {loan_id: IN-1, borrower: Inline Co., balance: 5000000, rate: 0.05, origination_date: "
              "2026-06-01, maturity_date: 2027-06-01, amortization: bullet, collateral_value: 8000000, "
              "annual_sales: 50000000}\n")
    path = _case(tmp_path, "    eligibility:\n      max_ltv: 0.50\n", inline=inline)
    with pytest.raises(ae.InputError) as exc:
        ae.load_deal(path)
    assert [(p.file, p.path, p.message) for p in exc.value.problems] == [
        (str(path), "pools[0].assets[0] (IN-1)", "LTV 62.5% above max_ltv 50%")]


def test_exclude_drops_the_loans_and_says_so(tmp_path):
    path = _case(tmp_path, "    eligibility:\n      on_breach: exclude\n      max_ltv: 0.45\n      max_balance: 28000000\n")
    deal = ae.load_deal(path)
    pool = deal.pools[0]
    assert [a.loan_id for a in pool.assets] == ["SZ-003"]
    assert [(e.asset.loan_id, e.where, e.reasons) for e in pool.excluded] == [
        ("SZ-001", "row 2", ("max_ltv: LTV 45.5% above max_ltv 45%", "max_balance: balance 30,000,000 above max_balance 28,000,000")),
        ("SZ-002", "row 3", ("max_ltv: LTV 45.5% above max_ltv 45%",)),
    ]
    stats = ae.run(deal).pool_stats()
    for key in ("deal", "pledge_loans"):
        s = stats[key]
        assert s.n_assets == 1 and s.total_balance == 22_000_000
        assert list(s.excluded["asset_id"]) == ["SZ-001", "SZ-002"] and s.excluded["balance"].sum() == 55_000_000
        t = s.eligibility.set_index("criterion")
        assert t.loc["max_ltv", "excluded"] == 2 and t.loc["max_balance", "excluded"] == 1
        assert t.loc["max_ltv", "breaches"] == 0 and t.loc["max_ltv", "pool_value"] == 22 / 50


def test_exclude_still_refuses_missing_data(tmp_path):
    path = _case(tmp_path, "    eligibility:\n      on_breach: exclude\n      min_net_assets: 0\n",
                 tape_edit={(2, "net_assets"): "", (3, "net_assets"): "-1"})
    with pytest.raises(ae.InputError) as exc:
        ae.load_deal(path)
    assert [(p.path, p.message) for p in exc.value.problems] == [
        ("row 2 (SZ-001)", "no net_assets, needed by eligibility.min_net_assets")]


def test_run_lists_the_excluded_loans_in_output_and_manifest(tmp_path):
    from typer.testing import CliRunner

    from abs_engine.cli import app

    path = _case(tmp_path, "    eligibility:\n      on_breach: exclude\n      max_ltv: 0.45\n")
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["run", str(path), "-o", str(out), "--no-term-sheets"])
    assert r.exit_code == 0, r.output
    assert "row 2 (SZ-001): excluded from pool 'pledge_loans' by eligibility: max_ltv: LTV 45.5% above max_ltv 45%" \
        in " ".join(r.output.split())
    rows = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["excluded_assets"]
    assert [(x["loan_id"], x["row"], x["reasons"]) for x in rows] == [
        ("SZ-001", "row 2", ["max_ltv: LTV 45.5% above max_ltv 45%"]), ("SZ-002", "row 3", ["max_ltv: LTV 45.5% above max_ltv 45%"])]
    assert rows[0]["file"].endswith("tapes/sz_pledge_2026_1.csv")


def test_the_example_deal_meets_its_published_screens():
    deal = ae.load_deal(ROOT / "deals" / "sz_pledge_2026_1.yaml")
    pool = deal.pools[0]
    assert pool.eligibility is not None and pool.eligibility.on_breach == "error"
    assert len(pool.assets) == 12 and sum(a.balance for a in pool.assets) == 206_000_000 and not pool.excluded
    t = ae.run(deal).pool_stats()["deal"].eligibility.set_index("criterion")
    assert t.loc["max_loan_to_sales", "limit"] == 0.40 and t.loc["max_loan_to_sales", "pool_value"] <= 0.40
    assert t.loc["max_ltv", "limit"] == 0.50 and t.loc["min_annual_sales", "limit"] == 2e6
    assert (t["breaches"] == 0).all()


def test_long_lists_of_problems_are_capped(tmp_path, monkeypatch):
    import abs_engine.io.deal_file as deal_file

    monkeypatch.setattr(deal_file, "MAX_ELIGIBILITY_PROBLEMS", 1)
    with pytest.raises(ae.InputError) as exc:
        ae.load_deal(_case(tmp_path, "    eligibility:\n      max_balance: 1000000\n"))
    assert [(p.path, p.message) for p in exc.value.problems] == [
        ("row 2 (SZ-001)", "balance 30,000,000 above max_balance 1,000,000"),
        ("pools[0].eligibility", "2 more eligibility problems not shown (first 1 above)"),
    ]


def test_collateral_sheet_lists_the_criteria_and_the_excluded_loans(tmp_path):
    import openpyxl

    from abs_engine.report import write_term_sheets

    deal = ae.load_deal(_case(tmp_path, "    eligibility:\n      on_breach: exclude\n      max_ltv: 0.45\n"
                                        "      industries: [electronics, biomedicine, robotics]\n"))
    path = next(p for p in write_term_sheets(ae.run(deal), tmp_path / "out", lang="en") if "senior" in p.name)
    ws = openpyxl.load_workbook(path)["Collateral"]
    rows = [[c for c in r if c is not None] for r in ws.iter_rows(values_only=True)]
    start = rows.index(["Eligibility criteria"])
    # limits and values are numbers with their formats (a ratio is a percentage)
    assert rows[start + 2] == ["Max. loan-to-value", pytest.approx(0.45), pytest.approx(0.44, abs=0.005), 2]
    assert rows[start + 3:start + 4] == [
                                         ["Industries allowed", "electronics, biomedicine, robotics", "robotics", 0]]
    assert rows[start + 4] == ["Loans excluded for failing the criteria are not in the figures above: 2 / 55,000,000.00"]
