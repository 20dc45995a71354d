"""Fuzzing the loaders: whatever a user feeds them, ``load_deal`` / ``load_scenario`` (and the
tape reader behind a deal's ``tape:``) either succeed or raise :class:`abs_engine.InputError`
listing non-empty problems -- never another exception, never a warning (the pytest config
turns warnings into errors).

Documents are random YAML-ish values, mutations of the corpus's good example (delete a key,
replace a value by a random scalar or structure, rename a key, insert a random key), arbitrary
bytes, and CSV text built from tape columns and awkward cells.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import abs_engine as ae
from abs_engine.checks import check_scenarios
from abs_engine.model.deal import PledgeLoanAsset

GOOD = Path(__file__).parent / "bad_inputs" / "good_example"
DEAL_TEXT = (GOOD / "deal.yaml").read_text(encoding="utf-8")
DEAL = yaml.safe_load(DEAL_TEXT)
SCENARIO = yaml.safe_load((GOOD / "scenario.yaml").read_text(encoding="utf-8"))
TAPE_TEXT = (GOOD / "tapes" / "sz_pledge_2026_1.csv").read_text(encoding="utf-8")
COLUMNS = TAPE_TEXT.splitlines()[0].split(",")
TAPE_NAME = "tapes/sz_pledge_2026_1.csv"


def examples(n: int) -> int:
    """``n`` examples, fewer if the profile caps lower (ci: 40), more if it asks for more."""
    cap = settings().max_examples  # the loaded profile's
    return cap if cap > 100 else min(n, cap)


def fuzz(n: int) -> settings:
    return settings(max_examples=examples(n), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory reused by every example (function-scoped tmp_path is not reset between
    hypothesis examples, so the tests overwrite fixed file names instead)."""
    d = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(GOOD / "tapes", d / "tapes")
    return d


def expect_input_error_or_success(load: Any, *args: Any) -> Any:
    try:
        return load(*args)
    except ae.InputError as exc:
        assert exc.problems, "an InputError without problems"
        for p in exc.problems:
            assert p.message.strip(), f"empty message in {p!r}"
            assert "Traceback" not in str(p)
            # no pydantic internals in the field path (union member names, key markers)
            assert not any(x in p.path for x in ("function-", "[key]", "list[", "dict[")), p
        return None


# --------------------------------------------------------------------------- strategies

names = st.sampled_from(
    ["deal", "pools", "tranches", "fees", "accounts", "triggers", "waterfalls", "normal", "name", "kind",
     "balance", "rate", "coupon", "action", "from", "to", "tape", "cdr", "cpr", "loans", "defaults",
     "reference_rates", "LPR1Y", "A", "SUB", "collection", "reserve", "when", "limit", "support"]
) | st.text(max_size=12)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.038, 3.8, 100, 1e15, 1.0000001e15, 1e20, 1e308, -0.0]),
    st.text(max_size=20),
    st.sampled_from(["", " ", "~", "null", "yes", "2026-02-30", "1e20", "3.8%", "1,000", "[/red]", "\x00", "名称", "A", "SUB",
                     "collection", "reserve", "pay_fee", "fixed", "floating", "none", "pledge_loan", "licence", "tapes",
                     "tapes/missing.csv", "../../etc/passwd", "/", "tapes/sz_pledge_2026_1.csv"]),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)),
)

yaml_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names | st.integers(-3, 3), inner, max_size=4),
    max_leaves=20,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in a nested dict/list document."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], max_mutations: int = 3) -> dict[str, Any]:
    """``base`` with 1..max_mutations random edits: delete, replace, rename or insert."""
    doc = yaml.safe_load(yaml.safe_dump(base))  # a deep copy
    for _ in range(draw(st.integers(1, max_mutations))):
        path = draw(st.sampled_from(_paths(doc)[1:]))
        parent, key = _get(doc, path[:-1]), path[-1]
        op = draw(st.sampled_from(["delete", "scalar", "value", "rename", "insert"]))
        if op == "delete":
            del parent[key]
        elif op == "scalar":
            parent[key] = draw(scalars)
        elif op == "value":
            parent[key] = draw(yaml_values)
        elif op == "rename" and isinstance(parent, dict):
            new = draw(names)
            value = parent.pop(key)
            parent[new] = value
        elif op == "insert":
            target = parent[key] if isinstance(parent[key], (dict, list)) else parent
            if isinstance(target, dict):
                target[draw(names)] = draw(yaml_values)
            else:
                target.insert(draw(st.integers(0, len(target))), draw(yaml_values))
    return doc


def dump(doc: Any) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8")


# --------------------------------------------------------------------------- deals


@fuzz(60)
@given(doc=mutated(DEAL))
def test_mutated_deal(workdir, doc):
    p = workdir / "deal.yaml"
    p.write_bytes(dump(doc))
    expect_input_error_or_success(ae.load_deal, p)


