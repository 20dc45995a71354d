"""Status files (abs_engine/io/status_file.py, docs/seasoned.md): read back as written, and
every bad status refused with all its problems at once, each with its field path."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import yaml
from conftest import DEALS, SCENARIOS

import abs_engine as ae
from abs_engine.checks import status_problems
from abs_engine.io.status_file import load_status, write_status
from abs_engine.model.status import Status


@pytest.fixture(scope="module")
def deal():
    return ae.load_deal(DEALS / "sz_pledge_2026_1.yaml")


@pytest.fixture(scope="module")
def status(deal):
    return ae.run(deal, ae.load_scenario(SCENARIOS / "stress.yaml")).status_at(2)


def paths(deal, st: Status) -> dict[str, str]:
    return {p.path: p.message for p in status_problems(deal, st, "s.yaml")}


def test_written_status_reads_back_to_the_same_figures(deal, status, tmp_path):
    files = write_status(status, tmp_path / "st.yaml")
    assert [p.name for p in files] == ["st.pledge_loans.assets.csv", "st.pledge_loans.defaults.csv", "st.yaml"]
    back = load_status(tmp_path / "st.yaml", deal)
    ps, qs = status.pools["pledge_loans"], back.pools["pledge_loans"]
    assert back.tranches == status.tranches and back.accounts == status.accounts and back.history == status.history
    assert qs.assets == ps.assets and qs.defaults == ps.defaults  # every float to the last bit
    assert status_problems(deal, status, "x") == []


def test_a_status_from_a_run_is_consistent(deal, status):
    """What a run writes passes every check: the figures add up."""
    cum = status.cumulative
    listed = sum(d.amount for d in status.pools["pledge_loans"].defaults)
    assert cum.defaults == pytest.approx(listed, abs=1e-6) and cum.terminations == 0.0
    assert status.pools["pledge_loans"].balance == pytest.approx(sum(a.balance for a in status.pools["pledge_loans"].assets))


def edit(st: Status, **changes) -> Status:
    return st.model_copy(update=changes)


def test_status_date_off_the_schedule(deal, status):
    got = paths(deal, edit(status, date=dt.date(2027, 1, 27)))
    assert got == {"date": "2027-01-27 is not a payment date (nearest: 2027-01-26, 2027-04-26); give a payment date as scheduled or as adjusted"}
    assert "nothing is left to project" in paths(deal, edit(status, date=dt.date(2029, 7, 26)))["date"]


def test_balances_that_do_not_add_up(deal, status):
    pool = status.pools["pledge_loans"]
    bad = edit(status, pools={"pledge_loans": pool.model_copy(update={"balance": pool.balance + 1000.0})},
               cumulative=status.cumulative.model_copy(update={"defaults": status.cumulative.defaults - 5.0}),
               tranches={**status.tranches, "A": status.tranches["A"].model_copy(update={"balance": 2e8})},
               accounts={**status.accounts, "reserve": status.accounts["reserve"].model_copy(update={"target_met": None})})
    got = paths(deal, bad)
    assert got["pools.pledge_loans.balance"].endswith(f"does not add up: the assets listed total {pool.balance:,.2f}")
    assert "does not add up: the defaults listed total" in got["cumulative.defaults"]
    assert got["tranches.A.balance"] == "200,000,000.00 exceeds the original balance 195,700,000.00"
    assert len(status_problems(deal, bad, "s")) == 3  # every problem at once


def test_unknown_assets_names_and_dates(deal, status):
    pool = status.pools["pledge_loans"]
    assets = [*pool.assets, pool.assets[0].model_copy(update={"asset_id": "SZ-999"})]
    defaults = [*pool.defaults, pool.defaults[0].model_copy(update={"default_date": dt.date(2027, 1, 5)})]
    bad = edit(status, pools={"pledge_loans": pool.model_copy(update={"assets": assets, "defaults": defaults,
                                                                     "balance": pool.balance + assets[-1].balance})},
               accounts={**status.accounts, "reserv": status.accounts["reserve"]}, fees={"vatt": 1.0})
    got = paths(deal, bad)
    assert got[f"pools.pledge_loans.assets[{len(assets) - 1}].asset_id"] == "unknown asset 'SZ-999' (not in the pool's tape)"
    assert "is not between the cut-off date 2026-06-30 and the pool's status date 2026-12-31" in \
        got[f"pools.pledge_loans.defaults[{len(defaults) - 1}].default_date"]
    assert got["accounts.reserv"].startswith("unknown account 'reserv'; did you mean 'reserve'?")
    assert got["fees.vatt"].startswith("unknown fee 'vatt'; did you mean 'vat'?")


def test_trigger_states_that_contradict_the_figures(deal, status):
    """The stress run's status: 1.6% of defaults, no trigger breached."""
    assert not status.triggers["cumulative_defaults"].fired
    trig = dict(status.triggers)
    trig["cumulative_defaults"] = trig["cumulative_defaults"].model_copy(update={"consecutive": 1, "fired": True})
    got = paths(deal, edit(status, triggers=trig, deal_state="accelerated"))
    ratio = status.cumulative.defaults / 206e6
    assert got == {"triggers.cumulative_defaults.consecutive":
                   f"the cumulative default ratio {ratio:.6%} does not breach 10.000000%: the count is 0"}
    trig["cumulative_defaults"] = trig["cumulative_defaults"].model_copy(update={"consecutive": 0, "fired": True})
    assert paths(deal, edit(status, triggers=trig)) == {
        "deal_state": "'normal' contradicts the fired triggers (they put the deal in 'accelerated')"}
    # fired by a count that reaches the trigger, or more breaches than tests
    trig["senior_interest_default"] = trig["senior_interest_default"].model_copy(update={"consecutive": 3})
    got = paths(deal, edit(status, triggers=trig, deal_state="accelerated"))
    assert got["triggers.senior_interest_default.consecutive"] == "3 breaches in a row, but only 2 tests have run by 2027-01-26"


