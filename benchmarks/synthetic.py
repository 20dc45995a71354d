"""Synthetic inputs for the performance suite.

* :func:`waterfall_args` builds the kernel's flat arrays (:class:`KernelArgs`) directly for a
  fixed, realistic five-tranche waterfall (the program ``benchmarks/c_baseline/waterfall.c``
  hard-codes), with collections from a simple vectorised pool run-off per scenario.
* :func:`pledge_pool` builds a pool of synthetic IP-pledge loans with a mix of amortisation
  types and payment frequencies, and :func:`pledge_scenarios` the scenarios it is projected
  under.

Everything is seeded: the same call gives the same arrays.

The waterfall (accounts: 0 interest collections, 1 principal collections, 2 reserve;
tranches: 0 A1, 1 A2, 2 B, 3 C, 4 SUB; fees: 0 vat, 1 manager, 2 trustee, 3 audit)::

  normal (state 0)                               accelerated (1)            event of default (2)
   0 release_reserve reserve -> interest          transfer reserve -> int    transfer reserve -> int
   1 draw_reserve reserve -> interest             pay_fee int [fees]         transfer prin -> int
       (cover fees, A1/A2 interest)                   support [prin]         pay_fee int [fees]
   2 pay_fee interest [vat..audit]                pay_interest int [A1,A2]   pay_interest int [A1,A2]
       support [principal]                            support [prin]         pay_principal int [A1,A2]
   3 pay_interest interest [A1, A2] (pro rata)    transfer int -> prin           pro rata
       support [reserve]                          pay_principal prin [A1,A2]  pay_interest int [B]
   4 pay_interest interest [B]                        pro rata                pay_principal int [B]
   5 pay_interest interest [C]                    pay_interest prin [B]      pay_interest int [C]
   6 fund_reserve interest -> reserve             pay_principal prin [B]     pay_principal int [C]
       when not OC breach                         pay_interest prin [C]      pay_principal int [SUB]
   7 transfer interest -> principal               pay_principal prin [C]     pay_residual int -> SUB
   8 pay_principal principal [A1, A2, B, C]       pay_principal prin [SUB]
       sequential                                 pay_residual prin -> SUB
   9 pay_principal principal [SUB] from period 24
  10 pay_residual principal -> SUB (95%)
  11 pay_residual principal -> servicer (rest)

Triggers: 0 cumulative default ratio > 8% (accelerate); 1 OC ratio of A1..C < 1.02 for two
periods, curable (accelerate); 2 interest coverage of A1/A2 < 1.0 for three periods, curable
(accelerate); 3 interest shortfall on A1/A2 > 0.005 (event of default).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: the abs_engine the benchmarks import: this checkout's, or the build of another revision
#: that ``run.py --compare REV`` made (its site directory, in ABS_ENGINE_BENCH_PACKAGE)
ENGINE = Path(os.environ.get("ABS_ENGINE_BENCH_PACKAGE") or ROOT)
if str(ENGINE) not in sys.path:
    sys.path.insert(0, str(ENGINE))

from abs_engine.waterfall import program as P  # noqa: E402
from abs_engine.waterfall.program import KernelArgs  # noqa: E402

if not Path(P.__file__).resolve().is_relative_to(ENGINE.resolve()):
    raise SystemExit(f"benchmarks: imported {P.__file__}, not the abs_engine under {ENGINE}")

INF = float("inf")

N_TRANCHES = 5
BAL0 = np.array([550e6, 250e6, 80e6, 50e6, 70e6])
POOL0 = 1.0e9
SUB_PRINCIPAL_FROM = 24  # period (0-based) from which SUB may receive principal


def _step(op: int, src: int = 0, dst: int = 0, a: tuple[int, int] = (0, 0), b: tuple[int, int] = (0, 0),
          c: tuple[int, int] = (0, 0), mode: int = 0, follow: int = 0, when_trig: int = -1,
          when_not: int = -1, when_from: int = 0, when_before: int = 1 << 30,
          limit: float = INF, fraction: float = 1.0, target: float = -1.0, share: float = 1.0):
    ia = [0] * P.N_IARG
    ia[P.I_SRC], ia[P.I_DST] = src, dst
    ia[P.I_A_OFF], ia[P.I_A_LEN] = a
    ia[P.I_B_OFF], ia[P.I_B_LEN] = b
    ia[P.I_C_OFF], ia[P.I_C_LEN] = c
    ia[P.I_MODE], ia[P.I_FOLLOW] = mode, follow
    ia[P.I_WHEN_TRIG], ia[P.I_WHEN_NOT_TRIG] = when_trig, when_not
    ia[P.I_WHEN_FROM], ia[P.I_WHEN_BEFORE] = when_from, when_before
    fa = [limit, fraction, target, share]
    return op, ia, fa


def program(T: int) -> dict[str, np.ndarray]:
    """The fixed program (op, iarg, farg, ilist, seg) described in the module docstring."""
    ilist: list[int] = []

    def lst(*items: int) -> tuple[int, int]:
        off = len(ilist)
        ilist.extend(items)
        return off, len(items)

    INT, PRIN, RES = 0, 1, 2
    A1, A2, B, C, SUB = range(5)
    fees = lst(0, 1, 2, 3)
    senior = lst(A1, A2)
    only_b, only_c, only_sub = lst(B), lst(C), lst(SUB)
    rated = lst(A1, A2, B, C)
    sup_prin, sup_res = lst(PRIN), lst(RES)
    OC = 1
    normal = [
        _step(P.OP_RELEASE_RESERVE, src=RES, dst=INT),
        _step(P.OP_DRAW_RESERVE, src=RES, dst=INT, a=fees, b=senior),
        _step(P.OP_PAY_FEE, src=INT, a=fees, b=sup_prin),
        _step(P.OP_PAY_INTEREST, src=INT, a=senior, b=sup_res),
        _step(P.OP_PAY_INTEREST, src=INT, a=only_b),
        _step(P.OP_PAY_INTEREST, src=INT, a=only_c),
        _step(P.OP_FUND_RESERVE, src=INT, dst=RES, when_not=OC),
        _step(P.OP_TRANSFER, src=INT, dst=PRIN),
        _step(P.OP_PAY_PRINCIPAL, src=PRIN, a=rated, mode=0),
        _step(P.OP_PAY_PRINCIPAL, src=PRIN, a=only_sub, when_from=SUB_PRINCIPAL_FROM),
        _step(P.OP_PAY_RESIDUAL, src=PRIN, dst=SUB, mode=0, share=0.95),
        _step(P.OP_PAY_RESIDUAL, src=PRIN, dst=2, mode=1, share=1.0),
    ]
    accelerated = [
        _step(P.OP_TRANSFER, src=RES, dst=INT),
        _step(P.OP_PAY_FEE, src=INT, a=fees, b=sup_prin),
        _step(P.OP_PAY_INTEREST, src=INT, a=senior, b=sup_prin),
        _step(P.OP_TRANSFER, src=INT, dst=PRIN),
        _step(P.OP_PAY_PRINCIPAL, src=PRIN, a=senior, mode=1),
        _step(P.OP_PAY_INTEREST, src=PRIN, a=only_b),
        _step(P.OP_PAY_PRINCIPAL, src=PRIN, a=only_b),
        _step(P.OP_PAY_INTEREST, src=PRIN, a=only_c),
        _step(P.OP_PAY_PRINCIPAL, src=PRIN, a=only_c),
        _step(P.OP_PAY_PRINCIPAL, src=PRIN, a=only_sub),
        _step(P.OP_PAY_RESIDUAL, src=PRIN, dst=SUB, mode=0),
    ]
    default = [
        _step(P.OP_TRANSFER, src=RES, dst=INT),
        _step(P.OP_TRANSFER, src=PRIN, dst=INT),
        _step(P.OP_PAY_FEE, src=INT, a=fees),
        _step(P.OP_PAY_INTEREST, src=INT, a=senior),
        _step(P.OP_PAY_PRINCIPAL, src=INT, a=senior, mode=1),
        _step(P.OP_PAY_INTEREST, src=INT, a=only_b),
        _step(P.OP_PAY_PRINCIPAL, src=INT, a=only_b),
        _step(P.OP_PAY_INTEREST, src=INT, a=only_c),
        _step(P.OP_PAY_PRINCIPAL, src=INT, a=only_c),
        _step(P.OP_PAY_PRINCIPAL, src=INT, a=only_sub),
        _step(P.OP_PAY_RESIDUAL, src=INT, dst=SUB, mode=0),
    ]
    steps = normal + accelerated + default
    seg = [0, len(normal), len(normal) + len(accelerated), len(steps)]
    iarg = np.array([s[1] for s in steps], dtype=np.int32)
    iarg[:, P.I_WHEN_BEFORE] = np.minimum(iarg[:, P.I_WHEN_BEFORE], T)
    return {
        "op": np.array([s[0] for s in steps], dtype=np.int32),
        "iarg": np.ascontiguousarray(iarg),
        "farg": np.array([s[2] for s in steps], dtype=np.float64),
        "ilist": np.array(ilist, dtype=np.int32),
        "seg": np.array(seg, dtype=np.int32),
    }


def pool_runoff(S: int, T: int, seed: int = 20261122) -> dict[str, Any]:
    """Monthly collections of a 1bn amortising pool per scenario (random CDR, CPR, rates)."""
    rng = np.random.default_rng(seed)
    cdr = rng.uniform(0.0, 0.12, S)
    cpr = rng.uniform(0.0, 0.30, S)
    coupon = rng.uniform(0.045, 0.065, S)
    rec = rng.uniform(0.2, 0.6, S)
    mdr = 1.0 - (1.0 - cdr) ** (1.0 / 12.0)
    smm = 1.0 - (1.0 - cpr) ** (1.0 / 12.0)
    r = coupon / 12.0
    term = 100  # months of level-payment amortisation
    lag = 6
    bal = np.full(S, POOL0)
    pool_start = np.zeros((S, T))
    pool_end = np.zeros((S, T))
    interest = np.zeros((S, T))
    principal = np.zeros((S, T))
    defaults = np.zeros((S, T + lag))
    for t in range(T):
        pool_start[:, t] = bal
        d = bal * mdr
        b1 = bal - d
        n = max(term - t, 1)
        sched = np.minimum(b1 * r / ((1.0 + r) ** n - 1.0), b1) if t < term - 1 else b1
        b2 = b1 - sched
        prep = b2 * smm
        bal = b2 - prep
        defaults[:, t] = d
        interest[:, t] = b1 * r
        principal[:, t] = sched + prep + (defaults[:, t - lag] * rec if t >= lag else 0.0)
        pool_end[:, t] = bal
    cum_default_ratio = np.cumsum(defaults[:, :T], axis=1) / POOL0
    return {"interest": interest, "principal": principal, "pool_start": pool_start,
            "pool_end": pool_end, "cdr_ratio": cum_default_ratio, "rng": rng}


def waterfall_args(S: int = 10_000, T: int = 120, seed: int = 20261122) -> KernelArgs:
    """The benchmark deal's kernel arguments, outputs allocated (zeros)."""
    K = N_TRANCHES
    prog = program(T)
    pool = pool_runoff(S, T, seed)
    rng = pool["rng"]
    ilist = list(prog["ilist"])  # the triggers' tranche lists go after the steps' lists
    senior_off = len(ilist)
    ilist += [0, 1]
    rated_off = len(ilist)
    ilist += [0, 1, 2, 3]
    # coupons: A1 fixed, A2 floating (reference path per scenario, floored at 0), B, C fixed, SUB none
    ref = np.clip(0.03 + np.cumsum(rng.normal(0.0, 0.0015, (S, T)), axis=1), 0.0, None)
    rate = np.zeros((S, T, K))
    rate[:, :, 0] = 0.030
    rate[:, :, 1] = np.maximum(ref + 0.006, 0.0)
    rate[:, :, 2] = 0.042
    rate[:, :, 3] = 0.055
    accr = np.full((T, K), 1.0 / 12.0)
    accr[:, 1] = np.tile([31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 28], T // 12 + 1)[:T] / 365.0
    coll = np.zeros((S, T, 2))
    coll[:, :, 0] = pool["interest"]
    coll[:, :, 1] = pool["principal"]
    ext = np.zeros((S, T, 4))
    ext[:, :, 0] = pool["cdr_ratio"]
    res_par = np.zeros((3, P.N_RES))
    res_par[:, P.R_CAP] = INF
    res_par[2] = [1.0, 0.0, 0.0, 0.01, 5e6, 20e6]
    trg_i = np.array([
        [P.M_EXTERNAL, 0, 0, 0, 1, 1, 0, 1],
        [P.M_OC, rated_off, 4, 0, 0, 2, 1, 1],
        [P.M_COVERAGE, senior_off, 2, 0, 0, 3, 1, 1],
        [P.M_SHORTFALL, senior_off, 2, 0, 1, 1, 0, 2],
    ], dtype=np.int32)
    extra = {}
    names = {f.name for f in fields(KernelArgs)}
    # fields of the support-provider extension of KernelArgs, where present: no external
    # provider, none fails, principal never due (the program has no principal cover)
    if "acct_ext" in names:
        extra["acct_ext"] = np.zeros(3, dtype=np.int32)
    if "acct_fail" in names:
        extra["acct_fail"] = np.full((S, 3), T, dtype=np.int32)
    if "due" in names:
        extra["due"] = np.full((T, K), INF)
    args = KernelArgs(
        **extra,
        op=prog["op"], iarg=prog["iarg"], farg=prog["farg"],
        ilist=np.array(ilist, dtype=np.int32), seg=prog["seg"],
        bal0=BAL0.copy(),
        carry=np.array([1, 1, 1, 1, 0], dtype=np.int32),
        sfint=np.array([0, 0, 1, 1, 0], dtype=np.int32),
        rate=np.ascontiguousarray(rate), accr=np.ascontiguousarray(accr), sched=np.zeros((T, K)),
        fee_fixed=np.array([0.0, 0.0, 0.0, 12_500.0]),
        fee_rate=np.array([0.0010, 0.0010, 0.0002, 0.0]),
        fee_cap=np.array([INF, INF, 15_000.0, 12_500.0]),
        fee_base=np.array([P.BASE_POOL, P.BASE_NOTES, P.BASE_ORIGINAL_NOTES, P.BASE_POOL], dtype=np.int32),
        fee_carry=np.array([1, 1, 0, 1], dtype=np.int32),
        yf=np.full(T, 1.0 / 12.0),
        acct0=np.array([0.0, 0.0, 5e6]),
        res_par=res_par,
        coll=np.ascontiguousarray(coll), src_acct=np.array([0, 1], dtype=np.int32),
        pool_start=np.ascontiguousarray(pool["pool_start"]), pool_end=np.ascontiguousarray(pool["pool_end"]),
        trg_i=trg_i,
        trg_thr=np.array([0.08, 1.02, 1.0, 0.005]),
        ext=np.ascontiguousarray(ext),
        n_parties=6,
    )
    return args.allocate_outputs()


# ------------------------------------------------------------------------- pledge loans


def pledge_pool(n_loans: int = 10_000, months: int = 120, seed: int = 7) -> tuple[Any, dt.date]:
    """A PledgeLoanPool of ``n_loans`` synthetic loans maturing within ``months`` of the cut-off.

    Mix: 35% annuity, 30% equal principal, 20% bullet, 15% interest-only then balloon;
    payment frequency monthly 50%, quarterly 35%, semi-annual 10%, annual 5%; 30% float on
    LPR1Y. Returns ``(pool, cutoff)``.
    """
    from abs_engine.model.deal import PledgeLoanAsset, PledgeLoanPool

    rng = np.random.default_rng(seed)
    cutoff = dt.date(2026, 6, 30)
    amort = rng.choice(["annuity", "equal_principal", "bullet", "interest_only_balloon"], n_loans,
                       p=[0.35, 0.30, 0.20, 0.15])
    freq = rng.choice(["monthly", "quarterly", "semiannual", "annual"], n_loans, p=[0.50, 0.35, 0.10, 0.05])
    fmonths = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
    assets = []
    for i in range(n_loans):
        f = fmonths[freq[i]]
        term_m = int(rng.integers(12, 121)) // f * f or f  # whole number of payments
        seasoning = int(rng.integers(0, min(term_m, 36)))
        o_month = (cutoff.year * 12 + cutoff.month - 1) - seasoning
        o_day = int(rng.integers(1, 29))
        orig = dt.date(o_month // 12, o_month % 12 + 1, o_day)
        m_month = o_month + term_m
        mat = dt.date(m_month // 12, m_month % 12 + 1, o_day)
        if (mat.year * 12 + mat.month) - (cutoff.year * 12 + cutoff.month) > months - 1 or mat <= cutoff:
            m_month = cutoff.year * 12 + cutoff.month - 1 + int(rng.integers(2, months - 1))
            mat = dt.date(m_month // 12, m_month % 12 + 1, o_day)
        floating = rng.random() < 0.30
        bal = float(np.round(rng.lognormal(np.log(3e6), 0.6), 2))
        row: dict[str, Any] = {
            "loan_id": f"L{i:05d}", "borrower": f"B{i:05d}", "balance": bal, "original_balance": bal,
            "rate": 0.0 if floating else float(np.round(rng.uniform(0.035, 0.075), 4)),
            "reference": "LPR1Y" if floating else None,
            "spread": float(np.round(rng.uniform(0.005, 0.03), 4)) if floating else 0.0,
            "origination_date": orig, "maturity_date": mat, "amortization": str(amort[i]),
            "payment_frequency": str(freq[i]), "collateral_value": bal * float(rng.uniform(1.2, 3.0)),
        }
        if amort[i] == "interest_only_balloon":
            row["io_periods"] = int(rng.integers(1, 5))
            row["amortization_term_months"] = int(rng.choice([60, 120, 180]))
        assets.append(PledgeLoanAsset.model_validate(row))
    return PledgeLoanPool(name="synthetic", assets=assets), cutoff


def month_grid(cutoff: dt.date, months: int) -> list[dt.date]:
    """Month ends from the cut-off date: ``months + 1`` dates (index 0 is the cut-off)."""
    import calendar

    out = [cutoff]
    y, m = cutoff.year, cutoff.month
    for _ in range(months):
        m += 1
        if m > 12:
            y, m = y + 1, 1
        out.append(dt.date(y, m, calendar.monthrange(y, m)[1]))
    return out


def pledge_scenarios(n: int, loan_ids: list[str], grid: list[dt.date], seed: int = 11) -> tuple[list[Any], np.ndarray]:
    """``n`` scenarios: constant or vector CDR/CPR, recovery by collateral or rate, a few
    loan-level default events. Returns ``(scenarios, ref_rates_month)`` with the LPR1Y path
    per grid month, shape ``(n, 1, months + 1)``."""
    from abs_engine.model.scenario import Scenario

    rng = np.random.default_rng(seed)
    M = len(grid) - 1
    out = []
    for i in range(n):
        cdr = float(rng.uniform(0.0, 0.15)) if i % 2 == 0 else list(np.round(np.linspace(0.01, rng.uniform(0.05, 0.2), 36), 4))
        picks = rng.choice(len(loan_ids), 5, replace=False)
        out.append(Scenario.model_validate({
            "name": f"s{i}",
            "defaults": {"cdr": cdr, "loans": {loan_ids[j]: grid[int(rng.integers(1, M))] for j in picks}},
            "prepayment": {"cpr": float(rng.uniform(0.0, 0.25))},
            "recovery": {"haircut": float(rng.uniform(0.3, 0.7)), "lag_months": int(rng.integers(6, 19)),
                         "value_decay": float(rng.uniform(0.0, 0.1)),
                         "rate": None if i % 3 else float(rng.uniform(0.2, 0.5))},
        }))
    refs = np.clip(0.03 + np.cumsum(rng.normal(0.0, 0.0005, (n, 1, M + 1)), axis=2), 0.0, None)
    return out, refs


def pledge_deal(n_loans: int = 10_000, months: int = 120, seed: int = 7) -> Any:
    """A deal around :func:`pledge_pool`: senior A (80%, 3.2%), mezzanine B (8%, 4.5%) and a
    subordinate tranche (12%), quarterly payments, a 1% reserve, fees, a cumulative-default
    trigger that accelerates the senior, legal maturity after the last loan. For the
    Monte Carlo and break-even benchmarks (benchmarks/run.py)."""
    from abs_engine.model.deal import Deal

    pool, cutoff = pledge_pool(n_loans, months, seed)
    total = round(sum(a.balance for a in pool.assets), 2)
    a, b = round(total * 0.80, 2), round(total * 0.08, 2)
    fees = ["trustee", "servicer"]
    normal = [
        {"action": "release_reserve", "from": "reserve", "to": "collection"},
        {"action": "pay_fee", "from": "collection", "to": fees},
        {"action": "pay_interest", "from": "collection", "to": ["A"], "support": ["reserve"]},
        {"action": "pay_interest", "from": "collection", "to": ["B"]},
        {"action": "fund_reserve", "from": "collection", "to": "reserve"},
        {"action": "pay_principal", "from": "collection", "to": ["A", "B", "SUB"], "mode": "sequential"},
        {"action": "pay_residual", "from": "collection", "to": "SUB"},
    ]
    accelerated = [
        {"action": "transfer", "from": "reserve", "to": "collection"},
        {"action": "pay_fee", "from": "collection", "to": fees},
        {"action": "pay_interest", "from": "collection", "to": ["A"]},
        {"action": "pay_principal", "from": "collection", "to": ["A"], "follow_schedule": False},
        {"action": "pay_interest", "from": "collection", "to": ["B"]},
        {"action": "pay_principal", "from": "collection", "to": ["B", "SUB"], "follow_schedule": False},
        {"action": "pay_residual", "from": "collection", "to": "SUB"},
    ]
    return Deal.model_validate({
        "deal": {"name": f"SYNTHETIC-{n_loans}", "cutoff_date": cutoff, "closing_date": dt.date(2026, 7, 15),
                 "first_payment_date": dt.date(2026, 10, 26), "payment_frequency": "quarterly",
                 "expected_maturity": dt.date(2036, 7, 26), "legal_maturity": dt.date(2038, 7, 26),
                 "calendar": "NONE", "reference_rates": {"LPR1Y": 0.030}},
        "pools": [pool.model_dump()],
        "accounts": [{"name": "collection"},
                     {"name": "reserve", "kind": "reserve", "target": {"percent_of_notes": 0.01}}],
        "fees": [{"name": "trustee", "rate": 0.0005, "base": "note_balance"},
                 {"name": "servicer", "rate": 0.001, "base": "pool_balance"}],
        "tranches": [
            {"name": "A", "rank": 1, "balance": a, "coupon": {"kind": "fixed", "rate": 0.032}},
            {"name": "B", "rank": 2, "kind": "mezzanine", "balance": b, "coupon": {"kind": "fixed", "rate": 0.045}},
            {"name": "SUB", "rank": 3, "kind": "subordinate", "balance": round(total - a - b, 2)},
        ],
        "triggers": [{"name": "cumulative_defaults", "metric": "cumulative_default_ratio", "above": 0.12,
                      "effect": "accelerate"}],
        "waterfalls": {"normal": normal, "accelerated": accelerated},
    })
