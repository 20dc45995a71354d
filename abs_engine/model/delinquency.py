"""The delinquency pipeline a scenario may give its pledge loans (docs/methodology.md,
"Delinquency pipeline"; the numbers are in :mod:`abs_engine.pools.delinquency`)."""

from __future__ import annotations

from pydantic import model_validator

from .common import Fraction, Model, describe


class Delinquency(Model):
    """Current -> 1-30 -> 31-60 -> 61-90 days past due -> default (违约, 90+ days): each month
    a share of the current loans misses a payment, and of each bucket a share rolls on, a
    share cures (pays its arrears and is current again) and the rest stays."""

    entry: Fraction | list[Fraction] = describe(
        "Monthly share of the current balance that misses its payment and becomes 1-30 days past due: a "
        "constant or a vector by projection month (its last value holds)")
    roll: list[Fraction] = describe(
        "Monthly roll rates [1-30 -> 31-60, 31-60 -> 61-90, 61-90 -> default]: the share of each bucket that "
        "misses another payment", min_length=3, max_length=3)
    cure: list[Fraction] = describe(
        "Monthly cure rates of the three buckets: the share that pays all its arrears and is current again "
        "(the rest, 1 - roll - cure, pays the month's instalment and stays as far behind)",
        default_factory=lambda: [0.0, 0.0, 0.0], min_length=3, max_length=3)

    @model_validator(mode="after")
    def _shares(self) -> Delinquency:
        over = [f"bucket {k + 1}: roll {r:g} + cure {c:g} = {r + c:g}" for k, (r, c) in
                enumerate(zip(self.roll, self.cure, strict=True)) if r + c > 1.0 + 1e-12]
        if over:
            raise ValueError("roll + cure of a bucket is at most 1 (" + "; ".join(over) + ")")
        if isinstance(self.entry, list) and not self.entry:
            raise ValueError("entry: a vector needs at least one value")
        return self