def test_providers_and_reserve_target(deal, status):
    """The reserve's target from the status: 1% of the notes after the payments, at least
    500,000 (the waterfall funded it on the notes before the period's principal)."""
    notes = sum(t.balance for t in status.tranches.values())
    target = max(0.01 * notes, 500_000.0)
    held = status.accounts["reserve"].balance
    assert held >= target
    acc = dict(status.accounts)
    acc["undertaking"] = acc["undertaking"].model_copy(update={"balance": 5.0})
    acc["reserve"] = acc["reserve"].model_copy(update={"target_met": False})
    got = paths(deal, edit(status, accounts=acc))
    assert got["accounts.undertaking.balance"] == "a support provider has capacity_remaining and owed, not a balance"
    assert got["accounts.reserve.target_met"] == (f"says not met, but the balance {held:,.2f} meets the target "
                                                  f"{target:,.2f} (from the status's note and pool balances)")
    acc["reserve"] = acc["reserve"].model_copy(update={"target_met": True, "balance": target - 1.0})
    got = paths(deal, edit(status, accounts=acc))
    assert got["accounts.reserve.target_met"].startswith(f"says met, but the balance {target - 1:,.2f} is below the target")


def test_every_problem_of_a_status_file_through_the_loader(deal, status, tmp_path):
    """A status file with YAML-level and meaning-level problems: InputError, file and path."""
    write_status(status, tmp_path / "st.yaml")
    raw = yaml.safe_load((tmp_path / "st.yaml").read_text(encoding="utf-8"))
    raw["tranches"]["A"]["balance"] = -1.0
    raw["accounts"]["collection"]["owed"] = "lots"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ae.InputError) as exc:
        load_status(tmp_path / "bad.yaml", deal)
    got = {p.path: p.message for p in exc.value.problems}
    assert set(got) == {"tranches.A.balance", "accounts.collection.owed"}
    assert all(p.file == str(tmp_path / "bad.yaml") for p in exc.value.problems)


def test_layer_capacity_that_contradicts_the_replay(deal, status):
    ps = status.pools["pledge_loans"]
    cap = ps.support["guarantee"].capacity_remaining
    bad = edit(status, pools={"pledge_loans": ps.model_copy(update={"support": {"guarantee": ps.support["guarantee"].model_copy(
        update={"capacity_remaining": cap + 100.0})}})})
    assert status_problems(deal, bad, "s") == []  # (checked when run: the replay needs the scenario)
    with pytest.raises(ae.InputError) as exc:
        ae.run(deal, ae.load_scenario(SCENARIOS / "stress.yaml"), status=bad)
    (p,) = exc.value.problems
    assert p.path == "pools.pledge_loans.support.guarantee.capacity_remaining"
    assert p.message == (f"{cap + 100.0:,.2f} contradicts the defaults listed: the layers' replay of them under "
                         f"scenario 'stress' leaves {cap:,.2f}")


