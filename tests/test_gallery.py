"""The deal gallery (deals/README.md): every deal loads, runs its scenarios on both kernel
backends, conserves cash, is priced and writes term sheets that open again; published
figures the deals rest on are checked against the published numbers."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from functools import cache

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import DEALS, ROOT, SCENARIOS

import abs_engine as ae
from abs_engine.pools.lease import lease_terms
from abs_engine.report import write_term_sheets

YI = 1e8  # 亿元


def gallery() -> dict[str, list[str]]:
    """deal file -> scenario names, read from the table of deals/README.md."""
    out: dict[str, list[str]] = {}
    for line in (DEALS / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("`") and cells[1].endswith(".yaml`"):
            out[cells[1].strip("`")] = re.findall(r"`([^`]+)`", cells[2])
    return out


GALLERY = gallery()


@cache
def run(deal_file: str, backend: str) -> ae.Result:
    deal = ae.load_deal(DEALS / deal_file)
    return ae.run(deal, [ae.load_scenario(SCENARIOS / f"{s}.yaml") for s in GALLERY[deal_file]], backend=backend)


def test_every_deal_file_is_in_the_gallery_with_existing_scenarios():
    assert len(GALLERY) >= 5
    assert sorted(GALLERY) == sorted(p.name for p in DEALS.glob("*.yaml"))
    for deal_file, scenarios in GALLERY.items():
        assert scenarios, deal_file
        for s in scenarios:
            assert (SCENARIOS / f"{s}.yaml").exists(), f"deals/README.md: {deal_file}: no scenarios/{s}.yaml"


@pytest.mark.parametrize("deal_file", sorted(GALLERY))
def test_gallery_deal_runs_conserves_cash_and_writes_term_sheets(deal_file, tmp_path):
    ref, cy = run(deal_file, "reference"), run(deal_file, "cython")
    for r in (ref, cy):
        r.check_conservation()
    # the kernel and its reference twin agree
    for frame in ("tranches", "accounts", "fees", "support"):
        a, b = getattr(ref, frame), getattr(cy, frame)
        assert a.shape == b.shape, frame
        num = a.select_dtypes("number").columns
        np.testing.assert_allclose(b[num].to_numpy(float), a[num].to_numpy(float), rtol=0, atol=1e-6, err_msg=frame)
    assert (ref.states["state"] == cy.states["state"]).all()

    analytics = cy.analytics()
    n_tr = len(cy.deal.tranches)
    assert len(analytics) == len(GALLERY[deal_file]) * n_tr
    senior = analytics[analytics["kind"] == "senior"]
    assert senior["yield"].notna().all() and (senior["wal_years"] > 0).all()

    paths = write_term_sheets(cy, tmp_path, analytics=analytics, deal_path=DEALS / deal_file)
    kinds = {t.kind for t in cy.deal.tranches}
    assert len(paths) == len(kinds)
    total = sum(t.balance for t in cy.deal.tranches)
    for p in paths:
        wb = openpyxl.load_workbook(p)
        ws = wb[wb.sheetnames[0]]
        rows = {r[0]: r[1:] for r in ws.iter_rows(values_only=True) if r and isinstance(r[0], str)}
        assert rows["项目名称 / Deal name"][0] == cy.deal.name
        key, size = next((k, v) for k, v in rows.items() if k.startswith("发行规模（"))
        unit = 1e4 if "10k" in key else 1.0  # the summary of a CNY deal is in 万元
        # the capital structure's total column is the deal's total (and its published size)
        assert [x for x in size if x is not None][-1] * unit == pytest.approx(total)
        assert cy.deal.deal.currency in key


def test_gallery_tapes_are_made_by_the_committed_script(tmp_path):
    spec = importlib.util.spec_from_file_location("make_gallery_tapes", DEALS / "tools" / "make_gallery_tapes.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(tmp_path)
    made = sorted(p.name for p in tmp_path.iterdir())
    assert len(made) == 5
    for name in made:
        assert (tmp_path / name).read_bytes() == (DEALS / "tapes" / name).read_bytes(), f"deals/tapes/{name} is stale"


# --------------------------------------------------------------------------- published figures


def sizes(deal: ae.Deal) -> dict[str, float]:
    return {t.name: t.balance for t in deal.tranches}


def test_pudong_matches_the_deal_and_its_published_coupon():
    d = ae.load_deal(DEALS / "pudong_licence_2020.yaml")
    assert sum(sizes(d).values()) == d.deal.total_notes == 38_000_000
    assert d.tranche("A").coupon.rate == 0.0359  # 浦东科创1期 senior coupon, 3 March 2020
    pool = d.pools[0]
    assert len({x.licensee for x in pool.licences}) == 9 and len(pool.patents) == 60


def test_zgc_2022_1_published_structure():
    d = ae.load_deal(DEALS / "zgc_ip_lease_2022_1.yaml")
    s = sizes(d)
    assert (s["A"], s["B"]) == pytest.approx((0.73 * YI, 0.28 * YI), abs=0.005)
    assert sum(s.values()) == d.deal.total_notes == pytest.approx(1.07 * YI)
    assert s["SUB"] / d.deal.total_notes == pytest.approx(0.056, abs=0.0005)  # "about 5.6%"
    a, b = d.tranche("A"), d.tranche("B")
    assert (a.coupon.rate, b.coupon.rate) == (0.028, 0.030)
    assert (a.rating, b.rating) == ("AAA", "AAA")
    assert (str(a.expected_maturity), str(b.expected_maturity)) == ("2023-06-20", "2023-12-20")
    # 综合票面发行利率 2.86%
    assert round((s["A"] * 0.028 + s["B"] * 0.030) / (s["A"] + s["B"]), 4) == 0.0286
    # the second undertaking is named only in class B's steps
    for state in ("normal", "event_of_default"):
        for step in getattr(d.waterfalls, state):
            named = step.from_ == "guarantor_undertaking" or "guarantor_undertaking" in getattr(step, "support", [])
            if named:
                covered = step.to if step.action == "pay_interest" else step.cover.principal + step.cover.interest
                assert covered == ["B"], step


def test_zgc_2022_1_second_undertaking_protects_class_b_only():
    r = run("zgc_ip_lease_2022_1.yaml", "cython")
    s = r.summary().set_index(["scenario", "tranche"])
    paid = r.support.groupby(["scenario", "provider"])["paid"].sum()
    assert paid.loc["base"].sum() == 0  # the fees pay everything in the base case
    # a lease pool: its balance is the lease principal (1.091亿, deals/zgc_ip_lease_2022_1.md), not the rents
    pool = r.pool[r.pool.scenario == "base"]
    assert pool["balance_start"].iloc[0] == pytest.approx(109_115_189.40, abs=0.01)
    assert pool["scheduled_principal"].sum() + pool["prepayment"].sum() + pool["default_amount"].sum() == \
        pytest.approx(109_115_189.40, abs=0.01)
    assert paid[("stress", "lessor_undertaking")] > 1e6 and paid[("stress", "guarantor_undertaking")] == 0
    # the lessor fails in March 2023: it pays nothing from then on, the guarantee company
    # repays class B at its expected maturity, class A is repaid late out of later fees
    sup = r.support[r.support.scenario == "stress_lessor_fails"].set_index(["provider", "payment_date"])["paid"]
    assert sup.loc["lessor_undertaking"].sum() == 0
    assert sup.loc["guarantor_undertaking"].sum() > 1e6
    tr = r.tranches[r.tranches.scenario == "stress_lessor_fails"].set_index(["tranche", "payment_date"])
    assert tr.loc[("B", pd.Timestamp("2023-12-20")), "balance_end"] == 0
    assert tr.loc[("A", pd.Timestamp("2023-06-20")), "balance_end"] > 0
    for t in ("A", "B"):
        assert s.loc[("stress_lessor_fails", t), "writedown"] == 0
    assert s.loc[("stress_lessor_fails", "A"), "wal_years"] > s.loc[("stress", "A"), "wal_years"]


def test_wenke_2019_1_published_structure():
    d = ae.load_deal(DEALS / "wenke_lease_2019_1.yaml")
    s = sizes(d)
    assert (s["A"], s["SUB"]) == pytest.approx((6.96 * YI, 0.37 * YI), abs=0.005)
    assert sum(s.values()) == d.deal.total_notes == pytest.approx(7.33 * YI)
    assert d.tranche("A").rating == "AAA"
    leases = d.pools[0].assets
    assert len(leases) == 51  # 51 items of leased IP, one lease each
    assert {a.ip_type for a in leases} == {"patent", "copyright"}
    r = run("wenke_lease_2019_1.yaml", "cython")
    sm = r.summary().set_index(["scenario", "tranche"])
    assert sm.loc[("stress", "A"), "writedown"] == 0 and sm.loc[("stress", "SUB"), "writedown"] > 0.75 * s["SUB"]
    assert sm.loc[("base", "SUB"), "writedown"] == 0
    # the pool is the lease principal, 7.33亿 (the rents, principal + interest, are 8.08亿: deals/wenke_lease_2019_1.md)
    assert r.pool[r.pool.scenario == "base"]["balance_start"].iloc[0] == pytest.approx(7.33 * YI, abs=0.01)
    assert round(lease_terms(d.pools[0], d.deal)["lease_rents_due"] / YI, 2) == 8.08


def test_biopharma_2000_published_structure_and_rapid_amortisation():
    d = ae.load_deal(DEALS / "biopharma_royalty_2000.yaml")
    s = sizes(d)
    assert (s["A"], s["M"], s["EQ"]) == (57_150_000, 22_000_000, 21_160_000)
    assert d.deal.total_notes == sum(s.values())
    assert (d.deal.currency, d.deal.calendar) == ("USD", "US")
    assert [t.kind for t in d.tranches] == ["senior", "mezzanine", "subordinate"]
    r = run("biopharma_royalty_2000.yaml", "cython")
    st = r.states
    trig = d.triggers[0]
    assert (trig.metric, trig.consecutive, trig.effect) == ("interest_coverage", 3, "accelerate")
    # coverage recomputed from the outputs: royalty deposited / interest due on A and M
    royalty = r.pool.groupby(["scenario", "period"])[["scheduled_principal", "recovery"]].sum().sum(axis=1)
    tr = r.tranches[r.tranches.tranche.isin(["A", "M"])].groupby(["scenario", "period"])["interest_due"].sum()
    for name in ("base", "destocking"):
        cov = (royalty.loc[name] / tr.loc[name]).to_numpy()
        states = st[st.scenario == name]["state"].to_numpy()
        breach = cov < trig.below
        third = next((t for t in range(2, len(cov)) if breach[t - 2: t + 1].all()), None)
        first_acc = next((t for t, x in enumerate(states) if x == "accelerated"), None)
        assert third == first_acc, name
    assert first_acc is not None  # destocking accelerates; base (checked above) never does
    # breaches in January, April and July 2002: rapid amortisation from the July 2002 payment
    assert str(st[st.scenario == "destocking"]["payment_date"].iloc[first_acc].date()) == "2002-07-15"
    sm = r.summary().set_index(["scenario", "tranche"])
    # the senior is repaid, the insurer carries the mezzanine, the equity is wiped out
    assert sm.loc[("destocking", "A"), "writedown"] == 0 and sm.loc[("destocking", "M"), "writedown"] == 0
    assert sm.loc[("destocking", "EQ"), "writedown"] == pytest.approx(12.5e6, rel=0.02)  # "about $12.5m"
    paid = r.support.groupby(["scenario", "provider"])["paid"].sum()
    assert paid[("destocking", "insurer")] > 22e6 and paid[("base", "insurer")] == 0
    assert sm.loc[("destocking_insurer_fails", "M"), "writedown"] > 0


def test_cli_runs_a_licence_deal_and_writes_its_term_sheets(tmp_path):
    """The tutorial's command: a licence deal through the CLI (its three tapes in the manifest)."""
    p = subprocess.run(
        [sys.executable, "-m", "abs_engine.cli", "run", str(DEALS / "pudong_licence_2020.yaml"),
         "-s", str(SCENARIOS / "pudong_base.yaml"), "-s", str(SCENARIOS / "pudong_two_invalidations.yaml"),
         "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert p.returncode == 0, p.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert {"licence_tape:0", "patent_tape:0", "link_tape:0"} <= set(manifest["inputs"])
    assert (tmp_path / "PUDONG-IP-LICENCE-2020_senior_termsheet.xlsx").exists()
    assert (tmp_path / "PUDONG-IP-LICENCE-2020_subordinate_termsheet.xlsx").exists()


def test_shenzhen_deal_matches_the_published_totals():
    """南山区-高新投知识产权5号 (deals/sz_pledge_2026_1.md): 2.06亿元, 12 Nanshan SMEs, 26 pledged
    patents, one-year loans, senior at 3.80%, the guarantor both guarantor of the loans and
    shortfall undertaker."""
    from abs_engine.pools.stats import deal_pool_stats

    d = ae.load_deal(DEALS / "sz_pledge_2026_1.yaml")
    st = deal_pool_stats(d)
    assert st.total_balance == pytest.approx(206_000_000) and sum(t.balance for t in d.tranches) == pytest.approx(206_000_000)
    assert st.n_obligors == 12 and st.n_ip_rights == 26
    assert {a.region for a in d.pools[0].assets} == {"Nanshan"} and {a.ip_type for a in d.pools[0].assets} == {"patent"}
    assert d.tranche("A").coupon.rate == pytest.approx(0.038)
    assert all(a.maturity_date <= a.origination_date.replace(year=a.origination_date.year + 1) for a in d.pools[0].assets)
    assert [x.kind for x in d.pools[0].support] == ["guarantee"] and any(a.kind == "undertaking" for a in d.accounts)
