"""Loading deal files: YAML -> :class:`~abs_engine.model.deal.Deal`, with tapes read and
every cross-reference checked (:mod:`abs_engine.checks`). All problems are collected and
raised together."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError

from ..checks import curve_problems, deal_problems, settlement_outside
from ..eligibility import check_pool, reason
from ..errors import InputError, Problem
from ..model.deal import TAPES, Deal, Exclusion, PledgeLoanPool
from .files import resolved
from .tape import parse_rows, read_table
from .validation import problems_from_validation
from .yamlio import load_yaml


def _load_tapes(raw: dict[str, Any], base: Path, file: str) -> list[Problem]:
    """Read every tape a pool names into its inline list (in ``raw``), collecting problems.

    Rows read from tapes are kept as validated models under ``_tape_<field>`` keys, moved
    into the pool models after the deal itself validates.
    """
    problems: list[Problem] = []
    pools = raw.get("pools")
    if not isinstance(pools, list):
        return problems
    for i, pool in enumerate(pools):
        if not isinstance(pool, dict):
            continue
        for path_field, list_field, model, id_field in TAPES.get(str(pool.get("kind", "pledge_loan")), []):
            name = pool.get(path_field)
            if not name or not isinstance(name, str):  # a wrong type is reported by the model
                continue
            try:
                path = resolved(base / name)
            except (OSError, ValueError):  # e.g. a NUL in the name: read_table says so
                path = base / name
            try:
                df = read_table(path)
                rows = parse_rows(df, model, str(path), id_field)
            except InputError as exc:
                for p in exc.problems:
                    problems.append(p if p.file else Problem(file, f"pools[{i}].{path_field}", p.message))
                continue
            pool[f"_tape_{list_field}"] = rows
    return problems


#: At most this many eligibility problems are listed per pool (then a count of the rest).
MAX_ELIGIBILITY_PROBLEMS = 200


def _asset_origin(pool: PledgeLoanPool, i: int, j: int, n_from_tape: int, file: str, base: Path) -> tuple[str, str]:
    """Where loan ``j`` of ``pools[i]`` came from: (tape file, ``row N``; the header is row
    1) for a tape's rows, which follow the inline assets; else (deal file, ``pools[i].assets[j]``)."""
    n_inline = len(pool.assets) - n_from_tape
    if j >= n_inline and pool.tape:
        return str(resolved(base / pool.tape)), f"row {j - n_inline + 2}"
    return file, f"pools[{i}].assets[{j}]"


def apply_eligibility(deal: Deal, file: str, base: Path, from_tape: dict[int, int]) -> tuple[Deal, list[Problem]]:
    """Check every pledge-loan pool's ``eligibility`` against its loans (from_tape: pool
    index -> how many of its loans came from its tape). A breach is a problem
    (``on_breach: error``) or drops the loan from the pool (``exclude``: the pool keeps them
    in ``excluded``); missing data for a stated criterion is always a problem, as is a pool
    left without loans."""
    problems: list[Problem] = []
    pools = list(deal.pools)
    changed = False
    for i, pool in enumerate(pools):
        criteria = getattr(pool, "eligibility", None)  # (the kinds with eligibility criteria: pledge loans)
        if criteria is None:
            continue
        pool = cast(PledgeLoanPool, pool)
        findings = check_pool(pool, deal.deal)
        where = [_asset_origin(pool, i, j, from_tape.get(i, 0), file, base) for j in range(len(pool.assets))]
        exclude = criteria.on_breach == "exclude"
        shown = [f for f in findings if f.missing or not exclude]
        for f in shown[:MAX_ELIGIBILITY_PROBLEMS]:
            src, at = where[f.index]
            problems.append(Problem(src, f"{at} ({f.loan_id})", f.message))
        if len(shown) > MAX_ELIGIBILITY_PROBLEMS:
            problems.append(Problem(file, f"pools[{i}].eligibility", f"{len(shown) - MAX_ELIGIBILITY_PROBLEMS:,} more "
                                    f"eligibility problems not shown (first {MAX_ELIGIBILITY_PROBLEMS} above)"))
        if not exclude:
            continue
        reasons: dict[int, list[str]] = {}
        for f in findings:
            if not f.missing:
                reasons.setdefault(f.index, []).append(reason(f))
        if not reasons:
            continue
        if len(reasons) == len(pool.assets):
            problems.append(Problem(file, f"pools[{i}].eligibility", f"excludes every loan of pool '{pool.name}' "
                                    f"({len(pool.assets)} loans; on_breach: exclude)"))
            continue
        kept = [a for j, a in enumerate(pool.assets) if j not in reasons]
        new = pool.model_copy(update={"assets": kept})
        new._excluded = tuple(Exclusion(pool.assets[j], *where[j], tuple(r)) for j, r in sorted(reasons.items()))
        pools[i] = new
        changed = True
    if changed:
        deal = deal.model_copy(update={"pools": pools})
    return deal, problems