def test_overdue_disposal_in_a_layered_pool(deal, status):
    """With a guarantee layer, a disposal the scenario's lag puts before the status date must
    be recorded as received."""
    short = ae.Scenario(name="quick", defaults={"cdr": 0.02}, recovery={"haircut": 0.5, "lag_months": 1})
    with pytest.raises(ae.InputError) as exc:
        ae.run(deal, short, status=status)
    assert exc.value.problems[0].path == "pools.pledge_loans.defaults[0]"
    assert "is not recorded as received" in exc.value.problems[0].message
    # recorded (the proceeds as the disposal brought them): it runs
    ps = status.pools["pledge_loans"]
    done = [d.model_copy(update={"recovered": 0.0, "recovery_date": dt.date(2026, 12, 31)}) for d in ps.defaults]
    ok = edit(status, pools={"pledge_loans": ps.model_copy(update={"defaults": done})},
              cumulative=status.cumulative.model_copy(update={"recoveries": 0.0}))
    r = ae.run(deal, short, status=ok)
    r.check_conservation()
    assert np.isfinite(r.args.t_bal_end).all()


def test_receivable_balances_are_their_remaining_fees():
    """A licence's balance in a status is its fees after the pool's date on its patents in
    force, times its chance of performing: 10 more does not add up."""
    d = ae.load_deal(DEALS / "pudong_licence_2020.yaml")
    st = ae.run(d, ae.load_scenario(SCENARIOS / "pudong_two_invalidations.yaml")).status_at(3)
    assert status_problems(d, st, "s") == []
    ps = st.pools["licence_fees"]
    a = ps.assets[0]
    bad = edit(st, pools={"licence_fees": ps.model_copy(update={"assets": [a.model_copy(update={"balance": a.balance + 10.0}),
                                                                         *ps.assets[1:]], "balance": ps.balance + 10.0})})
    assert paths(d, bad) == {"pools.licence_fees.assets[0].balance": (
        f"{a.balance + 10:,.2f} does not add up: the scheduled fees on the patents in force after 2020-12-15, times the "
        f"chance of performing ({a.performing:g}), are {a.balance:,.2f}")}
    with pytest.raises(ae.InputError):  # a status built in code is checked by run too
        ae.run(d, ae.load_scenario(SCENARIOS / "pudong_base.yaml"), status=bad)


def test_remaining_amounts_above_the_deals_totals(deal, status):
    """What a status says is left (a layer's capacity, a provider's debt) is at most the
    deal's total: checked on the status alone, as validate --status does (a payer's remaining
    capacity above its capacity was accepted by validate; run found it only by the replay)."""
    ps = status.pools["pledge_loans"]
    g = ps.support["guarantee"].model_copy(update={"capacity_remaining": 40_000_000.0 + 100.0})
    got = paths(deal, edit(status, pools={"pledge_loans": ps.model_copy(update={"support": {"guarantee": g}})}))
    assert got == {"pools.pledge_loans.support.guarantee.capacity_remaining":
                   "40,000,100.00 exceeds the payer's capacity 40,000,000.00 in the deal"}
    limited = deal.model_copy(update={"accounts": [a.model_copy(update={"capacity": 1_000_000.0}) if a.name == "undertaking" else a
                                                   for a in deal.accounts]})
    acc = dict(status.accounts)
    acc["undertaking"] = acc["undertaking"].model_copy(update={"capacity_remaining": 0.0, "owed": 1_000_000.0})
    assert paths(limited, edit(status, accounts=acc)) == {}  # (all of it paid and owed back)
    acc["undertaking"] = acc["undertaking"].model_copy(update={"owed": 1_500_000.0})
    assert paths(limited, edit(status, accounts=acc)) == {
        "accounts.undertaking.owed": "1,500,000.00 exceeds the provider's capacity 1,000,000.00: it cannot be owed more than it can pay"}
