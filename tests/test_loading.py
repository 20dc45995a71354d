"""Deal, tape and scenario loading: the example loads; every mistake is reported at once,
with file, field path and reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from conftest import DEALS

import abs_engine as ae
from abs_engine.errors import InputError

EXAMPLE = DEALS / "sz_pledge_2026_1.yaml"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(DEALS / "tapes", tmp_path / "tapes")
    return tmp_path


def write_deal(workdir: Path, mutate) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    mutate(data)
    p = workdir / "deal.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as exc:
        ae.load_deal(path)
    return [str(p) for p in exc.value.problems]


def test_example_loads(example_deal):
    assert example_deal.name == "SZ-IP-PLEDGE-2026-1"
    assert len(example_deal.pools[0].assets) == 12
    assert sum(a.balance for a in example_deal.pools[0].assets) == pytest.approx(206_000_000)


def test_example_loans_are_within_the_published_ranges(example_deal):
    """DOMAIN.md: single pledge loans of 2M-30M元, loan-to-value under the 50% cap of
    Shanghai Rural Commercial Bank (Industrial Bank's is 40%); 12 borrowers, 26 patents."""
    loans = example_deal.pools[0].assets
    assert all(2_000_000 <= a.balance <= 30_000_000 for a in loans), [a.balance for a in loans]
    assert all(0.40 < a.balance / a.collateral_value <= 0.50 for a in loans)
    assert len({a.borrower for a in loans}) == 12 and sum(a.ip_count for a in loans) == 26


def test_many_problems_reported_at_once(workdir):
    def mutate(d):
        d["deal"]["cuttoff_date"] = d["deal"].pop("cutoff_date")
        d["tranches"][0]["coupon"]["rate"] = 3.8
        d["waterfalls"]["normal"][1]["action"] = "pay_fees"
        d["accounts"][1]["target"]["percent_of_notes"] = 1.5

    msgs = problems(write_deal(workdir, mutate))
    joined = "\n".join(msgs)
    assert "deal: unknown field 'cuttoff_date'; did you mean 'cutoff_date'?" in joined
    assert "deal.cutoff_date: missing required field" in joined
    assert "tranches[0].coupon.rate: 3.8 looks like a percentage; rates are decimals (write 0.038 for 3.8%)" in joined
    assert "waterfalls.normal[1]: unknown action 'pay_fees'" in joined
    assert "accounts[1].target.percent_of_notes: 1.5 looks like a percentage" in joined
    assert all(m.startswith(str(workdir / "deal.yaml")) for m in msgs)


def test_unknown_reference_with_suggestion(workdir):
    def mutate(d):
        d["waterfalls"]["normal"][2]["to"] = ["A3"]
        d["waterfalls"]["accelerated"][1]["to"].append("custodain")

    msgs = problems(write_deal(workdir, mutate))
    assert any("waterfalls.normal[2].to[0]: unknown tranche 'A3'; did you mean 'A'? (known: A, SUB)" in m for m in msgs)
    assert any("waterfalls.accelerated[1].to[5]: unknown fee 'custodain'; did you mean 'custodian'?" in m for m in msgs)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["deal"].update(closing_date="2026-12-01"), "dates out of order"),
        (lambda d: d["tranches"][0].update(balance=-5), "must not be negative"),
        (lambda d: d["deal"].update(total_notes=210000000), "tranche balances add up to 206,000,000.00 but deal.total_notes is 210,000,000.00"),
        (lambda d: d["tranches"].append(dict(d["tranches"][1])), "duplicate tranche name 'SUB'"),
        (lambda d: d["triggers"][0].update(effect="event_of_default") or d["waterfalls"].pop("event_of_default"),
         "moves the deal to 'event_of_default' but waterfalls.event_of_default is not defined"),
        (lambda d: d["pools"][0].update(tape="tapes/missing.csv"), "tape file not found"),
        (lambda d: d["waterfalls"]["normal"].append({"action": "pay_residual", "from": "collection", "to": "originatr"}),
         "unknown tranche or party 'originatr'; did you mean 'originator'?"),
        (lambda d: d["waterfalls"]["normal"].append({"action": "pay_interest", "from": "collection", "to": ["SUB"]}),
         "tranche 'SUB' has no coupon"),
        (lambda d: d["tranches"][0].update(coupon={"kind": "floating", "index": "SHIBOR", "spread": 0.01}),
         "unknown reference rate 'SHIBOR'"),
        (lambda d: d["deal"].update(calendar="NYSE"), "deal.calendar: Input should be 'SSE', 'SZSE', 'IB', 'US', 'WEEKENDS' or 'NONE'"),
    ],
)
def test_single_mistakes(workdir, mutate, expected):
    msgs = problems(write_deal(workdir, mutate))
    assert any(expected in m for m in msgs), msgs


