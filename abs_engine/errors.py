"""The project's own error types.

Every mistake in a user's input (deal file, loan tape, scenario) ends up as one
:class:`InputError` that lists *every* problem found, each with the file, the field
path and the reason. The CLI prints these one per line and exits non-zero, without a
traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass


class AbsEngineError(Exception):
    """Base class of every error abs_engine raises on purpose."""


class AnalyticsError(ValueError):
    """Bad input to an analytics function; the message says what and how to fix it.
    (Defined here, not in :mod:`abs_engine.analytics`, so that the CLI can catch it without
    importing QuantLib; ``abs_engine.analytics.AnalyticsError`` is the same class.)"""


#: The most problems one error lists; the rest are counted in a last line.
MAX_PROBLEMS = 200


@dataclass(frozen=True)
class Problem:
    """One problem in one input file.

    ``path`` is a dotted/indexed field path such as ``waterfalls.normal[3].to[0]``, or
    ``row 7: balance`` for a row of a tape.
    """

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        at = f"{self.path}: " if self.path else ""
        return f"{where}{at}{self.message}"


@dataclass(frozen=True)
class Omitted(Problem):
    """The last line of a capped list: how many more problems were found and not listed."""

    count: int = 0


class InputError(AbsEngineError):
    """A user's input is invalid. ``problems`` lists every problem found, up to
    :data:`MAX_PROBLEMS`; then one last line counts the rest (``total``: how many in all,
    kept when errors are merged)."""

    def __init__(self, problems: list[Problem]):
        problems = list(problems)
        shown = [p for p in problems if not isinstance(p, Omitted)]
        hidden = sum(p.count for p in problems if isinstance(p, Omitted))
        if len(shown) > MAX_PROBLEMS:
            hidden += len(shown) - MAX_PROBLEMS
            shown = shown[:MAX_PROBLEMS]
        #: how many problems were found (``problems`` lists the first MAX_PROBLEMS of them)
        self.total = len(shown) + hidden
        if hidden:
            file = next((p.file for p in problems if isinstance(p, Omitted)), shown[-1].file if shown else "")
            shown.append(Omitted(file, "", f"{hidden:,} more problem(s) not shown (the first {len(shown)} are listed)", hidden))
        self.problems = shown
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, file: str, path: str, message: str) -> InputError:
        return cls([Problem(file, path, message)])


class KernelError(AbsEngineError):
    """The waterfall kernel reported a failure code (a bug, not a user mistake)."""


def did_you_mean(name: str, known: Sequence[str], cutoff: float = 0.5) -> str:
    """``"; did you mean 'x'?"`` for the known name closest to ``name``, or ``""``.

    >>> did_you_mean("A2", ["A1", "SUB"])
    "; did you mean 'A1'?"
    """
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=cutoff)
    return f"; did you mean '{close[0]}'?" if close else ""


def unknown(kind: str, name: str, known: Sequence[str]) -> str:
    """The message for a name that names nothing: the closest known name and the known names.

    >>> unknown("tranche", "A2", ["A1", "SUB"])
    "unknown tranche 'A2'; did you mean 'A1'? (known: A1, SUB)"
    """
    return f"unknown {kind} '{name}'{did_you_mean(name, known)} (known: {', '.join(known) or 'none'})"
