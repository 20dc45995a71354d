"""Generate the synthetic static-pool history of the Shenzhen-model originator (deterministic).

The originator of ``deals/sz_pledge_2026_1.yaml`` (a 南山区 technology guarantee / micro-loan
lender) has no public loan-level history. This script invents one from **known curves**, so
that ``abs-engine static-pool`` can be checked against the truth (tests/test_staticpool.py):
every loan it made from January 2021 to December 2025, month by month up to June 2026 (the
as-of month), in the documented history format (docs/static-pool.md).

The truth (:data:`TRUE`):

* default hazard by loan age (monthly default rate, MDR, of the loans still outstanding,
  delinquent ones included): an SDA-like shape rising from 0 to 0.60% a month at month 9,
  flat to month 18, falling to 0.15% at month 30 and flat after (7.0% a year at the peak);
  a defaulting loan stops paying three months earlier and is 1-30, 31-60 and 61-90 days
  past due before it defaults at 90+ days (违约);
* full prepayment of current loans (after the month's scheduled payment): a monthly rate (SMM)
  rising from 0.2% at month 1 to 1.2% at month 6, flat after;
* delinquencies that cure: each month 1.5% of the current loans miss a payment; 70% of those
  pay it (and the month's instalment) the month after, the rest the month after that;
* recovery: each defaulted loan recovers a share of its defaulted balance drawn around 45%
  (normal, sd 15%, within 0-100%), 40% of it 6 months after the default and 60% 15 months
  after (mean lag 11.4 months).

Loans: 24 a month, 2-30 million元 (log-normal, median 6 million), 12, 24 or 36 months,
interest monthly (40%) or quarterly and the principal at maturity (按期付息到期还本, the common
form of IP-pledge micro-loans); IP type, industry and region drawn from the SZ
tape's categories. (With principal at maturity a loan's balance at default is its balance
outstanding, so the amount-weighted monthly default rate the analysis measures is the hazard
above; an amortising loan stops amortising when it stops paying, three months before it
defaults, and its amount-weighted default rate is higher than its hazard by that exposure at
default: docs/static-pool.md.) Written as a loan table
(``sz_loans.csv``: one row per loan) and its monthly performance (``sz_performance.csv``: one
row per loan and month), the two-file form of the history format. Run from the repository
root: ``python deals/tools/make_sz_static_pool.py [OUT_DIR]`` (default ``deals/history``);
the test regenerates both files and checks them byte for byte.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "history"
SEED = 20260630
#: First and last origination months, and the as-of month (the last month reported).
FIRST, LAST, AS_OF = (2021, 1), (2025, 12), (2026, 6)
LOANS_PER_MONTH = 24
LOANS = ["loan_id", "origination_date", "original_balance", "ip_type", "industry", "region", "term_months",
         "interest_frequency"]
PERFORMANCE = ["loan_id", "month", "balance", "days_past_due", "prepaid", "defaulted", "recovered"]
INDUSTRIES = ["new-generation IT", "biomedicine", "advanced manufacturing", "new energy", "digital creative"]
REGIONS = ["Nanshan", "Futian", "Bao'an", "Longgang"]
IP_TYPES = ["patent", "trademark", "copyright", "mixed"]


def mdr(age: np.ndarray | int) -> np.ndarray:
    """The true monthly default rate at each month of age."""
    a = np.asarray(age, dtype=np.float64)
    return np.interp(a, [0, 9, 18, 30], [0.0, 0.0060, 0.0060, 0.0015])


def smm(age: np.ndarray | int) -> np.ndarray:
    """The true monthly prepayment rate of current loans at each month of age."""
    a = np.asarray(age, dtype=np.float64)
    return np.interp(a, [1, 6], [0.002, 0.012])


#: The curves and rates the history is drawn from (docs/static-pool.md, the test).
TRUE = {"mdr": mdr, "smm": smm, "recovery_rate": 0.45, "recovery_lags": (6, 15), "recovery_split": (0.4, 0.6),
        "miss": 0.015, "cure_first_month": 0.7}


def _months(y: int, m: int) -> int:
    return y * 12 + m - 1


def _label(k: int) -> str:
    return f"{k // 12}-{k % 12 + 1:02d}"


def _num(x: float) -> str:
    """An amount as written: to the fen, without trailing zeros (0, 4758175.43, 5180000)."""
    return f"{round(x, 2):.2f}".rstrip("0").rstrip(".")


def generate(loans_per_month: int = LOANS_PER_MONTH, seed: int = SEED) -> tuple[list[list[object]], list[list[object]]]:
    """The loans (one row each) and their monthly performance."""
    rng = np.random.default_rng(seed)
    rows: list[list[object]] = []
    loans: list[list[object]] = []
    as_of = _months(*AS_OF)
    n = 0
    for origin in range(_months(*FIRST), _months(*LAST) + 1):
        for _ in range(loans_per_month):
            n += 1
            y, mo = divmod(origin, 12)
            day = int(rng.integers(1, 29))
            balance0 = float(np.clip(np.round(np.exp(rng.normal(np.log(6e6), 0.7)) / 1e4) * 1e4, 2e6, 3e7))
            term = int(rng.choice([12, 24, 36], p=[0.3, 0.4, 0.3]))
            monthly = bool(rng.random() < 0.4)  # interest monthly, else quarterly
            attrs = [str(rng.choice(IP_TYPES, p=[0.6, 0.2, 0.1, 0.1])), str(rng.choice(INDUSTRIES)),
                     str(rng.choice(REGIONS, p=[0.4, 0.25, 0.2, 0.15])), term, "monthly" if monthly else "quarterly"]
            sched = np.full(term + 1, balance0)
            sched[-1] = 0.0
            # the default month, drawn from the hazard by age (0: none within the term); a loan
            # defaulting in month tau pays nothing from tau - 3 on (1-30, 31-60, 61-90 days past
            # due, then 90+: default) unless it prepaid before
            tau = 0
            for a in range(1, term + 1):
                if rng.random() < mdr(a):
                    tau = a
                    break
            prep_draws = rng.random(term + 1)
            miss_draws = rng.random(term + 1)
            cure_draws = rng.random(term + 1)
            rec_share = float(np.clip(rng.normal(TRUE["recovery_rate"], 0.15), 0.0, 1.0))
            lid = f"SZH-{n:05d}"
            orig_date = f"{y}-{mo + 1:02d}-{day:02d}"
            bal = balance0
            late = 0  # months behind (a curing delinquency)
            defaulted_at = None
            defaulted_amount = 0.0
            loans.append([lid, orig_date, _num(balance0), *attrs])
            for a in range(1, term + 16):
                month = origin + a
                if month > as_of:
                    break
                if defaulted_at is not None:  # recoveries after the default
                    k = a - defaulted_at
                    rec = 0.0
                    for lag, part in zip(TRUE["recovery_lags"], TRUE["recovery_split"], strict=True):
                        if k == lag:
                            rec += round(rec_share * part * defaulted_amount, 2)
                    if rec:
                        rows.append([lid, _label(month), 0, 0, 0, 0, _num(rec)])
                    if k >= max(TRUE["recovery_lags"]):
                        break
                    continue
                if a > term:
                    break
                prepaid = defaulted = 0.0
                dpd = 0
                if tau and a >= tau - 3:  # on the way to default: pays nothing more
                    if a == tau:
                        defaulted = round(bal, 2)
                        defaulted_amount = defaulted
                        bal = 0.0
                        defaulted_at = a
                        dpd = 91
                    else:
                        dpd = 30 * (a - (tau - 3)) + 15
                else:
                    if late == 0 and prep_draws[a] < smm(a):  # a current loan prepays (after this month's payment)
                        prepaid = round(float(sched[a]), 2)
                        bal = 0.0
                    elif late == 0 and a < term and miss_draws[a] < TRUE["miss"]:
                        late = 1  # misses this month's payment
                        dpd = 15
                    elif late == 1 and cure_draws[a] >= TRUE["cure_first_month"] and a < term:
                        late = 2  # pays nothing this month either
                        dpd = 45
                    else:
                        late = 0  # pays what is due (its arrears too)
                    if late == 0 and not prepaid:
                        bal = float(sched[a])
                rows.append([lid, _label(month), _num(bal), dpd, _num(prepaid), _num(defaulted), 0])
                if bal == 0.0 and defaulted_at is None:
                    break
    return loans, rows


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main(out: Path = OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    loans, rows = generate()
    _write(out / "sz_loans.csv", LOANS, loans)
    _write(out / "sz_performance.csv", PERFORMANCE, rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
