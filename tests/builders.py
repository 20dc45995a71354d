"""Small deals built in code, and hand-built kernel programs (:func:`make`), for
hand-computed and property tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from abs_engine.model.deal import Deal
from abs_engine.waterfall import program as P

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


INF = float("inf")

# --- hand-built kernel programs ------------------------------------------------------


def step(op, src=0, dst=0, a=(), b=(), c=(), mode=0, follow=1, when=(-1, -1, 0, 10_000),
         limit=INF, fraction=1.0, target=-1.0, share=1.0, lists=None):
    ia = [0] * P.N_IARG
    ia[P.I_SRC], ia[P.I_DST], ia[P.I_MODE], ia[P.I_FOLLOW] = src, dst, mode, follow
    for (off, ln), items in (((P.I_A_OFF, P.I_A_LEN), a), ((P.I_B_OFF, P.I_B_LEN), b), ((P.I_C_OFF, P.I_C_LEN), c)):
        ia[off], ia[ln] = len(lists), len(items)
        lists.extend(items)
    ia[P.I_WHEN_TRIG], ia[P.I_WHEN_NOT_TRIG], ia[P.I_WHEN_FROM], ia[P.I_WHEN_BEFORE] = when
    return P.OPCODES[op], ia, [limit, fraction, target, share]


def make(steps, *, T=1, coll=None, bal0=(100.0,), rate=0.0, accr=1.0, fees=(), acct0=(0.0,), res=None,
         triggers=(), ext=None, sched=None, carry=None, sfint=None, pool_end=None, pool_start=None,
         states=None, external=None, fail=None, due=None):
    """Build KernelArgs for one scenario. ``steps`` is a list of (op, kwargs);
    ``states`` optionally gives the step lists of states 1 and 2. ``external`` flags
    support providers among the accounts, ``fail`` gives the period from which each
    account pays nothing, ``due`` the balance above which principal is due (default:
    the schedule)."""
    lists: list[int] = []
    ops, ias, fas, seg = [], [], [], [0]
    for group in [steps, *(states or [steps, steps])]:
        for op, kw in group:
            o, ia, fa = step(op, lists=lists, **kw)
            ops.append(o), ias.append(ia), fas.append(fa)
        seg.append(len(ops))
    K, A = len(bal0), len(acct0)
    coll = np.zeros((1, T, 1)) if coll is None else np.asarray(coll, dtype=float).reshape(1, T, -1)
    trg_i = np.zeros((len(triggers), P.N_TRG), dtype=np.int32)
    thr = np.zeros(len(triggers))
    for j, (metric, tranches, above, t_thr, consec, curable, effect) in enumerate(triggers):
        trg_i[j] = [metric, len(lists), len(tranches), 0, above, consec, curable, effect]
        lists.extend(tranches)
        thr[j] = t_thr
    res_par = np.zeros((A, P.N_RES))
    res_par[:, P.R_CAP] = INF
    for acc, par in (res or {}).items():
        res_par[acc] = par
    args = P.KernelArgs(
        op=np.array(ops, dtype=np.int32), iarg=np.array(ias, dtype=np.int32).reshape(-1, P.N_IARG), farg=np.array(fas, dtype=float).reshape(-1, P.N_FARG),
        ilist=np.array(lists or [0], dtype=np.int32), seg=np.array(seg, dtype=np.int32),
        bal0=np.array(bal0, dtype=float),
        carry=np.array(carry if carry is not None else [1] * K, dtype=np.int32),
        sfint=np.array(sfint if sfint is not None else [0] * K, dtype=np.int32),
        rate=np.full((1, T, K), rate), accr=np.full((T, K), accr),
        sched=np.zeros((T, K)) if sched is None else np.asarray(sched, dtype=float),
        fee_fixed=np.array([f[0] for f in fees], dtype=float), fee_rate=np.array([f[1] for f in fees], dtype=float),
        fee_cap=np.array([f[2] if len(f) > 2 else INF for f in fees], dtype=float),
        fee_base=np.array([f[3] if len(f) > 3 else 0 for f in fees], dtype=np.int32),
        fee_carry=np.array([f[4] if len(f) > 4 else 1 for f in fees], dtype=np.int32),
        yf=np.full(T, accr), acct0=np.array(acct0, dtype=float), res_par=res_par,
        acct_ext=np.array(external if external is not None else [0] * A, dtype=np.int32),
        acct_fail=np.array([fail if fail is not None else [T] * A], dtype=np.int32),
        due=np.ascontiguousarray(np.zeros((T, K)) if due is None and sched is None
                                 else np.asarray(due if due is not None else sched, dtype=float)),
        coll=np.ascontiguousarray(coll), src_acct=np.zeros(coll.shape[2], dtype=np.int32),
        pool_start=np.full((1, T), 0.0) if pool_start is None else np.asarray(pool_start, dtype=float).reshape(1, T),
        pool_end=np.full((1, T), 0.0) if pool_end is None else np.asarray(pool_end, dtype=float).reshape(1, T),
        trg_i=trg_i, trg_thr=thr, ext=np.zeros((1, T, len(triggers))) if ext is None else np.asarray(ext, dtype=float).reshape(1, T, -1),
    )
    return args.allocate_outputs()
