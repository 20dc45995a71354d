"""An investor's review of the term sheets and the outputs (the Shenzhen example deal, its
base scenario and the guarantor failing): each test pins one finding — what a total means,
that every label is translated, that a failed party shows no capacity, that the files
reconcile and are documented."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import DEALS, ROOT, SCENARIOS

import abs_engine as ae
from abs_engine.io.outputs import write_csv
from abs_engine.model.scenario import MonteCarlo
from abs_engine.report import term_sheet_workbooks
from abs_engine.report.labels import label
from abs_engine.report.xl import display_width, to_cell_value
from abs_engine.studies.executors import Executor
from abs_engine.studies.montecarlo import simulate

GF = "stress_guarantor_fails"
CENT = 0.005


def H(key: str, lang: str = "both") -> str:  # noqa: N802
    return label(key, lang, "\n")


def L(key: str, lang: str = "both") -> str:  # noqa: N802
    return label(key, lang)


@pytest.fixture(scope="module")
def gf(example_deal):
    scs = [ae.load_scenario(SCENARIOS / "base.yaml"), ae.load_scenario(SCENARIOS / f"{GF}.yaml")]
    res = ae.run(example_deal, scs)
    res.check_conservation()
    an = res.analytics()
    return res, an, term_sheet_workbooks(res, analytics=an)


@pytest.fixture(scope="module")
def sim(example_deal):
    return simulate(example_deal, ae.load_scenario(SCENARIOS / f"{GF}.yaml"),
                    MonteCarlo(paths=96, seed=7, correlation=0.3), executor=Executor("serial"))


def rows(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def find(rs: list[list], value) -> int:
    for i, r in enumerate(rs):
        if value in r:
            return i
    raise AssertionError(f"{value!r} not found")


def table(ws, header_value):
    """(header row, data rows) of the table whose header holds ``header_value``: the rows
    below it, blank rows skipped, up to the first row of a single text cell (a note or the
    next title)."""
    rs = rows(ws)
    h = find(rs, header_value)
    body = []
    for r in rs[h + 1:]:
        filled = [v for v in r if v is not None]
        if not filled:
            continue
        if len(filled) == 1 and isinstance(r[0], str):
            break
        body.append(r)
    return rs[h], body


# --------------------------------------------------------------------------- 1 shortfall total


def test_schedule_shortfall_total_is_the_interest_never_paid(gf):
    res, _, books = gf
    ws = books["senior"]["偿付计划 Schedule A"]
    head, body = table(ws, H("scenario"))
    new, unpaid = head.index(H("new_interest_shortfall")), head.index(H("interest_shortfall"))
    data = [r for r in body if r[0] == GF]
    # the totals table below has the schedule's columns (its unpaid column: the interest never paid)
    total = next(r for r in rows(ws) if r[0] == GF and r[1] == L("total"))
    tr = res.tranches[(res.tranches["tranche"] == "A") & (res.tranches["scenario"] == GF)].sort_values("period")
    balances = tr["interest_shortfall"].to_numpy()
    assert balances.max() > 0 and balances[-1] > 0, "the scenario must leave senior interest unpaid"
    # each row: the carried balance as the result has it; the total: what is never paid
    assert [r[unpaid] for r in data] == pytest.approx(balances[: len(data)].tolist(), abs=CENT)
    assert total[unpaid] == pytest.approx(balances[-1], abs=CENT)
    assert abs(total[unpaid] - balances.sum()) > 1.0  # not the sum of balances
    lost = res.measures(yields=False).interest_lost
    assert total[unpaid] == pytest.approx(lost[res.scenario_names.index(GF), 0], abs=CENT)
    # new shortfalls: the increases of the carried balance, totalled; less what was made up = never paid
    increases = np.diff(np.concatenate([[0.0], balances]))
    assert total[new] == pytest.approx(np.maximum(increases, 0).sum(), abs=CENT)
    assert total[new] == pytest.approx(sum(r[new] for r in data), abs=CENT)
    assert total[new] + np.minimum(increases, 0).sum() == pytest.approx(total[unpaid], abs=CENT)
    assert L("shortfall_note") in [r[0] for r in rows(ws)]


# --------------------------------------------------------------------------- 2 residual apart


def test_subordinate_interest_and_residual_are_apart(gf):
    res, an, books = gf
    sm = res.summary().set_index(["scenario", "tranche"])
    a = an.set_index(["scenario", "tranche"])
    assert "total_residual" in an.columns
    for sc in res.scenario_names:
        assert a.at[(sc, "SUB"), "total_interest"] == pytest.approx(sm.at[(sc, "SUB"), "interest"], abs=CENT)
        assert a.at[(sc, "SUB"), "total_residual"] == pytest.approx(sm.at[(sc, "SUB"), "residual"], abs=CENT)
    assert sm.at[("base", "SUB"), "interest"] == 0 and sm.at[("base", "SUB"), "residual"] > 0
    head, body = table(books["subordinate"]["概要 Summary"], H("total_residual_wan"))  # 万元 on the summary
    base = next(r for r in body if r[:2] == ["SUB", "base"])
    assert base[head.index(H("total_interest_wan"))] == 0
    assert base[head.index(H("total_residual_wan"))] * 1e4 == pytest.approx(sm.at[("base", "SUB"), "residual"], abs=CENT)


# --------------------------------------------------------------------------- 3 readable terms


def test_credit_support_terms_wrap_and_show_in_full(gf):
    _, _, books = gf
    ws = books["senior"]["增信措施 Credit support"]
    width = ws.column_dimensions["H"].width
    assert width >= 36
    shown = 0
    for row in ws.iter_rows():
        for c in row:
            v = c.value
            if isinstance(v, str) and ("违约后" in v or "差额支付/担保" in v):
                assert c.alignment.wrap_text and c.column == 8, c.coordinate
                lines = math.ceil(display_width(v) / (width - 1))
                assert (ws.row_dimensions[c.row].height or 15) >= 15 * lines, c.coordinate
                shown += 1
    assert shown == 2


# --------------------------------------------------------------------------- 4 charts, noise


def test_pool_loss_before_and_after_support_and_no_float_noise(gf):
    res, _, books = gf
    wb = books["senior"]
    data = wb["图表数据 Chart data"]
    rs = rows(data)
    before = find(rs, L("chart_pool_loss_before"))
    after = find(rs, L("chart_pool_loss_after"))
    col = rs[before + 1].index(f"base — {L('chart_loss')}")
    # under base the guarantor pays every default: nothing left to the pool, but a loss before support
    assert max(r[col] for r in rs[before + 2: after - 1]) > 0
    assert all(r[col] == 0 for r in rs[after + 2:] if r[0] is not None)
    assert max(r[col] for r in rs[before + 2: after - 1]) == pytest.approx(
        res.pool.loc[res.pool["scenario"] == "base", "loss_before_support"].sum())
    assert len(wb["图表 Charts"]._charts) == len(res.deal.tranches) + 2
    for book in books.values():
        for ws in book.worksheets:
            for row in ws.iter_rows(values_only=True):
                for v in row:
                    assert not (isinstance(v, float) and 0 < abs(v) < 1e-9), (ws.title, v)
    from abs_engine.io.outputs import csv_ready

    assert to_cell_value(-4.37e-11) == 0.0
    assert csv_ready(pd.DataFrame({"x": [-4.37e-11]}))["x"].tolist() == [0.0]


# --------------------------------------------------------------------------- 5 bilingual


def test_risk_sheet_is_translated(gf, sim):
    res, an, _ = gf
    for lang in ("both", "zh"):
        books = term_sheet_workbooks(res, lang=lang, analytics=an, simulation=sim)
        ws = books["senior"][label("sheet_risk", lang, " ")]
        texts = [v for r in rows(ws) for v in r if isinstance(v, str)]
        for raw in ("mean", "std", "p50", "p99_5", "p99_9", "max", "pool"):
            assert raw not in texts, (lang, raw)
        assert not any(t.startswith("below ") for t in texts), lang
        assert label("rating_below", lang).split(" / ")[0] + " Caa-C" in " ".join(texts)
        note = next(t for t in texts if t.startswith(label("mc_note", lang)))
        assert "(none)" not in note and label("corr_by_none", lang) in note and label("mc_seed", lang) in note
        assert label("stat_pct", lang, "\n").format(q="99.5") in texts


def test_summary_values_follow_the_language(gf):
    res, an, _ = gf
    wb = term_sheet_workbooks(res, lang="zh", analytics=an)["subordinate"]
    texts = {v for r in rows(wb["概要"]) for v in r if isinstance(v, str)}
    assert "按年复利" in texts and "annual" not in texts
    assert "结算日后未收到现金" in texts and "receives no cash after settlement" not in texts
    both = term_sheet_workbooks(res, analytics=an)["subordinate"]
    texts = {v for r in rows(both["概要 Summary"]) for v in r if isinstance(v, str)}
    assert "按年复利 / annual" in texts and "结算日后未收到现金 / receives no cash after settlement" in texts


# --------------------------------------------------------------------------- 6 total loss


def test_a_tranche_that_receives_nothing_shows_a_dash_and_a_note(gf):
    res, an, books = gf
    assert an.set_index(["scenario", "tranche"]).at[(GF, "SUB"), "note"] == "receives no cash after settlement"
    wb = books["subordinate"]
    summary = rows(wb["概要 Summary"])
    wal = next(r for r in summary if r[0] == f"{L('wal_scenario')} — {GF}")
    assert wal[2] == "—"  # SUB is the second tranche column
    head, body = table(wb["概要 Summary"], H("yield"))
    row = next(r for r in body if r[:2] == ["SUB", GF])
    assert row[head.index(H("yield"))] == "—" and row[head.index(H("wal_years"))] == "—"
    head, body = table(wb["概要 Summary"], H("macaulay_duration"))
    row = next(r for r in body if r[:2] == ["SUB", GF])
    assert row[head.index(H("macaulay_duration"))] == "—"
    sens = wb["敏感性 Sensitivity"]
    head, body = table(sens, f"SUB\n{H('wal_years')}")
    row = next(r for r in body if r[0] == GF)
    for key in ("wal_years", "yield", "irr"):
        assert row[head.index(f"SUB\n{H(key)}")] == "—", key
    yt_head, yt = table(sens, H("price"))
    col = yt_head.index(f"{GF}\n{H('irr')}")
    assert yt and all(r[col] == "—" for r in yt)
    for ws in (wb["概要 Summary"], sens):
        assert L("no_cash_note") in [r[0] for r in rows(ws)], ws.title
    # the Monte Carlo convention the note states: a path that receives nothing yields -1
    assert "−100%" in L("no_cash_note")


# --------------------------------------------------------------------------- 7 failed guarantor


def test_a_failed_party_shows_no_capacity_left(gf):
    res, _, books = gf
    led = res.layers
    g = led[(led["scenario"] == GF) & (led["party"] == "guarantee")]
    assert len(g) and (g["capacity_remaining"] == 0).all()
    base = led[(led["scenario"] == "base") & (led["party"] == "guarantee")]
    assert (base["capacity_remaining"] > 0).all()
    sup = res.support
    assert (sup.loc[sup["scenario"] == GF, "capacity_remaining"] == 0).all()
    head, body = table(books["senior"]["增信措施 Credit support"], H("capacity_end"))
    failed = L("support_failed").format(date="2026-10-01")
    for party in ("guarantee", "undertaking"):
        row = next(r for r in body if r[:2] == [GF, party])
        assert row[head.index(H("capacity_end"))] == 0
        assert row[head.index(H("support_status"))] == failed


def test_a_party_failing_mid_deal_keeps_its_capacity_until_then(example_deal, gf):
    res, _, _ = gf
    late = ae.load_scenario(SCENARIOS / f"{GF}.yaml").model_copy(
        update={"name": "late", "support_failures": {"guarantee": res.schedule.payment_dates[3]}})
    r = ae.run(example_deal, [late])
    g = r.layers[r.layers["party"] == "guarantee"].sort_values("period")
    t = r.schedule.period_of(late.support_failures["guarantee"])
    assert (g["capacity_remaining"].iloc[:t] > 0).all() and (g["capacity_remaining"].iloc[t:] == 0).all()


# --------------------------------------------------------------------------- 8 rank header


def test_top_obligors_are_ranked_not_in_payment_order(gf):
    _, _, books = gf
    rs = rows(books["senior"]["资产池 Collateral"])
    i = find(rs, L("top_obligors"))
    assert rs[i + 1][0] == "排名\nRank" and H("obligor_rank") == "排名\nRank"
    assert H("rank") not in rs[i + 1]


# --------------------------------------------------------------------------- 9 accounts


def test_every_account_row_reconciles_and_unlimited_is_empty(gf, tmp_path):
    res, _, _ = gf
    acc = res.accounts
    assert {"balance_start", "deposits", "other_in", "withdrawn", "drawn", "balance_end"} <= set(acc.columns)
    finite = np.isfinite(acc["balance_start"]) & np.isfinite(acc["balance_end"])
    gap = acc["balance_start"] + acc["deposits"] + acc["other_in"] - acc["withdrawn"] - acc["balance_end"]
    assert finite.any() and gap[finite].abs().max() < 1e-6
    assert (acc[["deposits", "other_in", "withdrawn", "drawn"]] >= 0).all().all()
    reserve = acc[(acc["account"] == "reserve") & (acc["scenario"] == "base")].sort_values("period")
    first = reserve.iloc[0]
    assert first["balance_start"] == 0 and first["balance_end"] > 0 and first["other_in"] == pytest.approx(first["balance_end"])
    assert (reserve["withdrawn"] > 0).any()  # the reserve is released (or drawn) at some point
    # an unlimited undertaking: empty fields in the CSV, never the text inf
    for name, df in (("accounts.csv", acc), ("support.csv", res.support), ("layers.csv", res.layers)):
        text = write_csv(df, tmp_path / name).read_text(encoding="utf-8")
        assert "inf" not in text.lower(), name
    back = pd.read_csv(tmp_path / "support.csv")
    assert back.loc[back["scenario"] == "base", "capacity_remaining"].isna().all()


# --------------------------------------------------------------------------- 10 histogram bins


def test_one_binning_for_the_csv_the_sheet_and_every_series(gf, sim):
    res, an, _ = gf
    dist = sim.loss_distribution()  # what simulate writes as mc_loss_distribution.csv
    edges = {s: g[["lower", "upper"]].to_numpy().tolist() for s, g in dist.groupby("series", sort=False)}
    assert len({str(e) for e in edges.values()}) == 1  # every series the same bins
    ws = term_sheet_workbooks(res, analytics=an, simulation=sim)["senior"]["临界违约率与损失分布 Break-even & losses"]
    head, body = table(ws, H("mc_bin"))
    assert len(body) == len(edges["pool"])
    for j, series in enumerate(["pool", *[t.name for t in res.deal.tranches]]):
        want = dist.loc[dist["series"] == series, "paths"].tolist()
        assert [r[1 + j] for r in body] == want, series
        assert sum(want) == sim.n_paths
    lo, hi = edges["pool"][0]
    assert body[0][0] == f"{lo:.2%}–{hi:.2%}"


# --------------------------------------------------------------------------- 11 Monte Carlo names


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "abs_engine.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, encoding="utf-8")


def test_unknown_industry_keys_are_input_errors(example_deal, tmp_path):
    from abs_engine.checks import settings_problems as check_settings

    bad = MonteCarlo(correlation_by="industry", correlations={"biomedicin": 0.1, "electronics": 0.2})
    problems = check_settings(example_deal, bad, "mc.yaml")
    assert [(p.file, p.path) for p in problems] == [("mc.yaml", "correlations.biomedicin"),
                                                   ("mc.yaml", "correlations.electronics")]
    assert "did you mean 'biomedicine'?" in problems[0].message
    assert "known: biomedicine" in problems[1].message and "new-generation IT" in problems[1].message
    with pytest.raises(ae.InputError, match="correlations.electronics"):
        simulate(example_deal, None, bad.model_copy(update={"paths": 32}), executor=Executor("serial"))
    assert check_settings(example_deal, MonteCarlo(correlations={"biomedicine": 0.1}))[0].path == "correlations"
    # the shipped settings use the tape's industries
    shipped = ae.io.scenario_file.load_monte_carlo(SCENARIOS / "monte_carlo" / "sz_pledge_industry.yaml")
    assert shipped.correlations and check_settings(example_deal, shipped) == []
    # the command line: validate --model and simulate --model, file and field named
    f = tmp_path / "bad_mc.yaml"
    f.write_text("correlation_by: industry\ncorrelations:\n  robotics: 0.2\n", encoding="utf-8")
    deal = str(DEALS / "sz_pledge_2026_1.yaml")
    for args in (("validate", deal, "--model", str(f)),
                 ("simulate", deal, "--model", str(f), "--paths", "32", "--no-progress", "-o", str(tmp_path / "o"))):
        p = _cli(*args)
        assert p.returncode == 2, (args[0], p.stdout, p.stderr)
        assert f"{f}: correlations.robotics: not an industry of the deal" in p.stderr.replace("\n", " ")
    p = _cli("validate", deal, "--model", str(SCENARIOS / "monte_carlo" / "sz_pledge_industry.yaml"))
    assert p.returncode == 0, p.stderr


# --------------------------------------------------------------------------- 12 loss labels


def test_each_loss_says_what_it_counts(gf, sim):
    res, an, books = gf
    sens = books["senior"]["敏感性 Sensitivity"]
    head, body = table(sens, f"A\n{H('loss_share')}")
    m = res.measures(yields=False)
    for row in body:
        i = res.scenario_names.index(row[0])
        assert row[head.index(f"A\n{H('loss_share')}")] == pytest.approx(m.writedown[i, 0] / m.balance[0])
        assert row[head.index(f"A\n{H('loss_incl_interest_share')}")] == pytest.approx(m.loss_rate[i, 0])
    gfrow = next(r for r in body if r[0] == GF)
    assert gfrow[head.index(f"A\n{H('loss_incl_interest_share')}")] > gfrow[head.index(f"A\n{H('loss_share')}")]
    assert "本金减记" in H("loss_share") and "Write-down" in H("loss_share")
    assert "未获支付利息" in H("mc_expected_loss") and "interest never paid" in H("mc_expected_loss")
    assert L("loss_note") in [r[0] for r in rows(sens)]
    # the Monte Carlo loss is write-down plus interest lost, the definition the label gives
    assert np.allclose(sim.paths["loss"], sim.paths["writedown"] + sim.paths["interest_lost"])
    doc = (ROOT / "docs" / "termsheets.md").read_text(encoding="utf-8")
    assert '## What "loss" means' in doc and "interest never paid" in doc


# --------------------------------------------------------------------------- 13 minor


def test_wal_format_value_separators_and_share_totals(gf):
    _, _, books = gf
    wb = books["senior"]
    ws = wb["概要 Summary"]
    for row in ws.iter_rows():
        for c in row:
            if c.value == H("wal_years"):
                below = ws.cell(row=c.row + 1, column=c.column)
                assert below.number_format == "0.00"
    coll = rows(wb["资产池 Collateral"])
    assert set(v for r in coll for v in r if isinstance(v, str) and "patent" in v) == {"专利 / patent"}
    i = find(coll, L("strata_industry"))
    total = next(r for r in coll[i:] if r[0] == L("total"))
    assert total[4] == 1.0
    sched = rows(wb["偿付计划 Schedule A"])
    col = sched[find(sched, H("deal_state"))].index(H("deal_state"))
    states = {r[col] for r in sched if isinstance(r[col], str)}
    assert "正常 / normal" in states and "正常 normal" not in states


# --------------------------------------------------------------------------- 14 docs, manifest


def test_every_output_and_column_is_documented(gf):
    res, an, _ = gf
    doc = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    frames = {"tranches.csv": res.tranches, "pool.csv": res.pool, "accounts.csv": res.accounts, "fees.csv": res.fees,
              "summary.csv": res.summary(), "yield_tables.csv": res.yield_tables(), "support.csv": res.support,
              "layers.csv": res.layers, "states.csv": res.states[["scenario", "period", "payment_date", "state"]]}
    for name, df in frames.items():
        assert f"`{name}`" in doc, name
        section = doc.split(f"`{name}`", 1)[1].split("\n## ", 1)[0]
        for col in df.columns:
            assert re.search(rf"\b{re.escape(col)}\b", section), (name, col)
    assert "`analytics.csv`" in doc and "analytics.md#tranche_analytics-columns" in doc
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert "`yield_tables.csv`" in readme and "yield_tables.csv" in index
    assert "credit\nsupport" in readme or "credit support" in readme
    assert "price/yield tables" in readme
    assert "exits non-zero when there are problems" in readme
    assert "relative to the working directory" in doc
