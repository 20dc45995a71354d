"""The abs-engine command line, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
import yaml
from conftest import DEALS, ROOT, SCENARIOS

EXAMPLE = DEALS / "sz_pledge_2026_1.yaml"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "abs_engine.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_run_writes_outputs_and_summary(tmp_path, example_deal, example_scenarios):
    import abs_engine as ae

    p = cli("run", str(EXAMPLE), "-s", str(SCENARIOS / "base.yaml"), "-s", str(SCENARIOS / "stress.yaml"), "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "tranche summary" in p.stdout and "stress" in p.stdout
    tr = pd.read_csv(tmp_path / "tranches.csv")
    expected = ae.run(example_deal, example_scenarios).tranches
    assert len(tr) == len(expected)
    for col in ("interest_paid", "principal_paid", "writedown"):
        assert tr[col].sum() == pytest.approx(expected[col].sum(), abs=0.01)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["inputs"]["deal"]["sha256"] and "tranches.csv" in manifest["outputs"]
    assert not list(tmp_path.glob("*.part"))
    # the price/yield tables, as Result.yield_tables has them
    yt = pd.read_csv(tmp_path / "yield_tables.csv")
    want_yt = ae.run(example_deal, example_scenarios).yield_tables()
    assert len(yt) == len(want_yt) and yt["yield"].to_numpy() == pytest.approx(want_yt["yield"].to_numpy(), abs=1e-6)
    # the risk-sharing ledger of the pool's guarantee, as Result.layers has it
    layers = pd.read_csv(tmp_path / "layers.csv")
    want = ae.run(example_deal, example_scenarios).layers
    assert set(layers["party"]) == {"guarantee"} and len(layers) == len(want)
    assert layers["paid"].sum() == pytest.approx(want["paid"].sum(), abs=0.01)


def test_run_is_byte_reproducible(tmp_path):
    for sub in ("a", "b"):
        assert cli("run", str(EXAMPLE), "-s", str(SCENARIOS / "stress.yaml"), "--out", str(tmp_path / sub)).returncode == 0
    for name in ("tranches.csv", "pool.csv", "accounts.csv", "fees.csv", "states.csv", "layers.csv", "support.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_validate_bad_deal_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text(encoding="utf-8").replace("rate: 0.038", "rate: 3.8").replace("to: [A], support", "to: [A3], support", 1), encoding="utf-8")
    (tmp_path / "tapes").mkdir()
    (tmp_path / "tapes" / "sz_pledge_2026_1.csv").write_bytes((DEALS / "tapes" / "sz_pledge_2026_1.csv").read_bytes())
    p = cli("validate", str(bad))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr + p.stdout
    assert "tranches[0].coupon.rate: 3.8 looks like a percentage" in p.stderr
    p = cli("run", str(tmp_path / "missing.yaml"))
    assert p.returncode == 2 and "deal file not found" in p.stderr and "Traceback" not in p.stderr


def test_validate_ok():
    p = cli("validate", str(EXAMPLE), "-s", str(SCENARIOS / "stress.yaml"))
    assert p.returncode == 0 and "ok" in p.stdout


def test_schema_is_json_schema():
    p = cli("schema")
    schema = json.loads(p.stdout)
    assert "waterfalls" in schema["properties"]
    assert "PayInterest" in schema["$defs"]


class _StringDates(yaml.SafeLoader):
    """YAML as an editor's schema checker sees it: dates stay strings."""


_StringDates.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@pytest.mark.parametrize("kind,files", [
    ("deal", sorted(DEALS.glob("*.yaml"))),
    ("scenario", sorted(SCENARIOS.glob("*.yaml"))),
    ("montecarlo", sorted((SCENARIOS / "monte_carlo").glob("*.yaml"))),
])
def test_every_example_file_validates_against_its_schema(kind, files):
    """An editor given `abs-engine schema <kind>` accepts every shipped file (derived
    scenarios and grids included) and flags a misspelt key."""
    p = cli("schema", kind)
    assert p.returncode == 0, p.stderr
    validator = jsonschema.Draft202012Validator(json.loads(p.stdout))
    assert files
    for f in files:
        data = yaml.load(f.read_text(encoding="utf-8"), Loader=_StringDates)
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
        assert not problems, (f.name, problems)
        assert list(validator.iter_errors({**data, "multiplyy" if kind == "scenario" else "typo_key": 1}))


def test_scenario_schema_knows_the_file_keys():
    schema = json.loads(cli("schema", "scenario").stdout)
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors({"base": "stress", "multiply": {"defaults.cdr": 2.5}}))
    assert list(validator.iter_errors({"multiply": {"defaults.cdrr": 2.5}}))  # not multipliable
    assert list(validator.iter_errors({"grid": [{"values": []}]}))  # an axis needs values
    assert cli("schema", "tape").returncode == 2
