"""The compiled waterfall program and the kernel's argument bundle.

Shared by :mod:`abs_engine.waterfall.compile` (which fills it), the reference twin
(:mod:`abs_engine.waterfall.reference`) and the Cython kernel (:mod:`abs_engine._waterfall`).
The column constants below are the layout both backends read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

# opcodes -------------------------------------------------------------------------
OP_PAY_FEE = 1
OP_PAY_INTEREST = 2
OP_PAY_PRINCIPAL = 3
OP_FUND_RESERVE = 4
OP_RELEASE_RESERVE = 5
OP_DRAW_RESERVE = 6
OP_TRANSFER = 7
OP_PAY_RESIDUAL = 8
OP_REIMBURSE = 9
OP_REPAY_LIQUIDITY = 10

OPCODES = {
    "pay_fee": OP_PAY_FEE,
    "pay_interest": OP_PAY_INTEREST,
    "pay_principal": OP_PAY_PRINCIPAL,
    "fund_reserve": OP_FUND_RESERVE,
    "release_reserve": OP_RELEASE_RESERVE,
    "draw_reserve": OP_DRAW_RESERVE,
    "transfer": OP_TRANSFER,
    "pay_residual": OP_PAY_RESIDUAL,
    "reimburse_support": OP_REIMBURSE,
    "repay_liquidity": OP_REPAY_LIQUIDITY,
}

# integer operands of a step (iarg columns) ---------------------------------------
I_SRC = 0  # account paid from
I_DST = 1  # account / tranche / party index (op dependent)
I_A_OFF = 2  # list A: recipients (fees or tranches); draw_reserve: fees covered
I_A_LEN = 3
I_B_OFF = 4  # list B: support accounts; draw_reserve: tranches whose interest is covered
I_B_LEN = 5
I_C_OFF = 6  # list C: draw_reserve: tranches whose principal is covered
I_C_LEN = 7
I_MODE = 8  # pay_principal: 0 sequential, 1 pro rata; pay_residual: 0 tranche, 1 party;
# reimburse_support: 1 = the repayment restores the provider's capacity;
# repay_liquidity: 0 interest and fees then principal, 1 interest and fees only, 2 principal only
I_FOLLOW = 9  # pay_principal: 1 = respect scheduled balances
I_WHEN_TRIG = 10  # run only if this trigger has fired (-1: no condition)
I_WHEN_NOT_TRIG = 11  # run only if this trigger has not fired (-1: no condition)
I_WHEN_FROM = 12  # run only in periods >= this (0-based)
I_WHEN_BEFORE = 13  # run only in periods < this
N_IARG = 14

# float operands (farg columns) -----------------------------------------------------
F_LIMIT_AMOUNT = 0  # at most this amount (inf: no limit)
F_LIMIT_FRACTION = 1  # at most this share of the cash available at the step (1: no limit)
F_TARGET_POOL = 2  # pay_principal: target group balance as a share of pool balance (<0: none)
F_SHARE = 3  # pay_residual: share of the residual paid
N_FARG = 4

# fee bases ---------------------------------------------------------------------------
BASE_POOL = 0
BASE_NOTES = 1
BASE_ORIGINAL_NOTES = 2
# bases on the period's income (inc columns), not annualised: `rate` is a share of it
BASE_COLL_INTEREST = 3  # interest collections deposited
BASE_COLL_PRINCIPAL = 4  # principal collections deposited
BASE_COLL_ALL = 5  # both
BASE_TAXABLE = 6  # taxable income (VAT): interest and interest-like income
N_BASES = 7

# the period's income (inc columns): what the collection and tax bases read
C_INTEREST = 0
C_PRINCIPAL = 1
C_TAXABLE = 2
N_INC = 3

# liquidity facilities (liq_par columns; rows of the other accounts are zeros)
L_IS = 0  # 1.0: the account is a liquidity facility
L_RATE = 1  # interest p.a. on the amount drawn and not repaid
L_FEE = 2  # commitment fee p.a. on the undrawn amount
N_LIQ = 3

# reserve parameters (res_par columns) --------------------------------------------------
R_IS_RESERVE = 0
R_AMOUNT = 1
R_PCT_POOL = 2
R_PCT_NOTES = 3
R_FLOOR = 4
R_CAP = 5
N_RES = 6

# trigger parameters (trg_i columns) and metrics ----------------------------------------
G_METRIC = 0
G_LIST_OFF = 1
G_LIST_LEN = 2
G_ACCOUNT = 3
G_ABOVE = 4  # 1: breach when value > threshold; 0: breach when value < threshold
G_CONSECUTIVE = 5
G_CURABLE = 6
G_EFFECT = 7  # deal state when fired: 1 accelerated, 2 event of default
N_TRG = 8

M_EXTERNAL = 0  # precomputed series ext[s, t, j] (e.g. cumulative default ratio)
M_OC = 1  # pool balance at period end / balance of the listed tranches
M_COVERAGE = 2  # deposits into the account this period / interest due on the listed tranches
M_SHORTFALL = 3  # unpaid interest carried on the listed tranches from the last period
M_DSCR = 4  # deposits into the account this period / interest and principal due on the listed tranches

N_STATES = 3


def _unallocated() -> np.ndarray:
    """An output not allocated yet (:meth:`KernelArgs.allocate_outputs` allocates it)."""
    return np.empty(0)


@dataclass
class KernelArgs:
    """Everything the kernel reads and writes: flat numpy arrays only.

    Shapes: S scenarios, T periods, K tranches, F fees, A accounts, NS collection
    sources, J triggers, P parties. Inputs are filled by :mod:`abs_engine.waterfall.compile`;
    outputs are allocated by :meth:`allocate_outputs` and filled by the kernel.
    """

    # program
    op: np.ndarray  # int32[n_steps]
    iarg: np.ndarray  # int32[n_steps, N_IARG]
    farg: np.ndarray  # float64[n_steps, N_FARG]
    ilist: np.ndarray  # int32[n_list]
    seg: np.ndarray  # int32[N_STATES + 1]: steps of state st are seg[st]..seg[st+1]
    # tranches
    bal0: np.ndarray  # float64[K]
    carry: np.ndarray  # int32[K]: unpaid interest carried forward
    sfint: np.ndarray  # int32[K]: carried interest accrues interest
    rate: np.ndarray  # float64[S, T, K] coupon rate in force
    accr: np.ndarray  # float64[T, K] accrual year fraction
    sched: np.ndarray  # float64[T, K] balance floor from the principal style
    # fees
    fee_fixed: np.ndarray  # float64[F]
    fee_rate: np.ndarray  # float64[F]
    fee_cap: np.ndarray  # float64[F] (inf: none)
    fee_base: np.ndarray  # int32[F]
    fee_carry: np.ndarray  # int32[F]
    yf: np.ndarray  # float64[T] deal day-count year fraction of each period
    # accounts
    acct0: np.ndarray  # float64[A] (inf: a provider with unlimited capacity)
    res_par: np.ndarray  # float64[A, N_RES]
    acct_ext: np.ndarray  # int32[A]: 1 = support provider outside the trust
    acct_fail: np.ndarray  # int32[S, A]: from this period on the account pays nothing (T: never)
    due: np.ndarray  # float64[T, K]: balance above which principal is due (inf: none due)
    # collections
    coll: np.ndarray  # float64[S, T, NS]
    src_acct: np.ndarray  # int32[NS]
    pool_start: np.ndarray  # float64[S, T]
    pool_end: np.ndarray  # float64[S, T]
    # triggers
    trg_i: np.ndarray  # int32[J, N_TRG]
    trg_thr: np.ndarray  # float64[J]
    ext: np.ndarray  # float64[S, T, J]
    n_parties: int = 1
    # the period's income for the collection and tax fee bases, float64[S, T, N_INC], and the
    # liquidity facilities' parameters, float64[A, N_LIQ] (empty: zeros, resolved in __post_init__)
    inc: np.ndarray = field(default_factory=_unallocated)
    liq_par: np.ndarray = field(default_factory=_unallocated)
    # opening state (a deal picked up mid-life, abs_engine/restart.py): the kernel runs
    # periods t0..T-1 from these; by default (t0 = 0) the deal's state at closing, so an
    # empty array means "as at closing" (resolved in __post_init__). acct0 holds the
    # opening account balances (support providers: capacity left) at t0.
    t0: int = 0  # first period run; outputs of the periods before it stay 0
    bal_open: np.ndarray = field(default_factory=_unallocated)  # float64[K] (default bal0)
    carry_open: np.ndarray = field(default_factory=_unallocated)  # float64[K] unpaid interest carried into t0
    fee_carry_open: np.ndarray = field(default_factory=_unallocated)  # float64[F] unpaid fees carried into t0
    owed_open: np.ndarray = field(default_factory=_unallocated)  # float64[A] what each provider is owed
    liq_open: np.ndarray = field(default_factory=_unallocated)  # float64[A] facility interest and fees unpaid
    count_open: np.ndarray = field(default_factory=_unallocated)  # int32[J] consecutive breaches so far
    fired_open: np.ndarray = field(default_factory=_unallocated)  # int32[J] fired at the end of t0 - 1
    # outputs (allocated by allocate_outputs)
    t_bal_start: np.ndarray = field(default_factory=_unallocated)
    t_int_due: np.ndarray = field(default_factory=_unallocated)
    t_int_paid: np.ndarray = field(default_factory=_unallocated)
    t_int_short: np.ndarray = field(default_factory=_unallocated)
    t_prin: np.ndarray = field(default_factory=_unallocated)
    t_wd: np.ndarray = field(default_factory=_unallocated)
    t_bal_end: np.ndarray = field(default_factory=_unallocated)
    t_resid: np.ndarray = field(default_factory=_unallocated)
    f_due: np.ndarray = field(default_factory=_unallocated)
    f_paid: np.ndarray = field(default_factory=_unallocated)
    f_unpaid: np.ndarray = field(default_factory=_unallocated)
    a_start: np.ndarray = field(default_factory=_unallocated)
    a_in: np.ndarray = field(default_factory=_unallocated)
    a_end: np.ndarray = field(default_factory=_unallocated)
    party: np.ndarray = field(default_factory=_unallocated)
    state: np.ndarray = field(default_factory=_unallocated)
    fired: np.ndarray = field(default_factory=_unallocated)
    a_drawn: np.ndarray = field(default_factory=_unallocated)
    a_repaid: np.ndarray = field(default_factory=_unallocated)
    trg_count: np.ndarray = field(default_factory=_unallocated)  # int32[S, T, J] consecutive breaches after t
    l_int: np.ndarray = field(default_factory=_unallocated)  # float64[S, T, A] facility interest accrued in t
    l_fee: np.ndarray = field(default_factory=_unallocated)  # float64[S, T, A] commitment fee accrued in t
    l_paid: np.ndarray = field(default_factory=_unallocated)  # float64[S, T, A] facility interest and fees paid

    OUTPUTS = (
        "t_bal_start", "t_int_due", "t_int_paid", "t_int_short", "t_prin", "t_wd", "t_bal_end",
        "t_resid", "f_due", "f_paid", "f_unpaid", "a_start", "a_in", "a_end", "party", "state", "fired",
        "a_drawn", "a_repaid", "trg_count", "l_int", "l_fee", "l_paid",
    )
    #: The opening state, as of the start of period ``t0`` (see the fields above).
    OPENING = ("bal_open", "carry_open", "fee_carry_open", "owed_open", "liq_open", "count_open", "fired_open")

    def __post_init__(self) -> None:
        K, F, A, J = len(self.bal0), len(self.fee_fixed), len(self.acct0), len(self.trg_thr)
        closing = {
            "bal_open": lambda: np.array(self.bal0, dtype=np.float64),
            "carry_open": lambda: np.zeros(K),
            "fee_carry_open": lambda: np.zeros(F),
            "owed_open": lambda: np.zeros(A),
            "liq_open": lambda: np.zeros(A),
            "count_open": lambda: np.zeros(J, dtype=np.int32),
            "fired_open": lambda: np.zeros(J, dtype=np.int32),
        }
        S, T = self.coll.shape[:2]
        closing["inc"] = lambda: np.zeros((S, T, N_INC))
        closing["liq_par"] = lambda: np.zeros((A, N_LIQ))
        for name, make in closing.items():
            if getattr(self, name).size == 0:  # not given: as at closing (also an empty list's dtype)
                setattr(self, name, make())

    @property
    def shape(self) -> tuple[int, int]:
        return self.coll.shape[0], self.coll.shape[1]

    def allocate_outputs(self) -> KernelArgs:
        S, T = self.shape
        K, F, A, J, P = len(self.bal0), len(self.fee_fixed), len(self.acct0), len(self.trg_thr), self.n_parties
        for name, n in (("t_bal_start", K), ("t_int_due", K), ("t_int_paid", K), ("t_int_short", K), ("t_prin", K),
                        ("t_wd", K), ("t_bal_end", K), ("t_resid", K), ("f_due", F), ("f_paid", F), ("f_unpaid", F),
                        ("a_start", A), ("a_in", A), ("a_end", A), ("party", P), ("a_drawn", A), ("a_repaid", A),
                        ("l_int", A), ("l_fee", A), ("l_paid", A)):
            setattr(self, name, np.zeros((S, T, n)))
        self.state = np.zeros((S, T), dtype=np.int32)
        self.fired = np.zeros((S, T, J), dtype=np.int32)
        self.trg_count = np.zeros((S, T, J), dtype=np.int32)
        return self

    def copy_inputs(self) -> KernelArgs:
        """A new bundle sharing the inputs, with fresh outputs."""
        kw = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in self.OUTPUTS}
        return KernelArgs(**kw).allocate_outputs()

    def subset(self, s0: int, s1: int) -> KernelArgs:
        """The bundle restricted to scenarios s0..s1 (views; fresh outputs)."""
        kw = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in self.OUTPUTS}
        for name in ("rate", "coll", "pool_start", "pool_end", "ext", "acct_fail", "inc"):
            kw[name] = np.ascontiguousarray(kw[name][s0:s1])
        return KernelArgs(**kw).allocate_outputs()


@dataclass(frozen=True)
class Opening:
    """The waterfall's state at the start of period ``t0`` of a deal picked up mid-life
    (abs_engine/restart.py): the kernel's opening-state operands, and the cumulative
    defaults since the cut-off date (the cumulative default ratio's numerator so far)."""

    t0: int
    balance: np.ndarray  # float64[K] note balances
    carry: np.ndarray  # float64[K] unpaid interest carried
    fee_carry: np.ndarray  # float64[F] unpaid fees carried
    accounts: np.ndarray  # float64[A] trust cash; providers: capacity left (inf: unlimited)
    owed: np.ndarray  # float64[A] what each provider is owed
    count: np.ndarray  # int32[J] consecutive breaches
    fired: np.ndarray  # int32[J]
    cum_defaults: float = 0.0
    liquidity: np.ndarray | None = None  # float64[A] facility interest and fees unpaid (None: none)

    def apply(self, args: KernelArgs) -> KernelArgs:
        """Set the opening-state operands of ``args`` (in place) and return it."""
        args.t0 = int(self.t0)
        args.bal_open = np.array(self.balance, dtype=np.float64)
        args.carry_open = np.array(self.carry, dtype=np.float64)
        args.fee_carry_open = np.array(self.fee_carry, dtype=np.float64)
        args.acct0 = np.array(self.accounts, dtype=np.float64)
        args.owed_open = np.array(self.owed, dtype=np.float64)
        args.liq_open = np.zeros(len(self.owed)) if self.liquidity is None else np.array(self.liquidity, dtype=np.float64)
        args.count_open = np.array(self.count, dtype=np.int32)
        args.fired_open = np.array(self.fired, dtype=np.int32)
        return args

    @classmethod
    def after(cls, args: KernelArgs, s: int, t: int, cum_defaults: float = 0.0) -> Opening:
        """The state a run of ``args`` leaves scenario ``s`` in after period ``t`` (the
        opening state of period ``t + 1``), from the kernel's outputs."""
        owed = args.owed_open + (args.a_drawn[s, : t + 1] - args.a_repaid[s, : t + 1]).sum(axis=0)
        liq = args.liq_open + (args.l_int[s, : t + 1] + args.l_fee[s, : t + 1] - args.l_paid[s, : t + 1]).sum(axis=0)
        return cls(
            t0=t + 1,
            balance=args.t_bal_end[s, t].copy(),
            carry=np.where(args.carry == 1, args.t_int_short[s, t], 0.0),
            fee_carry=np.where(args.fee_carry == 1, args.f_unpaid[s, t], 0.0),
            accounts=args.a_end[s, t].copy(),
            owed=owed,
            count=args.trg_count[s, t].copy(),
            fired=args.fired[s, t].copy(),
            cum_defaults=cum_defaults,
            liquidity=liq,
        )