def load_deal(path: str | Path) -> Deal:
    """Load, validate and cross-check a deal file and its tapes.

    Raises :class:`~abs_engine.errors.InputError` listing every problem found.
    """
    p = Path(path)
    file = str(path)
    raw = load_yaml(p, "deal")
    problems = _load_tapes(raw, p.parent, file)
    from_tapes: dict[int, dict[str, list[Any]]] = {}
    pools = raw.get("pools")
    for i, pool in enumerate(pools if isinstance(pools, list) else []):  # (a wrong type: the model says so)
        if isinstance(pool, dict):
            for key in [k for k in pool if isinstance(k, str) and k.startswith("_tape_")]:
                from_tapes.setdefault(i, {})[key[len("_tape_"):]] = pool.pop(key)
    try:
        deal = Deal.model_validate(raw)
    except ValidationError as exc:
        problems.extend(problems_from_validation(exc, Deal, file))
        raise InputError(problems) from None
    if from_tapes:
        pools = list(deal.pools)
        for i, lists in from_tapes.items():
            pools[i] = pools[i].model_copy(update={k: [*getattr(pools[i], k), *v] for k, v in lists.items()})
        deal = deal.model_copy(update={"pools": pools})
    if not problems:  # meaning (stage 3) is checked only on what stages 1-2 accepted (docs/errors.md):
        # a tape that failed to load would make every join to it look like a dangling reference
        deal, curve = _load_curve(deal, p.parent, file)
        problems.extend(curve)
        problems.extend(deal_problems(deal, file))
        origins = {i: len(lists.get("assets", [])) for i, lists in from_tapes.items()}
        deal, screened = apply_eligibility(deal, file, p.parent, origins)
        problems.extend(screened)
    if problems:
        raise InputError(problems)
    return deal


def with_pricing(deal: Deal, *, curve_file: str | Path | None = None, settlement: Any = None) -> Deal:
    """The deal with its analytics' discount curve taken from ``curve_file`` (a YAML file
    holding a curve under ``curve:``) and/or its settlement date replaced, checked as
    ``load_deal`` checks them (command-line ``--curve`` / ``--settlement``)."""
    update: dict[str, Any] = {}
    if settlement is not None:
        update["settlement"] = settlement
    if curve_file is not None:
        update["curve"] = str(resolved(Path(curve_file)))
    if not update:
        return deal
    deal = deal.model_copy(update={"pricing": deal.pricing.model_copy(update=update)})
    problems: list[Problem] = []
    why = settlement_outside(settlement, deal)
    if why:
        problems.append(Problem("", "--settlement", why))
    deal, more = _load_curve(deal, Path("."), str(curve_file or ""))
    problems += more
    if problems:
        raise InputError(problems)
    return deal


def _load_curve(deal: Deal, folder: Path, file: str) -> tuple[Deal, list[Problem]]:
    """Resolve ``pricing.curve`` (a file path becomes the mapping it holds under ``curve:``)
    and check it builds."""
    spec = deal.pricing.curve
    if spec is None:
        return deal, []
    where = "pricing.curve"
    if isinstance(spec, str):
        path = folder / spec
        try:
            doc = load_yaml(path, "curve")
        except InputError as exc:
            return deal, [Problem(file, where, f"curve file {spec}: {q.message}") for q in exc.problems]
        if "curve" not in doc:
            return deal, [Problem(str(path), "curve", "a curve file holds its curve under the key 'curve'")]
        spec, file, where = doc["curve"], str(path), "curve"
        deal = deal.model_copy(update={"pricing": deal.pricing.model_copy(update={"curve": spec})})
    settle = deal.pricing.settlement or deal.deal.closing_date
    return deal, curve_problems(spec, settle, file, where)