def test_tape_rows_reported_with_row_numbers(workdir):
    tape = workdir / "tapes" / "sz_pledge_2026_1.csv"
    lines = tape.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("0.052", "5.2")  # row 3: rate in percent
    lines[4] = lines[4].replace("2027-06-25", "2025-06-25")  # row 5: matures before origination
    lines.append(lines[1])  # duplicate id at row 14
    tape.write_text("\n".join(lines) + "\n", encoding="utf-8")
    msgs = problems(write_deal(workdir, lambda d: None))
    joined = "\n".join(msgs)
    assert "row 3: rate: 5.2 looks like a percentage" in joined
    assert "row 5: maturity_date: 2025-06-25 is not after the origination_date 2026-06-25" in joined
    assert "row 14: loan_id: duplicate id 'SZ-001' (first at row 2)" in joined


def test_tape_header_typo_and_gbk_encoding(workdir):
    tape = workdir / "tapes" / "sz_pledge_2026_1.csv"
    text = tape.read_text(encoding="utf-8").replace("industry", "industy", 1).replace("Shenzhen Photonics Co.", "深圳光子科技")
    tape.write_bytes(text.encode("gb18030"))
    msgs = problems(write_deal(workdir, lambda d: None))
    assert any("unknown column 'industy'; did you mean 'industry'?" in m for m in msgs)


def test_xlsx_tape(workdir):
    import pandas as pd

    df = pd.read_csv(workdir / "tapes" / "sz_pledge_2026_1.csv")
    df.to_excel(workdir / "tapes" / "tape.xlsx", index=False)
    d = ae.load_deal(write_deal(workdir, lambda d: d["pools"][0].update(tape="tapes/tape.xlsx")))
    assert len(d.pools[0].assets) == 12
    assert d.pools[0].assets[0].maturity_date.isoformat() == "2027-06-28"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty deal file"),
        (b"deal: [unclosed", "YAML syntax error"),
        (b"- a\n- b\n", "must be a mapping"),
        (b"deal: {name: x}\ndeal: {name: y}\n", "duplicate key 'deal'"),
        ("deal: {name: 测试}".encode("gb18030"), "not valid UTF-8"),
    ],
)
def test_malformed_files(tmp_path, content, expected):
    p = tmp_path / "bad.yaml"
    p.write_bytes(content)
    msgs = problems(p)
    assert any(expected in m for m in msgs), msgs


def test_scenario_errors(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("defaults: {cdr: 15}\nrecovery: {lag_month: 3}\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        ae.load_scenario(p)
    msgs = [str(x) for x in exc.value.problems]
    assert any("defaults.cdr" in m and "looks like a percentage" in m for m in msgs), msgs
    assert any("recovery: unknown field 'lag_month'; did you mean 'lag_months'?" in m for m in msgs), msgs


def test_trigger_tranches_listed_twice_are_refused():
    from builders import deal, loan

    d = deal([loan(1)], triggers=[{"name": "oc", "metric": "oc_ratio", "tranches": ["A", "A"], "below": 1.0}],
             waterfalls={"accelerated": [{"action": "pay_principal", "from": "collection", "to": ["A", "SUB"]}]})
    with pytest.raises(ae.InputError, match=r"triggers\[0\].tranches: a name appears twice in the list"):
        ae.run(d)


def test_yaml_values_are_capped(tmp_path, monkeypatch):
    """A YAML file with more values than MAX_YAML_NODES is refused while it is parsed (a
    300,000-key file took 50 s to parse, a 20 MB one 4 minutes: docs/performance.md), by
    libyaml and by PyYAML's parser alike; aliases count once per use."""
    from abs_engine.io import yamlio

    monkeypatch.setattr(yamlio, "MAX_YAML_NODES", 1000)
    p = tmp_path / "s.yaml"
    p.write_text("name: x\n" + "".join(f"k{i}: {i}\n" for i in range(600)), encoding="utf-8")
    with pytest.raises(InputError, match="YAML too large: more than 1,000 values; scenario files are limited to 1,000"):
        ae.load_scenario(p)
    p.write_text("name: x\n" + "".join(f"k{i}:\t{i}\n" for i in range(600)), encoding="utf-8")  # (a tab: PyYAML's parser)
    with pytest.raises(InputError, match="YAML syntax error"):
        ae.load_scenario(p)
    p.write_text("name: x\na: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                 "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"more than 1,000 values \(aliases expanded\)"):
        ae.load_scenario(p)
    p.write_text("name: x\n" + "".join(f"k{i}: {i}\n" for i in range(400)), encoding="utf-8")
    with pytest.raises(InputError, match="unknown field 'k0'"):  # (under the cap: parsed, then checked)
        ae.load_scenario(p)


def test_a_huge_tape_cell_is_a_clear_error(tmp_path):
    """A cell of 2 MiB (longer than pyarrow's block): a clear message, not pyarrow's
    'straddling object straddles two block boundaries'."""
    from abs_engine.io.tape import read_table

    p = tmp_path / "t.csv"
    p.write_text("loan_id,borrower\nA," + "x" * (2 * 2**20) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="malformed CSV: a row is longer than 1 MiB"):
        read_table(p)