@fuzz(40)
@given(doc=yaml_values)
def test_random_yaml_as_deal_and_scenario(workdir, doc):
    p = workdir / "doc.yaml"
    p.write_bytes(dump(doc))
    expect_input_error_or_success(ae.load_deal, p)
    expect_input_error_or_success(ae.load_scenario, p)


@fuzz(40)
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.text(alphabet=st.sampled_from(list("[]{}:-,#&*!|>'\"%@`? \n\t.0aA~\\")), max_size=200).map(str.encode),
        st.builds(lambda head, cut: head[:cut], st.just(DEAL_TEXT.encode("utf-8")), st.integers(0, len(DEAL_TEXT))),
    )
)
def test_arbitrary_bytes_as_deal_and_scenario(workdir, data):
    """Random bytes, YAML punctuation soup, and the example cut off at a random point."""
    p = workdir / "raw.yaml"
    p.write_bytes(data)
    expect_input_error_or_success(ae.load_deal, p)
    expect_input_error_or_success(ae.load_scenario, p)


# --------------------------------------------------------------------------- scenarios


@fuzz(60)
@given(doc=mutated(SCENARIO))
def test_mutated_scenario(workdir, doc):
    """A mutated scenario loads or is refused; if it loads, the deal cross-check also answers
    with InputError or nothing."""
    p = workdir / "scenario.yaml"
    p.write_bytes(dump(doc))
    sc = expect_input_error_or_success(ae.load_scenario, p)
    if sc is not None:
        deal = ae.load_deal(GOOD / "deal.yaml")
        expect_input_error_or_success(check_scenarios, deal, [sc])


# --------------------------------------------------------------------------- tapes

cells = st.one_of(
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "1e20", "-5", "0", "0.05", "5", "4.95%", "30,000,000",
                     "2026-06-30", "2027-06-30", "2026-02-30", "2026/06/30", "bullet", "annuity", "monthly", "patent",
                     "SZ-001", "SZ-002", '"', '""', "'", "\x00", "深圳", "é", "\t", "=1+1", "TRUE"]),
    st.text(max_size=8),
)
columns = st.sampled_from(COLUMNS) | st.sampled_from(["", "Loan_ID", " balance ", "balance.1", "industy", "金额"]) | st.text(max_size=6)


@st.composite
def csv_tapes(draw: st.DrawFn) -> bytes:
    header = draw(st.lists(columns, min_size=1, max_size=len(COLUMNS) + 2))
    if draw(st.booleans()):  # mostly the real columns, with a few changes
        header = [*COLUMNS]
        for _ in range(draw(st.integers(0, 2))):
            header[draw(st.integers(0, len(header) - 1))] = draw(columns)
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=len(header) + 2), max_size=4))
    sep = draw(st.sampled_from([",", ",", ",", ";", "\t"]))
    text = "\n".join(sep.join(r) for r in [header, *rows]) + draw(st.sampled_from(["\n", "", "\r\n", "\n\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
    return text.encode(encoding, errors="replace")


def _deal_with_tape(workdir: Path, tape_name: str) -> Path:
    p = workdir / f"deal_{Path(tape_name).suffix[1:]}.yaml"
    p.write_text(DEAL_TEXT.replace(f"tape: {TAPE_NAME}", f"tape: {tape_name}"), encoding="utf-8")
    return p


@fuzz(60)
@given(data=csv_tapes())
def test_generated_csv_tapes(workdir, data):
    (workdir / "fuzz.csv").write_bytes(data)
    deal = expect_input_error_or_success(ae.load_deal, _deal_with_tape(workdir, "fuzz.csv"))
    if deal is not None:
        assert all(isinstance(a, PledgeLoanAsset) for a in deal.pools[0].assets)


@fuzz(40)
@given(data=st.binary(max_size=400) | st.builds(lambda cut: TAPE_TEXT.encode()[:cut], st.integers(0, len(TAPE_TEXT))))
def test_arbitrary_bytes_as_tape(workdir, data):
    for name in ("bytes.csv", "bytes.xlsx"):
        (workdir / name).write_bytes(data)
        expect_input_error_or_success(ae.load_deal, _deal_with_tape(workdir, name))


@fuzz(15)
@given(rows=st.lists(st.lists(st.one_of(cells, st.integers(-(10**20), 10**20), st.floats(), st.none()), max_size=17), max_size=3),
       header=st.lists(columns, max_size=17))
def test_generated_xlsx_tapes(workdir, rows, header):
    """Excel tapes with arbitrary typed cells (numbers where text is expected and vice versa)."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = openpyxl.Workbook()
    ws = wb.active
    for r in [header or COLUMNS, *rows]:  # (control characters cannot be written to a worksheet)
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in r])
    wb.save(workdir / "fuzz.xlsx")
    expect_input_error_or_success(ae.load_deal, _deal_with_tape(workdir, "fuzz.xlsx"))
