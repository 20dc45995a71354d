"""The mutation operators: small, meaningful changes to the money logic, each a wrong rule a
developer could plausibly write (docs/validation.md, "Mutation testing").

Each mutant is a set of exact text replacements (``old`` must occur exactly once in its
file). A change to the waterfall is **paired**: the same wrong rule in the Cython kernel
(``abs_engine/_waterfall.pyx``) and in its reference twin (``abs_engine/waterfall/reference.py``),
since a change to one alone is caught at once by the tests that require the two to agree.
The support layers' scalar twin (``abs_engine/support/_layers_ref.py``) shares nothing with
the vectorised layers beyond the model, so a change to them is a single change too (caught
by the tests that require the two to agree, as well as by the hand-computed ones).
Everything else is a single change to one module.

``tests`` names the test files run against the mutant (with ``-x``); ``python
mutation/run.py`` re-runs every survivor against the whole suite before calling it a
survivor.
"""

from __future__ import annotations

from dataclasses import dataclass

PYX = "abs_engine/_waterfall.pyx"
REF = "abs_engine/waterfall/reference.py"
COMPILE = "abs_engine/waterfall/compile.py"
PLEDGE = "abs_engine/pools/pledge.py"
LAYERS = "abs_engine/support/layers.py"
ANALYTICS = "abs_engine/analytics.py"
DATES = "abs_engine/dates.py"
RESULTS = "abs_engine/results.py"

WATERFALL_TESTS = (
    "tests/test_waterfall_steps.py", "tests/test_boundaries.py", "tests/test_flagship_spreadsheet.py",
    "tests/test_properties.py", "tests/test_edges.py", "tests/test_support_deal_level.py",
    "tests/test_conservation_check.py", "tests/test_cleanup_call.py", "tests/test_golden_published.py",
    "tests/test_day_counts.py",
)
POOL_TESTS = (
    "tests/test_pledge_pool.py", "tests/test_flagship_spreadsheet.py", "tests/test_golden_published.py",
    "tests/test_edges.py", "tests/test_support_layers.py", "tests/test_properties.py",
)
SUPPORT_TESTS = ("tests/test_support_layers.py", "tests/test_support_wiring.py", "tests/test_flagship_spreadsheet.py")
ANALYTICS_TESTS = ("tests/test_analytics.py", "tests/test_day_counts.py", "tests/test_golden_treasury.py",
                   "tests/test_golden_published.py")
CHECK_TESTS = ("tests/test_conservation_check.py", "tests/test_conservation_tolerance.py", "tests/test_support_wiring.py")


@dataclass(frozen=True)
class Edit:
    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Mutant:
    id: str
    area: str  # waterfall / trigger / reserve / fees / support / pool / compile / analytics / check
    what: str  # the wrong rule, in words
    edits: tuple[Edit, ...]
    tests: tuple[str, ...]

    @property
    def kernel(self) -> bool:
        """Needs a rebuild of the kernel."""
        return any(e.path == PYX for e in self.edits)


def paired(id: str, area: str, what: str, ref: tuple[str, str], pyx: tuple[str, str],
           tests: tuple[str, ...] = WATERFALL_TESTS) -> Mutant:
    """The same wrong rule in the reference twin and the kernel."""
    return Mutant(id, area, what, (Edit(REF, *ref), Edit(PYX, *pyx)), tests)


def single(id: str, area: str, what: str, path: str, old: str, new: str, tests: tuple[str, ...]) -> Mutant:
    return Mutant(id, area, what, (Edit(path, old, new),), tests)


