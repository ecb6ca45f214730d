"""``workout bench``: benchmark instance sets (parse, call, format)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from commands.common import console
from commands.options import TIME_LIMIT, file_option, int_option, seed_option, shared_help
from commands.output import check_out, emit, format_option, out_option, write_out, wrote
from solver.errors import InputError

#: Shown where a figure does not exist (no best-known value, no baseline solution).
MISSING = "–"


@click.group("bench")
def bench() -> None:
    """Run benchmark instance sets with reference values and a baseline.

    \b
    Example:
      workout bench gap --quick
    """


@bench.command("gap")
@file_option(
    "--instances",
    "A GAP file or a directory searched recursively (default: the OR-Library and "
    "Yagiura sets under $WORKOUT_DATA_DIR/gap).",
    dir_okay=True,
)
@click.option(
    "--time-limit",
    type=TIME_LIMIT,
    default=10.0,
    show_default=True,
    help=shared_help(
        "--time-limit", "Here: per instance, for the solver and for the CP-SAT baseline alike."
    ),
)
@click.option("--quick", is_flag=True, help="A few instances of each kind with a 2 s limit (CI).")
@click.option("--no-baseline", is_flag=True, help="Skip the plain CP-SAT baseline.")
@click.option("--family", "families", multiple=True, help="Only these families (repeatable).")
@seed_option("Here: the CP-SAT search of the solver and of the baseline.")
@int_option(
    "--search-workers",
    1,
    64,
    2,
    "CP-SAT search workers (threads) per solve, for the solver and the baseline alike.",
)
@click.option(
    "--workers",
    "workers",
    type=click.IntRange(1, 64),
    default=None,
    hidden=True,
    deprecated="Use --search-workers (--workers means Dask workers in every other command).",
    help="Deprecated spelling of --search-workers.",
)
@click.option(
    "--anytime",
    is_flag=True,
    help="Give up reproducibility: CP-SAT's parallel search, and the wall clock the work "
    "budgets leave to the search (default: a rerun at the same limit repeats the result "
    "unless the clock stopped a phase).",
)
@out_option("the per-instance results")
@format_option(
    "Here json is the per-instance results, the averages by family and the verdicts; csv "
    "the per-instance results."
)
def gap(
    instances: Path | None,
    time_limit: float,
    quick: bool,
    no_baseline: bool,
    families: tuple[str, ...],
    seed: int,
    search_workers: int,
    workers: int | None,
    anytime: bool,
    out: Path | None,
    fmt: str,
) -> int:
    """Generalized Assignment Problem benchmark (OR-Library / Chu-Beasley / Yagiura).

    Prints per instance the objective, proven bound, best known value, gap to it, time,
    the solver's status and the target column: OK (within the family's tolerance of the
    best known value), MISS (not, or no valid solution) or – (no best-known value to
    judge by). Then averages by family against the plain CP-SAT baseline run in the same
    process with the same time limit, and whether each acceptance target is met. The
    protocol is in benchmarks/README.md.

    \b
    Examples:
      workout bench gap --quick
      workout bench gap --family chu-C --time-limit 1 --no-baseline --out out/gap.csv
      workout bench gap --quick --no-baseline --format json --out out/gap.json
    """
    # rich and the solver modules load here, not with this module: `workout bench gap --help`
    # starts fast (cli.py)
    from rich.table import Table

    from solver.allocation.gap_benchmark import (
        QUICK_INSTANCES,
        run_gap_benchmark,
        summarise_gap_benchmark,
    )
    from solver.allocation.orlib_registry import data_dir, default_instance_paths, load_instances
    from solver.core.data_dir import data_not_found

    check_out(out, inputs={"--instances": instances})
    paths = [instances] if instances is not None else default_instance_paths()
    if instances is not None and not instances.exists():
        raise InputError(f"--instances {instances}: no such file or directory")
    if not paths:  # where the data directory came from, and whether it exists
        raise InputError(data_not_found("the GAP instances", data_dir() / "gap", data_dir()))
    selected = load_instances(paths[0] if len(paths) == 1 else paths)
    if quick:
        selected = [i for i in selected if i.name in QUICK_INSTANCES]
        time_limit = min(time_limit, 2.0)
    if families:
        selected = [i for i in selected if i.family in families]
    if not selected:
        raise InputError("no GAP instances selected")
    if workers is not None:  # the deprecated spelling
        search_workers = workers
    con = console(min_width=140)
    if fmt == "table":
        con.print(_instance_header(baseline=not no_baseline), highlight=False)

    def show(row: dict) -> None:
        if fmt == "table":
            con.print(_instance_line(row), highlight=False)

    results = run_gap_benchmark(
        selected,
        time_limit=time_limit,
        seed=seed,
        workers=search_workers,
        baseline=not no_baseline,
        on_result=show,
        reproducible=not anytime,
    )
    summary, verdicts = summarise_gap_benchmark(results)
    if out is not None:
        write_out(out, results, sheet_name="gap")
    payload = {
        "time_limit": time_limit,
        "seed": seed,
        "instances": results,
        "by_family": summary,
        "verdicts": list(verdicts),
    }
    if emit(fmt, table=results, payload=payload):
        wrote(out, fmt)
        return 0
    con.print(
        f"target: OK within the family's tolerance of the best known value, MISS not (or no "
        f"valid solution), {MISSING} no best-known value (benchmarks/README.md)",
        highlight=False,
    )
    table = Table(title=f"Averages by family ({time_limit:g} s per instance)", title_justify="left")
    for col in summary.columns:  # headers wrap at the underscores, numbers stay whole
        table.add_column(
            col.replace("_", " "), justify="left" if col == "family" else "right", no_wrap=False
        )
    for row in summary.to_dict(orient="records"):
        table.add_row(*(_cell(k, v) for k, v in row.items()))
    con.print(table)
    for line in verdicts:
        con.print(line, highlight=False)
    return 0


#: Columns of the per-instance lines: (header, width, justify).
_INSTANCE_COLUMNS = (
    ("instance", 10, "<"),
    ("family", 11, "<"),
    ("objective", 10, ">"),
    ("bound", 11, ">"),
    ("best known", 10, ">"),
    ("gap to best", 11, ">"),
    ("time", 8, ">"),
    ("solver status", 13, "<"),
    ("target", 6, "<"),
)


def _instance_header(baseline: bool) -> str:
    cells = [f"{name:{justify}{width}}" for name, width, justify in _INSTANCE_COLUMNS]
    return " ".join(cells) + ("  plain CP-SAT baseline" if baseline else "")


def _number(value: Any, spec: str) -> str:
    """``value`` formatted with ``spec``, or MISSING when there is none (NaN, None)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    return format(value, spec)


