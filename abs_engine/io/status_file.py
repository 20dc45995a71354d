"""Status files (docs/seasoned.md): a deal's status as of a payment date, in YAML with its
tapes (surviving assets, defaults since the cut-off, patents) as CSV/XLSX beside it.

:func:`load_status` reads a status and checks it against its deal, listing every problem
at once with file, field path and reason, as a deal's loading does; :func:`write_status`
writes one (YAML and CSV tapes, each atomically), numbers at full precision so that a
status written from a run reads back to the same figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from ..checks import Origins, status_problems
from ..errors import InputError, Problem
from ..model.deal import Deal
from ..model.status import (
    AssetStatus,
    DefaultStatus,
    InterestStatus,
    PatentStatus,
    Status,
)
from .outputs import atomic_open
from .tape import parse_rows, read_table
from .validation import problems_from_validation
from .yamlio import load_yaml

#: Each pool tape of a status: (path field, inline list field, row model, id column).
STATUS_TAPES: tuple[tuple[str, str, type[Any], str], ...] = (
    ("tape", "assets", AssetStatus, "asset_id"),
    ("defaults_tape", "defaults", DefaultStatus, ""),
    ("patent_tape", "patents", PatentStatus, "patent_id"),
    ("interest_tape", "interest", InterestStatus, ""),
)



def _tapes(raw: dict[str, Any], base: Path, file: str, origins: Origins) -> list[Problem]:
    """Read each pool's tapes into its inline lists (``raw`` is changed in place); record in
    ``origins`` where the rows came from, so that a problem names the tape's row."""
    problems: list[Problem] = []
    pools = raw.get("pools")
    if not isinstance(pools, dict):
        return problems
    for name, pool in pools.items():
        if not isinstance(pool, dict):
            continue
        for path_field, list_field, model, id_field in STATUS_TAPES:
            tape = pool.get(path_field)
            if not tape or not isinstance(tape, str):
                continue
            path = base / tape
            try:
                rows = parse_rows(read_table(path), model, str(path), id_field)
            except InputError as exc:
                problems += [p if p.file else Problem(file, f"pools.{name}.{path_field}", p.message) for p in exc.problems]
                continue
            inline = pool.get(list_field) or []
            inline = inline if isinstance(inline, list) else []
            origins[(str(name), list_field)] = (len(inline), str(path))
            pool[list_field] = [*inline, *[r.model_dump() for r in rows]]
    return problems


def load_status(path: str | Path, deal: Deal) -> Status:
    """Load a status file and its tapes, and check it against ``deal``.

    Raises :class:`~abs_engine.errors.InputError` listing every problem found.
    """
    p = Path(path)
    file = str(path)
    raw = load_yaml(p, "status")
    origins: Origins = {}
    problems = _tapes(raw, p.parent, file, origins)
    try:
        status = Status.model_validate(raw)
    except ValidationError as exc:
        problems += problems_from_validation(exc, Status, file)
        raise InputError(problems) from None
    if problems:
        raise InputError(problems)
    problems = status_problems(deal, status, file, origins)
    if problems:
        raise InputError(problems)
    return status


# ------------------------------------------------------------------------ writing


class _Dumper(yaml.SafeDumper):
    """Safe YAML without anchors and aliases (a date repeated is written twice)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_status(status: Status, path: str | Path) -> list[Path]:
    """Write ``status`` as a YAML file with each pool's tapes as CSV beside it
    (``<stem>.<pool>.assets.csv``, ``.defaults.csv``, ``.patents.csv``), each atomically.
    Returns the files written."""
    p = Path(path)
    data = status.model_dump(mode="python", exclude_none=True)
    written: list[Path] = []
    for name, ps in status.pools.items():
        pool = data["pools"][name]
        for path_field, list_field, model, _id in STATUS_TAPES:
            rows = getattr(ps, list_field)
            pool.pop(list_field, None)
            if not rows:  # (nothing left, no defaults: no tape; a tape has rows)
                pool.pop(path_field, None)
                continue
            tape = p.parent / f"{p.stem}.{name}.{list_field}.csv"
            frame = pd.DataFrame([r.model_dump() for r in rows], columns=list(model.model_fields))
            for col in ("default_date", "recovery_date", "month_end"):
                if col in frame.columns:
                    frame[col] = frame[col].map(lambda d: "" if d is None else d.isoformat())
            # (floats as Python writes them: the shortest text that reads back to the same number)
            with atomic_open(tape) as fh:
                frame.to_csv(fh, index=False, lineterminator="\n")
            pool[path_field] = tape.name
            written.append(tape)
    with atomic_open(p) as fh:
        fh.write(f"# status of {status.deal} as of {status.date} (docs/seasoned.md)\n")
        yaml.dump(data, fh, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    written.append(p)
    return written
