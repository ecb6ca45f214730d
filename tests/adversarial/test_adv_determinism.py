"""Determinism (issue 8; docs/reliability.md): same inputs and seed, byte-identical outputs.

Checked on the real CLI: ``generate`` (CSV, Parquet, Excel), ``plan-portfolio`` across
runs and ``--jobs 1`` / ``--jobs 2``, ``allocate`` (exact CP-SAT path: seeded, one
worker), ``scenario run`` (every report file, across runs and ``--jobs``), ``risk fit``,
and ``--engine dask`` against the local engine (plan-portfolio, allocate, scenario run).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from adv_helpers import DATA, SCENARIOS, write, write_uci_sample

#: Scenario tables for a full run: the shipped behaviour model, plans, and the shipped
#: treatments and teams (the [collection] table is last, so keys may follow it).
PLANNED_TABLES = f"""[model]
path = {str(SCENARIOS / "behaviour.toml")!r}
[plans]
restructure = true
grid_levels = 6
[collection]
treatments = {str(SCENARIOS / "treatments.toml")!r}
teams = {str(SCENARIOS / "teams.toml")!r}
"""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digests(directory: Path) -> dict[str, str]:
    return {p.name: digest(p) for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_generate_is_byte_identical(suffix: str, tmp_path: Path, workout) -> None:
    """generate portfolio: the same seed writes the same bytes; another seed does not."""
    # same file name in three folders (a workbook's title is its file name)
    paths = [tmp_path / name / f"portfolio{suffix}" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (7, 7, 8), strict=True):
        assert workout("generate", "portfolio", "--n", 300, "--seed", seed, "--out", path).code == 0
    assert digest(paths[0]) == digest(paths[1])
    assert digest(paths[0]) != digest(paths[2])


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """140 generated accounts: three plan batches of 64, so --jobs 2 really splits work."""
    from solver.core.generate import generate_portfolio
    from solver.core.writers import write_table

    path = tmp_path_factory.mktemp("det") / "book.csv"
    write_table(generate_portfolio(140, seed=12), path)
    return path


def test_plan_portfolio_same_bytes_across_runs_and_jobs(book: Path, tmp_path: Path, workout):
    """plan-portfolio: two runs and --jobs 1 vs --jobs 2 write byte-identical CSVs."""
    outs = []
    for k, jobs in enumerate((1, 1, 2)):
        out = tmp_path / f"plans{k}.csv"
        result = workout("plan-portfolio", book, "--out", out, "--jobs", jobs)
        assert result.code == 0, result.text
        outs.append(digest(out))
    assert outs[0] == outs[1] == outs[2]


def test_allocate_exact_path_same_bytes(book: Path, tmp_path: Path, workout) -> None:
    """allocate (CP-SAT proves optimality: seeded, one worker): identical assignment bytes and
    certificate across runs."""
    certificates, files = [], []
    for k in range(2):
        out = tmp_path / f"alloc{k}.csv"
        result = workout("allocate", book, "--out", out, "--format", "json", "--seed", 3)
        assert result.code == 0, result.text
        certificate = json.loads(result.out)
        certificate.pop("runtime_s", None)  # wall-clock time: the one field that may differ
        certificates.append(certificate)
        files.append(digest(out))
    assert certificates[0]["status"] == "OPTIMAL"
    assert files[0] == files[1]
    assert certificates[0] == certificates[1]


def test_scenario_reports_same_bytes_across_runs_and_jobs(tmp_path: Path, workout) -> None:
    """scenario run with plans, an allocation and shocks: every report file (kpis.csv,
    accounts.parquet, report.xlsx, report.html, PNG charts) is byte-identical across runs
    and --jobs values."""
    scenario = write(
        tmp_path / "s.toml",
        f"""name = "det"
[portfolio]
n = 300
seed = 21
{PLANNED_TABLES}time_limit_seconds = 20
[shocks]
income_multiplier = 0.9
unemployment_probability = 0.05
[simulation]
paths = 30
horizon_months = 12
seed = 3
""",
    )
    runs = []
    for k, jobs in enumerate((1, 1, 2)):
        out = tmp_path / f"out{k}"
        result = workout(
            "scenario", "run", scenario, "--out-dir", out, "--no-cache", "--quiet", "--jobs", jobs
        )
        assert result.code == 0, result.text
        runs.append(digests(out))
    assert "kpis.csv" in runs[0] and "report.html" in runs[0]
    assert runs[0] == runs[1] == runs[2]


def test_risk_fit_model_same_bytes(tmp_path: Path, workout) -> None:
    """risk fit with a seed writes the same model TOML twice (trees stored as data)."""
    data = write_uci_sample(tmp_path / "uci.csv", seed=4)
    models = []
    for k in range(2):
        out = tmp_path / f"m{k}.toml"
        result = workout(
            "risk", "fit", data, "--out", out, "--no-png", "--no-baseline", "--seed", 1
        )
        assert result.code == 0, result.text
        models.append(digest(out))
    assert models[0] == models[1]


def test_validate_output_is_stable(workout) -> None:
    """validate prints the same report twice for the same file (apart from the timing)."""
    path = DATA / "portfolio" / "tiny.csv"
    first, second = workout("validate", path), workout("validate", path)

    def strip_time(text: str) -> str:
        return "\n".join(line.split(" valid (")[0] for line in text.splitlines())

    assert first.code == second.code == 0
    assert strip_time(first.out) == strip_time(second.out)


@pytest.mark.slow
def test_dask_engine_writes_the_local_bytes(book: Path, tmp_path: Path, workout) -> None:
    """--engine dask (a local cluster) writes the same bytes as the local engine for
    plan-portfolio, allocate and scenario run (every report file)."""
    pytest.importorskip("distributed")
    scenario = write(
        tmp_path / "s.toml",
        f"""name = "engines"
[portfolio]
n = 200
seed = 5
{PLANNED_TABLES}[simulation]
paths = 20
horizon_months = 12
seed = 2
""",
    )
    results: dict[str, dict[str, str]] = {}
    for engine in ("local", "dask"):
        out = tmp_path / engine
        runs = [
            ("plan-portfolio", book, "--out", out / "plans.csv"),
            ("allocate", book, "--out", out / "alloc.csv"),
            ("scenario", "run", scenario, "--out-dir", out / "scenario", "--no-cache", "--quiet"),
        ]
        for args in runs:
            result = workout(*args, "--engine", engine)
            assert result.code == 0, result.text
        results[engine] = {
            **{p.name: digest(p) for p in out.glob("*.csv")},
            **{f"scenario/{k}": v for k, v in digests(out / "scenario").items()},
        }
    assert len(results["local"]) >= 10
    assert results["dask"] == results["local"]
