"""Tests of scenario files (solver.scenarios.spec) and the `workout scenario` commands."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from input_errors import input_error

from solver.errors import InputError
from solver.scenarios.spec import load_scenario
from solver.scenarios.spec_layers import parse_assignment, parse_value

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "scenario"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Keep the CLI's plan cache out of the home directory (shared by this module's tests)."""
    monkeypatch.setenv("WORKOUT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "plan-cache"))


SHIPPED = (
    "baseline",
    "recession",
    "used_car_crash",
    "generous_policy",
    "capacity_cut",
    "no_restructuring",
)


def test_small_file_loads_with_defaults():
    """A minimal file resolves its model path relative to itself and takes defaults."""
    s = load_scenario(DATA / "small.toml")
    assert s.name == "small"
    assert s.portfolio.n == 300 and s.portfolio.seed == 11 and s.portfolio.path is None
    assert s.restructure is False
    assert s.simulation.paths == 60 and s.simulation.horizon_months == 24
    assert s.shocks.neutral
    assert s.model.kappa == 0.2  # from scenarios/behaviour.toml
    assert s.policy.max_deferral_months == 6  # Policy defaults


def test_extends_deep_merges_and_does_not_inherit_name():
    """A child keeps the parent's tables, overrides its own keys, replaces arrays, and is
    named after its own file."""
    s = load_scenario(DATA / "small_recession.toml")
    assert s.name == "small_recession"
    assert s.portfolio.n == 300 and s.simulation.seed == 3  # inherited
    assert s.shocks.income_multiplier == 0.85
    assert len(s.shocks.segments) == 1
    seg = s.shocks.segments[0]
    assert dict(seg.filters) == {"product": ("card_instalment",), "tier": ("D", "E")}
    assert seg.unemployment_probability == 0.2
    assert len(s.chain) == 2 and s.chain[-1] == (DATA / "small_recession.toml").resolve()


def test_overrides_apply_last_and_are_validated():
    """Dotted overrides change the loaded scenario; unknown override keys are rejected."""
    s = load_scenario(DATA / "small.toml", overrides={"policy.max_deferral_months": 3})
    assert s.policy.max_deferral_months == 3
    s2 = s.with_overrides({"shocks.income_multiplier": 0.9, "simulation.paths": 7})
    assert s2.shocks.income_multiplier == 0.9 and s2.simulation.paths == 7
    assert s.shocks.income_multiplier == 1.0  # the original is unchanged
    with pytest.raises(InputError) as err:
        load_scenario(DATA / "small.toml", overrides={"policy.max_deferal_months": 3})
    assert "max_deferral_months" in str(err.value)


def test_scenario_is_frozen():
    """Scenario objects are immutable."""
    s = load_scenario(DATA / "small.toml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "x"  # type: ignore[misc]


def test_unknown_keys_name_file_key_and_closest_valid_name():
    """Unknown keys are reported with the file, the dotted key and the closest valid name."""
    text = input_error(load_scenario, DATA / "bad_key.toml")
    assert "bad_key.toml" in text
    assert "'shocks.income_multiplyer'" in text and "did you mean 'income_multiplier'" in text
    assert "'simulaton'" in text and "did you mean 'simulation'" in text


def test_bad_values_are_all_reported():
    """Out-of-range values and bad segment filter values are all listed at once."""
    with pytest.raises(InputError) as err:
        load_scenario(DATA / "bad_value.toml")
    problems = err.value.problems
    assert len(problems) == 3
    assert any("shocks.unemployment_probability must be in [0, 1]" in p for p in problems)
    assert any("[[shocks.segments]] entry 1: tier: unknown value 'F'" in p for p in problems)
    assert any("simulation.paths" in p for p in problems)


@pytest.mark.parametrize("name", ["cycle_a", "self_cycle"])
def test_extends_cycles_are_detected(name):
    """A cycle of extends, including a file extending itself, is an input error."""
    with pytest.raises(InputError, match="'extends' cycle"):
        load_scenario(DATA / f"{name}.toml")


def test_missing_parent_names_the_referring_file():
    """A missing extends target names both files."""
    with pytest.raises(InputError) as err:
        load_scenario(DATA / "missing_parent.toml")
    assert "no_such_scenario.toml" in str(err.value) and "missing_parent.toml" in str(err.value)


def test_portfolio_path_and_generator_exclude_each_other(tmp_path):
    """A child that gives a portfolio path drops the inherited generator settings; a file
    giving both is an error."""
    portfolio = tmp_path / "p.csv"
    portfolio.write_text(
        "account_id,principal,annual_rate,remaining_term,income,expenses\nA,1000,0.1,12,5000,1000\n"
    )
    child = tmp_path / "child.toml"
    child.write_text(
        f'extends = "{(DATA / "small.toml").as_posix()}"\n[portfolio]\npath = "p.csv"\n'
    )
    s = load_scenario(child)
    assert s.portfolio.path == portfolio.resolve() and s.portfolio.n is None
    both = tmp_path / "both.toml"
    both.write_text('[portfolio]\npath = "p.csv"\nn = 3\n')
    with pytest.raises(InputError, match="either 'path' or 'n'"):
        load_scenario(both)


def test_not_toml_and_wrong_types_are_input_errors(tmp_path):
    """Malformed TOML and wrongly typed values are input errors naming the key."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[portfolio\nn = 3")
    with pytest.raises(InputError, match="not valid TOML"):
        load_scenario(bad)
    typed = tmp_path / "typed.toml"
    typed.write_text('[portfolio]\nn = "many"\n[shocks]\nanticipated = 1\n')
    text = input_error(load_scenario, typed)
    assert (
        "portfolio.n must be a whole number" in text
        and "shocks.anticipated must be true or false" in text
    )


def test_parse_assignment_and_values():
    """--set values parse as TOML scalars, comma-separated outside brackets."""
    assert parse_assignment("policy.max_deferral_months=0,3,6") == (
        "policy.max_deferral_months",
        [0, 3, 6],
    )
    assert parse_assignment("shocks.income_multiplier=0.85") == ("shocks.income_multiplier", [0.85])
    assert parse_assignment('policy.deferral_interest=["waive"],["capitalize","waive"]')[1] == [
        ["waive"],
        ["capitalize", "waive"],
    ]
    assert parse_value("true") is True and parse_value("abc") == "abc"
    with pytest.raises(InputError):
        parse_assignment("policy.max_deferral_months")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_load_and_say_what_they_answer(name):
    """Every shipped scenario loads, and its first comment says what question it answers."""
    path = ROOT / "scenarios" / f"{name}.toml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#") and "?" in text.split("\n\n")[0], (
        "first comment block asks the question"
    )
    s = load_scenario(path)
    assert s.name == name
    assert s.portfolio.n == 20000 or s.portfolio.path is not None


def test_shipped_scenarios_differ_from_baseline_as_described():
    """Each what-if changes what its name says, relative to the baseline."""
    base = load_scenario(ROOT / "scenarios" / "baseline.toml")
    assert base.shocks.neutral and base.restructure and base.collection.enabled
    rec = load_scenario(ROOT / "scenarios" / "recession.toml")
    assert rec.shocks.income_multiplier == pytest.approx(0.85)
    assert any(seg.unemployment_probability for seg in rec.shocks.segments)
    assert load_scenario(
        ROOT / "scenarios" / "used_car_crash.toml"
    ).shocks.vehicle_price_index == pytest.approx(0.75)
    gen = load_scenario(ROOT / "scenarios" / "generous_policy.toml").policy
    assert gen.max_deferral_months == 6 and gen.max_term_months == 60 and gen.max_fee_waiver == 1.0
    assert load_scenario(
        ROOT / "scenarios" / "capacity_cut.toml"
    ).collection.capacity_multiplier == pytest.approx(0.8)
    assert load_scenario(ROOT / "scenarios" / "no_restructuring.toml").restructure is False


def _cli(args: list[str]) -> int:
    from cli import workout
    from commands.common import run_cli

    return run_cli(workout, args)


def _scenario_cli(command: str, file: Path, out: Path, *options: object, quiet: bool = True) -> int:
    """``workout scenario COMMAND FILE OPTIONS [--quiet] --out-dir OUT``; the exit code."""
    flags = ["--quiet"] if quiet else []
    return _cli(["scenario", command, str(file), *map(str, options), *flags, "--out-dir", str(out)])


def test_cli_bad_scenario_exits_2_and_writes_nothing(tmp_path, capsys):
    """A bad scenario file exits with code 2, no traceback and no output files."""
    out = tmp_path / "out"
    assert _scenario_cli("run", DATA / "bad_key.toml", out, quiet=False) == 2
    err = capsys.readouterr().err
    assert "income_multiplyer" in err and "Traceback" not in err
    assert not out.exists()


def test_cli_run_with_baseline_writes_every_output(tmp_path, capsys):
    """`scenario run FILE --baseline FILE` prints a delta table and writes every file."""
    out = tmp_path / "out"
    code = _scenario_cli(
        "run", DATA / "small_recession.toml", out, "--baseline", DATA / "small.toml", "--paths", 20
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "cash_collected_discounted" in text and "baseline: small" in text
    for name in (
        "kpis.csv",
        "deltas.csv",
        "monthly.csv",
        "roll_rates.csv",
        "accounts.parquet",
        "report.xlsx",
        "report.html",
        "cash_collected.png",
        "npl_ratio.png",
        "kpi_deltas.png",
    ):
        assert (out / name).is_file(), name
    assert not list(out.glob(".*tmp*"))  # no temporary files left behind


def test_cli_same_seed_same_kpis_csv_bytes(tmp_path):
    """Acceptance (b): the same seed gives a byte-identical kpis.csv; another seed's means
    lie inside the first run's reported 95 % ranges of paths."""
    import pandas as pd

    runs = {}
    for label, seed in (("a", 5), ("b", 5), ("c", 6)):
        out = tmp_path / label
        assert _scenario_cli("run", DATA / "small.toml", out, "--seed", seed, "--paths", 40) == 0
        runs[label] = (out / "kpis.csv").read_bytes()
    assert runs["a"] == runs["b"]
    assert runs["a"] != runs["c"]
    a = pd.read_csv(tmp_path / "a" / "kpis.csv")
    c = pd.read_csv(tmp_path / "c" / "kpis.csv")
    merged = a.merge(c, on=["segment_type", "segment", "kpi"], suffixes=("_a", "_c"))
    inside = (merged["mean_c"] >= merged["p2_5_a"] - 1e-9) & (
        merged["mean_c"] <= merged["p97_5_a"] + 1e-9
    )
    assert inside[merged["segment_type"] == "total"].all()
    assert inside.mean() > 0.97, merged.loc[~inside, ["segment_type", "segment", "kpi"]]


def test_cli_sweep_writes_table_and_frontier(tmp_path, capsys):
    """`scenario sweep --set k=v1,v2` runs the grid and writes the table and frontier chart."""
    out = tmp_path / "sweep"
    code = _scenario_cli(
        "sweep",
        DATA / "small.toml",
        out,
        "--set",
        "shocks.income_multiplier=0.8,1.0",
        "--set",
        "shocks.hazard_multiplier=1,1.5",
        "--paths",
        10,
    )
    assert code == 0
    import pandas as pd

    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 4 and {
        "shocks.income_multiplier",
        "shocks.hazard_multiplier",
        "on_frontier",
    } <= set(table.columns)
    assert table["on_frontier"].any()
    for name in ("frontier.png", "sweep.xlsx", "report.html"):
        assert (out / name).is_file()
    assert "frontier" in capsys.readouterr().out


def test_cli_sweep_bad_value_fails_before_running(tmp_path):
    """A sweep value out of range is rejected (exit 2) before any run or output."""
    out = tmp_path / "sweep"
    code = _scenario_cli(
        "sweep", DATA / "small.toml", out, "--set", "shocks.income_multiplier=0.8,-1", quiet=False
    )
    assert code == 2 and not out.exists()


SMALL = {"portfolio.n": 200, "collection.time_limit_seconds": 1.0}


def test_every_shipped_scenario_runs_small(tmp_path):
    """Acceptance (c) in miniature: every shipped scenario runs end to end (plans,
    allocation, simulation, comparison, reports) on a 200-account version of its portfolio
    with a 1 s allocation limit; the full-size run is the slow test below."""
    from solver.scenarios.report import write_scenario_report
    from solver.scenarios.run import run_scenario
    from solver.scenarios.scenario_result import compare

    base = run_scenario(
        load_scenario(ROOT / "scenarios" / "baseline.toml", overrides=SMALL), paths=10
    )
    assert base.kpi("accounts_restructured") > 0 and base.kpi("collection_cost") > 0
    results = {}
    for name in SHIPPED[1:]:
        result = run_scenario(
            load_scenario(ROOT / "scenarios" / f"{name}.toml", overrides=SMALL), paths=10
        )
        assert not compare(result, base).empty
        results[name] = result
    files = write_scenario_report(results["recession"], tmp_path / "recession", baseline=base)
    assert {p.name for p in files} >= {"kpis.csv", "report.html", "report.xlsx", "accounts.parquet"}
    assert results["no_restructuring"].kpi("accounts_restructured") == 0
    assert results["recession"].kpi("unemployed_accounts") > 0
    assert results["used_car_crash"].kpi("recoveries") < base.kpi("recoveries")


def _recession_vs_baseline(out: Path, *options: object) -> int:
    """The documented command: shipped recession.toml against baseline.toml."""
    scenarios = ROOT / "scenarios"
    baseline = scenarios / "baseline.toml"
    return _scenario_cli("run", scenarios / "recession.toml", out, "--baseline", baseline, *options)


def test_cli_shipped_recession_vs_baseline_small(tmp_path, capsys):
    """The documented command line works on the shipped files (shrunk with --set)."""
    out = tmp_path / "out"
    code = _recession_vs_baseline(
        out, "--set", "portfolio.n=200", "--set", "collection.time_limit_seconds=1", "--paths", 10
    )
    assert code == 0
    assert "baseline: baseline" in capsys.readouterr().out
    assert (out / "report.html").is_file() and (out / "report.xlsx").is_file()


@pytest.mark.slow
def test_recession_vs_baseline_full_size(tmp_path):
    """Acceptance (c): the documented command runs on the shipped 20,000-account files."""
    out = tmp_path / "out"
    code = _recession_vs_baseline(out, "--paths", 50, "--jobs", 2)
    assert code == 0
    assert (out / "report.html").stat().st_size > 10_000


def test_capacity_cut_costs_collections_and_saves_cost():
    """With (almost) no collector capacity fewer accounts get human treatments: collection
    cost falls and discounted collections fall, with the paired CI below zero."""
    from solver.scenarios.run import run_scenario
    from solver.scenarios.scenario_result import compare

    overrides = {
        "collection.enabled": True,
        "collection.treatments": str(ROOT / "scenarios" / "treatments.toml"),
        "collection.teams": str(ROOT / "scenarios" / "teams.toml"),
        "collection.time_limit_seconds": 2.0,
    }
    base = load_scenario(DATA / "small.toml", overrides=overrides)
    cut = base.with_overrides({"collection.capacity_multiplier": 0.001})
    r_base = run_scenario(base, paths=40)
    r_cut = run_scenario(cut, paths=40)
    deltas = compare(r_cut, r_base).set_index(["segment_type", "segment", "kpi"])
    assert deltas.loc[("total", "all", "collection_cost"), "delta"] < 0
    cash = deltas.loc[("total", "all", "cash_collected_discounted")]
    assert cash["delta"] < 0 and cash["delta_ci_high"] < 0
    assert (r_base.accounts["treatment"] != "").all()


def test_treatment_factor_is_ratio_of_non_payment_probabilities():
    """A treatment's hazard factor is (1 - p_treatment)/(1 - p_none) from the catalogue's
    pay-probability table (hand-built two-account frame, no preferred channel)."""
    import numpy as np
    import pandas as pd

    from solver.allocation.catalogue import Catalogue
    from solver.scenarios.treatment_stage import treatment_factors

    catalogue = Catalogue.from_toml(ROOT / "scenarios" / "treatments.toml")
    frame = pd.DataFrame(
        {"tier": ["C", "E"], "dpd_bucket": ["M2", "M4+"], "preferred_channel": ["", ""]}
    )
    factor = treatment_factors(frame, catalogue, np.array(["agent_call", "none"], dtype=object))
    p = catalogue.treatment("agent_call").pay_prob[2, 2]
    p0 = catalogue.treatment("none").pay_prob[2, 2]
    assert factor[0] == pytest.approx((1 - p) / (1 - p0))
    assert 0 < factor[0] < 1 and factor[1] == 1.0