MUTANTS: tuple[Mutant, ...] = (
    # --- triggers -------------------------------------------------------------------------------
    paired("trigger-below-inclusive", "trigger", "a `below` threshold breached at equality",
           ("else value < a.trg_thr[j]", "else value <= a.trg_thr[j]"),
           ("else value < g.thr", "else value <= g.thr")),
    paired("trigger-above-inclusive", "trigger", "an `above` threshold breached at equality",
           ("breach = value > a.trg_thr[j]", "breach = value >= a.trg_thr[j]"),
           ("breach = value > g.thr", "breach = value >= g.thr")),
    paired("oc-opening-balance", "trigger", "the OC ratio on the pool's opening balance, not its closing one",
           ("return float(a.pool_end[s, t]) / float(notes)", "return float(a.pool_start[s, t]) / float(notes)"),
           ("return c.pool_end_st / total", "return c.pool_start[c.st_cur] / total")),
    paired("consecutive-off-by-one", "trigger", "a trigger fires one breach after its `consecutive` count",
           ("if st.count[j] >= g[G_CONSECUTIVE]:", "if st.count[j] > g[G_CONSECUTIVE]:"),
           ("if c.count[j] >= g.consecutive:", "if c.count[j] > g.consecutive:")),
    paired("never-cures", "trigger", "a curable trigger never cures",
           ("elif g[G_CURABLE]:", "elif False:"), ("elif g.curable:", "elif False:")),
    paired("first-state-wins", "trigger", "the first fired trigger sets the state, not the most severe",
           ("if st.fired[j] and g[G_EFFECT] > state:", "if st.fired[j] and state == 0:"),
           ("if c.is_fired[j] and g.effect > state:", "if c.is_fired[j] and state == 0:")),
    paired("dscr-whole-balance", "trigger", "DSCR counts the whole balance as principal due",
           ("due += st.int_due[k] + max(st.bal[k] - a.due[t, k], 0.0)", "due += st.int_due[k] + st.bal[k]"),
           ("total += c.int_due[k] + dmax(c.bal[k] - c.due[c.t_cur * c.K + k], 0.0)", "total += c.int_due[k] + c.bal[k]")),
    paired("coverage-on-balance", "trigger", "interest coverage on the account's balance, not the period's deposits",
           ("due += st.int_due[k]\n        return float(a.a_in[s, t, g[G_ACCOUNT]])",
            "due += st.int_due[k]\n        return float(st.acct[g[G_ACCOUNT]])"),
           ("total += c.int_due[g.lst[i]]\n        return c.a_in_st[g.account]",
            "total += c.int_due[g.lst[i]]\n        return c.acct[g.account]")),
    paired("shortfall-metric-current-due", "trigger", "the interest-shortfall metric on this period's due, not the carried shortfall",
           ("short += st.carry_int[k]", "short += st.int_due[k]"),
           ("total += c.carry_int[g.lst[i]]", "total += c.int_due[g.lst[i]]")),
    paired("when-before-inclusive", "waterfall", "`when.before` includes its own period",
           ("return ia[I_WHEN_FROM] <= t < ia[I_WHEN_BEFORE]", "return ia[I_WHEN_FROM] <= t <= ia[I_WHEN_BEFORE]"),
           ("return p.t_from <= t < p.t_before", "return p.t_from <= t <= p.t_before")),
    # --- principal ------------------------------------------------------------------------------
    paired("pro-rata-by-balance", "waterfall", "pro-rata principal weighted by balance, not by the amount payable",
           ("weights = [_principal_payable(a, st, k, t, follow) for k in la]", "weights = [st.bal[k] for k in la]"),
           ("            w = payable(c, k, floor)\n", "            w = c.bal[k]\n")),
    paired("sequential-reversed", "waterfall", "sequential principal pays the list from its end (junior first)",
           ("            left = pay\n            for k in la:", "            left = pay\n            for k in reversed(la):"),
           ("        left = pay\n        for i in range(na):\n            k = p.la[i]",
            "        left = pay\n        for i in range(na):\n            k = p.la[na - 1 - i]")),
    paired("schedule-ignored", "waterfall", "principal ignores the scheduled balances",
           ("floor = a.sched[t, k] if follow else 0.0", "floor = 0.0"),
           ("(c.sched_t if p.follow else c.no_floor)", "(c.no_floor)")),
    paired("pool-target-on-opening", "waterfall", "an OC target on the pool's opening balance",
           ("total = min(total, max(group - target * a.pool_end[s, t], 0.0))",
            "total = min(total, max(group - target * a.pool_start[s, t], 0.0))"),
           ("total = dmin(total, dmax(group - p.target * c.pool_end_st, 0.0))",
            "total = dmin(total, dmax(group - p.target * c.pool_start[c.st_cur], 0.0))")),
    paired("no-writedown", "waterfall", "a balance left after the last period is not written off",
           ("            if t == T - 1:\n                for k in range(K):\n                    a.t_wd",
            "            if False:\n                for k in range(K):\n                    a.t_wd"),
           ("                if last:\n                    c.t_wd[ok + k] = bal[k]",
            "                if False:\n                    c.t_wd[ok + k] = bal[k]")),
    # --- interest and fees ----------------------------------------------------------------------
    paired("interest-on-original-balance", "fees", "interest due on the original balance, not the opening one",
           ("due = st.bal[k] * r + st.carry_int[k]", "due = a.bal0[k] * r + st.carry_int[k]"),
           ("due = x * r + carry_int[k]", "due = c.bal0[k] * r + carry_int[k]")),
    paired("no-interest-on-shortfall", "fees", "carried interest earns no interest where it should",
           ("                    due += st.carry_int[k] * r", "                    due += 0.0"),
           ("                    due += carry_int[k] * r", "                    due += 0.0")),
    paired("shortfall-not-carried", "fees", "unpaid interest is forfeited instead of carried",
           ("st.carry_int[k] = st.int_due[k] if a.carry[k] else 0.0", "st.carry_int[k] = 0.0"),
           ("if c.carry[k]:  # (a tranche", "if False:  # (a tranche")),
    paired("fee-cap-ignored", "fees", "a fee's cap is ignored",
           ("cur = min(a.fee_fixed[f] + a.fee_rate[f] * base * a.yf[t], a.fee_cap[f])",
            "cur = (a.fee_fixed[f] + a.fee_rate[f] * base * a.yf[t])"),
           ("x = dmin(c.fee_fixed[f] + c.fee_rate[f] * base[c.fee_base[f]] * yf, c.fee_cap[f])",
            "x = (c.fee_fixed[f] + c.fee_rate[f] * base[c.fee_base[f]] * yf)")),
    paired("fees-after-notes-repaid", "fees", "fees keep accruing after the notes are repaid",
           ("a.fee_cap[f]) if notes > 0.0 else 0.0", "a.fee_cap[f])"),
           ("            if n > 0.0:\n                for f in range(F):", "            if True:\n                for f in range(F):")),
    paired("fee-note-base-original", "fees", "a fee on the note balance accrues on the original notes",
           ("                    base = notes\n", "                    base = orig_notes\n"),
           ("base[BASE_NOTES] = n", "base[BASE_NOTES] = c.orig_notes")),
    paired("fee-not-carried", "fees", "unpaid fees are forfeited instead of carried",
           ("st.fee_carry[f] = st.fee_due[f] if a.fee_carry[f] else 0.0", "st.fee_carry[f] = 0.0"),
           ("if c.fee_carry[f]:  # (a fee", "if False:  # (a fee")),
    paired("dues-split-equally", "fees", "a shortfall of fees or interest split equally, not pro rata to what is due",
           ("part = dues[i] if pay >= total else pay * dues[i] / total", "part = dues[i] if pay >= total else pay / len(la)"),
           ("part = dues[k] if pay >= total else pay * dues[k] / total", "part = dues[k] if pay >= total else pay / na")),
    paired("limit-fraction-ignored", "waterfall", "a step's `limit.fraction` is ignored",
           ("return min(available, a.farg[step, F_LIMIT_AMOUNT], a.farg[step, F_LIMIT_FRACTION] * available)",
            "return min(available, a.farg[step, F_LIMIT_AMOUNT])"),
           ("return dmin(dmin(avail, p.limit), p.fraction * avail)", "return dmin(avail, p.limit)")),
    paired("limit-amount-ignored", "waterfall", "a step's `limit.amount` is ignored",
           ("return min(available, a.farg[step, F_LIMIT_AMOUNT], a.farg[step, F_LIMIT_FRACTION] * available)",
            "return min(available, a.farg[step, F_LIMIT_FRACTION] * available)"),
           ("return dmin(dmin(avail, p.limit), p.fraction * avail)", "return dmin(avail, p.fraction * avail)")),
    paired("residual-share-ignored", "waterfall", "`pay_residual` pays everything whatever its share",
           ("pay = _cap(a, step, st.acct[src]) * a.farg[step, F_SHARE]", "pay = _cap(a, step, st.acct[src])"),
           ("cdef double pay = cap(p, c.acct[p.src]) * p.share", "cdef double pay = cap(p, c.acct[p.src])")),
    # --- reserves -------------------------------------------------------------------------------
    paired("reserve-floor-ignored", "reserve", "a reserve target's floor is ignored",
           ("    target = max(target, p[R_FLOOR])\n", "    target = target\n"),
           ("    target = dmax(target, r[R_FLOOR])\n", "    target = target\n")),
    paired("reserve-cap-ignored", "reserve", "a reserve target's cap is ignored",
           ("    return min(target, p[R_CAP])", "    return target"), ("    return dmin(target, r[R_CAP])", "    return target")),
    paired("reserve-kept-in-last-period", "reserve", "the reserve target stays up in the last period",
           ("    if last or notes <= 0.0:", "    if notes <= 0.0:"), ("    if last or n <= 0.0:", "    if n <= 0.0:")),
    paired("reserve-kept-after-notes", "reserve", "the reserve target stays up once the notes are repaid",
           ("    if last or notes <= 0.0:", "    if last:"), ("    if last or n <= 0.0:", "    if last:")),
    paired("reserve-pool-on-opening", "reserve", "a reserve's percent of the pool on its opening balance",
           ("p[R_PCT_POOL] * a.pool_end[s, t]", "p[R_PCT_POOL] * a.pool_start[s, t]"),
           ("r[R_PCT_POOL] * c.pool_end_st", "r[R_PCT_POOL] * c.pool_start[c.st_cur]")),
    paired("reserve-release-everything", "reserve", "release_reserve releases the whole balance, not the excess",
           ("excess = max(st.acct[src] - _reserve_target(a, st, src, s, t, last), 0.0)", "excess = st.acct[src]"),
           ("need = dmax(c.acct[p.src] - reserve_target(c, p.src, last), 0.0)", "need = c.acct[p.src]")),
    paired("reserve-fund-whole-target", "reserve", "fund_reserve adds the whole target, not the shortfall",
           ("need = max(_reserve_target(a, st, dst, s, t, last) - st.acct[dst], 0.0)",
            "need = _reserve_target(a, st, dst, s, t, last)"),
           ("need = dmax(reserve_target(c, p.dst, last) - c.acct[p.dst], 0.0)", "need = reserve_target(c, p.dst, last)")),
    paired("draw-ignores-cash-at-hand", "reserve", "draw_reserve draws the dues without counting the cash already there",
           ("need = max(need - st.acct[dst], 0.0)", "need = max(need, 0.0)"),
           ("return dmax(need - c.acct[p.dst], 0.0)", "return dmax(need, 0.0)")),
    # --- support providers ----------------------------------------------------------------------
    paired("support-reverse-order", "support", "support accounts drawn last first",
           ("    for acc in support:\n        if left <= 0.0:", "    for acc in reversed(support):\n        if left <= 0.0:"),
           ("        acc = p.lb[i]\n        use = dmin(left, c.acct[acc])", "        acc = p.lb[nb - 1 - i]\n        use = dmin(left, c.acct[acc])")),
    paired("reimburse-beyond-owed", "support", "reimburse_support pays the provider more than it is owed",
           ("pay = min(st.owed[dst], _cap(a, step, st.acct[src]))", "pay = _cap(a, step, st.acct[src])"),
           ("cdef double pay = dmin(c.owed[p.dst], cap(p, c.acct[p.src]))", "cdef double pay = cap(p, c.acct[p.src])")),
    paired("failed-provider-restored", "support", "a failed revolving provider gets its capacity back",
           ("if int(ia[I_MODE]) == 1 and t < a.acct_fail[s, dst]:", "if int(ia[I_MODE]) == 1:"),
           ("if p.mode == 1 and c.t_cur < c.fail_cur[p.dst]:", "if p.mode == 1:")),
    paired("failed-provider-pays", "support", "a failed provider keeps paying",
           ("  # a failed provider pays nothing from now on\n                    st.acct[acc] = 0.0",
            "  # a failed provider pays nothing from now on\n                    st.acct[acc] = st.acct[acc]"),
           ("                    if t >= fail_s[acc]:\n                        acct[acc] = 0.0",
            "                    if t >= fail_s[acc]:\n                        acct[acc] = acct[acc]")),
    # --- compile: the deal -> the program ---------------------------------------------------------
    single("coupon-floor-ignored", "compile", "a floating coupon's floor is ignored", COMPILE,
           "                r = np.maximum(r, c.floor)", "                r = r", WATERFALL_TESTS),
    single("coupon-cap-ignored", "compile", "a floating coupon's cap is ignored", COMPILE,
           "                r = np.minimum(r, c.cap)", "                r = r", WATERFALL_TESTS),
    single("coupon-below-zero", "compile", "a floating coupon below zero is not floored at zero", COMPILE,
           "rate[:, :, k] = np.maximum(r, 0.0)", "rate[:, :, k] = r", WATERFALL_TESTS),
    single("tranche-day-count-ignored", "compile", "a tranche's own day count is ignored", COMPILE,
           "accrual_fractions(sched, tr.day_count or deal.deal.day_count)", "accrual_fractions(sched, deal.deal.day_count)",
           WATERFALL_TESTS),
    single("schedule-row-late", "compile", "a scheduled balance applies a period after its date", COMPILE,
           "out[sched.period_of(r.date):] = r.balance", "out[sched.period_of(r.date) + 1:] = r.balance", WATERFALL_TESTS),
    single("bullet-late", "compile", "a bullet is payable a period after its expected maturity", COMPILE,
           "return np.where(np.arange(T) >= em, 0.0, tr.balance)", "return np.where(np.arange(T) > em, 0.0, tr.balance)",
           WATERFALL_TESTS),
    single("principal-due-late", "compile", "principal falls due a period after the expected maturity", COMPILE,
           "due[:, k] = np.where(np.arange(T) >= em, 0.0, INF)", "due[:, k] = np.where(np.arange(T) > em, 0.0, INF)",
           WATERFALL_TESTS),
    single("cdr-not-cumulative", "compile", "the cumulative default ratio counts only the period's defaults", COMPILE,
           'cum_defaults = np.cumsum(sum(pf.series["default_amount"] for pf in pools), axis=1)',
           'cum_defaults = sum(pf.series["default_amount"] for pf in pools)', WATERFALL_TESTS),
    single("reserve-floor-not-compiled", "compile", "the reserve floor is dropped when compiling", COMPILE,
           "rt.floor, INF if rt.cap is None else rt.cap]", "0.0, INF if rt.cap is None else rt.cap]", WATERFALL_TESTS),
    single("recovery-not-deposited", "compile", "disposal proceeds never reach the waterfall", COMPILE,
           'ps["prepayment"] + ps["recovery"] + ps["support_paid"]', 'ps["prepayment"] + ps["support_paid"]', WATERFALL_TESTS),
    single("support-not-deposited", "compile", "the layers' payments never reach the waterfall", COMPILE,
           'ps["prepayment"] + ps["recovery"] + ps["support_paid"]', 'ps["prepayment"] + ps["recovery"]', WATERFALL_TESTS),
    single("above-below-swapped", "compile", "`above` compiled as `below`", COMPILE,
           "1 if tg.above is not None else 0", "0 if tg.above is not None else 1", WATERFALL_TESTS),
    single("pool-end-is-start", "compile", "the program's closing pool balance is the opening one", COMPILE,
           'pool_end = sum(pf.series["balance_end"] for pf in pools)', 'pool_end = sum(pf.series["balance_start"] for pf in pools)',
           WATERFALL_TESTS),
    single("deal-act360-as-365", "compile", "the deal's ACT/360 accrues as ACT/365F", DATES,
           "DayCount.act360: ql.Actual360(),", "DayCount.act360: ql.Actual365Fixed(),", WATERFALL_TESTS),
    single("deal-actact-as-365", "compile", "the deal's ACT/ACT accrues as ACT/365F", DATES,
           "DayCount.actact: ql.ActualActual(ql.ActualActual.ISDA),", "DayCount.actact: ql.Actual365Fixed(),", WATERFALL_TESTS),
    # --- pools ----------------------------------------------------------------------------------
    single("mdr-linear", "pool", "the monthly default rate is CDR / 12", PLEDGE,
           "out[1:] = 1.0 - (1.0 - a) ** (1.0 / 12.0)", "out[1:] = a / 12.0", POOL_TESTS),
    single("haircut-ignored", "pool", "the disposal haircut is ignored", PLEDGE,
           "/ 12.0) * (1.0 - haircut[by_value])", "/ 12.0)", POOL_TESTS),
    single("decay-to-default", "pool", "the collateral value decays to the default month, not to the disposal", PLEDGE,
           "((m + lag[by_value])[:, None] / 12.0)", "((m + 0 * lag[by_value])[:, None] / 12.0)", POOL_TESTS),
    Mutant("recovery-early", "pool", "disposal proceeds arrive a month before the lag", (
        Edit(PLEDGE, "            else:\n                recovery[sidx, m + lag] += rec\n                loss[sidx, m + lag] += dsum - rec",
             "            else:\n                recovery[sidx, m + np.maximum(lag - 1, 0)] += rec\n"
             "                loss[sidx, m + np.maximum(lag - 1, 0)] += dsum - rec"),
    ), POOL_TESTS),
    single("recovery-uncapped", "pool", "proceeds are not capped at the defaulted amount", PLEDGE,
           "np.where(Bv > 0, np.minimum(1.0, value / Bv), 0.0)", "np.where(Bv > 0, value / Bv, 0.0)", POOL_TESTS),
    single("recovery-on-expected-balance", "pool", "a partial default's collateral covers the expected, not the contractual, balance",
           PLEDGE, "Bv = Bc[by_value]", "Bv = B[by_value]", POOL_TESTS),
    single("interest-before-default", "pool", "interest on the balance before the month's defaults", PLEDGE,
           "interest = Bp * (rp if", "interest = np.take(B, cols, axis=1) * (rp if", POOL_TESTS),
    single("annuity-as-equal-principal", "pool", "an annuity repays equal principal", PLEDGE,
           "ann = np.where(np.abs(rg) > 1e-14, Bg * rg / growth, Bg / np.maximum(ng, 1))", "ann = Bg / np.maximum(ng, 1)",
           POOL_TESTS),
    single("prepay-before-defaults-plain", "pool", "`applies_to: before_defaults` applies the SMM to what is left", PLEDGE,
           "on_left = np.where(mdr_m < 1.0, np.minimum(smm_m / (1.0 - mdr_m), 1.0), 1.0)", "on_left = smm_m", POOL_TESTS),
    single("periodic-interest-monthly", "pool", "a quarterly loan pays one month of interest", PLEDGE,
           "rp = r * (loans.freq[payers] / 12.0)\n    # (on an actual-days",
           "rp = r * (loans.freq[payers] * 0.0 + 1.0 / 12.0)\n    # (on an actual-days", POOL_TESTS),
    single("act360-basis-as-365", "pool", "the act360 interest basis divides by 365", PLEDGE,
           '"act360": 360.0}', '"act360": 365.0}', POOL_TESTS),
    # --- support layers (the scalar twin, support/_layers_ref.py, shares nothing with them) -------
    single("sharing-shares-equal", "support", "a sharing layer splits a loss equally, not by its shares", LAYERS,
           "_Entry(idx[n], float(a)) for n, a in r.items() if a > 0", "_Entry(idx[n], 1.0 / len(r)) for n, a in r.items() if a > 0",
           SUPPORT_TESTS),
    single("guarantee-share-full", "support", "a guarantee pays all of each default whatever its share", LAYERS,
           "plain = _Regime((_Entry(g, float(layer.share)),), 1.0 - float(layer.share))", "plain = _Regime((_Entry(g, 1.0),), 0.0)",
           SUPPORT_TESTS),
    single("capacity-ignored", "support", "a layer's capacity is ignored", LAYERS,
           'capacity=_inf(getattr(lim, "capacity", None)),', "capacity=np.inf,", SUPPORT_TESTS),
    single("per-asset-cap-ignored", "support", "a per-asset cap is ignored", LAYERS,
           'per_asset_cap=_inf(getattr(lim, "per_asset_cap", None)),', "per_asset_cap=np.inf,", SUPPORT_TESTS),
    single("annual-cap-ignored", "support", "an annual cap is ignored", LAYERS,
           'annual_cap=_inf(getattr(lim, "annual_cap", None)),', "annual_cap=np.inf,", SUPPORT_TESTS),
    single("capacity-basis-flipped", "support", "net and gross capacity swapped", LAYERS,
           'net=getattr(lim, "capacity_basis", "net") == "net",', 'net=getattr(lim, "capacity_basis", "net") != "net",',
           SUPPORT_TESTS),
    single("guarantee-delay-ignored", "support", "a guarantor pays at once, ignoring its delay", LAYERS,
           'g = add(layer.name, layer.name, "guarantee", layer, mode, layer.delay_months)',
           'g = add(layer.name, layer.name, "guarantee", layer, mode, 0)', SUPPORT_TESTS),
    single("after-disposal-pays-whole", "support", "a party paying after disposal pays the whole claim, not the loss", LAYERS,
           "            return 1.0 - rho\n", "            return 1.0 + 0.0 * rho\n", SUPPORT_TESTS),
    single("reguarantee-no-refund", "support", "a re-guarantor refunds nothing", LAYERS,
           "_Entry(g, float(layer.share), r, float(rg.share))", "_Entry(g, float(layer.share), r, 0.0)", SUPPORT_TESTS),
    single("timing-swapped", "support", "`on_default` and `after_disposal` swapped", LAYERS,
           '_MODE = {"on_default": ON_DEFAULT, "after_disposal": AFTER_DISPOSAL',
           '_MODE = {"on_default": AFTER_DISPOSAL, "after_disposal": ON_DEFAULT', SUPPORT_TESTS),
    # --- analytics conventions ------------------------------------------------------------------
    single("act360-as-365f", "analytics", "ACT/360 computed as ACT/365F", ANALYTICS,
           '    if key == "ACT/360":\n        return ql.Actual360()', '    if key == "ACT/360":\n        return ql.Actual365Fixed()',
           ANALYTICS_TESTS),
    single("thirty360-us", "analytics", "30/360 bond basis computed as 30/360 US", ANALYTICS,
           "    return ql.Thirty360(ql.Thirty360.BondBasis)", "    return ql.Thirty360(ql.Thirty360.USA)", ANALYTICS_TESTS),
    single("actact-isda-as-bond", "analytics", "ACT/ACT (ISDA) computed as ACT/ACT (bond)", ANALYTICS,
           "        return ql.ActualActual(ql.ActualActual.ISDA)", "        return ql.ActualActual(ql.ActualActual.Bond)",
           ANALYTICS_TESTS),
    single("semiannual-as-annual", "analytics", "semi-annual compounding computed as annual", ANALYTICS,
           '"semiannual": (ql.Compounded, ql.Semiannual),', '"semiannual": (ql.Compounded, ql.Annual),', ANALYTICS_TESTS),
    single("continuous-as-annual", "analytics", "continuous compounding computed as annual", ANALYTICS,
           '"continuous": (ql.Continuous, ql.Annual),', '"continuous": (ql.Compounded, ql.Annual),', ANALYTICS_TESTS),
    single("accrued-zero", "analytics", "accrued interest is nil", ANALYTICS,
           "    return 100.0 * cf.coupon_rate * frac", "    return 0.0 * frac", ANALYTICS_TESTS),
    single("clean-plus-accrued", "analytics", "clean price = dirty + accrued", ANALYTICS,
           ".npv(y)\n    return dirty - _accrued(cf, settlement, i) if clean else dirty",
           ".npv(y)\n    return dirty + _accrued(cf, settlement, i) if clean else dirty",
           ANALYTICS_TESTS),
    single("simple-stub-compounded", "analytics", "the simple stub compounds like the rest", ANALYTICS,
           "    g = a**w / b\n", "    g = 1.0 + 0.0 * (a**w / b)\n", ANALYTICS_TESTS),
    single("wal-360", "analytics", "WAL years counted in 360ths", ANALYTICS,
           "t = (cf._ords[i:] - settlement.toordinal()) / 365.0", "t = (cf._ords[i:] - settlement.toordinal()) / 360.0",
           ANALYTICS_TESTS),
    single("irr-semiannual", "analytics", "the IRR compounds semi-annually", ANALYTICS,
           'return _solve_yield(leg, p, "annual", "ACT/365F", _qd(settlement))',
           'return _solve_yield(leg, p, "semiannual", "ACT/365F", _qd(settlement))', ANALYTICS_TESTS),
    single("cash-multiple-per-100", "analytics", "the cash multiple ignores the face", ANALYTICS,
           "return float(cf.total[i:].sum()) / (p * cf.face / 100.0)", "return float(cf.total[i:].sum()) / p", ANALYTICS_TESTS),
    # --- the conservation check -------------------------------------------------------------------
    single("tolerance-x1e4", "check", "the conservation tolerance loosened 10,000-fold (the validator's 1e-6 -> 1e-2)", RESULTS,
           "CONSERVATION_EPS = float(np.finfo(np.float64).eps)", "CONSERVATION_EPS = float(np.finfo(np.float64).eps) * 1e4",
           CHECK_TESTS),
    single("tolerance-ops-x100", "check", "a hundred times the operations counted", RESULTS,
           "return 4 * (len(a.op) + len(a.ilist))", "return 400 * (len(a.op) + len(a.ilist))", CHECK_TESTS),
    single("scale-notes-only", "check", "the tolerance scaled on the notes alone", RESULTS,
           "        return max(parts)\n", "        return parts[0]\n", CHECK_TESTS),
    single("roll-forward-unchecked", "check", "note balances need not roll forward", RESULTS,
           "if np.abs(roll).max(initial=0.0) > tol:", "if False:", CHECK_TESTS),
    single("chain-unchecked", "check", "periods need not open where the previous closed", RESULTS,
           "if np.abs(between).max(initial=0.0) > tol:", "if False:", CHECK_TESTS),
    single("first-period-unchecked", "check", "the first period need not open at the deal's balances", RESULTS,
           "if np.abs(first).max(initial=0.0) > tol:", "if False:", CHECK_TESTS),
    single("collections-unchecked", "check", "pool collections and the waterfall's deposits are not reconciled", RESULTS,
           "        self._check_collections(tol)\n", "        pass\n", CHECK_TESTS),
    single("negative-balances-unchecked", "check", "negative balances pass", RESULTS,
           "if np.any(a.a_end < -tol) or np.any(a.t_bal_end < -tol):", "if False:", CHECK_TESTS),
    single("provider-capacity-unchecked", "check", "a provider may pay beyond its capacity", RESULTS,
           "raise ConservationError(\"a support provider paid beyond its capacity\")", "pass", CHECK_TESTS),
    single("repaid-not-an-outflow", "check", "repayments to providers are not counted as cash leaving the trust", RESULTS,
           "+ a.a_repaid.sum(axis=2)  # support providers repaid", "+ 0.0  # support providers repaid", CHECK_TESTS),
    single("run-unchecked", "check", "the engine returns a run without checking that it conserves cash",
           "abs_engine/engine.py", "        if check:\n            result.check_conservation()",
           "        if False:\n            result.check_conservation()",
           CHECK_TESTS),
    single("layers-unchecked", "check", "the risk-sharing layers' own check is skipped", RESULTS,
           "                    pf.layer_result.check(max(tol, 1e-6))", "                    pass", CHECK_TESTS),
)
