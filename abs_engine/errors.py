"""The project's own error types.

Every mistake in a user's input (deal file, loan tape, scenario) ends up as one
:class:`InputError` that lists *every* problem found, each with the file, the field
path and the reason. The CLI prints these one per line and exits non-zero, without a
traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class AbsEngineError(Exception):
    """Base class of every error abs_engine raises on purpose."""


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


class InputError(AbsEngineError):
    """A user's input is invalid. ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        problems = list(problems)
        #: how many problems were found (``problems`` keeps the first MAX_PROBLEMS of them)
        self.total = len(problems)
        if len(problems) > MAX_PROBLEMS:
            rest = len(problems) - MAX_PROBLEMS
            problems = problems[:MAX_PROBLEMS] + [Problem(problems[MAX_PROBLEMS].file, "",
                                                          f"{rest:,} more problem(s) not shown (the first {MAX_PROBLEMS} are listed)")]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, file: str, path: str, message: str) -> InputError:
        return cls([Problem(file, path, message)])


class KernelError(AbsEngineError):
    """The waterfall kernel reported a failure code (a bug, not a user mistake)."""
