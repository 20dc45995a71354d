"""Generate the synthetic tapes of deals/pudong_licence_2020.yaml (deterministic).

The real loan-level data of the Pudong patent-licence ABS are not public. These tapes
match its published totals — 9 licensee SMEs, 60 patents, two years of quarterly
licence fees — and are otherwise invented. Run from the repository root:
``python deals/tools/make_pudong_tapes.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tapes"
rng = np.random.default_rng(20200316)

INDUSTRIES = ["integrated circuits", "biomedicine", "artificial intelligence", "new materials", "medical devices",
              "software", "new energy", "robotics", "semiconductor equipment"]
licensees = [f"Pudong SME {i + 1:02d}" for i in range(9)]
# 60 patents: each SME contributes its own (6-8 each); mix of invention and utility-model patents
counts = [7, 7, 7, 7, 6, 6, 6, 7, 7]
assert sum(counts) == 60
patents, owner = [], []
for i, n in enumerate(counts):
    for _ in range(n):
        pid = f"ZL{2014 + int(rng.integers(0, 5))}1{int(rng.integers(1_000_000, 9_999_999)):07d}"
        kind = "invention" if rng.random() < 0.6 else "utility_model"
        granted = dt.date(2015 + int(rng.integers(0, 4)), int(rng.integers(1, 13)), 1)
        term = 20 if kind == "invention" else 10
        patents.append((pid, kind, dt.date(granted.year + term, granted.month, 1), round(float(rng.uniform(0.8, 4.0)) * 1e6, -3)))
        owner.append(i)

# 11 licences: SMEs 1 and 5 hold two licences each (second licence on part of the same patents)
licences = []
links = []
total_fees_target = 40_000_000.0  # scheduled fees over 8 quarters, above the 38M issuance
weights = rng.uniform(0.6, 1.4, size=11)
weights /= weights.sum()
lic_owner = [0, 0, 1, 2, 3, 4, 4, 5, 6, 7, 8]
for j, i in enumerate(lic_owner):
    fee = round(total_fees_target * weights[j] / 8, 2)
    licences.append((f"PD-LIC-{j + 1:02d}", licensees[i], fee, INDUSTRIES[i], round(float(rng.uniform(0.01, 0.04)), 4)))
    own = [k for k, o in enumerate(owner) if o == i]
    if lic_owner.count(i) == 2 and lic_owner.index(i) != j:
        own = own[: len(own) // 2 + 1]
    raw = rng.uniform(0.5, 1.5, size=len(own))
    shares = np.round(raw / raw.sum(), 6)
    shares[-1] = round(1.0 - shares[:-1].sum(), 6)
    for k, sh in zip(own, shares, strict=True):
        links.append((f"PD-LIC-{j + 1:02d}", patents[k][0], float(sh)))

OUT.mkdir(exist_ok=True)
with open(OUT / "pudong_licences.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["licence_id", "licensee", "fee", "fee_frequency", "first_fee_date", "last_fee_date", "escalation",
                "upfront_fee", "industry", "region", "pd"])
    for lid, who, fee, ind, pd in licences:
        w.writerow([lid, who, f"{fee:.2f}", "quarterly", "2020-06-15", "2022-03-15", 0, 0, ind, "Pudong", pd])
with open(OUT / "pudong_patents.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["patent_id", "type", "expiry_date", "appraised_value", "annual_fee_status"])
    for pid, kind, exp, val in patents:
        w.writerow([pid, kind, exp.isoformat(), f"{val:.0f}", "prepaid"])
with open(OUT / "pudong_licence_patents.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["licence_id", "patent_id", "share"])
    for row in links:
        w.writerow([row[0], row[1], f"{row[2]:.6f}"])
print(f"{len(licences)} licences, {len(patents)} patents, {len(links)} links")