def _target(row: dict) -> str:
    """OK / MISS against the best known value; MISSING when there is none to judge by."""
    if row["check"] != "ok":
        return "MISS"
    if not math.isfinite(float(row["best_known"])):
        return MISSING
    return "OK" if row["ok"] else "MISS"


def _instance_line(row: dict) -> str:
    """One instance: objective, bound, best known, gap, time, solver status and target."""
    values = (
        row["instance"],
        row["family"],
        _number(row["objective"], ",.0f"),
        _number(row["bound"], ",.1f"),
        _number(row["best_known"], ",.0f"),
        _number(row["gap_to_best"], "+.3%"),
        f"{row['time_s']:.2f} s",
        row["status"],
        _target(row),
    )
    line = " ".join(
        f"{value:{justify}{width}}"
        for value, (_, width, justify) in zip(values, _INSTANCE_COLUMNS, strict=True)
    )
    if row["check"] not in ("ok", "no solution"):
        line += f"  ({row['check']})"
    if not row.get("reproducible", True):
        line += "  (not reproducible)"
    if "baseline_gap_to_best" in row:
        line += (
            f"  {_number(row['baseline_objective'], ',.0f')} "
            f"({_number(row['baseline_gap_to_best'], '+.3%')}, {row['baseline_status']})"
        )
    return line.rstrip()


def _cell(key: str, value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return MISSING
    if "gap" in key:
        return f"{value:.3%}"
    if key.endswith("time_s"):
        return f"{value:.2f}"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"
