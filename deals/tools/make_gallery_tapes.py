"""Generate the synthetic tapes of three gallery deals (deterministic).

* ``deals/zgc_ip_lease_2022_1.yaml`` — 中信建投-中关村科技租赁2022年第1期知识产权资产支持专项计划
  (专精特新): LPR-linked sale-and-leaseback (售后回租) leases of Chaoyang-district SMEs' patents;
* ``deals/wenke_lease_2019_1.yaml`` — 第一创业-文科租赁一期资产支持专项计划: finance leases
  (售后回租) on 51 items of IP;
* ``deals/biopharma_royalty_2000.yaml`` — a single-drug royalty deal in the style of
  BioPharma Royalty Trust (2000).

The loan-level data of these deals are not public. The tapes match the published totals
that exist (issue sizes, the 51 IP items of 文科一期) and are otherwise invented; every
invented parameter is listed, with the published figures and their sources, in the deal's
README (``deals/<deal>.md``). Run from the repository root:
``python deals/tools/make_gallery_tapes.py [OUT_DIR]`` (default ``deals/tapes``).
tests/test_gallery.py regenerates the tapes into a temporary directory and checks that
they equal the committed files byte for byte.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

TAPES = Path(__file__).resolve().parent.parent / "tapes"


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _split(total: float, weights: np.ndarray) -> list[float]:
    """``total`` split by ``weights`` into amounts in cents that add up to it exactly."""
    cents = np.floor(weights / weights.sum() * round(total * 100)).astype(np.int64)
    cents[-1] += round(total * 100) - int(cents.sum())
    return [int(c) / 100 for c in cents]


def _quarter_dates(first: dt.date, n: int) -> list[dt.date]:
    out = []
    for k in range(n):
        y, m = divmod(first.month - 1 + 3 * k, 12)
        out.append(dt.date(first.year + y, m + 1, first.day))
    return out


def _patent_id(rng: np.random.Generator, year_lo: int, year_hi: int, kind: str) -> str:
    """A CNIPA-style number: ZL + filing year + type digit (1 invention, 2 utility model) + serial."""
    digit = "1" if kind == "invention" else "2"
    return f"ZL{int(rng.integers(year_lo, year_hi + 1))}{digit}{int(rng.integers(1_000_000, 9_999_999)):07d}"


# --------------------------------------------------------------------------- 中关村科技租赁 2022-1


def zgc_2022_1(out: Path) -> str:
    """12 SMEs (assumed), one sale-and-leaseback (售后回租) of 2-5 of their own patents each,
    LPR-linked (1-year LPR + a spread of 1.5-2.5%, reset each anniversary of the lease start,
    15 June), quarterly equal rents on the 15th of Mar/Jun/Sep/Dec from September 2022. Three
    groups of lease terms (4, 6 and 8 rents) give the pool the profile the notes need: class A
    (0.73亿) due June 2023, class B (0.28亿) December 2023. Per-quarter rent totals of the
    groups are assumptions (元): 4-rent leases 4.7M, 6-rent 11.3M, 8-rent 3.5M (114.6M of
    rents at the rates of the cut-off date); each lease's principal is the present value of
    its rents at its rate. Deposits 5% of the principal, held by the trust; 留购价 100元;
    appraised value of the leased patents 1.25 x the principal."""
    rng = np.random.default_rng(20220810)
    industries = ["new-generation IT", "integrated circuits", "biomedicine", "smart manufacturing",
                  "new materials", "energy saving", "digital media", "artificial intelligence",
                  "medical devices", "software", "aerospace", "new energy vehicles"]
    n_sme = 12
    quarters = [4] * 3 + [6] * 6 + [8] * 3
    per_quarter = {4: 4_700_000.0, 6: 11_300_000.0, 8: 3_500_000.0}
    rents: list[float] = [0.0] * n_sme
    for q, total in per_quarter.items():
        idx = [i for i in range(n_sme) if quarters[i] == q]
        for i, f in zip(idx, _split(total, rng.uniform(0.6, 1.4, size=len(idx))), strict=True):
            rents[i] = f
    lpr = 0.037  # 1-year LPR of 20 July 2022
    first = dt.date(2022, 9, 15)
    rows = []
    for i in range(n_sme):
        spread = round(float(rng.uniform(0.015, 0.025)), 4)
        rate = lpr + spread
        r = rate / 4
        principal = round(rents[i] * (1.0 - (1.0 + r) ** -quarters[i]) / r, 2)
        n_pat = int(rng.integers(2, 6))
        pd_ = round(float(rng.uniform(0.008, 0.03)), 4)
        rows.append([f"ZGC-LEASE-{i + 1:02d}", f"Chaoyang SME {i + 1:02d}", f"{principal:.2f}", f"{rate:.4f}", "LPR1Y",
                     f"{spread:.4f}", "2022-06-15", first.isoformat(), _quarter_dates(first, quarters[i])[-1].isoformat(),
                     "quarterly", "equal_rent", f"{0.05 * principal:.2f}", "100", "patent", n_pat,
                     f"{1.25 * principal:.2f}", industries[i], "Chaoyang, Beijing", pd_])
    _write(out / "zgc_2022_1_leases.csv",
           ["lease_id", "lessee", "balance", "rate", "reference", "spread", "origination_date", "first_rent_date",
            "last_rent_date", "rent_frequency", "schedule", "deposit", "purchase_option", "ip_type", "ip_count",
            "collateral_value", "industry", "region", "pd"], rows)
    return f"zgc_2022_1: {len(rows)} leases"


# --------------------------------------------------------------------------- 文科租赁一期


def wenke_2019_1(out: Path) -> str:
    """51 finance leases (售后回租), one per leased IP item (published: 51 items — invention
    patents, utility models and copyrights). Assumed: 17 lessees; lease principal 7.33亿 in
    all at the cut-off date (the issue size); fixed lease rates 6.0-8.5% p.a.; leases started
    15 December 2018, equal quarterly rents (等额租金) on the 15th of Mar/Jun/Sep/Dec from March
    2019, 8 to 12 rents; deposits (保证金) 5% of the principal, kept by the lessor; upfront fee
    (手续费) 1% of the principal, paid at the lease start (no pool cash flow); 留购价 100元;
    appraised value of the leased IP 1.25 x the principal."""
    rng = np.random.default_rng(20190328)
    n_leases, n_lessees = 51, 17
    # IP items: 30 copyrights, 14 invention patents, 7 utility models (the split is assumed)
    ip_types = ["copyright"] * 30 + ["patent"] * 21
    rng.shuffle(ip_types)
    industries = ["performing arts", "film and TV production and distribution", "information technology",
                  "digital publishing"]
    lessee_of = np.sort(np.concatenate([np.arange(n_lessees), rng.integers(0, n_lessees, size=n_leases - n_lessees)]))
    lessee_industry = [industries[int(rng.integers(0, len(industries)))] for _ in range(n_lessees)]
    principal = _split(733_000_000.0, rng.lognormal(0.0, 0.5, size=n_leases))
    first = dt.date(2019, 3, 15)
    rows = []
    for j in range(n_leases):
        i = int(lessee_of[j])
        rate = round(float(rng.uniform(0.060, 0.085)), 4)
        n = int(rng.integers(8, 13))
        last = _quarter_dates(first, n)[-1]
        pd_ = round(float(rng.uniform(0.005, 0.025)), 4)
        p = principal[j]
        rows.append([f"WK-LEASE-{j + 1:02d}", f"Beijing cultural enterprise {i + 1:02d}", f"{p:.2f}", rate,
                     "2018-12-15", first.isoformat(), last.isoformat(), "quarterly", "equal_rent",
                     f"{0.05 * p:.2f}", f"{0.01 * p:.2f}", "100", ip_types[j], f"{1.25 * p:.2f}",
                     lessee_industry[i], "Beijing", pd_])
    _write(out / "wenke_2019_1_leases.csv",
           ["lease_id", "lessee", "balance", "rate", "origination_date", "first_rent_date", "last_rent_date",
            "rent_frequency", "schedule", "deposit", "upfront_fee", "purchase_option", "ip_type", "collateral_value",
            "industry", "region", "pd"], rows)
    return f"wenke_2019_1: {n_leases} leases, {n_lessees} lessees"


# --------------------------------------------------------------------------- BioPharma-style royalty


def biopharma_2000(out: Path) -> str:
    """One royalty stream: the trust's share of the royalty a single licensee pays on one
    drug, quarterly at each quarter end from September 2000 to June 2006. Assumed: USD 6.0M
    a quarter at the start, falling 5% a year (a maturing drug); both licensed patents
    expire in June 2008, after the notes' legal final maturity."""
    licences = [["BRT-ROYALTY", "Single licensee (modelled on Bristol-Myers Squibb)", "6000000.00", "quarterly",
                 "2000-09-30", "2006-06-30", -0.05, 0, "pharmaceuticals (HIV antiretroviral)", "United States",
                 0.0005]]
    # the two US applications the licence rests on (serial numbers as published)
    patents = [["US06/911200", "invention", "2008-06-24", 0, "paid"],
               ["US06/942686", "invention", "2008-06-24", 0, "paid"]]
    links = [["BRT-ROYALTY", "US06/911200", "0.500000"], ["BRT-ROYALTY", "US06/942686", "0.500000"]]
    _write(out / "biopharma_2000_licences.csv",
           ["licence_id", "licensee", "fee", "fee_frequency", "first_fee_date", "last_fee_date", "escalation",
            "upfront_fee", "industry", "region", "pd"], licences)
    _write(out / "biopharma_2000_patents.csv",
           ["patent_id", "type", "expiry_date", "appraised_value", "annual_fee_status"], patents)
    _write(out / "biopharma_2000_licence_patents.csv", ["licence_id", "patent_id", "share"], links)
    return "biopharma_2000: 1 licence, 2 patents"


def main(out: Path = TAPES) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    return [zgc_2022_1(out), wenke_2019_1(out), biopharma_2000(out)]


if __name__ == "__main__":
    for line in main(Path(sys.argv[1]) if len(sys.argv) > 1 else TAPES):
        print(line)
